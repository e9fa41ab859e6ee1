// MultiHeadAttention through oneDNN's batched GEMM and our fused softmax, a chunk of batch elements at a time:
//   scores = Q_c K_c^T                   one 4-D batched matmul over [chunk, heads]; Q/K read in place
//                                        through strides, fp32 scores
//   P = softmax(scale * scores + mask)   one pass per row (x86 attention_probs): the scale and the
//                                        additive mask are applied here, not as GEMM post-ops, which
//                                        oneDNN 2.6's batched GEMM runs as an extra pass over the scores
//                                        (BERT-base b8 seq128: QK^T 1.09 -> 0.63 ms per layer)
//   O_c = P V_c                          written straight into the [seq, heads*dim] output layout
// No transposes or reshapes are materialised: the [batch, seq, heads, dim] views are strides. The chunk
// is as many batch elements as keep the [chunk, heads, Sq, Sk] scores tile within kScoresBudget (8 MiB:
// all of BERT-base's batch 8 at seq 128, one element at seq 384): three calls per chunk instead of per
// batch element, which matters for small tiles (BERT-base batch 8, seq 128: 39 -> 31 ms per run).
//
// Two element types:
//   f32   Q, K, V, P and O in fp32.
//   bf16  Q, K, V in bf16 (the QKV projection writes them so under auto-cast or int8), both GEMMs on
//         bf16 operands with fp32 accumulation (oneDNN's avx512_core_bf16 kernels), the scores and the
//         softmax in fp32, P rounded to bf16 once for the PV GEMM; O in the output's type (f32 or bf16).
//         BERT-base b8 seq128: QK^T 0.60 -> 0.33 ms and PV 0.62 -> 0.37 ms per layer.
#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/attention_layout.h"
#include "kernels/broadcast.h"
#include "kernels/kernel.h"
#include "kernels/onednn/onednn_common.h"
#include "kernels/onednn/weight_packing.h"
#include "kernels/parallel.h"
#include "kernels/x86/x86_kernels.h"
#include "kiln/error.h"
#include "util/aligned.h"

