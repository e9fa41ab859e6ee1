// The int8 GEMM's ceiling and what each epilogue costs: a plain oneDNN 2.6 matmul on BERT-base shapes
// (batch 8 x seq 128 = 1024 rows), u8 or s8 activations x s8 weights prepacked (format any), f32 out,
// per-column output scales, every OpenMP thread. The epilogue is spelled as a string, in order:
//   B  bias as the matmul's bias argument (oneDNN adds it before the output scales)
//   m  binary_mul by a one-element tensor (Kiln's dynamic activation scale)
//   b  bias as a binary_add post-op
//   g  gelu_erf;  r  binary_add of a [rows, n] residual
// Kiln's int8 FusedMatMul uses "Bm" + g or r (fused_matmul_i8_onednn.cc); "mb" is what it used before.
//
//   build/kiln_micro --benchmark_filter=OneDnnInt8
#include "onednn_matmul_timing.h"

#include <string>
#include <unordered_map>
#include <vector>

namespace {

using dnnl::algorithm;
using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

void OneDnnInt8(benchmark::State& state, int64_t m, int64_t k, int64_t n, dt src_dt, std::string epilogue) {
  dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  memory::desc a_md({m, k}, src_dt, tag::ab), w_any({k, n}, dt::s8, tag::any), w_plain({k, n}, dt::s8, tag::ab);
  memory::desc y_md({m, n}, dt::f32, tag::ab), one({1, 1}, dt::f32, tag::ab), row({1, n}, dt::f32, tag::ab);
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  attr.set_output_scales(1 << 1, std::vector<float>(n, 0.01f));
  if (src_dt == dt::u8) attr.set_zero_points(DNNL_ARG_SRC, 0, {128});
  std::vector<float> scale(1, 1.f), bias(n, 0.5f), res(m * n, 0.25f), y(m * n);
  std::unordered_map<int, memory> args;
  dnnl::post_ops po;
  bool bias_arg = false;
  for (char c : epilogue) {
    const int i = po.len();
    const int slot = DNNL_ARG_ATTR_MULTIPLE_POST_OP(i) | DNNL_ARG_SRC_1;
    if (c == 'B') bias_arg = true;
    if (c == 'm') po.append_binary(algorithm::binary_mul, one), args[slot] = memory(one, eng, scale.data());
    if (c == 'b') po.append_binary(algorithm::binary_add, row), args[slot] = memory(row, eng, bias.data());
    if (c == 'g') po.append_eltwise(1.f, algorithm::eltwise_gelu_erf, 0.f, 0.f);
    if (c == 'r') po.append_binary(algorithm::binary_add, y_md), args[slot] = memory(y_md, eng, res.data());
  }
  attr.set_post_ops(po);
  const dnnl::matmul::desc d = bias_arg ? dnnl::matmul::desc(a_md, w_any, row, y_md) : dnnl::matmul::desc(a_md, w_any, y_md);
  dnnl::matmul::primitive_desc pd(d, attr, eng);
  std::vector<int8_t> a(m * k, 3), w(k * n, 1);
  args[DNNL_ARG_SRC] = memory(a_md, eng, a.data());
  args[DNNL_ARG_DST] = memory(y_md, eng, y.data());
  if (bias_arg) args[DNNL_ARG_BIAS] = memory(row, eng, bias.data());
  time_matmul(state, pd, memory(w_plain, eng, w.data()), args, m, k, n, "GOP/s");
}

// QKV (768 -> 2304), FFN up with GELU (768 -> 3072), FFN down with residual (3072 -> 768), attention out.
BENCHMARK_CAPTURE(OneDnnInt8, qkv_s8_mb, 1024, 768, 2304, dt::s8, "mb")->UseRealTime();
BENCHMARK_CAPTURE(OneDnnInt8, qkv_u8_Bm, 1024, 768, 2304, dt::u8, "Bm")->UseRealTime();
BENCHMARK_CAPTURE(OneDnnInt8, qkv_u8_bare, 1024, 768, 2304, dt::u8, "")->UseRealTime();
BENCHMARK_CAPTURE(OneDnnInt8, ffn_up_s8_mbg, 1024, 768, 3072, dt::s8, "mbg")->UseRealTime();
BENCHMARK_CAPTURE(OneDnnInt8, ffn_up_u8_Bmg, 1024, 768, 3072, dt::u8, "Bmg")->UseRealTime();
BENCHMARK_CAPTURE(OneDnnInt8, ffn_up_u8_bare, 1024, 768, 3072, dt::u8, "")->UseRealTime();
BENCHMARK_CAPTURE(OneDnnInt8, ffn_down_s8_mbr, 1024, 3072, 768, dt::s8, "mbr")->UseRealTime();
BENCHMARK_CAPTURE(OneDnnInt8, ffn_down_u8_Bmr, 1024, 3072, 768, dt::u8, "Bmr")->UseRealTime();
BENCHMARK_CAPTURE(OneDnnInt8, ffn_down_u8_bare, 1024, 3072, 768, dt::u8, "")->UseRealTime();
BENCHMARK_CAPTURE(OneDnnInt8, attn_out_s8_mbr, 1024, 768, 768, dt::s8, "mbr")->UseRealTime();
BENCHMARK_CAPTURE(OneDnnInt8, attn_out_u8_Bmr, 1024, 768, 768, dt::u8, "Bmr")->UseRealTime();
BENCHMARK_CAPTURE(OneDnnInt8, attn_out_u8_bare, 1024, 768, 768, dt::u8, "")->UseRealTime();

}  // namespace
