// Fusion passes IR-to-IR: recognize_gelu, recognize_layer_norm, fuse_matmul, fuse_attention,
// fuse_skip_layer_norm, fuse_qkv -- the whole graph before and after each pass (then dead-code
// elimination), the numbers before and after (reference kernels), and patterns that must not match.
#include <map>

#include "graph_text.h"

namespace kiln::test {
namespace {

// Types every value (as the pipeline does before fusing).
void typed(ir::Graph& g) {
  passes::fold_constants(g);
  ir::verify(g, true);
}

TEST(RecognizeGelu, ErfFormHalfTimesXFirst) {
  PassRun r = EXPECT_PASS(then_dce(passes::recognize_gelu), R"(
    graph main(%x: f32[2,5]) {
      const %sqrt2: f32[] = [1.4142135]
      const %one: f32[] = [1]
      const %half: f32[] = [0.5]
      %d: f32[2,5] = Div(%x, %sqrt2)
      %e: f32[2,5] = Erf(%d)
      %a: f32[2,5] = Add(%e, %one)
      %h: f32[2,5] = Mul(%x, %half)
      %y: f32[2,5] = Mul(%h, %a)
      return %y
    })", R"(
    graph main(%x: f32[2,5]) {
      %y: f32[2,5] = Gelu<approximate="none">(%x) @y/gelu
      return %y
    })");
  EXPECT_EQ(r.count, 1u);
  expect_computes_the_same(r, {random_f32({2, 5}, 1)});
}

TEST(RecognizeGelu, ErfFormHalfLastAndMulBySqrtHalf) {
  PassRun r = EXPECT_PASS(then_dce(passes::recognize_gelu), R"(
    graph main(%x: f32[3,4]) {
      const %rsqrt2: f32[] = [0.70710677]
      const %one: f32[] = [1]
      const %half: f32[] = [0.5]
      %d: f32[3,4] = Mul(%x, %rsqrt2)
      %e: f32[3,4] = Erf(%d)
      %a: f32[3,4] = Add(%one, %e)
      %m: f32[3,4] = Mul(%x, %a)
      %y: f32[3,4] = Mul(%m, %half)
      return %y
    })", R"(
    graph main(%x: f32[3,4]) {
      %y: f32[3,4] = Gelu<approximate="none">(%x) @y/gelu
      return %y
    })");
  EXPECT_EQ(r.count, 1u);
  expect_computes_the_same(r, {random_f32({3, 4}, 2)});
}

TEST(RecognizeGelu, TanhForm) {
  PassRun r = EXPECT_PASS(then_dce(passes::recognize_gelu), R"(
    graph main(%x: f32[2,7]) {
      const %three: f32[] = [3]
      const %k: f32[] = [0.044715]
      const %s2pi: f32[] = [0.7978846]
      const %one: f32[] = [1]
      const %half: f32[] = [0.5]
      %p: f32[2,7] = Pow(%x, %three)
      %c: f32[2,7] = Mul(%k, %p)
      %in: f32[2,7] = Add(%x, %c)
      %sc: f32[2,7] = Mul(%s2pi, %in)
      %t: f32[2,7] = Tanh(%sc)
      %a: f32[2,7] = Add(%one, %t)
      %h: f32[2,7] = Mul(%half, %x)
      %y: f32[2,7] = Mul(%h, %a)
      return %y
    })", R"(
    graph main(%x: f32[2,7]) {
      %y: f32[2,7] = Gelu<approximate="tanh">(%x) @y/gelu
      return %y
    })");
  EXPECT_EQ(r.count, 1u);
  expect_computes_the_same(r, {random_f32({2, 7}, 3)});
}

TEST(RecognizeGelu, WrongConstantDoesNotMatch) {
  const char* graph = R"(
    graph main(%x: f32[2,5]) {
      const %c: f32[] = [1.5]   # not sqrt(2)
      const %one: f32[] = [1]
      const %half: f32[] = [0.5]
      %d: f32[2,5] = Div(%x, %c)
      %e: f32[2,5] = Erf(%d)
      %a: f32[2,5] = Add(%e, %one)
      %h: f32[2,5] = Mul(%x, %half)
      %y: f32[2,5] = Mul(%h, %a)
      return %y
    })";
  EXPECT_EQ(EXPECT_PASS(passes::recognize_gelu, graph, graph).count, 0u);
}

// LayerNorm over the last axis, written out as exporters do before opset 17.
TEST(RecognizeLayerNorm, DecomposedFormBecomesOneNode) {
  PassRun r = EXPECT_PASS(then_dce(passes::recognize_layer_norm), R"(
    graph main(%x: f32[3,4]) {
      const %two: f32[] = [2]
      const %eps: f32[] = [1e-05]
      const %gamma: f32[4] = [1, 1.1, 1.2, 1.3]
      const %beta: f32[4] = [-0, -0.05, -0.1, -0.15]
      %m: f32[3,1] = ReduceMean<axes=[-1]>(%x)
      %d: f32[3,4] = Sub(%x, %m)
      %p: f32[3,4] = Pow(%d, %two)
      %v: f32[3,1] = ReduceMean<axes=[-1]>(%p)
      %e: f32[3,1] = Add(%v, %eps)
      %sq: f32[3,1] = Sqrt(%e)
      %n: f32[3,4] = Div(%d, %sq)
      %y1: f32[3,4] = Mul(%n, %gamma)
      %y: f32[3,4] = Add(%y1, %beta)
      return %y
    })", R"(
    graph main(%x: f32[3,4]) {
      const %gamma: f32[4] = [1, 1.1, 1.2, 1.3]
      const %beta: f32[4] = [-0, -0.05, -0.1, -0.15]
      %y: f32[3,4] = LayerNormalization<axis=-1, epsilon=1e-05>(%x, %gamma, %beta) @y/layer_norm
      return %y
    })");
  EXPECT_EQ(r.count, 1u);
  expect_computes_the_same(r, {random_f32({3, 4}, 4)});
}

TEST(RecognizeLayerNorm, IntermediateUsedElsewhereIsNotMatched) {
  // The centred value d is also a graph output: it has a third reader, so the pattern does not match
  // and the graph is unchanged.
  const char* graph = R"(
    graph main(%x: f32[2,5]) {
      const %two: f32[] = [2]
      const %eps: f32[] = [1e-12]
      const %gamma: f32[5] = [1, 1.1, 1.2, 1.3, 1.4]
      const %beta: f32[5] = [-0, -0.05, -0.1, -0.15, -0.2]
      %m: f32[2,1] = ReduceMean<axes=[-1]>(%x)
      %d: f32[2,5] = Sub(%x, %m)
      %p: f32[2,5] = Pow(%d, %two)
      %v: f32[2,1] = ReduceMean<axes=[-1]>(%p)
      %e: f32[2,1] = Add(%v, %eps)
      %sq: f32[2,1] = Sqrt(%e)
      %n: f32[2,5] = Div(%d, %sq)
      %y1: f32[2,5] = Mul(%n, %gamma)
      %y: f32[2,5] = Add(%y1, %beta)
      return %y, %d
    })";
  EXPECT_EQ(EXPECT_PASS(passes::recognize_layer_norm, graph, graph).count, 0u);
}

