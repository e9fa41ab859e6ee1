// auto_cast and quantize_int8, IR-to-IR: which ops are lowered, where casts go (one per value and
// type), graph outputs keeping their name and fp32, int8 weights and scales -- stated as whole graphs;
// and that the lowered graph still computes the same thing (reference kernels, low-precision
// tolerances).
#include "graph_text.h"

namespace kiln::test {
namespace {

// x -> LayerNorm -> {GEMM a, GEMM b} -> Add -> LayerNorm -> y. LN's output feeds two GEMMs: one cast.
const char* kTwoGemms = R"(
  graph main(%x: f32[2,5,8]) {
    const %g: f32[8] = random(1)
    const %be: f32[8] = random(2)
    const %wa: f32[8,6] = random(3)
    const %ba: f32[6] = random(4)
    const %wb: f32[8,6] = random(5)
    const %g2: f32[6] = random(6)
    %ln: f32[2,5,8] = LayerNormalization<epsilon=1e-05>(%x, %g, %be)
    %ga: f32[2,5,6] = FusedMatMul<activation="gelu_erf">(%ln, %wa, %ba)
    %gb: f32[2,5,6] = FusedMatMul(%ln, %wb)
    %sum: f32[2,5,6] = Add(%ga, %gb)
    %y: f32[2,5,6] = LayerNormalization<epsilon=1e-05>(%sum, %g2)
    return %y
  })";
const std::vector<Tensor> kTwoGemmsInputs = {random_f32({2, 5, 8}, 7)};

// auto_cast, then fold_constants (which folds the casts of weights into bf16 weights), as the pipeline runs them.
std::function<size_t(ir::Graph&)> auto_cast_bf16(const std::string& mode, passes::AutoCastReport* report) {
  return [=](ir::Graph& g) {
    *report = passes::auto_cast(g, mode, DType::bf16);
    passes::fold_constants(g);
    return report->lowered;
  };
}

TEST(AutoCast, MatmultCastsGemmInputsOnceAndKeepsFp32Outputs) {
  passes::AutoCastReport report;
  // A bf16 random(k) is the bf16 cast of the f32 random(k): the folded weights are stated exactly.
  PassRun r = EXPECT_PASS(auto_cast_bf16("matmult", &report), kTwoGemms, R"(
    graph main(%x: f32[2,5,8]) {
      const %g: f32[8] = random(1)
      const %be: f32[8] = random(2)
      const %wa.bf16: bf16[8,6] = random(3)    # folded bf16 weight
      const %ba: f32[6] = random(4)            # the bias stays fp32
      const %wb.bf16: bf16[8,6] = random(5)
      const %g2: f32[6] = random(6)
      %ln: f32[2,5,8] = LayerNormalization<epsilon=1e-05>(%x, %g, %be)
      %ln.bf16: bf16[2,5,8] = Cast<to="bf16">(%ln)   # once, for both GEMMs
      %ga: f32[2,5,6] = FusedMatMul<activation="gelu_erf", out_dtype="f32">(%ln.bf16, %wa.bf16, %ba)
      %gb: f32[2,5,6] = FusedMatMul<out_dtype="f32">(%ln.bf16, %wb.bf16)
      %sum: f32[2,5,6] = Add(%ga, %gb)
      %y: f32[2,5,6] = LayerNormalization<epsilon=1e-05>(%sum, %g2)
      return %y
    })");
  EXPECT_EQ(report.lowered, 2u);
  EXPECT_EQ(report.casts, 1u);  // ln -> bf16 once for both GEMMs (the weight casts are of constants)
  ir::verify(r.after, true);
  expect_computes_the_same(r, kTwoGemmsInputs, Tolerance{0.05, 0.05});  // LN output of bf16 GEMMs, magnitude ~1
}

// FFN-like: x -> GEMM(gelu) -> GEMM -> y. The first GEMM's output is read only by the second GEMM,
// which would cast it to bf16: the first GEMM writes bf16 itself and no Cast step is left between them.
TEST(AutoCast, MatmultGemmFeedingOnlyAGemmWritesTheLowTypeItself) {
  passes::AutoCastReport report;
  PassRun r = EXPECT_PASS(auto_cast_bf16("matmult", &report), R"(
    graph main(%x: f32[2,5,8]) {
      const %w1: f32[8,12] = random(1)
      const %b1: f32[12] = random(2)
      const %w2: f32[12,4] = random(3)
      %h: f32[2,5,12] = FusedMatMul<activation="gelu_erf">(%x, %w1, %b1)
      %y: f32[2,5,4] = FusedMatMul(%h, %w2)
      return %y
    })", R"(
    graph main(%x: f32[2,5,8]) {
      const %w1.bf16: bf16[8,12] = random(1)
      const %b1: f32[12] = random(2)
      const %w2.bf16: bf16[12,4] = random(3)
      %x.bf16: bf16[2,5,8] = Cast<to="bf16">(%x)
      %h: bf16[2,5,12] = FusedMatMul<activation="gelu_erf", out_dtype="bf16">(%x.bf16, %w1.bf16, %b1)
      %y: f32[2,5,4] = FusedMatMul<out_dtype="f32">(%h, %w2.bf16)
      return %y
    })");
  EXPECT_EQ(report.casts, 1u);  // x only
  ir::verify(r.after, true);
  expect_computes_the_same(r, {random_f32({2, 5, 8}, 4)}, Tolerance{0.05, 0.05});
}

TEST(AutoCast, AllLowersFollowersAndCastsTheGraphOutputBack) {
  passes::AutoCastReport report;
  // The first LayerNorm reads the fp32 graph input: it stays fp32 (follow). Both GEMMs, the Add and the
  // second LayerNorm run in bf16; LN's gamma stays fp32; the output keeps its name and type through a
  // final Cast.
  PassRun r = EXPECT_PASS(auto_cast_bf16("all", &report), kTwoGemms, R"(
    graph main(%x: f32[2,5,8]) {
      const %g: f32[8] = random(1)
      const %be: f32[8] = random(2)
      const %wa.bf16: bf16[8,6] = random(3)
      const %ba: f32[6] = random(4)
      const %wb.bf16: bf16[8,6] = random(5)
      const %g2: f32[6] = random(6)
      %ln: f32[2,5,8] = LayerNormalization<epsilon=1e-05>(%x, %g, %be)
      %ln.bf16: bf16[2,5,8] = Cast<to="bf16">(%ln)
      %ga: bf16[2,5,6] = FusedMatMul<activation="gelu_erf", out_dtype="bf16">(%ln.bf16, %wa.bf16, %ba)
      %gb: bf16[2,5,6] = FusedMatMul<out_dtype="bf16">(%ln.bf16, %wb.bf16)
      %sum: bf16[2,5,6] = Add(%ga, %gb)
      %y.bf16: bf16[2,5,6] = LayerNormalization<epsilon=1e-05>(%sum, %g2) @y
      %y: f32[2,5,6] = Cast<to="f32">(%y.bf16) @y.f32
      return %y
    })");
  EXPECT_EQ(report.lowered, 4u);
  EXPECT_EQ(report.casts, 2u);  // ln -> bf16, y.bf16 -> f32
  ir::verify(r.after, true);
  expect_computes_the_same(r, kTwoGemmsInputs, Tolerance{0.05, 0.05});
}

// One attention block: merged QKV projection -> MultiHeadAttention (packed, padding mask) -> output
// projection with the residual.
const char* kAttentionBlock = R"(
  graph main(%x: f32[2,5,8], %m: f32[2,1,1,5]) {
    const %wqkv: f32[8,24] = random(1)
    const %bqkv: f32[24] = random(2)
    const %wo: f32[8,8] = random(3)
    const %bo: f32[8] = random(4)
    %qkv: f32[2,5,24] = FusedMatMul(%x, %wqkv, %bqkv)
    %att: f32[2,5,8] = MultiHeadAttention<num_heads=2, packed_qkv=1>(%qkv, _, _, %m)
    %y: f32[2,5,8] = FusedMatMul(%att, %wo, %bo, %x)
    return %y
  })";
