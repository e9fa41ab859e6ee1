// Reference kernels for shape and data-movement ops. They move raw elements, so one implementation
// per element size serves every dtype.
#include <cmath>
#include <cstring>

#include "kernels/broadcast.h"
#include "kernels/kernel.h"
#include "kernels/ref/ref_kernels.h"
#include "kiln/error.h"
#include "ops/op_schema.h"
#include "ops/shape_rules.h"

namespace kiln::kernels {
namespace {

size_t elem(const TensorArg& t) { return dtype_size(t.dtype); }

std::vector<int64_t> read_ints(const TensorArg& t) {
  std::vector<int64_t> v(t.numel());
  for (int64_t i = 0; i < t.numel(); ++i)
    v[i] = t.dtype == DType::i32 ? t.as<int32_t>()[i] : t.as<int64_t>()[i];
  return v;
}

Dims contiguous_strides(const Dims& d) {
  Dims s(d.size(), 1);
  for (int64_t i = static_cast<int64_t>(d.size()) - 2; i >= 0; --i) s[i] = s[i + 1] * d[i + 1];
  return s;
}

// Reshape, Flatten, Squeeze, Unsqueeze, Identity, Dropout: the bytes do not change.
void copy_ref(const KernelContext& c) {
  std::memcpy(c.outputs[0].data, c.inputs[0].data, c.inputs[0].numel() * elem(c.inputs[0]));
  if (c.outputs.size() > 1 && c.outputs[1].present())  // Dropout's mask: everything kept
    std::memset(c.outputs[1].data, 1, c.outputs[1].numel());
}

void shape_ref(const KernelContext& c) {
  const Dims& d = c.inputs[0].dims;
  int64_t rank = static_cast<int64_t>(d.size());
  int64_t start = c.attrs.get_int("start", 0);
  if (start < 0) start += rank;
  start = std::max<int64_t>(0, std::min(start, rank));
  for (int64_t i = 0; i < c.outputs[0].numel(); ++i) c.outputs[0].as<int64_t>()[i] = d[start + i];
}

void size_ref(const KernelContext& c) { c.outputs[0].as<int64_t>()[0] = c.inputs[0].numel(); }

template <typename E> void transpose_elems(const KernelContext& c, const std::vector<int64_t>& perm) {
  const TensorArg &in = c.inputs[0], &out = c.outputs[0];
  const size_t rank = in.dims.size();
  Dims in_strides = contiguous_strides(in.dims);
  Dims src_stride(rank);  // input stride of each output axis
  for (size_t i = 0; i < rank; ++i) src_stride[i] = in_strides[perm[i]];
  const E* src = in.as<E>();
  E* dst = out.as<E>();
  const int64_t n = out.numel();
  std::vector<int64_t> idx(rank, 0);
  int64_t off = 0;
  for (int64_t k = 0; k < n; ++k) {
    dst[k] = src[off];
    for (int64_t a = static_cast<int64_t>(rank) - 1; a >= 0; --a) {
      if (++idx[a] < out.dims[a]) {
        off += src_stride[a];
        break;
      }
      off -= src_stride[a] * (idx[a] - 1);
      idx[a] = 0;
    }
  }
}

void transpose_ref(const KernelContext& c) {
  const size_t rank = c.inputs[0].dims.size();
  std::vector<int64_t> perm;
  if (c.attrs.has("perm")) perm = c.attrs.get_ints("perm");
  else
    for (int64_t i = static_cast<int64_t>(rank) - 1; i >= 0; --i) perm.push_back(i);
  for (int64_t& p : perm)
    if (p < 0) p += static_cast<int64_t>(rank);
  if (rank == 0) return copy_ref(c);
  switch (elem(c.inputs[0])) {
    case 1: return transpose_elems<uint8_t>(c, perm);
    case 2: return transpose_elems<uint16_t>(c, perm);
    case 4: return transpose_elems<uint32_t>(c, perm);
    default: return transpose_elems<uint64_t>(c, perm);
  }
}

void concat_ref(const KernelContext& c) {
  const TensorArg& out = c.outputs[0];
  const int64_t rank = static_cast<int64_t>(out.dims.size());
  const int64_t axis = ops::normalize_axis(c.attrs.get_int("axis"), rank, "Concat axis");
  int64_t outer = 1, inner = 1;
  for (int64_t i = 0; i < axis; ++i) outer *= out.dims[i];
  for (int64_t i = axis + 1; i < rank; ++i) inner *= out.dims[i];
  const size_t es = elem(out);
  const size_t out_row = static_cast<size_t>(out.dims[axis] * inner) * es;
  size_t col = 0;
  for (const TensorArg& in : c.inputs) {
    const size_t in_row = static_cast<size_t>(in.dims[axis] * inner) * es;
    for (int64_t o = 0; o < outer; ++o)
      std::memcpy(static_cast<char*>(out.data) + o * out_row + col,
                  static_cast<const char*>(in.data) + o * in_row, in_row);
    col += in_row;
  }
}

void split_ref(const KernelContext& c) {
  const TensorArg& in = c.inputs[0];
  const int64_t rank = static_cast<int64_t>(in.dims.size());
  const int64_t axis = ops::normalize_axis(c.attrs.get_int("axis", 0), rank, "Split axis");
  int64_t outer = 1, inner = 1;
  for (int64_t i = 0; i < axis; ++i) outer *= in.dims[i];
  for (int64_t i = axis + 1; i < rank; ++i) inner *= in.dims[i];
  const size_t es = elem(in);
  const size_t in_row = static_cast<size_t>(in.dims[axis] * inner) * es;
  size_t col = 0;
  int64_t total = 0;
  for (const TensorArg& out : c.outputs) {
    KILN_CHECK(out.dims.size() == in.dims.size(), "Split output rank");
    total += out.dims[axis];
    KILN_CHECK(total <= in.dims[axis], "Split outputs exceed the input along the axis");
    const size_t out_row = static_cast<size_t>(out.dims[axis] * inner) * es;
    if (out_row)
      for (int64_t o = 0; o < outer; ++o)
        std::memcpy(static_cast<char*>(out.data) + o * out_row, static_cast<const char*>(in.data) + o * in_row + col,
                    out_row);
    col += out_row;
  }
}

void slice_ref(const KernelContext& c) {
  const TensorArg &in = c.inputs[0], &out = c.outputs[0];
  std::vector<int64_t> axes, steps;
  if (c.inputs.size() > 3 && c.inputs[3].present()) axes = read_ints(c.inputs[3]);
  if (c.inputs.size() > 4 && c.inputs[4].present()) steps = read_ints(c.inputs[4]);
  ops::SliceParams p = ops::slice_params(in.dims, read_ints(c.inputs[1]), read_ints(c.inputs[2]), axes, steps);
  const size_t rank = in.dims.size(), es = elem(in);
  Dims in_strides = contiguous_strides(in.dims);
  const int64_t n = out.numel();
  std::vector<int64_t> idx(rank, 0);
  for (int64_t k = 0; k < n; ++k) {
    int64_t off = 0;
    for (size_t a = 0; a < rank; ++a) off += (p.starts[a] + idx[a] * p.steps[a]) * in_strides[a];
    std::memcpy(static_cast<char*>(out.data) + k * es, static_cast<const char*>(in.data) + off * es, es);
    for (int64_t a = static_cast<int64_t>(rank) - 1; a >= 0; --a) {
      if (++idx[a] < out.dims[a]) break;
      idx[a] = 0;
    }
  }
}

void gather_ref(const KernelContext& c) {
  const TensorArg &data = c.inputs[0], &indices = c.inputs[1], &out = c.outputs[0];
  const int64_t rank = static_cast<int64_t>(data.dims.size());
  const int64_t axis = ops::normalize_axis(c.attrs.get_int("axis", 0), rank, "Gather axis");
  int64_t outer = 1, inner = 1;
  for (int64_t i = 0; i < axis; ++i) outer *= data.dims[i];
  for (int64_t i = axis + 1; i < rank; ++i) inner *= data.dims[i];
  const int64_t dim = data.dims[axis], count = indices.numel();
  const size_t es = elem(data), chunk = static_cast<size_t>(inner) * es;
  std::vector<int64_t> idx = read_ints(indices);
  for (int64_t j = 0; j < count; ++j) {
    if (idx[j] < -dim || idx[j] >= dim)
      fail("index ", idx[j], " at position ", j, " of indices ", dims_to_string(indices.dims),
           " is out of range [", -dim, ", ", dim, ") for data ", dims_to_string(data.dims));
    if (idx[j] < 0) idx[j] += dim;
  }
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t j = 0; j < count; ++j)
      std::memcpy(static_cast<char*>(out.data) + (o * count + j) * chunk,
                  static_cast<const char*>(data.data) + (o * dim + idx[j]) * chunk, chunk);
}

template <typename E> void broadcast_copy(const TensorArg& in, const TensorArg& out) {
  Broadcaster bc(out.dims, {in.dims});
  int64_t off[1];
  const int64_t s = bc.inner_stride(0);
  for (int64_t r = 0; r < bc.rows(); ++r) {
    bc.offsets(r, off);
    const E* src = in.as<E>() + off[0];
    E* dst = out.as<E>() + r * bc.inner();
    for (int64_t j = 0; j < bc.inner(); ++j) dst[j] = src[j * s];
  }
}

void expand_ref(const KernelContext& c) {
  switch (elem(c.inputs[0])) {
    case 1: return broadcast_copy<uint8_t>(c.inputs[0], c.outputs[0]);
    case 2: return broadcast_copy<uint16_t>(c.inputs[0], c.outputs[0]);
    case 4: return broadcast_copy<uint32_t>(c.inputs[0], c.outputs[0]);
    default: return broadcast_copy<uint64_t>(c.inputs[0], c.outputs[0]);
  }
}

void tile_ref(const KernelContext& c) {
  const TensorArg &in = c.inputs[0], &out = c.outputs[0];
  const size_t rank = in.dims.size(), es = elem(in);
  Dims in_strides = contiguous_strides(in.dims);
  std::vector<int64_t> idx(rank, 0);
  for (int64_t k = 0; k < out.numel(); ++k) {
    int64_t off = 0;
    for (size_t a = 0; a < rank; ++a) off += (idx[a] % in.dims[a]) * in_strides[a];
    std::memcpy(static_cast<char*>(out.data) + k * es, static_cast<const char*>(in.data) + off * es, es);
    for (int64_t a = static_cast<int64_t>(rank) - 1; a >= 0; --a) {
      if (++idx[a] < out.dims[a]) break;
      idx[a] = 0;
    }
  }
}

void constant_of_shape_ref(const KernelContext& c) {
  const TensorArg& out = c.outputs[0];
  const size_t es = elem(out);
  std::vector<char> value(es, 0);
  if (const ir::Attribute* v = c.attrs.find("value")) std::memcpy(value.data(), v->t->data(), es);
  for (int64_t k = 0; k < out.numel(); ++k) std::memcpy(static_cast<char*>(out.data) + k * es, value.data(), es);
}

template <typename T> void range_ref(const KernelContext& c) {
  T start = c.inputs[0].as<T>()[0], delta = c.inputs[2].as<T>()[0];
  for (int64_t k = 0; k < c.outputs[0].numel(); ++k) c.outputs[0].as<T>()[k] = start + static_cast<T>(k) * delta;
}

template <typename T> void cumsum_ref(const KernelContext& c) {
  const TensorArg &in = c.inputs[0], &out = c.outputs[0];
  const int64_t rank = static_cast<int64_t>(in.dims.size());
  const int64_t axis = ops::normalize_axis(read_ints(c.inputs[1]).at(0), rank, "CumSum axis");
  const bool exclusive = c.attrs.get_int("exclusive", 0) != 0, reverse = c.attrs.get_int("reverse", 0) != 0;
  int64_t outer = 1, inner = 1;
  for (int64_t i = 0; i < axis; ++i) outer *= in.dims[i];
  for (int64_t i = axis + 1; i < rank; ++i) inner *= in.dims[i];
  const int64_t dim = in.dims[axis];
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      T acc = 0;
      for (int64_t s = 0; s < dim; ++s) {
        int64_t a = reverse ? dim - 1 - s : s;
        int64_t off = (o * dim + a) * inner + i;
        T x = in.as<T>()[off];
        if (exclusive) {
          out.as<T>()[off] = acc;
          acc += x;
        } else {
          acc += x;
          out.as<T>()[off] = acc;
        }
      }
    }
}

}  // namespace