TEST(FuseMatMul, BiasGeluResidual) {
  PassRun r = EXPECT_PASS(then_dce(passes::fuse_matmul), R"(
    graph main(%x: f32[2,3,4], %r: f32[2,3,5]) {
      const %W: f32[4,5] = random(5)
      const %bias: f32[5] = random(6)
      %mm: f32[2,3,5] = MatMul(%x, %W)
      %a: f32[2,3,5] = Add(%bias, %mm)
      %g: f32[2,3,5] = Gelu(%a)
      %y: f32[2,3,5] = Add(%g, %r)
      return %y
    })", R"(
    graph main(%x: f32[2,3,4], %r: f32[2,3,5]) {
      const %W: f32[4,5] = random(5)
      const %bias: f32[5] = random(6)
      %y: f32[2,3,5] = FusedMatMul<activation="gelu_erf">(%x, %W, %bias, %r) @y/fused_matmul
      return %y
    })");
  EXPECT_EQ(r.count, 1u);
  expect_computes_the_same(r, {random_f32({2, 3, 4}, 7), random_f32({2, 3, 5}, 8)});
}

TEST(FuseMatMul, GemmWithTransposedWeightAndBias) {
  PassRun r = EXPECT_PASS(then_dce(passes::fuse_matmul), R"(
    graph main(%x: f32[3,4]) {
      const %B: f32[5,4] = random(9)
      const %C: f32[5] = random(10)
      %y: f32[3,5] = Gemm<transB=1>(%x, %B, %C)
      return %y
    })", R"(
    graph main(%x: f32[3,4]) {
      const %B: f32[5,4] = random(9)
      const %C: f32[5] = random(10)
      %y: f32[3,5] = FusedMatMul<activation="none", trans_b=1>(%x, %B, %C) @y/fused_matmul
      return %y
    })");
  EXPECT_EQ(r.count, 1u);
  expect_computes_the_same(r, {random_f32({3, 4}, 11)});
}