// A padding mask: the last key of the second sequence masked with finfo.min.
std::vector<Tensor> attention_block_inputs() {
  Tensor m = tensor<float>({2, 1, 1, 5}, {0, 0, 0, 0, 0, 0, 0, 0, 0, -3.4028235e38f});
  return {random_f32({2, 5, 8}, 5), m};
}

// Attention's two batched GEMMs make it a GEMM under matmult: Q/K/V arrive in bf16 straight from the
// QKV projection (no Cast step), the mask stays fp32, and its output, read only by the next GEMM, is
// written in bf16 by the attention itself.
TEST(AutoCast, MatmultRunsAttentionInBf16WithoutCastSteps) {
  passes::AutoCastReport report;
  PassRun r = EXPECT_PASS(auto_cast_bf16("matmult", &report), kAttentionBlock, R"(
    graph main(%x: f32[2,5,8], %m: f32[2,1,1,5]) {
      const %wqkv.bf16: bf16[8,24] = random(1)
      const %bqkv: f32[24] = random(2)
      const %wo.bf16: bf16[8,8] = random(3)
      const %bo: f32[8] = random(4)
      %x.bf16: bf16[2,5,8] = Cast<to="bf16">(%x)
      %qkv: bf16[2,5,24] = FusedMatMul<out_dtype="bf16">(%x.bf16, %wqkv.bf16, %bqkv)
      %att: bf16[2,5,8] = MultiHeadAttention<num_heads=2, out_dtype="bf16", packed_qkv=1>(%qkv, _, _, %m)
      %y: f32[2,5,8] = FusedMatMul<out_dtype="f32">(%att, %wo.bf16, %bo, %x)
      return %y
    })");
  EXPECT_EQ(report.lowered, 3u);
  EXPECT_EQ(report.casts, 1u);  // x only
  ir::verify(r.after, true);
  expect_computes_the_same(r, attention_block_inputs(), Tolerance{0.05, 0.05});
}

