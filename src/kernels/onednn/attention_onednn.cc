// MultiHeadAttention through oneDNN primitives, one batch element at a time, so at most one
// [heads, seq, seq] tile of scores exists (0.75 MiB for BERT-base at seq 128: it stays in L2):
//   scores = scale * Q_b K_b^T          batched matmul over heads, Q/K read in place through strides
//   scores += mask_b                    (broadcast rows)
//   softmax over the last axis          in place
//   O_b = scores V_b                    written straight into the [seq, heads*dim] output layout
// No transposes or reshapes are materialised: the [batch, seq, heads, dim] views are strides.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <vector>

#include "kernels/attention_layout.h"
#include "kernels/broadcast.h"
#include "kernels/kernel.h"
#include "kernels/onednn/onednn_common.h"
#include "kiln/error.h"

namespace kiln::kernels {
namespace {

using dnnl::memory;
using dt = dnnl::memory::data_type;

struct AttentionState {
  dnnl::stream stream;
  dnnl::matmul qk, pv;
  dnnl::softmax_forward softmax;
  memory::desc q_md, kt_md, scores_md, v_md, out_md;
  std::shared_ptr<float> scores;
  int64_t batch = 0, heads = 0, sq = 0, sk = 0, head_dim = 0;
  std::vector<int64_t> mask_row;  // element offset of the mask row for each (b, h, i)
  int64_t mask_stride = 0;        // 0 or 1 along the key axis
  // Per batch element: the memory objects over Q, K^T, V and the output (made once: no allocation per run).
  std::vector<memory> q, kt, v, out;
  memory scores_mem;
  std::vector<ExecArgs> qk_args, pv_args;
  ExecArgs softmax_args;
  memory scratchpad;
};

std::shared_ptr<void> prepare_attention(const KernelContext& c) {
  try {
    dnnl::engine& eng = onednn_engine();
    const AttentionLayout l = attention_layout(c);
    auto st = std::make_shared<AttentionState>();
    st->batch = l.batch;
    st->sq = l.sq;
    st->sk = l.sk;
    st->heads = l.heads;
    st->head_dim = l.head_dim;
    const memory::dim H = st->heads, Sq = st->sq, Sk = st->sk, D = st->head_dim, HD = H * D;
    const memory::dim QS = l.q_stride, KS = l.kv_stride;
    const float scale = static_cast<float>(c.attrs.get_float("scale", 1.0 / std::sqrt(static_cast<double>(D))));
    // Views of one batch element's rows as [heads, seq, dim] and, for K, [heads, dim, seq].
    st->q_md = memory::desc({H, Sq, D}, dt::f32, memory::dims{D, QS, 1});
    st->kt_md = memory::desc({H, D, Sk}, dt::f32, memory::dims{D, 1, KS});
    st->v_md = memory::desc({H, Sk, D}, dt::f32, memory::dims{D, KS, 1});
    st->out_md = memory::desc({H, Sq, D}, dt::f32, memory::dims{D, HD, 1});
    st->scores_md = memory::desc({H, Sq, Sk}, dt::f32, memory::format_tag::abc);

    dnnl::primitive_attr qk_attr = user_scratchpad_attr();
    qk_attr.set_output_scales(0, {scale});
    dnnl::matmul::primitive_desc qk_pd(dnnl::matmul::desc(st->q_md, st->kt_md, st->scores_md), qk_attr, eng);
    dnnl::matmul::primitive_desc pv_pd(dnnl::matmul::desc(st->scores_md, st->v_md, st->out_md), user_scratchpad_attr(), eng);
    dnnl::softmax_forward::primitive_desc sm_pd(
        dnnl::softmax_forward::desc(dnnl::prop_kind::forward_inference, st->scores_md, 2), user_scratchpad_attr(), eng);
    st->qk = dnnl::matmul(qk_pd);
    st->pv = dnnl::matmul(pv_pd);
    st->softmax = dnnl::softmax_forward(sm_pd);
    // One scratchpad, as large as the largest need: the three primitives run one after another.
    size_t scratch = std::max({size_t{1}, qk_pd.scratchpad_desc().get_size(), pv_pd.scratchpad_desc().get_size(),
                               sm_pd.scratchpad_desc().get_size()});
    st->scratchpad = make_scratchpad(memory::desc({static_cast<memory::dim>(scratch)}, dt::u8, memory::format_tag::a));
    st->stream = dnnl::stream(eng);

    float* buf = static_cast<float*>(std::aligned_alloc(64, (st->scores_md.get_size() + 63) / 64 * 64));
    if (!buf) fail("out of memory for the attention scores tile");
    st->scores = std::shared_ptr<float>(buf, [](float* p) { std::free(p); });

    st->scores_mem = memory(st->scores_md, eng, buf);
    for (int64_t b = 0; b < st->batch; ++b) {
      st->q.emplace_back(st->q_md, eng, const_cast<float*>(l.q + b * Sq * QS));
      st->kt.emplace_back(st->kt_md, eng, const_cast<float*>(l.k + b * Sk * KS));
      st->v.emplace_back(st->v_md, eng, const_cast<float*>(l.v + b * Sk * KS));
      st->out.emplace_back(st->out_md, eng, c.outputs[0].as<float>() + b * Sq * HD);
      st->qk_args.push_back(exec_args({{DNNL_ARG_SRC, st->q[b]}, {DNNL_ARG_WEIGHTS, st->kt[b]}, {DNNL_ARG_DST, st->scores_mem},
                             {DNNL_ARG_SCRATCHPAD, st->scratchpad}}));
      st->pv_args.push_back(exec_args({{DNNL_ARG_SRC, st->scores_mem}, {DNNL_ARG_WEIGHTS, st->v[b]}, {DNNL_ARG_DST, st->out[b]},
                             {DNNL_ARG_SCRATCHPAD, st->scratchpad}}));
    }
    st->softmax_args = exec_args({{DNNL_ARG_SRC, st->scores_mem}, {DNNL_ARG_DST, st->scores_mem}, {DNNL_ARG_SCRATCHPAD, st->scratchpad}});
    if (c.inputs.size() > 3 && c.inputs[3].present()) {
      Broadcaster bc({st->batch, H, Sq, Sk}, {c.inputs[3].dims});
      st->mask_stride = bc.inner_stride(0);
      st->mask_row.resize(bc.rows());
      for (int64_t r = 0; r < bc.rows(); ++r) bc.offsets(r, &st->mask_row[r]);
    }
    return st;
  } catch (const dnnl::error& e) {
    fail("oneDNN could not create the attention primitives: ", e.what());
  }
}

void attention_f32_onednn(const KernelContext& c) {
  auto* st = static_cast<AttentionState*>(c.state);
  KILN_CHECK(st != nullptr, "MultiHeadAttention run without prepare");
  const bool has_mask = !st->mask_row.empty();
  const float* mask = has_mask ? c.inputs[3].as<float>() : nullptr;
  float* scores = st->scores.get();
  for (int64_t b = 0; b < st->batch; ++b) {
    execute(st->qk, st->stream, st->qk_args[b]);
    if (has_mask) {
      const int64_t rows = st->heads * st->sq, sk = st->sk, stride = st->mask_stride;
      const int64_t* row_off = st->mask_row.data() + b * rows;
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
    execute(st->softmax, st->stream, st->softmax_args);
    execute(st->pv, st->stream, st->pv_args[b]);
  }
}

}  // namespace

void register_onednn_attention() {
  register_kernel("MultiHeadAttention", DType::f32, Isa::avx2, "attention_f32_onednn", attention_f32_onednn,
                  prepare_attention);
}

}  // namespace kiln::kernels
