// Kiln's fused ops: FusedMatMul and MultiHeadAttention — reference kernels against hand-computed
// values, and the oneDNN kernels against the references at odd sizes.
#include <cmath>
#include <cstring>

#include "test_util.h"

namespace kiln::test {
namespace {

using kernels::Isa;

bool has_avx2() { return kernels::detected_isa() >= Isa::avx2; }

TEST(FusedMatMul, ReferenceBiasActivationResidual) {
  // A = [[1, 2]], W = [[1, -1], [0.5, 2]] -> AW = [2, 3]; + bias [0.5, -4] = [2.5, -1];
  // relu -> [2.5, 0]; + residual [1, 1] = [3.5, 1].
  Tensor a = tensor<float>({1, 2}, {1, 2});
  Tensor w = tensor<float>({2, 2}, {1, -1, 0.5f, 2});
  Tensor bias = tensor<float>({2}, {0.5f, -4});
  Tensor res = tensor<float>({1, 2}, {1, 1});
  EXPECT_TENSOR(eval1("FusedMatMul", {a, w, bias, res}, Attr().s("activation", "relu")), DType::f32, {1, 2},
                {3.5, 1}, kTolF32);
  // gelu_erf(2.5) = 2.4844748, gelu_erf(-1) = -0.15865525 (numpy/scipy: x * norm.cdf(x))
  EXPECT_TENSOR(eval1("FusedMatMul", {a, w, bias}, Attr().s("activation", "gelu_erf")), DType::f32, {1, 2},
                {2.4844748, -0.15865525}, kTolF32);
  // trans_b: W stored as [N, K]
  Tensor wt = tensor<float>({2, 2}, {1, 0.5f, -1, 2});
  EXPECT_TENSOR(eval1("FusedMatMul", {a, wt}, Attr().i("trans_b", 1)), DType::f32, {1, 2}, {2, 3}, kTolF32);
}

TEST(FusedMatMul, ShapeRuleErrors) {
  EXPECT_KILN_ERROR(infer_output("FusedMatMul", {value_of(DType::f32, {2, 3}), value_of(DType::f32, {4, 5})}),
                    {"inner dims differ"});
  EXPECT_KILN_ERROR(infer_output("FusedMatMul", {value_of(DType::f32, {2, 3}), value_of(DType::f32, {3, 5}),
                                                 value_of(DType::f32, {4})}),
                    {"bias [4] must have 5 elements"});
  EXPECT_KILN_ERROR(infer_output("FusedMatMul", {value_of(DType::f32, {2, 3}), value_of(DType::f32, {3, 5})},
                                 Attr().s("activation", "swish")),
                    {"unknown activation 'swish'"});
}

struct MatMulCase {
  Dims a;
  int64_t n;
  bool trans_b, bias, residual;
  const char* act;
};

TEST(FusedMatMul, OneDnnMatchesReferenceAtOddSizes) {
  if (!has_avx2()) GTEST_SKIP() << "needs the avx2 tier";
  const MatMulCase cases[] = {
      {{1, 1}, 1, false, false, false, "none"},     {{3, 17}, 15, false, true, false, "gelu_erf"},
      {{2, 37, 33}, 16, false, true, true, "none"}, {{5, 64}, 129, true, true, false, "gelu_tanh"},
      {{3, 7, 129}, 33, true, false, true, "relu"}, {{1, 128, 60}, 240, false, true, false, "gelu_erf"},
  };
  uint64_t seed = 100;
  for (const MatMulCase& c : cases) {
    const int64_t k = c.a.back();
    Dims out = c.a;
    out.back() = c.n;
    std::vector<Tensor> in = {random_f32(c.a, seed++), random_f32(c.trans_b ? Dims{c.n, k} : Dims{k, c.n}, seed++)};
    in.push_back(c.bias ? random_f32({c.n}, seed++) : Tensor());
    if (c.residual) in.push_back(random_f32(out, seed++));
    Attr attrs = Attr().s("activation", c.act).i("trans_b", c.trans_b ? 1 : 0);
    Tensor ref = run_kernel("FusedMatMul", DType::f32, Isa::ref, in, {{DType::f32, out}}, attrs)[0];
    Tensor fast = run_kernel("FusedMatMul", DType::f32, Isa::avx2, in, {{DType::f32, out}}, attrs)[0];
    SCOPED_TRACE(dims_to_string(c.a) + " n=" + std::to_string(c.n) + " act=" + c.act);
    EXPECT_CLOSE(fast, ref, gemm_tolerance(k, 2.0));
  }
}

TEST(MultiHeadAttention, ReferenceByHand) {
  // One head, D = 1, S = 2: q = [1, 0], k = [1, 2], v = [10, 20], scale 1, no mask.
  // Row 0: scores [1, 2] -> softmax [0.26894142, 0.73105858] -> 17.310586
  // Row 1: scores [0, 0] -> [0.5, 0.5] -> 15
  Tensor q = tensor<float>({1, 2, 1}, {1, 0});
  Tensor k = tensor<float>({1, 2, 1}, {1, 2});
  Tensor v = tensor<float>({1, 2, 1}, {10, 20});
  Attr attrs = Attr().i("num_heads", 1).f("scale", 1.0);
  EXPECT_TENSOR(eval1("MultiHeadAttention", {q, k, v}, attrs), DType::f32, {1, 2, 1}, {17.310586, 15}, kTolF32);
  // A -inf-like mask on key 1 leaves all the weight on key 0.
  Tensor mask = tensor<float>({1, 1, 1, 2}, {0, -3.4028235e38f});
  EXPECT_TENSOR(eval1("MultiHeadAttention", {q, k, v, mask}, attrs), DType::f32, {1, 2, 1}, {10, 10}, kTolF32);
}

TEST(MultiHeadAttention, ShapeRuleErrors) {
  EXPECT_KILN_ERROR(infer_output("MultiHeadAttention", {value_of(DType::f32, {1, 4, 6}), value_of(DType::f32, {1, 4, 6}),
                                                        value_of(DType::f32, {1, 4, 6})},
                                 Attr().i("num_heads", 4)),
                    {"num_heads 4 does not divide the hidden size 6"});
  EXPECT_KILN_ERROR(infer_output("MultiHeadAttention", {value_of(DType::f32, {1, 4, 6}), value_of(DType::f32, {1, 4, 6}),
                                                        value_of(DType::f32, {1, 4, 6}), value_of(DType::f32, {1, 1, 1, 5})},
                                 Attr().i("num_heads", 2)),
                    {"cannot be broadcast"});
}

struct AttentionCase {
  int64_t b, s, h, d;
  Dims mask;  // empty: no mask
};

std::string describe(const AttentionCase& c) {
  return "b=" + std::to_string(c.b) + " s=" + std::to_string(c.s) + " h=" + std::to_string(c.h) +
         " d=" + std::to_string(c.d) + " mask=" + dims_to_string(c.mask);
}

// Odd sizes (vector tails in the fused softmax), every mask shape the kernel meets: none, the padding
// mask [B, 1, 1, Sk], per query [B, 1, Sq, Sk], per head, rank 1, and one value per query row (stride 0
// along the keys); and a scores tile big enough to split the batch into chunks plus a remainder.
const AttentionCase kAttentionCases[] = {
    {1, 1, 1, 1, {}},          {3, 37, 4, 15, {3, 1, 1, 37}},   {2, 17, 3, 11, {2, 1, 17, 17}},
    {1, 33, 6, 9, {1, 6, 33, 33}}, {2, 128, 2, 64, {2, 1, 1, 128}}, {3, 5, 2, 3, {5}},
    {2, 7, 2, 5, {2, 1, 7, 1}},
    // 4 MiB of scores per element: chunks of 2 batch elements and a remainder of 1
    {3, 512, 4, 8, {3, 1, 1, 512}}};

// Q, K, V from [-1, 1] and the mask, with every third mask entry finfo.min, as an exported padding mask.
std::vector<Tensor> attention_inputs(const AttentionCase& c, uint64_t& seed) {
  const Dims qkv = {c.b, c.s, c.h * c.d};
  std::vector<Tensor> in = {random_f32(qkv, seed++), random_f32(qkv, seed++), random_f32(qkv, seed++)};
  if (!c.mask.empty()) {
    Tensor m = random_f32(c.mask, seed++);
    for (int64_t i = 0; i < m.numel(); i += 3) m.data_as<float>()[i] = -3.4028235e38f;
    in.push_back(m);
  }
  return in;
}

Attr attention_attrs(const AttentionCase& c) {
  return Attr().i("num_heads", c.h).f("scale", 1.0 / std::sqrt(static_cast<double>(c.d)));
}

TEST(MultiHeadAttention, OneDnnMatchesReferenceAtOddSizes) {
  if (!has_avx2()) GTEST_SKIP() << "needs the avx2 tier";
  uint64_t seed = 200;
  for (const AttentionCase& c : kAttentionCases) {
    SCOPED_TRACE(describe(c));
    const Dims qkv = {c.b, c.s, c.h * c.d};
    const std::vector<Tensor> in = attention_inputs(c, seed);
    Tensor ref = run_kernel("MultiHeadAttention", DType::f32, Isa::ref, in, {{DType::f32, qkv}}, attention_attrs(c))[0];
    for (Isa isa : {Isa::avx2, Isa::avx512}) {
      if (kernels::detected_isa() < isa) continue;
      SCOPED_TRACE(kernels::isa_name(isa));
      Tensor fast = run_kernel("MultiHeadAttention", DType::f32, isa, in, {{DType::f32, qkv}}, attention_attrs(c))[0];
      EXPECT_CLOSE(fast, ref, gemm_tolerance(std::max(c.d, c.s)));
    }
  }
}

// The bf16 kernel against the fp32 reference on the same bf16 inputs. QK^T of bf16 values is exact in
// fp32 (the fp32 GEMM bound); the probabilities are rounded to bf16 once before PV, an error of at most
// 2^-9 of each p_j, so at most 2^-9 * sum_j p_j |v_j| <= 2^-9 in each output; a bf16 output adds its
// own rounding. One ulp bounds are kept, as for the other 16-bit kernels: 1/256 absolute.
TEST(MultiHeadAttention, Bf16MatchesReferenceOnBf16Inputs) {
  if (kernels::detected_isa() < Isa::avx512) GTEST_SKIP() << "needs the avx512 tier";
  uint64_t seed = 400;
  for (const AttentionCase& c : kAttentionCases) {
    SCOPED_TRACE(describe(c));
    const Dims qkv = {c.b, c.s, c.h * c.d};
    std::vector<Tensor> in = attention_inputs(c, seed), in16 = in;
    for (int i = 0; i < 3; ++i) {
      in16[i] = Tensor(DType::bf16, qkv);
      for (int64_t j = 0; j < qkv[0] * qkv[1] * qkv[2]; ++j) {
        const uint16_t h = f32_to_bf16(in[i].data_as<float>()[j]);
        in16[i].data_as<uint16_t>()[j] = h;
        in[i].data_as<float>()[j] = bf16_to_f32(h);  // the reference sees the same rounded values
      }
    }
    Tensor ref = run_kernel("MultiHeadAttention", DType::f32, Isa::ref, in, {{DType::f32, qkv}}, attention_attrs(c))[0];
    const double abs = 1.0 / 256 + gemm_tolerance(std::max(c.d, c.s)).abs;
    for (DType out : {DType::f32, DType::bf16}) {
      SCOPED_TRACE(dtype_name(out));
      Tensor fast = run_kernel("MultiHeadAttention", DType::bf16, Isa::avx512, in16, {{out, qkv}}, attention_attrs(c))[0];
      EXPECT_CLOSE(fast, ref, Tolerance{abs, out == DType::bf16 ? kTolBf16Store.rel : 0.0});
    }
  }
}

TEST(MultiHeadAttention, PackedQkvMatchesSeparateInputs) {
  // The same Q, K, V laid out as one [B, S, 3*HD] tensor give the same result on every tier.
  const int64_t B = 2, S = 19, H = 3, D = 7, HD = H * D;
  Tensor q = random_f32({B, S, HD}, 300), k = random_f32({B, S, HD}, 301), v = random_f32({B, S, HD}, 302);
  Tensor packed(DType::f32, {B, S, 3 * HD});
  for (int64_t r = 0; r < B * S; ++r) {
    std::memcpy(packed.data_as<float>() + r * 3 * HD, q.data_as<float>() + r * HD, HD * 4);
    std::memcpy(packed.data_as<float>() + r * 3 * HD + HD, k.data_as<float>() + r * HD, HD * 4);
    std::memcpy(packed.data_as<float>() + r * 3 * HD + 2 * HD, v.data_as<float>() + r * HD, HD * 4);
  }
  Tensor mask = random_f32({B, 1, 1, S}, 303);
  Attr sep = Attr().i("num_heads", H).f("scale", 0.3);
  Attr pk = Attr().i("num_heads", H).f("scale", 0.3).i("packed_qkv", 1);
  Tensor ref = run_kernel("MultiHeadAttention", DType::f32, Isa::ref, {q, k, v, mask}, {{DType::f32, {B, S, HD}}}, sep)[0];
  Tensor ref_packed =
      run_kernel("MultiHeadAttention", DType::f32, Isa::ref, {packed, Tensor(), Tensor(), mask}, {{DType::f32, {B, S, HD}}}, pk)[0];
  EXPECT_CLOSE(ref_packed, ref, kTolExact);
  if (!has_avx2()) GTEST_SKIP() << "needs the avx2 tier";
  Tensor fast =
      run_kernel("MultiHeadAttention", DType::f32, Isa::avx2, {packed, Tensor(), Tensor(), mask}, {{DType::f32, {B, S, HD}}}, pk)[0];
  EXPECT_CLOSE(fast, ref, gemm_tolerance(S));
}

}  // namespace
}  // namespace kiln::test
