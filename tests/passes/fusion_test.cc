// Fusion passes IR-to-IR: recognize_gelu, recognize_layer_norm, fuse_matmul, fuse_attention,
// fuse_skip_layer_norm — the dump after each pass, the numbers before and after (reference kernels),
// and patterns that must not match.
#include <map>

#include "passes/passes.h"
#include "test_util.h"

namespace kiln::test {
namespace {

// Types every value (as the pipeline does before fusing).
void typed(ir::Graph& g) {
  passes::fold_constants(g);
  ir::verify(g, true);
}

// Runs `pass` + dead-code elimination; checks the numbers did not change; returns the new dump.
std::string fuse_and_check(ir::Graph& g, size_t (*pass)(ir::Graph&), size_t expected_count,
                           const std::vector<Tensor>& inputs, Tolerance tol = kTolF32) {
  typed(g);
  const std::vector<Tensor> before = run_graph(g, inputs);
  EXPECT_EQ(pass(g), expected_count);
  passes::eliminate_dead_code(g);
  ir::verify(g, true);
  const std::vector<Tensor> after = run_graph(g, inputs);
  for (size_t i = 0; i < before.size(); ++i) EXPECT_CLOSE(after[i], before[i], tol);
  return ir::to_text(g);
}

Tensor s(float v) { return scalar<float>(v); }

TEST(RecognizeGelu, ErfFormHalfTimesXFirst) {
  GraphBuilder b;
  int x = b.input("x", DType::f32, shape({2, 5}));
  int d = b.node1("Div", {x, b.constant("sqrt2", s(1.4142135f))}, "d");
  int e = b.node1("Erf", {d}, "e");
  int a = b.node1("Add", {e, b.constant("one", s(1.f))}, "a");
  int h = b.node1("Mul", {x, b.constant("half", s(0.5f))}, "h");
  b.output(b.node1("Mul", {h, a}, "y"));
  EXPECT_EQ(fuse_and_check(b.g, passes::recognize_gelu, 1, {random_f32({2, 5}, 1)}),
            "graph main(%x: f32[2,5]) {\n"
            "  %y: f32[2,5] = Gelu<approximate=\"none\">(%x) @y/gelu\n"
            "  return %y\n"
            "}\n");
}

TEST(RecognizeGelu, ErfFormHalfLastAndMulBySqrtHalf) {
  GraphBuilder b;
  int x = b.input("x", DType::f32, shape({3, 4}));
  int d = b.node1("Mul", {x, b.constant("rsqrt2", s(0.70710678f))}, "d");
  int e = b.node1("Erf", {d}, "e");
  int a = b.node1("Add", {b.constant("one", s(1.f)), e}, "a");
  int m = b.node1("Mul", {x, a}, "m");
  b.output(b.node1("Mul", {m, b.constant("half", s(0.5f))}, "y"));
  const std::string text = fuse_and_check(b.g, passes::recognize_gelu, 1, {random_f32({3, 4}, 2)});
  EXPECT_NE(text.find("%y: f32[3,4] = Gelu<approximate=\"none\">(%x)"), std::string::npos) << text;
}

TEST(RecognizeGelu, TanhForm) {
  GraphBuilder b;
  int x = b.input("x", DType::f32, shape({2, 7}));
  int p = b.node1("Pow", {x, b.constant("three", s(3.f))}, "p");
  int c = b.node1("Mul", {b.constant("k", s(0.044715f)), p}, "c");
  int in = b.node1("Add", {x, c}, "in");
  int sc = b.node1("Mul", {b.constant("s2pi", s(0.7978845608f)), in}, "sc");
  int t = b.node1("Tanh", {sc}, "t");
  int a = b.node1("Add", {b.constant("one", s(1.f)), t}, "a");
  int h = b.node1("Mul", {b.constant("half", s(0.5f)), x}, "h");
  b.output(b.node1("Mul", {h, a}, "y"));
  const std::string text = fuse_and_check(b.g, passes::recognize_gelu, 1, {random_f32({2, 7}, 3)});
  EXPECT_NE(text.find("%y: f32[2,7] = Gelu<approximate=\"tanh\">(%x)"), std::string::npos) << text;
}

TEST(RecognizeGelu, WrongConstantDoesNotMatch) {
  GraphBuilder b;
  int x = b.input("x", DType::f32, shape({2, 5}));
  int d = b.node1("Div", {x, b.constant("c", s(1.5f))}, "d");  // not sqrt(2)
  int e = b.node1("Erf", {d}, "e");
  int a = b.node1("Add", {e, b.constant("one", s(1.f))}, "a");
  int h = b.node1("Mul", {x, b.constant("half", s(0.5f))}, "h");
  b.output(b.node1("Mul", {h, a}, "y"));
  typed(b.g);
  const std::string before = ir::to_text(b.g);
  EXPECT_EQ(passes::recognize_gelu(b.g), 0u);
  EXPECT_EQ(ir::to_text(b.g), before);
}

// x -> LayerNorm over the last axis, written out as exporters do before opset 17.
GraphBuilder decomposed_layer_norm(int64_t rows, int64_t width, float eps) {
  GraphBuilder b;
  int x = b.input("x", DType::f32, shape({rows, width}));
  Attr last = Attr().ints("axes", {-1});
  int m = b.node1("ReduceMean", {x}, "m", last);
  int d = b.node1("Sub", {x, m}, "d");
  int p = b.node1("Pow", {d, b.constant("two", s(2.f))}, "p");
  int v = b.node1("ReduceMean", {p}, "v", last);
  int e = b.node1("Add", {v, b.constant("eps", s(eps))}, "e");
  int sq = b.node1("Sqrt", {e}, "sq");
  int n = b.node1("Div", {d, sq}, "n");
  std::vector<float> gamma(width), beta(width);
  for (int64_t i = 0; i < width; ++i) {
    gamma[i] = 1.f + 0.1f * static_cast<float>(i);
    beta[i] = -0.05f * static_cast<float>(i);
  }
  int y1 = b.node1("Mul", {n, b.constant("gamma", tensor<float>({width}, gamma))}, "y1");
  b.output(b.node1("Add", {y1, b.constant("beta", tensor<float>({width}, beta))}, "y"));
  return b;
}

TEST(RecognizeLayerNorm, DecomposedFormBecomesOneNode) {
  GraphBuilder b = decomposed_layer_norm(3, 4, 1e-5f);
  EXPECT_EQ(fuse_and_check(b.g, passes::recognize_layer_norm, 1, {random_f32({3, 4}, 4)}),
            "graph main(%x: f32[3,4]) {\n"
            "  const %gamma: f32[4] = [1, 1.1, 1.2, 1.3]\n"
            "  const %beta: f32[4] = [-0, -0.05, -0.1, -0.15]\n"
            "  %y: f32[3,4] = LayerNormalization<axis=-1, epsilon=1e-05>(%x, %gamma, %beta) @y/layer_norm\n"
            "  return %y\n"
            "}\n");
}

TEST(RecognizeLayerNorm, IntermediateUsedElsewhereStillCorrect) {
  // The centred value d is also a graph output: it has a third reader, so the pattern does not match
  // and the graph is unchanged.
  GraphBuilder b = decomposed_layer_norm(2, 5, 1e-12f);
  b.output(b.g.find_value("d"));
  typed(b.g);
  EXPECT_EQ(passes::recognize_layer_norm(b.g), 0u);
}

TEST(FuseMatMul, BiasGeluResidual) {
  GraphBuilder b;
  int x = b.input("x", DType::f32, shape({2, 3, 4}));
  int r = b.input("r", DType::f32, shape({2, 3, 5}));
  int mm = b.node1("MatMul", {x, b.constant("W", random_f32({4, 5}, 5))}, "mm");
  int a = b.node1("Add", {b.constant("bias", random_f32({5}, 6)), mm}, "a");
  int gl = b.node1("Gelu", {a}, "g");
  b.output(b.node1("Add", {gl, r}, "y"));
  const std::string text =
      fuse_and_check(b.g, passes::fuse_matmul, 1, {random_f32({2, 3, 4}, 7), random_f32({2, 3, 5}, 8)});
  EXPECT_NE(text.find("%y: f32[2,3,5] = FusedMatMul<activation=\"gelu_erf\">(%x, %W, %bias, %r)"), std::string::npos)
      << text;
  EXPECT_EQ(text.find("MatMul("), std::string::npos) << text;
}

TEST(FuseMatMul, GemmWithTransposedWeightAndBias) {
  GraphBuilder b;
  int x = b.input("x", DType::f32, shape({3, 4}));
  b.output(b.node1("Gemm", {x, b.constant("B", random_f32({5, 4}, 9)), b.constant("C", random_f32({5}, 10))}, "y",
                   Attr().i("transB", 1)));
  const std::string text = fuse_and_check(b.g, passes::fuse_matmul, 1, {random_f32({3, 4}, 11)});
  EXPECT_NE(text.find("%y: f32[3,5] = FusedMatMul<activation=\"none\", trans_b=1>(%x, %B, %C)"), std::string::npos)
      << text;
}

TEST(FuseMatMul, NonConstantWeightIsLeftAlone) {
  GraphBuilder b;
  int x = b.input("x", DType::f32, shape({3, 4}));
  int w = b.input("w", DType::f32, shape({4, 2}));
  b.output(b.node1("MatMul", {x, w}, "y"));
  typed(b.g);
  EXPECT_EQ(passes::fuse_matmul(b.g), 0u);
}

// BERT-style attention over q, k, v [B, S, H*D] with an additive mask [B, 1, 1, S].
GraphBuilder attention_graph(int64_t B, int64_t S, int64_t H, int64_t D, bool where_mask) {
  GraphBuilder b;
  const int64_t HD = H * D;
  int q = b.input("q", DType::f32, shape({B, S, HD}));
  int k = b.input("k", DType::f32, shape({B, S, HD}));
  int v = b.input("v", DType::f32, shape({B, S, HD}));
  int mask = where_mask ? b.input("keep", DType::boolean, shape({B, 1, 1, S})) : b.input("mask", DType::f32, shape({B, 1, 1, S}));
  int split = b.constant("split", tensor<int64_t>({4}, {B, S, H, D}));
  int merge = b.constant("merge", tensor<int64_t>({3}, {B, S, HD}));
  int qt = b.node1("Transpose", {b.node1("Reshape", {q, split}, "qr")}, "qt", Attr().ints("perm", {0, 2, 1, 3}));
  int kt = b.node1("Transpose", {b.node1("Reshape", {k, split}, "kr")}, "kt", Attr().ints("perm", {0, 2, 3, 1}));
  int vt = b.node1("Transpose", {b.node1("Reshape", {v, split}, "vr")}, "vt", Attr().ints("perm", {0, 2, 1, 3}));
  int sc = b.node1("MatMul", {qt, kt}, "scores");
  int scaled = b.node1("Div", {sc, b.constant("sqrt_d", s(std::sqrt(static_cast<float>(D))))}, "scaled");
  // where_mask: DistilBERT's masked_fill, Where(masked_out, finfo.min, scores) over an expanded mask.
  int masked = where_mask
                   ? b.node1("Where", {b.node1("Expand", {mask, b.constant("full", tensor<int64_t>({4}, {B, H, S, S}))}, "mask_full"),
                                       b.constant("min", s(-3.4028235e38f)), scaled},
                             "masked")
                   : b.node1("Add", {scaled, mask}, "masked");
  int p = b.node1("Softmax", {masked}, "probs", Attr().i("axis", -1));
  int o = b.node1("MatMul", {p, vt}, "ctx");
  int ot = b.node1("Transpose", {o}, "ctx_t", Attr().ints("perm", {0, 2, 1, 3}));
  b.output(b.node1("Reshape", {ot, merge}, "out"));
  return b;
}

TEST(FuseAttention, BertPatternBecomesMultiHeadAttention) {
  GraphBuilder b = attention_graph(2, 5, 2, 3, false);
  Tensor mask = tensor<float>({2, 1, 1, 5}, {0, 0, 0, -10000, -10000, 0, 0, 0, 0, -3.4028235e38f});
  const std::string text = fuse_and_check(
      b.g, passes::fuse_attention, 1, {random_f32({2, 5, 6}, 12), random_f32({2, 5, 6}, 13), random_f32({2, 5, 6}, 14), mask});
  EXPECT_NE(text.find("%out: f32[2,5,6] = MultiHeadAttention<num_heads=2, scale=0.5773502"), std::string::npos) << text;
  EXPECT_NE(text.find(">(%q, %k, %v, %mask)"), std::string::npos) << text;
  EXPECT_EQ(text.find("Transpose"), std::string::npos) << text;
}

TEST(FuseAttention, WhereMaskedAttentionGetsAnAdditiveMask) {
  GraphBuilder b = attention_graph(2, 4, 2, 2, true);
  // Row 0 masks its last key, row 1 masks every key (uniform weights, as PyTorch gives).
  Tensor keep_out(DType::boolean, {2, 1, 1, 4});
  for (int i : {3, 4, 5, 6, 7}) keep_out.data_as<bool>()[i] = true;
  const std::string text = fuse_and_check(
      b.g, passes::fuse_attention, 1, {random_f32({2, 4, 4}, 19), random_f32({2, 4, 4}, 20), random_f32({2, 4, 4}, 21), keep_out});
  EXPECT_NE(text.find("= Where(%keep, %out/attention/mask_bias.fill, %out/attention/mask_bias.zero)"), std::string::npos) << text;
  EXPECT_NE(text.find("(%q, %k, %v, %out/attention/mask_bias_output)"),
            std::string::npos)
      << text;
}

TEST(FuseAttention, WhereWithScoresFirstIsNotMatched) {
  // Where(keep, scores, fill) keeps scores where the condition is true: not the masked_fill form.
  GraphBuilder b = attention_graph(1, 4, 2, 2, false);
  typed(b.g);
  for (ir::Node& n : b.g.nodes)
    if (n.op == "Add" && b.g.values[n.outputs[0]].name == "masked") {
      ir::Value cond;
      cond.name = "keep";
      cond.dtype = DType::boolean;
      cond.shape = shape({1, 1, 1, 4});
      int c = b.g.add_value(cond);
      b.g.inputs.push_back(c);
      n.op = "Where";
      n.inputs = {c, n.inputs[0], b.g.add_constant("min", s(-3.4028235e38f))};
    }
  b.g.rebuild_producers();
  typed(b.g);
  EXPECT_EQ(passes::fuse_attention(b.g), 0u);
}

TEST(FuseSkipLayerNorm, AddThenLayerNorm) {
  GraphBuilder b;
  int x = b.input("x", DType::f32, shape({3, 6}));
  int y = b.input("y", DType::f32, shape({3, 6}));
  int sum = b.node1("Add", {x, y}, "sum");
  b.output(b.node1("LayerNormalization", {sum, b.constant("gamma", random_f32({6}, 15)), b.constant("beta", random_f32({6}, 16))},
                   "out", Attr().i("axis", -1).f("epsilon", 1e-12)));
  const std::string text =
      fuse_and_check(b.g, passes::fuse_skip_layer_norm, 1, {random_f32({3, 6}, 17), random_f32({3, 6}, 18)});
  EXPECT_NE(text.find("%out: f32[3,6] = SkipLayerNormalization<epsilon=1e-12>(%x, %y, %gamma, %beta)"), std::string::npos)
      << text;
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

namespace kiln::test {
namespace {

TEST(FuseMatMul, GemmWithPerRowCIsNotFused) {
  // C [m, 1] is added per row; with m == n it has n elements but is not a bias. Must stay a Gemm.
  GraphBuilder b;
  int x = b.input("x", DType::f32, shape({4, 8}));
  b.output(b.node1("Gemm", {x, b.constant("B", random_f32({8, 4}, 50)), b.constant("C", random_f32({4, 1}, 51))}, "y"));
  typed(b.g);
  EXPECT_EQ(passes::fuse_matmul(b.g), 0u);
  EXPECT_NE(ir::to_text(b.g).find("= Gemm("), std::string::npos);
}

TEST(FuseQkv, ThreeProjectionsBecomeOneAndAttentionReadsPacked) {
  // x -> three biased projections -> attention: after fuse_matmul + fuse_attention + fuse_qkv, one
  // FusedMatMul of width 3*hidden feeds MultiHeadAttention<packed_qkv=1>.
  const int64_t B = 2, S = 5, H = 2, D = 3, HD = H * D;
  GraphBuilder b;
  int x = b.input("x", DType::f32, shape({B, S, HD}));
  int mask = b.input("mask", DType::f32, shape({B, 1, 1, S}));
  auto proj = [&](const char* name, uint64_t seed) {
    int mm = b.node1("MatMul", {x, b.constant(std::string(name) + "_w", random_f32({HD, HD}, seed))}, std::string(name) + "_mm");
    return b.node1("Add", {mm, b.constant(std::string(name) + "_b", random_f32({HD}, seed + 1))}, name);
  };
  int q = proj("q", 60), k = proj("k", 62), v = proj("v", 64);
  int split = b.constant("split", tensor<int64_t>({4}, {B, S, H, D}));
  int merge = b.constant("merge", tensor<int64_t>({3}, {B, S, HD}));
  int qt = b.node1("Transpose", {b.node1("Reshape", {q, split}, "qr")}, "qt", Attr().ints("perm", {0, 2, 1, 3}));
  int kt = b.node1("Transpose", {b.node1("Reshape", {k, split}, "kr")}, "kt", Attr().ints("perm", {0, 2, 3, 1}));
  int vt = b.node1("Transpose", {b.node1("Reshape", {v, split}, "vr")}, "vt", Attr().ints("perm", {0, 2, 1, 3}));
  int sc = b.node1("MatMul", {qt, kt}, "scores");
  int scaled = b.node1("Mul", {sc, b.constant("inv_sqrt_d", s(1.f / std::sqrt(3.f)))}, "scaled");
  int p = b.node1("Softmax", {b.node1("Add", {scaled, mask}, "masked")}, "probs", Attr().i("axis", -1));
  int ot = b.node1("Transpose", {b.node1("MatMul", {p, vt}, "ctx")}, "ctx_t", Attr().ints("perm", {0, 2, 1, 3}));
  b.output(b.node1("Reshape", {ot, merge}, "out"));
  typed(b.g);
  Tensor m = tensor<float>({B, 1, 1, S}, {0, 0, 0, 0, -3.4028235e38f, 0, 0, -10000, -10000, -10000});
  const std::vector<Tensor> in = {random_f32({B, S, HD}, 66), m};
  const std::vector<Tensor> before = run_graph(b.g, in);
  EXPECT_EQ(passes::fuse_attention(b.g), 1u);
  passes::eliminate_dead_code(b.g);
  EXPECT_EQ(passes::fuse_matmul(b.g), 3u);
  passes::eliminate_dead_code(b.g);
  EXPECT_EQ(passes::fuse_qkv(b.g), 1u);
  ir::verify(b.g, true);
  const std::string text = ir::to_text(b.g);
  EXPECT_NE(text.find("f32[2,5,18] = FusedMatMul<activation=\"none\">(%x, %"), std::string::npos) << text;
  EXPECT_NE(text.find("packed_qkv=1, scale=0.57735"), std::string::npos) << text;
  EXPECT_NE(text.find(", _, _, %mask)"), std::string::npos) << text;
  EXPECT_EQ(b.g.nodes.size(), 2u) << text;
  EXPECT_CLOSE(run_graph(b.g, in)[0], before[0], kTolF32);
}

}  // namespace
}  // namespace kiln::test