TEST(FuseMatMul, NonConstantWeightIsLeftAlone) {
  const char* graph = R"(
    graph main(%x: f32[3,4], %w: f32[4,2]) {
      %y: f32[3,2] = MatMul(%x, %w)
      return %y
    })";
  EXPECT_EQ(EXPECT_PASS(passes::fuse_matmul, graph, graph).count, 0u);
}

TEST(FuseMatMul, GemmWithPerRowCIsNotFused) {
  // C [m, 1] is added per row; with m == n it has n elements but is not a bias. Must stay a Gemm.
  const char* graph = R"(
    graph main(%x: f32[4,8]) {
      const %B: f32[8,4] = random(50)
      const %C: f32[4,1] = random(51)
      %y: f32[4,4] = Gemm(%x, %B, %C)
      return %y
    })";
  EXPECT_EQ(EXPECT_PASS(passes::fuse_matmul, graph, graph).count, 0u);
}

// BERT-style attention over q, k, v [B=2, S=5, H*D=2*3] with an additive mask [B, 1, 1, S].
TEST(FuseAttention, BertPatternBecomesMultiHeadAttention) {
  PassRun r = EXPECT_PASS(then_dce(passes::fuse_attention), R"(
    graph main(%q: f32[2,5,6], %k: f32[2,5,6], %v: f32[2,5,6], %mask: f32[2,1,1,5]) {
      const %split: i64[4] = [2, 5, 2, 3]
      const %merge: i64[3] = [2, 5, 6]
      const %sqrt_d: f32[] = [1.7320508]
      %qr: f32[2,5,2,3] = Reshape(%q, %split)
      %qt: f32[2,2,5,3] = Transpose<perm=[0,2,1,3]>(%qr)
      %kr: f32[2,5,2,3] = Reshape(%k, %split)
      %kt: f32[2,2,3,5] = Transpose<perm=[0,2,3,1]>(%kr)
      %vr: f32[2,5,2,3] = Reshape(%v, %split)
      %vt: f32[2,2,5,3] = Transpose<perm=[0,2,1,3]>(%vr)
      %scores: f32[2,2,5,5] = MatMul(%qt, %kt)
      %scaled: f32[2,2,5,5] = Div(%scores, %sqrt_d)
      %masked: f32[2,2,5,5] = Add(%scaled, %mask)
      %probs: f32[2,2,5,5] = Softmax<axis=-1>(%masked)
      %ctx: f32[2,2,5,3] = MatMul(%probs, %vt)
      %ctx_t: f32[2,5,2,3] = Transpose<perm=[0,2,1,3]>(%ctx)
      %out: f32[2,5,6] = Reshape(%ctx_t, %merge)
      return %out
    })", R"(
    graph main(%q: f32[2,5,6], %k: f32[2,5,6], %v: f32[2,5,6], %mask: f32[2,1,1,5]) {
      %out: f32[2,5,6] = MultiHeadAttention<num_heads=2, scale=0.5773502795520422>(%q, %k, %v, %mask) @out/attention
      return %out
    })");
  EXPECT_EQ(r.count, 1u);
  Tensor mask = tensor<float>({2, 1, 1, 5}, {0, 0, 0, -10000, -10000, 0, 0, 0, 0, -3.4028235e38f});
  expect_computes_the_same(r, {random_f32({2, 5, 6}, 12), random_f32({2, 5, 6}, 13), random_f32({2, 5, 6}, 14), mask});
}

