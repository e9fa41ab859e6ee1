// Operator declarations: what the compiler knows about each op, independent of any kernel.
//
// A schema gives the accepted input/output counts, the shape/dtype rule (run on static shapes after
// specialisation), whether the op may be evaluated at compile time, and the declarations later passes
// read instead of hard-coding op pairs: its fusion kind and its precision policy.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "ir/graph.h"

namespace kiln::ops {

enum class FusionKind { elementwise, broadcast, injective, reduce, opaque };
// always: run in the low-precision type under auto-cast; follow: take the inputs' type; never: fp32.
enum class PrecisionPolicy { always, follow, never };
// How the planner costs an op: memory-bound (its bytes), or arithmetic-bound (its `flops` hook) as a
// GEMM or as attention. The pipeline counts a model's layers by its attention steps (its GEMMs without).
enum class ComputeKind { memory, gemm, attention };

// What a cost hook sees: a step's attributes and its tensors' static shapes (nullptr for an omitted
// optional input). Shapes only: the planner and the profiler call it on a Plan, without data.
struct CostContext {
  const ir::Attrs& attrs;
  std::vector<const Dims*> inputs;
  std::vector<const Dims*> outputs;
};

// What a shape rule sees: the node, its inputs (nullptr for omitted optional ones) and the outputs to
// fill in. Input shapes are static here.
class InferContext {
 public:
  InferContext(const ir::Graph& g, const ir::Node& n, std::vector<ir::Value*> outputs);
  size_t num_inputs() const { return node_.inputs.size(); }
  bool has_input(size_t i) const { return i < node_.inputs.size() && node_.inputs[i] >= 0; }
  const ir::Value& input(size_t i) const;
  Dims dims(size_t i) const { return ir::static_dims(input(i).shape); }
  DType dtype(size_t i) const { return input(i).dtype; }
  // The compile-time value of input i; throws if it is not a constant (the op needs its value).
  const Tensor& constant(size_t i) const;
  // Input i's value as integers (i64 or i32 constant), e.g. a Reshape target or Slice starts.
  std::vector<int64_t> constant_ints(size_t i) const;
  const ir::Attrs& attrs() const { return node_.attrs; }
  const ir::Node& node() const { return node_; }
  size_t num_outputs() const { return outputs_.size(); }
  void set_output(size_t i, DType dtype, const Dims& dims);

 private:
  const ir::Graph& graph_;
  const ir::Node& node_;
  std::vector<ir::Value*> outputs_;
};

struct OpSchema {
  std::string name;
  int min_inputs = 1, max_inputs = 1;
  int min_outputs = 1, max_outputs = 1;
  FusionKind fusion = FusionKind::opaque;
  PrecisionPolicy precision = PrecisionPolicy::follow;
  // Inputs that stay f32 when auto-cast lowers the op (a GEMM's bias, quantisation scales).
  std::vector<int> fp32_inputs;
  bool foldable = true;  // may run at compile time when every input is a constant
  // Which dtype keys the kernel registry: input #key_input's, or output 0's when -1 (Where keys on
  // its values, not on its bool condition; ConstantOfShape on what it produces).
  int key_input = 0;
  std::function<void(InferContext&)> infer;
  // Cost: arithmetic-bound ops (compute != memory) give their floating-point work per run in `flops`
  // (a multiply-add counts 2). Read by the pipeline planner (src/plan/cost.h) and `kiln profile`.
  ComputeKind compute = ComputeKind::memory;
  std::function<double(const CostContext&)> flops;
  // Operand roles the precision passes read instead of naming ops: the input that holds the weights
  // (constant at compile time; auto-cast and quantisation rewrite it) and the input that is added to
  // the result unchanged (it must take the output's type). -1 when the op has none.
  int weight_input = -1;
  int residual_input = -1;
  // The activation an int8 kernel quantises itself (an i8 weight's GEMM input A): it may arrive in f32 or
  // bf16, which quantise exactly alike, so auto-cast lets its producer write bf16. -1 when none.
  int quantized_input = -1;
  // The attribute that chooses the output type ("f32" or the low type), for an op whose output type is
  // not its inputs' (a GEMM computing in bf16 may still write f32); empty when the output follows.
  std::string out_dtype_attr;
};

// The schema for an op of the default ONNX domain, or nullptr when Kiln does not support it.
const OpSchema* find_schema(const std::string& op);
std::vector<std::string> supported_ops();

// Infers node `node_index`'s output dtypes and shapes into the graph, after checking input/output
// counts. Errors name the node, its op and its input shapes.
void infer_node(ir::Graph& g, int node_index);

// The dtype the kernel registry is keyed by for this node (see OpSchema::key_input).
DType kernel_dtype(const ir::Graph& g, const ir::Node& n);

// Normalises a possibly negative axis against `rank`; throws naming `what` when out of range.
int64_t normalize_axis(int64_t axis, int64_t rank, const char* what);
// f32, or a 16-bit float type auto-cast may lower it to.
inline bool is_float_type(DType t) { return t == DType::f32 || t == DType::bf16 || t == DType::f16; }
// Numpy-style broadcast of two shapes; throws naming both shapes.
Dims broadcast_dims(const Dims& a, const Dims& b);

// Registration, called once from op_schema.cc (explicit lists: static registrars in a static library
// would be dropped by the linker).
void register_schema(OpSchema schema);
void register_elementwise_schemas();
void register_shape_schemas();
void register_reduce_schemas();
void register_nn_schemas();
void register_matmul_schemas();
void register_fused_schemas();

}  // namespace kiln::ops