namespace kiln::kernels {
namespace {

using dnnl::memory;
using dt = dnnl::memory::data_type;

constexpr size_t kScoresBudget = 8u << 20;

// The softmax of the scores rows: fp32 probabilities in place, or bf16 probabilities into `probs`.
using ProbsF32 = void (*)(float*, int64_t, float, const float*, const int64_t*, int64_t, int64_t, int64_t);
using ProbsBf16 = void (*)(float*, uint16_t*, int64_t, float, const float*, const int64_t*, int64_t, int64_t,
                           int64_t);

// The primitives for chunks of `size` batch elements.
struct ChunkPrimitives {
  int64_t size = 0;
  dnnl::matmul qk, pv;
  memory::desc q_md, kt_md, v_md, out_md, scores_md, probs_md;
};

struct Chunk {
  int64_t first = 0;
  const ChunkPrimitives* prims = nullptr;
  ExecArgs qk_args, pv_args;
  std::vector<memory> keep;  // the memory objects the args point to
};

struct AttentionState {
  dnnl::stream stream;
  ChunkPrimitives full, rest;
  std::vector<Chunk> chunks;
  AlignedPtr scores;  // fp32 [chunk, heads, Sq, Sk]
  AlignedPtr probs;   // bf16 [chunk, heads, Sq, Sk], for the bf16 kernel only
  memory scratchpad;
  int64_t heads = 0, sq = 0, sk = 0;
  float scale = 1;
  std::vector<int64_t> mask_offset;  // element offset of the mask row for each (b, h, i); empty: no mask
  int64_t mask_stride = 0;           // 0 or 1 along the key axis
  ProbsBf16 probs_bf16 = nullptr;    // the bf16 kernel's softmax: with vcvtneps2bf16 when the CPU has it
};

ChunkPrimitives make_primitives(int64_t size, const AttentionLayout& l, DType out_type, size_t& scratch) {
  dnnl::engine& eng = onednn_engine();
  ChunkPrimitives p;
  p.size = size;
  const memory::dim C = size, H = l.heads, Sq = l.sq, Sk = l.sk, D = l.head_dim, HD = H * D;
  const memory::dim QS = l.q_stride, KS = l.kv_stride;
  const dt in = onednn_dtype(l.dtype);
  // Views of the chunk's rows as [chunk, heads, seq, dim] and, for K, [chunk, heads, dim, seq].
  p.q_md = memory::desc({C, H, Sq, D}, in, memory::dims{Sq * QS, D, QS, 1});
  p.kt_md = memory::desc({C, H, D, Sk}, in, memory::dims{Sk * KS, D, 1, KS});
  p.v_md = memory::desc({C, H, Sk, D}, in, memory::dims{Sk * KS, D, KS, 1});
  p.out_md = memory::desc({C, H, Sq, D}, onednn_dtype(out_type), memory::dims{Sq * HD, D, HD, 1});
  p.scores_md = memory::desc({C, H, Sq, Sk}, dt::f32, memory::format_tag::abcd);
  p.probs_md = memory::desc({C, H, Sq, Sk}, in, memory::format_tag::abcd);
  dnnl::matmul::primitive_desc qk_pd(dnnl::matmul::desc(p.q_md, p.kt_md, p.scores_md), user_scratchpad_attr(), eng);
  dnnl::matmul::primitive_desc pv_pd(dnnl::matmul::desc(p.probs_md, p.v_md, p.out_md), user_scratchpad_attr(), eng);
  p.qk = dnnl::matmul(qk_pd);
  p.pv = dnnl::matmul(pv_pd);
  scratch = std::max({scratch, qk_pd.scratchpad_desc().get_size(), pv_pd.scratchpad_desc().get_size()});
  return p;
}

std::shared_ptr<void> prepare_attention(const KernelContext& c) {
  try {
    dnnl::engine& eng = onednn_engine();
    const AttentionLayout l = attention_layout(c);
    KILN_CHECK(l.dtype == DType::f32 || l.dtype == DType::bf16, "attention_onednn: Q/K/V type ", dtype_name(l.dtype));
    const DType out_type = c.outputs[0].dtype;
    auto st = std::make_shared<AttentionState>();
    st->heads = l.heads;
    st->sq = l.sq;
    st->sk = l.sk;
    const int64_t B = l.batch, H = l.heads, Sq = l.sq, Sk = l.sk, HD = l.hidden;
    st->scale = static_cast<float>(c.attrs.get_float("scale", 1.0 / std::sqrt(static_cast<double>(l.head_dim))));
    if (c.inputs.size() > 3 && c.inputs[3].present()) {
      // Any mask that broadcasts to the scores: the padding mask of encoders is [B, 1, 1, Sk].
      Broadcaster bc({B, H, Sq, Sk}, {c.inputs[3].dims});
      st->mask_stride = bc.inner_stride(0);
      st->mask_offset.resize(bc.rows());
      for (int64_t r = 0; r < bc.rows(); ++r) bc.offsets(r, &st->mask_offset[r]);
    }
    const size_t tile = static_cast<size_t>(H * Sq * Sk) * sizeof(float);
    const int64_t chunk = std::clamp<int64_t>(static_cast<int64_t>(kScoresBudget / std::max<size_t>(tile, 1)), 1, B);
    size_t scratch = 1;
    st->full = make_primitives(chunk, l, out_type, scratch);
    if (B % chunk) st->rest = make_primitives(B % chunk, l, out_type, scratch);
    st->scratchpad = make_scratchpad(memory::desc({static_cast<memory::dim>(scratch)}, dt::u8, memory::format_tag::a));
    st->stream = dnnl::stream(eng);
    st->scores = allocate_aligned(chunk * tile, "the attention scores tile");
    void* probs = st->scores.get();
    if (l.dtype == DType::bf16) {
      st->probs = allocate_aligned(chunk * tile / 2, "the attention probabilities tile");
      probs = st->probs.get();
      st->probs_bf16 = has_avx512_bf16() ? x86::attention_probs_bf16_avx512bf16 : x86::attention_probs_bf16_avx512;
    }

    const size_t in_bytes = dtype_size(l.dtype), out_bytes = dtype_size(out_type);
    auto at = [](const void* base, int64_t elements, size_t bytes) {
      return const_cast<char*>(static_cast<const char*>(base)) + elements * static_cast<int64_t>(bytes);
    };
    for (int64_t b = 0; b < B; b += chunk) {
      Chunk ch;
      ch.first = b;
      ch.prims = B - b >= chunk ? &st->full : &st->rest;
      const ChunkPrimitives& p = *ch.prims;
      memory q(p.q_md, eng, at(l.q, b * Sq * l.q_stride, in_bytes));
      memory kt(p.kt_md, eng, at(l.k, b * Sk * l.kv_stride, in_bytes));
      memory v(p.v_md, eng, at(l.v, b * Sk * l.kv_stride, in_bytes));
      memory out(p.out_md, eng, at(c.outputs[0].data, b * Sq * HD, out_bytes));
      memory scores(p.scores_md, eng, st->scores.get());
      memory pr(p.probs_md, eng, probs);
      ch.qk_args = exec_args({{DNNL_ARG_SRC, q}, {DNNL_ARG_WEIGHTS, kt}, {DNNL_ARG_DST, scores},
                              {DNNL_ARG_SCRATCHPAD, st->scratchpad}});
      ch.pv_args = exec_args({{DNNL_ARG_SRC, pr}, {DNNL_ARG_WEIGHTS, v}, {DNNL_ARG_DST, out}, {DNNL_ARG_SCRATCHPAD, st->scratchpad}});
      ch.keep = {q, kt, v, out, scores, pr};
      st->chunks.push_back(std::move(ch));
    }
    return st;
  } catch (const dnnl::error& e) {
    fail("oneDNN could not create the attention primitives: ", e.what());
  }
}

// Per chunk: QK^T, the softmax rows split over the threads (probs(scores, mask, mask offsets, begin, end)
// on the chunk's rows), PV.
template <class Probs> void run_attention(const KernelContext& c, Probs&& probs) {
  auto* st = static_cast<AttentionState*>(c.state);
  KILN_CHECK(st != nullptr, "MultiHeadAttention run without prepare");
  const float* mask = c.inputs.size() > 3 && c.inputs[3].present() ? c.inputs[3].as<float>() : nullptr;
  float* scores = static_cast<float*>(st->scores.get());
  for (const Chunk& ch : st->chunks) {
    execute(ch.prims->qk, st->stream, ch.qk_args);
    const int64_t* offset = mask ? st->mask_offset.data() + ch.first * st->heads * st->sq : nullptr;
    parallel_ranges(ch.prims->size * st->heads * st->sq, st->sk, 1,
                    [&](int64_t begin, int64_t end) { probs(*st, scores, mask, offset, begin, end); });
    execute(ch.prims->pv, st->stream, ch.pv_args);
  }
}

template <ProbsF32 Probs> void attention_f32_onednn(const KernelContext& c) {
  run_attention(c, [](const AttentionState& st, float* s, const float* m, const int64_t* off, int64_t b, int64_t e) {
    Probs(s, st.sk, st.scale, m, off, st.mask_stride, b, e);
  });
}

void attention_bf16_onednn(const KernelContext& c) {
  run_attention(c, [](const AttentionState& st, float* s, const float* m, const int64_t* off, int64_t b, int64_t e) {
    st.probs_bf16(s, static_cast<uint16_t*>(st.probs.get()), st.sk, st.scale, m, off, st.mask_stride, b, e);
  });
}

}  // namespace

void register_onednn_attention() {
  register_kernel("MultiHeadAttention", DType::f32, Isa::avx2, "attention_f32_avx2_onednn",
                  attention_f32_onednn<x86::attention_probs_avx2>, prepare_attention);
  register_kernel("MultiHeadAttention", DType::f32, Isa::avx512, "attention_f32_avx512_onednn",
                  attention_f32_onednn<x86::attention_probs_avx512>, prepare_attention);
  register_kernel("MultiHeadAttention", DType::bf16, Isa::avx512, "attention_bf16_avx512_onednn",
                  attention_bf16_onednn, prepare_attention);
}

}  // namespace kiln::kernels
