#include "kernels/onednn/weight_packing.h"

#include <cstring>

#include "kernels/onednn/onednn_common.h"
#include "kiln/error.h"

namespace kiln::kernels {
namespace {

std::vector<int64_t> take(const dnnl_dim_t* v, int n) { return std::vector<int64_t>(v, v + n); }

void put(dnnl_dim_t* dst, const std::vector<int64_t>& v, const char* what) {
  if (v.size() > DNNL_MAX_NDIMS) fail("packed layout field ", what, " is too long");
  for (size_t i = 0; i < v.size(); ++i) dst[i] = v[i];
}

}  // namespace

bool has_packed_layout(const ir::Attrs& attrs) { return attrs.has("packed_strides"); }

void set_packed_layout(ir::Attrs& attrs, const dnnl::memory::desc& md) {
  const dnnl_memory_desc_t& d = md.data;
  KILN_CHECK(d.format_kind == dnnl_blocked, "only blocked layouts can be stored");
  const dnnl_blocking_desc_t& b = d.format_desc.blocking;
  attrs.set_ints("packed_dims", take(d.dims, d.ndims));
  attrs.set_ints("packed_padded_dims", take(d.padded_dims, d.ndims));
  attrs.set_ints("packed_padded_offsets", take(d.padded_offsets, d.ndims));
  attrs.set_ints("packed_strides", take(b.strides, d.ndims));
  attrs.set_ints("packed_inner_blks", take(b.inner_blks, b.inner_nblks));
  attrs.set_ints("packed_inner_idxs", take(b.inner_idxs, b.inner_nblks));
  attrs.set_int("packed_offset0", d.offset0);
}

dnnl::memory::data_type onednn_dtype(DType t) {
  switch (t) {
    case DType::f32: return dnnl::memory::data_type::f32;
    case DType::bf16: return dnnl::memory::data_type::bf16;
    case DType::f16: return dnnl::memory::data_type::f16;
    case DType::i8: return dnnl::memory::data_type::s8;
    case DType::u8: return dnnl::memory::data_type::u8;
    case DType::i32: return dnnl::memory::data_type::s32;
    default: fail("oneDNN has no data type for ", dtype_name(t));
  }
}

dnnl::memory::desc packed_layout(const ir::Attrs& attrs, DType dtype) {
  dnnl_memory_desc_t d;
  std::memset(&d, 0, sizeof d);
  const std::vector<int64_t> dims = attrs.get_ints("packed_dims");
  if (dims.empty() || dims.size() > DNNL_MAX_NDIMS) fail("bad packed layout rank ", dims.size());
  d.ndims = static_cast<int>(dims.size());
  d.data_type = static_cast<dnnl_data_type_t>(onednn_dtype(dtype));
  d.format_kind = dnnl_blocked;
  put(d.dims, dims, "dims");
  put(d.padded_dims, attrs.get_ints("packed_padded_dims"), "padded_dims");
  put(d.padded_offsets, attrs.get_ints("packed_padded_offsets"), "padded_offsets");
  put(d.format_desc.blocking.strides, attrs.get_ints("packed_strides"), "strides");
  const std::vector<int64_t> blks = attrs.get_ints("packed_inner_blks");
  d.format_desc.blocking.inner_nblks = static_cast<int>(blks.size());
  put(d.format_desc.blocking.inner_blks, blks, "inner_blks");
  put(d.format_desc.blocking.inner_idxs, attrs.get_ints("packed_inner_idxs"), "inner_idxs");
  d.offset0 = attrs.get_int("packed_offset0");
  return dnnl::memory::desc(d);
}

Tensor unpack_weights(const ir::Attrs& attrs, const void* packed, bool trans_b, DType dtype) {
  try {
    dnnl::engine& eng = onednn_engine();
    const dnnl::memory::desc src_md = packed_layout(attrs, dtype);
    const std::vector<int64_t> kn = attrs.get_ints("packed_dims");  // logical [K, N]
    if (kn.size() != 2 || kn[0] <= 0 || kn[1] <= 0) fail("packed weights must be 2-D");
    Tensor plain(dtype, trans_b ? Dims{kn[1], kn[0]} : Dims{kn[0], kn[1]});
    dnnl::memory::desc dst_md({kn[0], kn[1]}, onednn_dtype(dtype),
                              trans_b ? dnnl::memory::format_tag::ba : dnnl::memory::format_tag::ab);
    dnnl::memory src(src_md, eng, const_cast<void*>(packed)), dst(dst_md, eng, plain.data());
    dnnl::stream s(eng);
    dnnl::reorder(src, dst).execute(s, src, dst);
    s.wait();
    return plain;
  } catch (const dnnl::error& e) {
    fail("cannot unpack pre-packed weights: ", e.what());
  }
}

}  // namespace kiln::kernels
