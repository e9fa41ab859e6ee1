// The fp32 and bf16 GEMM ceilings on BERT-base shapes: a plain oneDNN 2.6 matmul (batch 8 x seq 128 =
// 1024 rows), weights prepacked (format any), f32 bias argument, every OpenMP thread; the epilogue as
// Kiln's FusedMatMul spells it: "" none, "g" gelu_erf, "r" binary_add of an f32 [rows, n] residual.
// Output: bf16 for bf16 GEMMs feeding another GEMM (QKV, FFN up), f32 otherwise, as in the bf16-matmult
// artifacts. What bf16-matmult can reach over fp32 is the ratio of the two (docs/benchmarks.md).
//
//   build/kiln_micro --benchmark_filter=OneDnnFloat
#include "onednn_matmul_timing.h"

#include <string>
#include <unordered_map>
#include <vector>

namespace {

using dnnl::algorithm;
using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

void OneDnnFloat(benchmark::State& state, int64_t m, int64_t k, int64_t n, dt compute, dt out, std::string epilogue) {
  dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  memory::desc a_md({m, k}, compute, tag::ab), w_any({k, n}, compute, tag::any), w_plain({k, n}, compute, tag::ab);
  memory::desc y_md({m, n}, out, tag::ab), res_md({m, n}, dt::f32, tag::ab), row({1, n}, dt::f32, tag::ab);
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  std::vector<float> bias(n, 0.5f), res(m * n, 0.25f), y(m * n), a(m * k, 0.01f), w(k * n, 0.01f);
  std::unordered_map<int, memory> args;
  dnnl::post_ops po;
  for (char c : epilogue) {
    const int slot = DNNL_ARG_ATTR_MULTIPLE_POST_OP(po.len()) | DNNL_ARG_SRC_1;
    if (c == 'g') po.append_eltwise(1.f, algorithm::eltwise_gelu_erf, 0.f, 0.f);
    if (c == 'r') po.append_binary(algorithm::binary_add, res_md), args[slot] = memory(res_md, eng, res.data());
  }
  attr.set_post_ops(po);
  dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(a_md, w_any, row, y_md), attr, eng);
  // Buffers sized for f32 serve both types (the values do not matter).
  args[DNNL_ARG_SRC] = memory(a_md, eng, a.data());
  args[DNNL_ARG_BIAS] = memory(row, eng, bias.data());
  args[DNNL_ARG_DST] = memory(y_md, eng, y.data());
  time_matmul(state, pd, memory(w_plain, eng, w.data()), args, m, k, n, "GFLOP/s");
}

// QKV (768 -> 2304), FFN up with GELU (768 -> 3072), FFN down with residual (3072 -> 768), attention out.
BENCHMARK_CAPTURE(OneDnnFloat, qkv_f32, 1024, 768, 2304, dt::f32, dt::f32, "")->UseRealTime();
BENCHMARK_CAPTURE(OneDnnFloat, qkv_bf16, 1024, 768, 2304, dt::bf16, dt::bf16, "")->UseRealTime();
BENCHMARK_CAPTURE(OneDnnFloat, ffn_up_f32_g, 1024, 768, 3072, dt::f32, dt::f32, "g")->UseRealTime();
BENCHMARK_CAPTURE(OneDnnFloat, ffn_up_bf16_g, 1024, 768, 3072, dt::bf16, dt::bf16, "g")->UseRealTime();
BENCHMARK_CAPTURE(OneDnnFloat, ffn_up_f32_bare, 1024, 768, 3072, dt::f32, dt::f32, "")->UseRealTime();
BENCHMARK_CAPTURE(OneDnnFloat, ffn_up_bf16_bare, 1024, 768, 3072, dt::bf16, dt::bf16, "")->UseRealTime();
BENCHMARK_CAPTURE(OneDnnFloat, ffn_down_f32_r, 1024, 3072, 768, dt::f32, dt::f32, "r")->UseRealTime();
BENCHMARK_CAPTURE(OneDnnFloat, ffn_down_bf16_r, 1024, 3072, 768, dt::bf16, dt::f32, "r")->UseRealTime();
BENCHMARK_CAPTURE(OneDnnFloat, attn_out_f32_r, 1024, 768, 768, dt::f32, dt::f32, "r")->UseRealTime();
BENCHMARK_CAPTURE(OneDnnFloat, attn_out_bf16_r, 1024, 768, 768, dt::bf16, dt::f32, "r")->UseRealTime();

}  // namespace
