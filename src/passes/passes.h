// Graph -> graph passes. Each rewrites the graph in place, keeps it verifiable, and is tested IR-to-IR
// in tests/passes/. Order (run_passes): bind_shapes -> fold_constants -> eliminate_noops -> dce.
#pragma once

#include <cstddef>
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
// Re-lays constant weights out for the kernels this CPU will run (oneDNN's blocked GEMM layouts), so
// the artifact stores them packed. Returns how many weights were packed.
size_t prepack_weights(ir::Graph& g);

struct PassReport {
  size_t folded = 0, noops = 0, dead = 0;
  // fused op -> how many were created, and how many nodes the fusion stage removed in all
  std::vector<std::pair<std::string, size_t>> fused;
  size_t fused_away = 0;
  size_t packed = 0;
};
// The whole pipeline, verifying the graph after every pass; the result has static shapes only.
PassReport run_passes(ir::Graph& g, const CompileOptions& options, bool fuse = true);

}  // namespace kiln::passes
