#include "kiln/tensor.h"

#include <cstring>

#include "kiln/error.h"
#include "util/aligned.h"

namespace kiln {

int64_t num_elements(const Dims& dims) {
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  return n;
}

std::string dims_to_string(const Dims& dims) {
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); ++i) s += (i ? "," : "") + std::to_string(dims[i]);
  return s + "]";
}

Tensor::Tensor(DType dtype, Dims dims) : dtype_(dtype), dims_(std::move(dims)) { allocate(true); }

Tensor Tensor::uninitialized(DType dtype, Dims dims) {
  Tensor t;
  t.dtype_ = dtype;
  t.dims_ = std::move(dims);
  t.allocate(false);
  return t;
}

void Tensor::allocate(bool zero) {
  for (int64_t d : dims_)
    if (d < 0) fail("cannot allocate a tensor with negative dim ", dims_to_string(dims_));
  // One spare cache line past the data, so even empty tensors get a distinct allocation.
  size_t bytes = (nbytes() + 63) / 64 * 64 + kAlignment;
  AlignedPtr p = try_allocate_aligned(bytes);
  if (!p) fail("out of memory allocating ", bytes, " bytes for a tensor ", dims_to_string(dims_));
  if (zero) std::memset(p.get(), 0, bytes);
  data_ = p.get();
  storage_ = std::move(p);
}

Tensor Tensor::view(DType dtype, Dims dims, void* data) {
  Tensor t;
  t.dtype_ = dtype;
  t.dims_ = std::move(dims);
  t.data_ = data;
  return t;
}

}  // namespace kiln