// fp16 has no attention kernel that computes in fp16 (only the widened one): attention stays fp32 and
// only the GEMMs are lowered.
TEST(AutoCast, MatmultFp16KeepsAttentionFp32) {
  ir::Graph g = ir::parse_graph(kAttentionBlock);
  const passes::AutoCastReport report = passes::auto_cast(g, "matmult", DType::f16);
  EXPECT_EQ(report.lowered, 2u);
  for (const ir::Node& n : g.nodes) {
    if (n.op == "MultiHeadAttention") { EXPECT_EQ(g.values[n.inputs[0]].dtype, DType::f32); }
  }
}

// int8 GEMMs with bf16 attention (--quantize int8 --auto-cast matmult): the GEMMs stay int8, the QKV
// projection writes bf16 for the attention, and the attention writes bf16 for the next int8 GEMM, which
// quantises it itself (OpSchema::quantized_input). No Cast steps.
TEST(AutoCast, Int8WithMatmultRunsAttentionInBf16) {
  PassRun r = EXPECT_PASS(
      [](ir::Graph& g) {
        const size_t q = passes::quantize_int8(g, nullptr);
        passes::auto_cast(g, "matmult", DType::bf16);
        passes::fold_constants(g);
        return q;
      },
      kAttentionBlock, R"(
    graph main(%x: f32[2,5,8], %m: f32[2,1,1,5]) {
      const %wqkv.i8: i8[8,24] = <192 values>
      const %bqkv: f32[24] = <24 values>
      const %wqkv.scales: f32[24] = <24 values>
      const %wo.i8: i8[8,8] = <64 values>
      const %bo: f32[8] = random(4)
      const %wo.scales: f32[8] = [0.005321496, 0.007412473, 0.00600281, 0.0076559023, 0.00666048, 0.0075159506, 0.0055804467, 0.006703235]
      %qkv: bf16[2,5,24] = FusedMatMul<out_dtype="bf16", quant="dynamic">(%x, %wqkv.i8, %bqkv, _, %wqkv.scales)
      %att: bf16[2,5,8] = MultiHeadAttention<num_heads=2, out_dtype="bf16", packed_qkv=1>(%qkv, _, _, %m)
      %y: f32[2,5,8] = FusedMatMul<quant="dynamic">(%att, %wo.i8, %bo, %x, %wo.scales)
      return %y
    })", kLargeConstantsByType);
  EXPECT_EQ(r.count, 2u);
  ir::verify(r.after, true);
  expect_computes_the_same(r, attention_block_inputs(), Tolerance{0.1, 0.05});
}

