// MultiHeadAttention through oneDNN primitives, a chunk of batch elements at a time:
//   scores = scale * Q_c K_c^T (+ mask)  one 4-D batched matmul over [chunk, heads]; Q/K read in place
//                                        through strides; a [B, 1, 1, Sk] padding mask is a binary
//                                        post-op, any other mask shape is added by a loop
//   softmax over the last axis           in place
//   O_c = scores V_c                     written straight into the [seq, heads*dim] output layout
// No transposes or reshapes are materialised: the [batch, seq, heads, dim] views are strides. The chunk
// is as many batch elements as keep the [chunk, heads, Sq, Sk] scores tile within kScoresBudget (8 MiB:
// all of BERT-base's batch 8 at seq 128, one element at seq 384): three primitive calls per chunk
// instead of per batch element, which matters for small tiles (BERT-base batch 8, seq 128: attention
// 39 -> 31 ms per run in `kiln profile`).
#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/attention_layout.h"
#include "kernels/broadcast.h"
#include "kernels/kernel.h"
#include "kernels/onednn/onednn_common.h"
#include "kiln/error.h"
#include "util/aligned.h"

namespace kiln::kernels {
namespace {

using dnnl::memory;
using dt = dnnl::memory::data_type;

constexpr size_t kScoresBudget = 8u << 20;

// The primitives for chunks of `size` batch elements.
struct ChunkPrimitives {
  int64_t size = 0;
  dnnl::matmul qk, pv;
  dnnl::softmax_forward softmax;
  memory::desc q_md, kt_md, v_md, out_md, scores_md, mask_md;
};

struct Chunk {
  int64_t first = 0;
  const ChunkPrimitives* prims = nullptr;
  ExecArgs qk_args, pv_args, softmax_args;
  std::vector<memory> keep;  // the memory objects the args point to
};

struct AttentionState {
  dnnl::stream stream;
  ChunkPrimitives full, rest;
  std::vector<Chunk> chunks;
  AlignedPtr scores;
  memory scratchpad;
  int64_t heads = 0, sq = 0, sk = 0;
  bool mask_post_op = false;
  std::vector<int64_t> mask_row;  // loop fallback: element offset of the mask row for each (b, h, i)
  int64_t mask_stride = 0;        // 0 or 1 along the key axis
};

ChunkPrimitives make_primitives(int64_t size, const AttentionLayout& l, float scale, bool mask_post_op, size_t& scratch) {
  dnnl::engine& eng = onednn_engine();
  ChunkPrimitives p;
  p.size = size;
  const memory::dim C = size, H = l.heads, Sq = l.sq, Sk = l.sk, D = l.head_dim, HD = H * D;
  const memory::dim QS = l.q_stride, KS = l.kv_stride;
  // Views of the chunk's rows as [chunk, heads, seq, dim] and, for K, [chunk, heads, dim, seq].
  p.q_md = memory::desc({C, H, Sq, D}, dt::f32, memory::dims{Sq * QS, D, QS, 1});
  p.kt_md = memory::desc({C, H, D, Sk}, dt::f32, memory::dims{Sk * KS, D, 1, KS});
  p.v_md = memory::desc({C, H, Sk, D}, dt::f32, memory::dims{Sk * KS, D, KS, 1});
  p.out_md = memory::desc({C, H, Sq, D}, dt::f32, memory::dims{Sq * HD, D, HD, 1});
  p.scores_md = memory::desc({C, H, Sq, Sk}, dt::f32, memory::format_tag::abcd);
  p.mask_md = memory::desc({C, 1, 1, Sk}, dt::f32, memory::format_tag::abcd);
  dnnl::primitive_attr qk_attr = user_scratchpad_attr();
  qk_attr.set_output_scales(0, {scale});
  if (mask_post_op) {
    dnnl::post_ops po;
    po.append_binary(dnnl::algorithm::binary_add, p.mask_md);
    qk_attr.set_post_ops(po);
  }
  dnnl::matmul::primitive_desc qk_pd(dnnl::matmul::desc(p.q_md, p.kt_md, p.scores_md), qk_attr, eng);
  dnnl::matmul::primitive_desc pv_pd(dnnl::matmul::desc(p.scores_md, p.v_md, p.out_md), user_scratchpad_attr(), eng);
  dnnl::softmax_forward::primitive_desc sm_pd(
      dnnl::softmax_forward::desc(dnnl::prop_kind::forward_inference, p.scores_md, 3), user_scratchpad_attr(), eng);
  p.qk = dnnl::matmul(qk_pd);
  p.pv = dnnl::matmul(pv_pd);
  p.softmax = dnnl::softmax_forward(sm_pd);
  scratch = std::max({scratch, qk_pd.scratchpad_desc().get_size(), pv_pd.scratchpad_desc().get_size(),
                      sm_pd.scratchpad_desc().get_size()});
  return p;
}

std::shared_ptr<void> prepare_attention(const KernelContext& c) {
  try {
    dnnl::engine& eng = onednn_engine();
    const AttentionLayout l = attention_layout(c);
    auto st = std::make_shared<AttentionState>();
    st->heads = l.heads;
    st->sq = l.sq;
    st->sk = l.sk;
    const int64_t B = l.batch, H = l.heads, Sq = l.sq, Sk = l.sk, HD = l.hidden;
    const float scale = static_cast<float>(c.attrs.get_float("scale", 1.0 / std::sqrt(static_cast<double>(l.head_dim))));
    const bool has_mask = c.inputs.size() > 3 && c.inputs[3].present();
    if (has_mask) {
      // The padding mask of encoders, [B, 1, 1, Sk] (any rank, leading 1s), is a post-op; others a loop.
      Dims m = c.inputs[3].dims;
      while (m.size() < 4) m.insert(m.begin(), 1);
      st->mask_post_op = m == Dims{B, 1, 1, Sk};
      if (!st->mask_post_op) {
        Broadcaster bc({B, H, Sq, Sk}, {c.inputs[3].dims});
        st->mask_stride = bc.inner_stride(0);
        st->mask_row.resize(bc.rows());
        for (int64_t r = 0; r < bc.rows(); ++r) bc.offsets(r, &st->mask_row[r]);
      }
    }
    const size_t tile = static_cast<size_t>(H * Sq * Sk) * sizeof(float);
    const int64_t chunk = std::clamp<int64_t>(static_cast<int64_t>(kScoresBudget / std::max<size_t>(tile, 1)), 1, B);
    size_t scratch = 1;
    st->full = make_primitives(chunk, l, scale, st->mask_post_op, scratch);
    if (B % chunk) st->rest = make_primitives(B % chunk, l, scale, st->mask_post_op, scratch);
    st->scratchpad = make_scratchpad(memory::desc({static_cast<memory::dim>(scratch)}, dt::u8, memory::format_tag::a));
    st->stream = dnnl::stream(eng);
    st->scores = allocate_aligned(chunk * tile, "the attention scores tile");
    float* buf = static_cast<float*>(st->scores.get());

    for (int64_t b = 0; b < B; b += chunk) {
      Chunk ch;
      ch.first = b;
      ch.prims = B - b >= chunk ? &st->full : &st->rest;
      const ChunkPrimitives& p = *ch.prims;
      memory q(p.q_md, eng, const_cast<float*>(l.q + b * Sq * l.q_stride));
      memory kt(p.kt_md, eng, const_cast<float*>(l.k + b * Sk * l.kv_stride));
      memory v(p.v_md, eng, const_cast<float*>(l.v + b * Sk * l.kv_stride));
      memory out(p.out_md, eng, c.outputs[0].as<float>() + b * Sq * HD);
      memory scores(p.scores_md, eng, buf);
      std::unordered_map<int, memory> qk = {{DNNL_ARG_SRC, q}, {DNNL_ARG_WEIGHTS, kt}, {DNNL_ARG_DST, scores},
                                             {DNNL_ARG_SCRATCHPAD, st->scratchpad}};
      if (st->mask_post_op) {
        memory mask(p.mask_md, eng, c.inputs[3].as<float>() + b * Sk);
        qk[DNNL_ARG_ATTR_MULTIPLE_POST_OP(0) | DNNL_ARG_SRC_1] = mask;
        ch.keep.push_back(mask);
      }
      ch.qk_args = exec_args(qk);
      ch.softmax_args = exec_args({{DNNL_ARG_SRC, scores}, {DNNL_ARG_DST, scores}, {DNNL_ARG_SCRATCHPAD, st->scratchpad}});
      ch.pv_args = exec_args({{DNNL_ARG_SRC, scores}, {DNNL_ARG_WEIGHTS, v}, {DNNL_ARG_DST, out}, {DNNL_ARG_SCRATCHPAD, st->scratchpad}});
      ch.keep.insert(ch.keep.end(), {q, kt, v, out, scores});
      st->chunks.push_back(std::move(ch));
    }
    return st;
  } catch (const dnnl::error& e) {
    fail("oneDNN could not create the attention primitives: ", e.what());
  }
}

void attention_f32_onednn(const KernelContext& c) {
  auto* st = static_cast<AttentionState*>(c.state);
  KILN_CHECK(st != nullptr, "MultiHeadAttention run without prepare");
  const float* mask = c.inputs.size() > 3 && c.inputs[3].present() ? c.inputs[3].as<float>() : nullptr;
  float* scores = static_cast<float*>(st->scores.get());
  for (const Chunk& ch : st->chunks) {
    execute(ch.prims->qk, st->stream, ch.qk_args);
    if (mask && !st->mask_post_op) {
      const int64_t rows = ch.prims->size * st->heads * st->sq, sk = st->sk, stride = st->mask_stride;
      const int64_t* row_off = st->mask_row.data() + ch.first * st->heads * st->sq;
#pragma omp parallel for schedule(static)
      for (int64_t r = 0; r < rows; ++r) {
        float* s = scores + r * sk;
        const float* m = mask + row_off[r];
        if (stride == 1)
          for (int64_t j = 0; j < sk; ++j) s[j] += m[j];
        else
          for (int64_t j = 0; j < sk; ++j) s[j] += m[0];
      }
    }
    execute(ch.prims->softmax, st->stream, ch.softmax_args);
    execute(ch.prims->pv, st->stream, ch.pv_args);
  }
}

}  // namespace

void register_onednn_attention() {
  register_kernel("MultiHeadAttention", DType::f32, Isa::avx2, "attention_f32_onednn", attention_f32_onednn,
                  prepare_attention);
}

}  // namespace kiln::kernels
