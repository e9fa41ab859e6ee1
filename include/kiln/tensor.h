// A dense, row-major (C-order) host tensor. Either owns its buffer (64-byte aligned, shared between
// copies of the Tensor object) or is a non-owning view of memory someone else keeps alive.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "kiln/dtype.h"

namespace kiln {

using Dims = std::vector<int64_t>;

int64_t num_elements(const Dims& dims);
std::string dims_to_string(const Dims& dims);  // "[3,37]"

class Tensor {
 public:
  Tensor() = default;
  // Allocates a zero-filled, 64-byte aligned buffer.
  Tensor(DType dtype, Dims dims);
  // Allocates without zero-filling, for buffers the caller overwrites entirely.
  static Tensor uninitialized(DType dtype, Dims dims);
  // Non-owning view; `data` must outlive every copy of this Tensor.
  static Tensor view(DType dtype, Dims dims, void* data);

  DType dtype() const { return dtype_; }
  const Dims& dims() const { return dims_; }
  int64_t numel() const { return num_elements(dims_); }
  size_t nbytes() const { return static_cast<size_t>(numel()) * dtype_size(dtype_); }
  bool empty() const { return data_ == nullptr; }

  void* data() { return data_; }
  const void* data() const { return data_; }
  template <typename T> T* data_as() { return static_cast<T*>(data_); }
  template <typename T> const T* data_as() const { return static_cast<const T*>(data_); }

 private:
  DType dtype_ = DType::f32;
  Dims dims_;
  void allocate(bool zero);
  std::shared_ptr<void> storage_;
  void* data_ = nullptr;
};

struct NamedTensor {
  std::string name;
  Tensor tensor;
};

}  // namespace kiln
