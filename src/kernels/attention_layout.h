// Where Q, K and V live for a MultiHeadAttention step, shared by every tier's kernel.
//
// Separate inputs: q [B, Sq, H*D], k and v [B, Sk, H*D]. With packed_qkv=1 (after the merged Q/K/V
// projection), input 0 is one [B, S, 3*H*D] tensor holding q | k | v in each row, and inputs 1 and 2 are
// omitted. Either way, row r of head h of batch b of Q starts at element (b*Sq + r)*q_stride + h*D of q.
// Q, K and V share one element type (f32, or bf16 for the 16-bit kernels).
#pragma once

#include "kernels/kernel.h"

namespace kiln::kernels {

struct AttentionLayout {
  int64_t batch, sq, sk, heads, head_dim, hidden;
  int64_t q_stride, kv_stride;  // elements between consecutive rows
  DType dtype;
  const void *q, *k, *v;  // first elements
  template <class T> const T* q_as() const { return static_cast<const T*>(q); }
  template <class T> const T* k_as() const { return static_cast<const T*>(k); }
  template <class T> const T* v_as() const { return static_cast<const T*>(v); }
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
  l.dtype = in0.dtype;
  l.q = in0.data;
  if (packed) {
    const size_t bytes = dtype_size(in0.dtype);
    l.sk = l.sq;
    l.q_stride = l.kv_stride = 3 * l.hidden;
    l.k = static_cast<const char*>(in0.data) + l.hidden * bytes;
    l.v = static_cast<const char*>(in0.data) + 2 * l.hidden * bytes;
  } else {
    l.sk = c.inputs[1].dims[1];
    l.q_stride = l.kv_stride = l.hidden;
    l.k = c.inputs[1].data;
    l.v = c.inputs[2].data;
  }
  return l;
}

}  // namespace kiln::kernels
