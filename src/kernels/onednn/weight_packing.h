// Weights pre-packed at compile time into the blocked layout oneDNN's GEMM wants on the compiling CPU.
//
// A FusedMatMul whose weight was packed carries the layout in its attributes:
//   weight_dims          the logical weight dims before packing ([K, N], or [N, K] with trans_b)
//   packed_dims, packed_padded_dims, packed_padded_offsets, packed_strides, packed_inner_blks,
//   packed_inner_idxs, packed_offset0        the oneDNN blocked memory descriptor, field by field
// and its weight input is a flat blob of the packed bytes, of the weight's dtype (f32 or bf16). At load, a session whose primitive
// wants the same layout uses the blob in place (zero copies); any other CPU reorders it once.
#pragma once

#include <dnnl.hpp>

#include "ir/graph.h"
#include "kiln/tensor.h"

namespace kiln::kernels {

bool has_packed_layout(const ir::Attrs& attrs);
void set_packed_layout(ir::Attrs& attrs, const dnnl::memory::desc& md);
dnnl::memory::desc packed_layout(const ir::Attrs& attrs, DType dtype);

// Plain [K, N] (or [N, K] with trans_b) weights of `dtype` from a packed blob: what the reference
// kernel reads.
Tensor unpack_weights(const ir::Attrs& attrs, const void* packed, bool trans_b, DType dtype);

// oneDNN's data type for a Kiln dtype; throws for dtypes oneDNN has none for.
dnnl::memory::data_type onednn_dtype(DType t);

}  // namespace kiln::kernels