// The feed-forward block in int8 + matmult: the up projection's GELU output, read only by the int8 down
// projection, is written in bf16 (half the bytes its quantiser reads twice); read by anything else as
// well, it stays f32 and no Cast step appears.
const char* kFeedForward = R"(
  graph main(%x: f32[2,5,12]) {
    const %w1: f32[12,16] = random(1)
    const %b1: f32[16] = random(2)
    const %w2: f32[16,12] = random(3)
    const %b2: f32[12] = random(4)
    %h: f32[2,5,16] = FusedMatMul<activation="gelu_erf">(%x, %w1, %b1)
    %y: f32[2,5,12] = FusedMatMul(%h, %w2, %b2, %x)
    return %y
  })";
size_t int8_matmult(ir::Graph& g) {
  const size_t q = passes::quantize_int8(g, nullptr);
  passes::auto_cast(g, "matmult", DType::bf16);
  passes::fold_constants(g);
  return q;
}

TEST(AutoCast, Int8WithMatmultWritesAnInt8GemmsInputInBf16) {
  PassRun r = EXPECT_PASS(int8_matmult, kFeedForward, R"(
    graph main(%x: f32[2,5,12]) {
      const %w1.i8: i8[12,16] = <192 values>
      const %b1: f32[16] = <16 values>
      const %w1.scales: f32[16] = <16 values>
      const %w2.i8: i8[16,12] = <192 values>
      const %b2: f32[12] = <12 values>
      const %w2.scales: f32[12] = <12 values>
      %h: bf16[2,5,16] = FusedMatMul<activation="gelu_erf", out_dtype="bf16", quant="dynamic">(%x, %w1.i8, %b1, _, %w1.scales)
      %y: f32[2,5,12] = FusedMatMul<quant="dynamic">(%h, %w2.i8, %b2, %x, %w2.scales)
      return %y
    })", kLargeConstantsByType);
  EXPECT_EQ(r.count, 2u);
  ir::verify(r.after, true);
  expect_computes_the_same(r, {random_f32({2, 5, 12}, 8)}, Tolerance{0.1, 0.05});

  ir::Graph g = ir::parse_graph(R"(
    graph main(%x: f32[2,5,12]) {
      const %w1: f32[12,16] = random(1)
      const %w2: f32[16,12] = random(3)
      %h: f32[2,5,16] = FusedMatMul<activation="gelu_erf">(%x, %w1)
      %y: f32[2,5,12] = FusedMatMul(%h, %w2)
      return %y, %h
    })");
  int8_matmult(g);
  for (const ir::Node& n : g.nodes) EXPECT_NE(n.op, "Cast");
  for (const ir::Value& v : g.values) {
    if (v.name == "h") { EXPECT_EQ(v.dtype, DType::f32); }
  }
}

TEST(AutoCast, NoneChangesNothingAndUnknownModesFail) {
  passes::AutoCastReport report;
  EXPECT_EQ(EXPECT_PASS(auto_cast_bf16("none", &report), kTwoGemms, kTwoGemms).count, 0u);
  ir::Graph g = ir::parse_graph(kTwoGemms);
  EXPECT_KILN_ERROR(passes::auto_cast(g, "some", DType::bf16), {"unknown auto-cast mode 'some'"});
  EXPECT_KILN_ERROR(passes::auto_cast(g, "all", DType::i8), {"bf16 or fp16"});
}

