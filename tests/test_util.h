// Shared helpers for Kiln's unit tests: THE tolerance table, tensor construction, running a kernel or
// a whole op (shape rule + reference kernel), value comparison with useful failure messages, a small
// IR graph builder for pass tests, and a self-deleting temp directory.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <initializer_list>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "ir/text_format.h"
#include "kernels/isa.h"
#include "kernels/kernel.h"
#include "kiln/dtype.h"
#include "kiln/error.h"
#include "kiln/tensor.h"
#include "ops/op_schema.h"
#include "util/half.h"

namespace kiln::test {

// =====================================================================================================
// THE tolerance table. Every numeric comparison in tests/ uses one of these bounds; documentation cites
// this file. A value passes when |actual - expected| <= abs + rel * |expected|.
// =====================================================================================================
struct Tolerance {
  double abs;
  double rel;
};
// fp32 reference kernels vs values computed by hand or with NumPy in float64 (the expected values are
// exact to ~1e-16; the bound covers fp32 rounding of inputs, intermediates and the result).
inline constexpr Tolerance kTolF32{1e-5, 1e-5};
// fp64 reference kernels vs hand/NumPy values.
inline constexpr Tolerance kTolF64{1e-12, 1e-12};
// Integer, bool and pure data-movement results: bit-exact.
inline constexpr Tolerance kTolExact{0, 0};
// fp32 fast (AVX2 / AVX-512, src/kernels/x86/) LayerNormalization, SkipLayerNormalization and Softmax
// vs the reference kernels (double statistics), inputs in [-1, 1) (masked softmax scores -3.4e38): the
// fast kernels keep fp32 statistics (two-pass) and an fp32 exp, a few ulp of error on outputs of
// magnitude <= ~4.
inline constexpr Tolerance kTolFastNorm{1e-5, 1e-5};
// fp32 fast GELU vs the reference GELU (double): the erf form is within ~5e-7 relative of the exact
// value everywhere, the tanh form within ~1e-6 (the fp32 argument of its exp); the absolute part
// covers outputs below ~1e-6 in the negative tail (x < -5), where the reference's own 1 + erf(x/sqrt2)
// cancels in double.
inline constexpr Tolerance kTolFastGelu{1e-6, 1e-6};
// fp32 fast vectorised exp and erf (the Exp / Erf kernels) vs std::exp / std::erf in double over dense
// sweeps: relative, achieved ~2e-7; the absolute part only absorbs results below ~2.4e-38 (subnormal
// or flushed to 0 by the AVX2 exp).
inline constexpr Tolerance kTolFastMath{1e-37, 1e-6};
// Fast Add / Mul vs the reference: the same single fp32 operation per element, so kTolExact.
// fp32 fast (oneDNN) GEMM vs the reference GEMM (double accumulator), inputs drawn from [-1, 1]:
//   |fast - ref| <= kGemmRelPerSqrtK * sqrt(K) * scale      (absolute; rel = 0)
// where scale = 1 for MatMul and |alpha| + |beta| for Gemm with C in [-1, 1]. A K-term fp32 dot
// product of unit-range values has magnitude ~sqrt(K) and rounding error ~sqrt(K) * 6e-8, so this is
// 1e-4 relative to the sqrt(K)-scaled magnitude (~1000x the typical error); any indexing, stride or
// transposition bug produces O(1) errors and fails.
inline constexpr double kGemmRelPerSqrtK = 1e-4;
inline Tolerance gemm_tolerance(int64_t k, double scale = 1.0) {
  return {kGemmRelPerSqrtK * std::sqrt(static_cast<double>(k < 1 ? 1 : k)) * scale, 0.0};
}
// ---- low precision (bf16 / fp16 / int8: tests/ops/precision_test.cc, docs/precision.md) -----------
// Storing a result in bf16 (8 significant bits) or fp16 (11) rounds it by at most half an ulp: 2^-9 /
// 2^-12 relative. The bounds are one full ulp (2x the rounding), the absolute part covers fp16's
// subnormal spacing (6e-8) and bf16's flush of fp32 denormals.
inline constexpr Tolerance kTolBf16Store{1e-37, 1.0 / 256};
inline constexpr Tolerance kTolF16Store{6e-8, 1.0 / 2048};
// Casts (fast vs reference) and conversions: bit-exact, kTolExact.
// bf16 / fp16 GEMMs (fast vs reference, the same 16-bit inputs): products of 16-bit values are exact
// in fp32, so the fp32 GEMM bound applies: gemm_tolerance(k), plus kTol*Store's rel when the output is
// 16-bit. int8 GEMMs (fast vs reference): the same quantised integers and exact integer accumulation,
// only the fp32 dequantisation differs: gemm_tolerance(k). int8 vs fp32 (the quantisation error itself)
// is checked against the analytic worst case sum_k |a_k| dw + |w_k| da + da dw, with da, dw half the
// activation's and the column's quantisation steps.
// Widened 16-bit kernels (LayerNorm, Softmax, GELU, Add, attention in bf16/fp16) vs the fp32 kernel on
// the same (16-bit) inputs: kTol*Store on top of the fp32 kernel's own bound.

// ---- tensors -----------------------------------------------------------------------------------------

// tensor<float>({2, 3}, {1, 2, 3, 4, 5, 6}); tensor<int64_t>({}, {7}) is a scalar. The value count must
// match the dims.
template <typename T>
Tensor tensor(const Dims& dims, std::initializer_list<T> values) {
  Tensor t(dtype_of<T>(), dims);
  if (static_cast<int64_t>(values.size()) != t.numel())
    throw std::logic_error("test tensor: " + std::to_string(values.size()) + " values for dims " +
                           dims_to_string(dims));
  T* p = t.data_as<T>();
  for (const T& v : values) *p++ = v;
  return t;
}
template <typename T>
Tensor tensor(const Dims& dims, const std::vector<T>& values) {
  Tensor t(dtype_of<T>(), dims);
  if (static_cast<int64_t>(values.size()) != t.numel())
    throw std::logic_error("test tensor: wrong value count for dims " + dims_to_string(dims));
  for (size_t i = 0; i < values.size(); ++i) t.data_as<T>()[i] = values[i];
  return t;
}
template <typename T>
Tensor scalar(T v) {
  return tensor<T>({}, {v});
}
// Deterministic values in [-1, 1) from a fixed-seed LCG (no <random> distribution differences
// between standard libraries): the IR text form's random(seed) (ir/text_format.h).
inline Tensor random_f32(const Dims& dims, uint64_t seed) { return ir::random_values(DType::f32, dims, seed); }

// Element i of any tensor as a double (bool -> 0/1).
inline double element(const Tensor& t, int64_t i) {
  switch (t.dtype()) {
    case DType::f32: return t.data_as<float>()[i];
    case DType::f64: return t.data_as<double>()[i];
    case DType::i64: return static_cast<double>(t.data_as<int64_t>()[i]);
    case DType::i32: return t.data_as<int32_t>()[i];
    case DType::i8: return t.data_as<int8_t>()[i];
    case DType::u8: return t.data_as<uint8_t>()[i];
    case DType::boolean: return t.data_as<uint8_t>()[i] ? 1.0 : 0.0;
    case DType::bf16: return bf16_to_f32(t.data_as<uint16_t>()[i]);
    case DType::f16: return f16_to_f32(t.data_as<uint16_t>()[i]);
    default: throw std::logic_error("test: element() of unsupported dtype");
  }
}

// ---- comparisons -------------------------------------------------------------------------------------

inline std::string multi_index(const Dims& dims, int64_t flat) {
  std::vector<int64_t> idx(dims.size());
  for (size_t k = dims.size(); k-- > 0;) {
    idx[k] = dims[k] ? flat % dims[k] : 0;
    flat = dims[k] ? flat / dims[k] : 0;
  }
  return dims_to_string(idx);
}

// Element-wise comparison; on failure the message gives, for the first mismatches, the flat and
// multi-dimensional index, both values and the bound. NaN matches only NaN.
inline ::testing::AssertionResult all_close(const Tensor& actual, const std::vector<double>& expected,
                                            Tolerance tol) {
  if (actual.numel() != static_cast<int64_t>(expected.size()))
    return ::testing::AssertionFailure() << "tensor " << dims_to_string(actual.dims()) << " has "
                                         << actual.numel() << " elements, expected " << expected.size();
  std::ostringstream msg;
  msg.precision(9);
  int bad = 0;
  for (int64_t i = 0; i < actual.numel(); ++i) {
    const double a = element(actual, i), e = expected[i];
    const double bound = tol.abs + tol.rel * std::fabs(e);
    bool ok;
    if (std::isnan(e) || std::isnan(a)) ok = std::isnan(e) && std::isnan(a);
    else if (std::isinf(e) || std::isinf(a)) ok = a == e;
    else ok = std::fabs(a - e) <= bound;
    if (!ok && ++bad <= 8)
      msg << "\n  at index " << i << " " << multi_index(actual.dims(), i) << ": actual " << a << ", expected "
          << e << ", |diff| " << std::fabs(a - e) << " > bound " << bound;
  }
  if (bad == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << bad << " of " << actual.numel() << " elements differ" << msg.str();
}
inline ::testing::AssertionResult all_close(const Tensor& actual, const Tensor& expected, Tolerance tol) {
  if (actual.dims() != expected.dims())
    return ::testing::AssertionFailure() << "dims " << dims_to_string(actual.dims()) << " vs expected "
                                         << dims_to_string(expected.dims());
  std::vector<double> e(expected.numel());
  for (int64_t i = 0; i < expected.numel(); ++i) e[i] = element(expected, i);
  return all_close(actual, e, tol);
}
// dtype, dims and values in one check.
inline ::testing::AssertionResult tensor_is(const Tensor& actual, DType dtype, const Dims& dims,
                                            const std::vector<double>& expected, Tolerance tol) {
  if (actual.dtype() != dtype)
    return ::testing::AssertionFailure() << "dtype " << dtype_name(actual.dtype()) << ", expected "
                                         << dtype_name(dtype);
  if (actual.dims() != dims)
    return ::testing::AssertionFailure() << "dims " << dims_to_string(actual.dims()) << ", expected "
                                         << dims_to_string(dims);
  return all_close(actual, expected, tol);
}

// expect_close: EXPECT_CLOSE(actual, {1, 2.5, 3}, kTolF32) -- a macro so failures report the caller's
// line (variadic so brace lists pass through).
#define EXPECT_CLOSE(...) EXPECT_TRUE(::kiln::test::all_close(__VA_ARGS__))
#define EXPECT_TENSOR(...) EXPECT_TRUE(::kiln::test::tensor_is(__VA_ARGS__))

// Runs `f` and checks it throws kiln::Error whose message contains every string in `parts`.
template <typename F>
::testing::AssertionResult throws_error(F&& f, std::initializer_list<std::string> parts) {
  try {
    f();
  } catch (const Error& e) {
    const std::string what = e.what();
    for (const std::string& p : parts)
      if (what.find(p) == std::string::npos)
        return ::testing::AssertionFailure() << "message \"" << what << "\" does not contain \"" << p << "\"";
    return ::testing::AssertionSuccess();
  } catch (const std::exception& e) {
    return ::testing::AssertionFailure() << "threw a non-kiln exception: " << e.what();
  }
  return ::testing::AssertionFailure() << "did not throw";
}
// EXPECT_KILN_ERROR(statement, {"part", "other part"})
#define EXPECT_KILN_ERROR(stmt, ...) EXPECT_TRUE(::kiln::test::throws_error([&] { stmt; }, __VA_ARGS__))

// ---- attributes --------------------------------------------------------------------------------------

// Attr().i("axis", 1).ints("perm", {0, 2, 1}) converts to ir::Attrs.
class Attr {
 public:
  Attr& i(const std::string& name, int64_t v) { a_.set_int(name, v); return *this; }
  Attr& f(const std::string& name, double v) { a_.set_float(name, v); return *this; }
  Attr& s(const std::string& name, const std::string& v) { a_.set_string(name, v); return *this; }
  Attr& ints(const std::string& name, std::vector<int64_t> v) { a_.set_ints(name, std::move(v)); return *this; }
  Attr& floats(const std::string& name, std::vector<double> v) {
    ir::Attribute at;
    at.kind = ir::Attribute::Kind::floats;
    at.floats = std::move(v);
    a_.set(name, std::move(at));
    return *this;
  }
  Attr& t(const std::string& name, Tensor v) {
    ir::Attribute at;
    at.kind = ir::Attribute::Kind::tensor;
    at.t = std::make_shared<const Tensor>(std::move(v));
    a_.set(name, std::move(at));
    return *this;
  }
  operator const ir::Attrs&() const { return a_; }
  const ir::Attrs& attrs() const { return a_; }

 private:
  ir::Attrs a_;
};

// ---- running kernels ---------------------------------------------------------------------------------

struct OutSpec {
  DType dtype;
  Dims dims;
};

inline kernels::TensorArg arg_of(const Tensor& t) {
  // An empty Tensor() is an omitted optional input (data == nullptr).
  return {t.dtype(), t.dims(), const_cast<void*>(t.data())};
}

// Runs the kernel registered for exactly (op, dtype, isa) on `inputs`, with outputs allocated from
// `outs` and filled with 0xFF bytes. Throws std::logic_error when no such kernel exists.
inline std::vector<Tensor> run_kernel(const std::string& op, DType dtype, kernels::Isa isa,
                                      const std::vector<Tensor>& inputs, const std::vector<OutSpec>& outs,
                                      const ir::Attrs& attrs = ir::Attrs()) {
  const kernels::KernelEntry* k = kernels::find_kernel(op, dtype, isa);
  if (!k)
    throw std::logic_error("no " + std::string(kernels::isa_name(isa)) + " kernel for " + op + " on " +
                           dtype_name(dtype));
  std::vector<Tensor> out;
  for (const OutSpec& s : outs) {
    out.emplace_back(s.dtype, s.dims);
    // Poison (NaN / -1 / true): a kernel must write every output element, as the runtime's arena is
    // reused between steps and runs.
    std::memset(out.back().data(), 0xFF, out.back().nbytes());
  }
  kernels::KernelContext ctx{attrs, {}, {}};
  for (const Tensor& t : inputs) ctx.inputs.push_back(arg_of(t));
  for (Tensor& t : out) ctx.outputs.push_back(arg_of(t));
  kernels::run_kernel_once(*k, ctx);  // prepares per-step state (oneDNN primitives) first
  return out;
}

// Runs `op` the way compile-time folding does: every input becomes a constant of a one-node graph,
// the op's shape rule (ops::infer_node) gives the output dtypes and dims, and the reference kernel
// selected by ops::kernel_dtype computes the values. An empty Tensor() input is an omitted optional
// input. Errors from the shape rule or the kernel propagate as kiln::Error.
inline std::vector<Tensor> eval_op(const std::string& op, const std::vector<Tensor>& inputs,
                                   const ir::Attrs& attrs = ir::Attrs(), int num_outputs = 1) {
  ir::Graph g;
  ir::Node n;
  n.op = op;
  n.name = "test_" + op;
  n.attrs = attrs;
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (inputs[i].empty()) {
      n.inputs.push_back(-1);
      continue;
    }
    n.inputs.push_back(g.add_constant("in" + std::to_string(i), inputs[i]));
  }
  for (int o = 0; o < num_outputs; ++o) {
    ir::Value v;
    v.name = "out" + std::to_string(o);
    n.outputs.push_back(g.add_value(v));
  }
  const int idx = g.add_node(n);
  ops::infer_node(g, idx);
  const ir::Node& node = g.nodes[idx];
  std::vector<OutSpec> specs;
  for (int o : node.outputs) specs.push_back({g.values[o].dtype, ir::static_dims(g.values[o].shape)});
  return run_kernel(op, ops::kernel_dtype(g, node), kernels::Isa::ref, inputs, specs, node.attrs);
}
inline Tensor eval1(const std::string& op, const std::vector<Tensor>& inputs, const ir::Attrs& attrs = ir::Attrs()) {
  return eval_op(op, inputs, attrs, 1).at(0);
}

// Output dtype and shape the op's shape rule infers for inputs of the given dtypes/dims. Inputs listed
// in `constants` (by position) are passed as constants with those values instead.
struct InputSpec {
  DType dtype;
  Dims dims;
  Tensor constant;  // empty: a runtime value
};
inline ir::Value infer_output(const std::string& op, const std::vector<InputSpec>& inputs,
                              const ir::Attrs& attrs = ir::Attrs(), int output = 0, int num_outputs = 1) {
  ir::Graph g;
  ir::Node n;
  n.op = op;
  n.name = "test_" + op;
  n.attrs = attrs;
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!inputs[i].constant.empty()) {
      n.inputs.push_back(g.add_constant("in" + std::to_string(i), inputs[i].constant));
    } else {
      ir::Value v;
      v.name = "in" + std::to_string(i);
      v.dtype = inputs[i].dtype;
      v.shape = ir::shape_of(inputs[i].dims);
      n.inputs.push_back(g.add_value(v));
    }
  }
  for (int o = 0; o < num_outputs; ++o) {
    ir::Value v;
    v.name = "out" + std::to_string(o);
    n.outputs.push_back(g.add_value(v));
  }
  const int idx = g.add_node(n);
  ops::infer_node(g, idx);
  return g.values[g.nodes[idx].outputs.at(output)];
}
inline InputSpec value_of(DType dtype, Dims dims) { return {dtype, std::move(dims), Tensor()}; }
inline InputSpec const_of(Tensor t) { return {t.dtype(), t.dims(), std::move(t)}; }