// DistilBERT's masked_fill: Where(masked_out, finfo.min, scores) over an expanded boolean mask becomes an
// additive mask computed once from the boolean one.
TEST(FuseAttention, WhereMaskedAttentionGetsAnAdditiveMask) {
  PassRun r = EXPECT_PASS(then_dce(passes::fuse_attention), R"(
    graph main(%q: f32[2,4,4], %k: f32[2,4,4], %v: f32[2,4,4], %keep: bool[2,1,1,4]) {
      const %split: i64[4] = [2, 4, 2, 2]
      const %merge: i64[3] = [2, 4, 4]
      const %sqrt_d: f32[] = [1.4142135]
      const %full: i64[4] = [2, 2, 4, 4]
      const %min: f32[] = [-3.4028235e+38]
      %qr: f32[2,4,2,2] = Reshape(%q, %split)
      %qt: f32[2,2,4,2] = Transpose<perm=[0,2,1,3]>(%qr)
      %kr: f32[2,4,2,2] = Reshape(%k, %split)
      %kt: f32[2,2,2,4] = Transpose<perm=[0,2,3,1]>(%kr)
      %vr: f32[2,4,2,2] = Reshape(%v, %split)
      %vt: f32[2,2,4,2] = Transpose<perm=[0,2,1,3]>(%vr)
      %scores: f32[2,2,4,4] = MatMul(%qt, %kt)
      %scaled: f32[2,2,4,4] = Div(%scores, %sqrt_d)
      %mask_full: bool[2,2,4,4] = Expand(%keep, %full)
      %masked: f32[2,2,4,4] = Where(%mask_full, %min, %scaled)
      %probs: f32[2,2,4,4] = Softmax<axis=-1>(%masked)
      %ctx: f32[2,2,4,2] = MatMul(%probs, %vt)
      %ctx_t: f32[2,4,2,2] = Transpose<perm=[0,2,1,3]>(%ctx)
      %out: f32[2,4,4] = Reshape(%ctx_t, %merge)
      return %out
    })", R"(
    graph main(%q: f32[2,4,4], %k: f32[2,4,4], %v: f32[2,4,4], %keep: bool[2,1,1,4]) {
      const %out/attention/mask_bias.fill: f32[] = [-3.4028235e+38]
      const %out/attention/mask_bias.zero: f32[] = [0]
      %out/attention/mask_bias_output: f32[2,1,1,4] = Where(%keep, %out/attention/mask_bias.fill, %out/attention/mask_bias.zero) @out/attention/mask_bias
      %out: f32[2,4,4] = MultiHeadAttention<num_heads=2, scale=0.7071067932881648>(%q, %k, %v, %out/attention/mask_bias_output) @out/attention
      return %out
    })");
  EXPECT_EQ(r.count, 1u);
  // Row 0 masks its last key, row 1 masks every key (uniform weights, as PyTorch gives).
  Tensor keep_out(DType::boolean, {2, 1, 1, 4});
  for (int i : {3, 4, 5, 6, 7}) keep_out.data_as<bool>()[i] = true;
  expect_computes_the_same(r, {random_f32({2, 4, 4}, 19), random_f32({2, 4, 4}, 20), random_f32({2, 4, 4}, 21), keep_out});
}

