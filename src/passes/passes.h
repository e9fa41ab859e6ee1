// Graph -> graph passes. Each rewrites the graph in place, keeps it verifiable, and is tested IR-to-IR
// in tests/passes/. Order (run_passes): bind_shapes -> fold_constants -> eliminate_noops -> dce.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "kiln/compiler.h"

namespace kiln::passes {

// Shape specialisation: replaces the symbolic dims of the graph inputs by the compile-time values
// (axis 0 <- options.batch, axis 1 <- options.seq, others from options.dims by symbol name).
// Throws when a symbol has no value, a value is not positive, or a given value conflicts with a
// fixed dim. Only input shapes change; fold_constants infers the rest.
void bind_shapes(ir::Graph& g, const CompileOptions& options);

// Walks the graph in order, infers every node's output dtype and shape, and evaluates at compile
// time every node whose inputs are all constants (and Shape/Size of static shapes), using the
// reference kernels. Folded nodes are removed. Returns how many were folded.
size_t fold_constants(ir::Graph& g);

// Removes Identity and inference-mode Dropout by rewiring their consumers. Returns how many.
size_t eliminate_noops(ir::Graph& g);

// Removes nodes whose outputs nobody reads, then unused values. Returns how many nodes.
size_t eliminate_dead_code(ir::Graph& g);

// Fusion passes (each returns how many fused nodes it created). A pattern that does not match leaves
// the graph unchanged; replaced nodes are left for eliminate_dead_code.
// Gelu from its erf/tanh elementwise forms.
size_t recognize_gelu(ir::Graph& g);
// LayerNormalization from ReduceMean/Sub/Pow/ReduceMean/Add/Sqrt/Div/Mul/Add.
size_t recognize_layer_norm(ir::Graph& g);
// MultiHeadAttention from reshape/transpose/MatMul/scale/mask/Softmax/MatMul/transpose/reshape.
size_t fuse_attention(ir::Graph& g);
// FusedMatMul from MatMul|Gemm with a constant weight + bias + Gelu|Relu + residual.
size_t fuse_matmul(ir::Graph& g);
// Merged Q/K/V projection: the three FusedMatMuls feeding one MultiHeadAttention from the same input
// become one, and the attention reads packed_qkv.
size_t fuse_qkv(ir::Graph& g);
// SkipLayerNormalization from Add(a, b) + LayerNormalization.
size_t fuse_skip_layer_norm(ir::Graph& g);
// Lowers precision where `mode` (none | matmult | all) asks for it, to `low` (bf16 or f16), from each op's
// declared precision policy; inserts de-duplicated Casts (see auto_cast.cc).
struct AutoCastReport {
  size_t lowered = 0;  // ops that now run in the low type
  size_t casts = 0;    // Cast steps inserted on activations (casts of constants fold into the weights)
};
AutoCastReport auto_cast(ir::Graph& g, const std::string& mode, DType low);

// Activation name -> absolute maximum over calibration data (static int8 quantisation).
using ActivationRanges = std::map<std::string, float>;
// int8 weights for every FusedMatMul with a constant f32 weight; static activation scales from
// `ranges` when given, else dynamic. Returns how many GEMMs were quantised.
size_t quantize_int8(ir::Graph& g, const ActivationRanges* ranges);

// Re-lays constant weights out for the kernels this CPU will run (oneDNN's blocked GEMM layouts), so
// the artifact stores them packed. Returns how many weights were packed.
size_t prepack_weights(ir::Graph& g);

struct PassReport {
  size_t folded = 0, noops = 0, dead = 0;
  // fused op -> how many were created, and how many nodes the fusion stage removed in all
  std::vector<std::pair<std::string, size_t>> fused;
  size_t fused_away = 0;
  size_t packed = 0;
  size_t quantized = 0;
  AutoCastReport cast;
};
// The whole pipeline, verifying the graph after every pass; the result has static shapes only:
// optimize_graph (bind_shapes -> fold_constants -> eliminate_noops -> dce -> fusion stages), then
// lower_graph (quantize_int8 / auto_cast per options -> fold_constants -> dce -> prepack_weights).
// The compiler runs the halves separately when it calibrates in between.
PassReport run_passes(ir::Graph& g, const CompileOptions& options, bool fuse = true);
void optimize_graph(ir::Graph& g, const CompileOptions& options, bool fuse, PassReport& r);
void lower_graph(ir::Graph& g, const CompileOptions& options, const ActivationRanges* ranges, PassReport& r);

}  // namespace kiln::passes