// ---- IR graph builder (pass tests) -------------------------------------------------------------------

// A dim given as a number or a symbol name: shape({"batch", "seq", 4}).
struct DimArg {
  ir::Dim d;
  DimArg(int v) : d(ir::Dim::of(v)) {}
  DimArg(int64_t v) : d(ir::Dim::of(v)) {}
  DimArg(const char* s) : d(ir::Dim::sym(s)) {}
};
inline ir::Shape shape(std::initializer_list<DimArg> dims) {
  ir::Shape s;
  for (const DimArg& d : dims) s.push_back(d.d);
  return s;
}

class GraphBuilder {
 public:
  ir::Graph g;

  // A graph input with a possibly symbolic shape.
  int input(const std::string& name, DType dtype, ir::Shape s) {
    ir::Value v;
    v.name = name;
    v.dtype = dtype;
    v.shape = std::move(s);
    int id = g.add_value(v);
    g.inputs.push_back(id);
    return id;
  }
  int constant(const std::string& name, Tensor t) { return g.add_constant(name, std::move(t)); }
  // A node whose outputs are new, untyped values (dtype f32, rank 0) as the frontend creates them.
  // Output value names are `outputs`; the node is named after the first output. -1 = omitted input.
  std::vector<int> node(const std::string& op, const std::vector<int>& inputs,
                        const std::vector<std::string>& outputs, const ir::Attrs& attrs = ir::Attrs()) {
    ir::Node n;
    n.op = op;
    n.name = outputs.empty() ? op : outputs[0];
    n.inputs = inputs;
    n.attrs = attrs;
    std::vector<int> ids;
    for (const std::string& o : outputs) {
      ir::Value v;
      v.name = o;
      ids.push_back(g.add_value(v));
    }
    n.outputs = ids;
    g.add_node(std::move(n));
    return ids;
  }
  int node1(const std::string& op, const std::vector<int>& inputs, const std::string& output,
            const ir::Attrs& attrs = ir::Attrs()) {
    return node(op, inputs, {output}, attrs).at(0);
  }
  void output(int v) { g.outputs.push_back(v); }
};