// As DistilBERT's export has it: a bool -> bool Cast between the Expand and the Where. Both are peeled, so
// no [batch, heads, seq, seq] condition is built.
TEST(FuseAttention, WhereMaskBehindACastAndAnExpandStaysUnexpanded) {
  PassRun r = EXPECT_PASS(then_dce(passes::fuse_attention), R"(
    graph main(%q: f32[2,4,4], %k: f32[2,4,4], %v: f32[2,4,4], %keep: bool[2,1,1,4]) {
      const %split: i64[4] = [2, 4, 2, 2]
      const %merge: i64[3] = [2, 4, 4]
      const %sqrt_d: f32[] = [1.4142135]
      const %full: i64[4] = [2, 2, 4, 4]
      const %min: f32[] = [-3.4028235e+38]
      %qr: f32[2,4,2,2] = Reshape(%q, %split)
      %qt: f32[2,2,4,2] = Transpose<perm=[0,2,1,3]>(%qr)
      %kr: f32[2,4,2,2] = Reshape(%k, %split)
      %kt: f32[2,2,2,4] = Transpose<perm=[0,2,3,1]>(%kr)
      %vr: f32[2,4,2,2] = Reshape(%v, %split)
      %vt: f32[2,2,4,2] = Transpose<perm=[0,2,1,3]>(%vr)
      %scores: f32[2,2,4,4] = MatMul(%qt, %kt)
      %scaled: f32[2,2,4,4] = Div(%scores, %sqrt_d)
      %mask_full: bool[2,2,4,4] = Expand(%keep, %full)
      %mask_cast: bool[2,2,4,4] = Cast<to="bool">(%mask_full)
      %masked: f32[2,2,4,4] = Where(%mask_cast, %min, %scaled)
      %probs: f32[2,2,4,4] = Softmax<axis=-1>(%masked)
      %ctx: f32[2,2,4,2] = MatMul(%probs, %vt)
      %ctx_t: f32[2,4,2,2] = Transpose<perm=[0,2,1,3]>(%ctx)
      %out: f32[2,4,4] = Reshape(%ctx_t, %merge)
      return %out
    })", R"(
    graph main(%q: f32[2,4,4], %k: f32[2,4,4], %v: f32[2,4,4], %keep: bool[2,1,1,4]) {
      const %out/attention/mask_bias.fill: f32[] = [-3.4028235e+38]
      const %out/attention/mask_bias.zero: f32[] = [0]
      %out/attention/mask_bias_output: f32[2,1,1,4] = Where(%keep, %out/attention/mask_bias.fill, %out/attention/mask_bias.zero) @out/attention/mask_bias
      %out: f32[2,4,4] = MultiHeadAttention<num_heads=2, scale=0.7071067932881648>(%q, %k, %v, %out/attention/mask_bias_output) @out/attention
      return %out
    })");
  EXPECT_EQ(r.count, 1u);
  // Row 0 masks its last key, row 1 masks every key (uniform weights, as PyTorch gives).
  Tensor keep_out(DType::boolean, {2, 1, 1, 4});
  for (int i : {3, 4, 5, 6, 7}) keep_out.data_as<bool>()[i] = true;
  expect_computes_the_same(r, {random_f32({2, 4, 4}, 19), random_f32({2, 4, 4}, 20), random_f32({2, 4, 4}, 21), keep_out});
}

