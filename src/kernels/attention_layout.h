// Where Q, K and V live for a MultiHeadAttention step, shared by every tier's kernel.
//
// Separate inputs: q [B, Sq, H*D], k and v [B, Sk, H*D]. With packed_qkv=1 (after the merged Q/K/V
// projection), input 0 is one [B, S, 3*H*D] tensor holding q | k | v in each row, and inputs 1 and 2 are
// omitted. Either way, row r of head h of batch b of Q starts at q + (b*Sq + r)*q_stride + h*D.
#pragma once

#include "kernels/kernel.h"

namespace kiln::kernels {

struct AttentionLayout {
  int64_t batch, sq, sk, heads, head_dim, hidden;
  int64_t q_stride, kv_stride;  // elements between consecutive rows
  const float *q, *k, *v;
};

inline AttentionLayout attention_layout(const KernelContext& c) {
  AttentionLayout l;
  const TensorArg& in0 = c.inputs[0];
  const bool packed = c.attrs.get_int("packed_qkv", 0) != 0;
  l.batch = in0.dims[0];
  l.heads = c.attrs.get_int("num_heads");
  l.hidden = c.outputs[0].dims[2];
  l.head_dim = l.hidden / l.heads;
  l.sq = in0.dims[1];
  l.q = in0.as<float>();
  if (packed) {
    l.sk = l.sq;
    l.q_stride = l.kv_stride = 3 * l.hidden;
    l.k = l.q + l.hidden;
    l.v = l.q + 2 * l.hidden;
  } else {
    l.sk = c.inputs[1].dims[1];
    l.q_stride = l.kv_stride = l.hidden;
    l.k = c.inputs[1].as<float>();
    l.v = c.inputs[2].as<float>();
  }
  return l;
}

}  // namespace kiln::kernels