// Evaluates a static-shaped graph node by node with the reference kernels: the oracle for "the fused
// graph computes what the unfused one did".
inline std::vector<Tensor> run_graph(const ir::Graph& g, const std::vector<Tensor>& inputs) {
  std::map<int, Tensor> vals;
  for (size_t i = 0; i < g.inputs.size(); ++i) vals[g.inputs[i]] = inputs.at(i);
  for (size_t v = 0; v < g.values.size(); ++v)
    if (g.values[v].is_constant()) vals[static_cast<int>(v)] = *g.values[v].constant;
  for (const ir::Node& n : g.nodes) {
    std::vector<Tensor> in;
    for (int i : n.inputs) in.push_back(i < 0 ? Tensor() : vals.at(i));
    std::vector<OutSpec> outs;
    for (int o : n.outputs) outs.push_back({g.values[o].dtype, ir::static_dims(g.values[o].shape)});
    std::vector<Tensor> res = run_kernel(n.op, ops::kernel_dtype(g, n), kernels::Isa::ref, in, outs, n.attrs);
    for (size_t k = 0; k < n.outputs.size(); ++k) vals[n.outputs[k]] = res[k];
  }
  std::vector<Tensor> out;
  for (int o : g.outputs) out.push_back(vals.at(o));
  return out;
}


// ---- temp files --------------------------------------------------------------------------------------

// A fresh directory under $TMPDIR (or /tmp), removed with its files at scope exit.
class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl = std::string(base && *base ? base : "/tmp") + "/kiln_test_XXXXXX";
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    if (!mkdtemp(buf.data())) throw std::runtime_error("mkdtemp failed");
    path_ = buf.data();
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace kiln::test