// int8 weights (one scale per output column) cannot be stated as random(k): they are compared by dtype
// and shape (kLargeConstantsByType), their values by the numbers; the 6 scales of each weight are
// compared exactly (max |column| / 127 of random(3) and random(5)).
TEST(QuantizeInt8, PerColumnWeightsAndDynamicScales) {
  PassRun r = EXPECT_PASS([](ir::Graph& g) { return passes::quantize_int8(g, nullptr); }, kTwoGemms, R"(
    graph main(%x: f32[2,5,8]) {
      const %g: f32[8] = random(1)
      const %be: f32[8] = random(2)
      const %wa.i8: i8[8,6] = <48 values>
      const %ba: f32[6] = random(4)
      const %wa.scales: f32[6] = [0.0051334775, 0.00728053, 0.0055804467, 0.0075066877, 0.00593522, 0.0076559023]
      const %wb.i8: i8[8,6] = <48 values>
      const %wb.scales: f32[6] = [0.0076917964, 0.007305598, 0.0075574634, 0.007849314, 0.0077015716, 0.007828848]
      const %g2: f32[6] = random(6)
      %ln: f32[2,5,8] = LayerNormalization<epsilon=1e-05>(%x, %g, %be)
      %ga: f32[2,5,6] = FusedMatMul<activation="gelu_erf", quant="dynamic">(%ln, %wa.i8, %ba, _, %wa.scales)
      %gb: f32[2,5,6] = FusedMatMul<quant="dynamic">(%ln, %wb.i8, _, _, %wb.scales)
      %sum: f32[2,5,6] = Add(%ga, %gb)
      %y: f32[2,5,6] = LayerNormalization<epsilon=1e-05>(%sum, %g2)
      return %y
    })", kLargeConstantsByType);
  EXPECT_EQ(r.count, 2u);
  ir::verify(r.after, true);
  expect_computes_the_same(r, kTwoGemmsInputs, Tolerance{0.1, 0.05});
}

TEST(QuantizeInt8, StaticScalesFromCalibratedRanges) {
  const passes::ActivationRanges ranges{{"ln", 3.0f}};
  PassRun r = EXPECT_PASS([&](ir::Graph& g) { return passes::quantize_int8(g, &ranges); }, kTwoGemms, R"(
    graph main(%x: f32[2,5,8]) {
      const %g: f32[8] = random(1)
      const %be: f32[8] = random(2)
      const %wa.i8: i8[8,6] = <48 values>
      const %ba: f32[6] = random(4)
      const %wa.scales: f32[6] = [0.0051334775, 0.00728053, 0.0055804467, 0.0075066877, 0.00593522, 0.0076559023]
      const %wb.i8: i8[8,6] = <48 values>
      const %wb.scales: f32[6] = [0.0076917964, 0.007305598, 0.0075574634, 0.007849314, 0.0077015716, 0.007828848]
      const %g2: f32[6] = random(6)
      %ln: f32[2,5,8] = LayerNormalization<epsilon=1e-05>(%x, %g, %be)
      %ga: f32[2,5,6] = FusedMatMul<act_scale=0.023622047, activation="gelu_erf", quant="static">(%ln, %wa.i8, %ba, _, %wa.scales)
      %gb: f32[2,5,6] = FusedMatMul<act_scale=0.023622047, quant="static">(%ln, %wb.i8, _, _, %wb.scales)
      %sum: f32[2,5,6] = Add(%ga, %gb)
      %y: f32[2,5,6] = LayerNormalization<epsilon=1e-05>(%sum, %g2)
      return %y
    })", kLargeConstantsByType);
  EXPECT_EQ(r.count, 2u);
  EXPECT_NEAR(r.after.nodes[2].attrs.get_float("act_scale", 0), 3.0 / 127, 1e-9);
  expect_computes_the_same(r, kTwoGemmsInputs, Tolerance{0.1, 0.05});
}

TEST(QuantizeInt8, StaticWithoutARangeIsAnError) {
  ir::Graph g = ir::parse_graph(kTwoGemms);
  passes::ActivationRanges none;
  EXPECT_KILN_ERROR(passes::quantize_int8(g, &none), {"no calibrated range", "'ln'"});
}

}  // namespace
}  // namespace kiln::test