void register_shape_ref_kernels() {
  const Isa R = Isa::ref;
  const DType all[] = {DType::f32, DType::f64, DType::f16, DType::bf16, DType::i64, DType::i32, DType::i8, DType::u8, DType::boolean};
  for (DType t : all) {
    std::string suffix = std::string("_") + dtype_name(t);
    for (const char* op : {"Reshape", "Flatten", "Squeeze", "Unsqueeze", "Identity", "Dropout"})
      register_kernel(op, t, R, "copy_ref" + suffix, copy_ref);
    register_kernel("Shape", t, R, "shape_ref" + suffix, shape_ref);
    register_kernel("Size", t, R, "size_ref" + suffix, size_ref);
    register_kernel("Transpose", t, R, "transpose_ref" + suffix, transpose_ref);
    register_kernel("Concat", t, R, "concat_ref" + suffix, concat_ref);
    register_kernel("Slice", t, R, "slice_ref" + suffix, slice_ref);
    register_kernel("Split", t, R, "split_ref" + suffix, split_ref);
    register_kernel("Gather", t, R, "gather_ref" + suffix, gather_ref);
    register_kernel("Expand", t, R, "expand_ref" + suffix, expand_ref);
    register_kernel("Tile", t, R, "tile_ref" + suffix, tile_ref);
    register_kernel("ConstantOfShape", t, R, "constant_of_shape_ref" + suffix, constant_of_shape_ref);
  }
  register_kernel("Range", DType::f32, R, "range_ref_f32", range_ref<float>);
  register_kernel("Range", DType::i64, R, "range_ref_i64", range_ref<int64_t>);
  register_kernel("Range", DType::i32, R, "range_ref_i32", range_ref<int32_t>);
  register_kernel("CumSum", DType::f32, R, "cumsum_ref_f32", cumsum_ref<float>);
  register_kernel("CumSum", DType::f64, R, "cumsum_ref_f64", cumsum_ref<double>);
  register_kernel("CumSum", DType::i64, R, "cumsum_ref_i64", cumsum_ref<int64_t>);
  register_kernel("CumSum", DType::i32, R, "cumsum_ref_i32", cumsum_ref<int32_t>);
}

}  // namespace kiln::kernels