TEST(FuseAttention, WhereWithScoresFirstIsNotMatched) {
  // Where(keep, scores, fill) keeps scores where the condition is true: not the masked_fill form.
  const char* graph = R"(
    graph main(%q: f32[1,4,4], %k: f32[1,4,4], %v: f32[1,4,4], %keep: bool[1,1,1,4]) {
      const %split: i64[4] = [1, 4, 2, 2]
      const %merge: i64[3] = [1, 4, 4]
      const %sqrt_d: f32[] = [1.4142135]
      const %min: f32[] = [-3.4028235e+38]
      %qr: f32[1,4,2,2] = Reshape(%q, %split)
      %qt: f32[1,2,4,2] = Transpose<perm=[0,2,1,3]>(%qr)
      %kr: f32[1,4,2,2] = Reshape(%k, %split)
      %kt: f32[1,2,2,4] = Transpose<perm=[0,2,3,1]>(%kr)
      %vr: f32[1,4,2,2] = Reshape(%v, %split)
      %vt: f32[1,2,4,2] = Transpose<perm=[0,2,1,3]>(%vr)
      %scores: f32[1,2,4,4] = MatMul(%qt, %kt)
      %scaled: f32[1,2,4,4] = Div(%scores, %sqrt_d)
      %masked: f32[1,2,4,4] = Where(%keep, %scaled, %min)
      %probs: f32[1,2,4,4] = Softmax<axis=-1>(%masked)
      %ctx: f32[1,2,4,2] = MatMul(%probs, %vt)
      %ctx_t: f32[1,4,2,2] = Transpose<perm=[0,2,1,3]>(%ctx)
      %out: f32[1,4,4] = Reshape(%ctx_t, %merge)
      return %out
    })";
  EXPECT_EQ(EXPECT_PASS(passes::fuse_attention, graph, graph).count, 0u);
}

TEST(FuseSkipLayerNorm, AddThenLayerNorm) {
  PassRun r = EXPECT_PASS(then_dce(passes::fuse_skip_layer_norm), R"(
    graph main(%x: f32[3,6], %y: f32[3,6]) {
      const %gamma: f32[6] = random(15)
      const %beta: f32[6] = random(16)
      %sum: f32[3,6] = Add(%x, %y)
      %out: f32[3,6] = LayerNormalization<axis=-1, epsilon=1e-12>(%sum, %gamma, %beta)
      return %out
    })", R"(
    graph main(%x: f32[3,6], %y: f32[3,6]) {
      const %gamma: f32[6] = random(15)
      const %beta: f32[6] = random(16)
      %out: f32[3,6] = SkipLayerNormalization<epsilon=1e-12>(%x, %y, %gamma, %beta) @out/skip_layer_norm
      return %out
    })");
  EXPECT_EQ(r.count, 1u);
  expect_computes_the_same(r, {random_f32({3, 6}, 17), random_f32({3, 6}, 18)});
}

