#include "kiln/error.h"
#include "passes/passes.h"

namespace kiln::passes {

PassReport run_passes(ir::Graph& g, const CompileOptions& options, bool fuse) {
  PassReport r;
  optimize_graph(g, options, fuse, r);
  lower_graph(g, options, nullptr, r);
  return r;
}

void optimize_graph(ir::Graph& g, const CompileOptions& options, bool fuse, PassReport& r) {
  ir::verify(g, false);
  bind_shapes(g, options);
  ir::verify(g, false);
  r.folded = fold_constants(g);
  ir::verify(g, true);
  r.noops = eliminate_noops(g);
  ir::verify(g, true);
  r.dead = eliminate_dead_code(g);
  ir::verify(g, true);
  if (!fuse) return;
  const size_t before = g.nodes.size();
  auto stage = [&](const char* op, size_t (*pass)(ir::Graph&)) {
    size_t n = pass(g);
    // Matched patterns leave their inner nodes behind; clear them so the next stage sees true
    // consumer counts (a GELU's input is read once after its pattern is gone, not three times).
    eliminate_dead_code(g);
    ir::verify(g, true);
    if (n) r.fused.emplace_back(op, n);
  };
  stage("Gelu", recognize_gelu);
  stage("LayerNormalization", recognize_layer_norm);
  stage("MultiHeadAttention", fuse_attention);
  stage("FusedMatMul", fuse_matmul);
  stage("merged QKV projection", fuse_qkv);
  stage("SkipLayerNormalization", fuse_skip_layer_norm);
  eliminate_dead_code(g);
  ir::verify(g, true);
  r.fused_away = before - g.nodes.size();
}

void lower_graph(ir::Graph& g, const CompileOptions& options, const ActivationRanges* ranges, PassReport& r) {
  if (options.quantize == "int8") {
    r.quantized = quantize_int8(g, ranges);
    ir::verify(g, true);
  }
  r.cast = auto_cast(g, options.auto_cast, options.cast_type == "fp16" ? DType::f16 : DType::bf16);
  ir::verify(g, true);
  fold_constants(g);  // weights cast to the low type
  eliminate_dead_code(g);
  ir::verify(g, true);
  r.packed = prepack_weights(g);
  eliminate_dead_code(g);  // the unpacked originals
  ir::verify(g, true);
}

}  // namespace kiln::passes