TEST(FuseQkv, ThreeProjectionsBecomeOneAndAttentionReadsPacked) {
  // x -> three biased projections -> attention: after fuse_matmul + fuse_attention + fuse_qkv, one
  // FusedMatMul of width 3*hidden feeds MultiHeadAttention<packed_qkv=1>. The packed weight and bias
  // are the three concatenated: compared by type here, by the numbers below.
  auto pipeline = [](ir::Graph& g) {
    EXPECT_EQ(passes::fuse_attention(g), 1u);
    passes::eliminate_dead_code(g);
    EXPECT_EQ(passes::fuse_matmul(g), 3u);
    passes::eliminate_dead_code(g);
    return passes::fuse_qkv(g);
  };
  PassRun r = EXPECT_PASS(pipeline, R"(
    graph main(%x: f32[2,5,6], %mask: f32[2,1,1,5]) {
      const %q_w: f32[6,6] = random(60)
      const %q_b: f32[6] = random(61)
      const %k_w: f32[6,6] = random(62)
      const %k_b: f32[6] = random(63)
      const %v_w: f32[6,6] = random(64)
      const %v_b: f32[6] = random(65)
      const %split: i64[4] = [2, 5, 2, 3]
      const %merge: i64[3] = [2, 5, 6]
      const %inv_sqrt_d: f32[] = [0.57735026]
      %q_mm: f32[2,5,6] = MatMul(%x, %q_w)
      %q: f32[2,5,6] = Add(%q_mm, %q_b)
      %k_mm: f32[2,5,6] = MatMul(%x, %k_w)
      %k: f32[2,5,6] = Add(%k_mm, %k_b)
      %v_mm: f32[2,5,6] = MatMul(%x, %v_w)
      %v: f32[2,5,6] = Add(%v_mm, %v_b)
      %qr: f32[2,5,2,3] = Reshape(%q, %split)
      %qt: f32[2,2,5,3] = Transpose<perm=[0,2,1,3]>(%qr)
      %kr: f32[2,5,2,3] = Reshape(%k, %split)
      %kt: f32[2,2,3,5] = Transpose<perm=[0,2,3,1]>(%kr)
      %vr: f32[2,5,2,3] = Reshape(%v, %split)
      %vt: f32[2,2,5,3] = Transpose<perm=[0,2,1,3]>(%vr)
      %scores: f32[2,2,5,5] = MatMul(%qt, %kt)
      %scaled: f32[2,2,5,5] = Mul(%scores, %inv_sqrt_d)
      %masked: f32[2,2,5,5] = Add(%scaled, %mask)
      %probs: f32[2,2,5,5] = Softmax<axis=-1>(%masked)
      %ctx: f32[2,2,5,3] = MatMul(%probs, %vt)
      %ctx_t: f32[2,5,2,3] = Transpose<perm=[0,2,1,3]>(%ctx)
      %out: f32[2,5,6] = Reshape(%ctx_t, %merge)
      return %out
    })", R"(
    graph main(%x: f32[2,5,6], %mask: f32[2,1,1,5]) {
      const %out/attention/qkv.weight: f32[6,18] = <108 values>
      const %out/attention/qkv.bias: f32[18] = <18 values>
      %out/attention/qkv_output: f32[2,5,18] = FusedMatMul<activation="none">(%x, %out/attention/qkv.weight, %out/attention/qkv.bias) @out/attention/qkv
      %out: f32[2,5,6] = MultiHeadAttention<num_heads=2, packed_qkv=1, scale=0.57735026>(%out/attention/qkv_output, _, _, %mask) @out/attention
      return %out
    })", kLargeConstantsByType);
  EXPECT_EQ(r.count, 1u);
  Tensor m = tensor<float>({2, 1, 1, 5}, {0, 0, 0, 0, -3.4028235e38f, 0, 0, -10000, -10000, -10000});
  expect_computes_the_same(r, {random_f32({2, 5, 6}, 66), m});
}

}  // namespace
}  // namespace kiln::test

namespace kiln::test {
namespace {

TEST(PrepackWeights, PackedGraphComputesTheSame) {
  GraphBuilder b;
  int x = b.input("x", DType::f32, shape({3, 37, 64}));
  int mm = b.node1("MatMul", {x, b.constant("W", random_f32({64, 128}, 30))}, "mm");
  b.output(b.node1("Add", {mm, b.constant("bias", random_f32({128}, 31))}, "y"));
  typed(b.g);
  passes::fuse_matmul(b.g);
  passes::eliminate_dead_code(b.g);
  const std::vector<Tensor> in = {random_f32({3, 37, 64}, 32)};
  const std::vector<Tensor> before = run_graph(b.g, in);
  const size_t packed = passes::prepack_weights(b.g);
  if (packed == 0) GTEST_SKIP() << "this CPU's GEMM kernel takes plain weights (tier " << kernels::isa_name(kernels::active_isa()) << ")";
  passes::eliminate_dead_code(b.g);
  ir::verify(b.g, true);
  const std::string text = ir::to_text(b.g);
  EXPECT_NE(text.find("const %W.packed: f32["), std::string::npos) << text;
  EXPECT_NE(text.find("weight_dims=[64,128]"), std::string::npos) << text;
  // The reference kernel unpacks (what a CPU without the fast tier does); the oneDNN kernel uses the
  // packed blob in place.
  EXPECT_CLOSE(run_graph(b.g, in)[0], before[0], kTolF32);
  const ir::Node& n = b.g.nodes.back();
  std::vector<Tensor> args = {in[0], *b.g.values[n.inputs[1]].constant, *b.g.values[n.inputs[2]].constant};
  Tensor fast = run_kernel("FusedMatMul", DType::f32, kernels::Isa::avx2, args, {{DType::f32, {3, 37, 128}}}, n.attrs)[0];
  EXPECT_CLOSE(fast, before[0], gemm_tolerance(64));
}

}  // namespace
}  // namespace kiln::test
