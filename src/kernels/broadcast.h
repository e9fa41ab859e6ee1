// Row-wise iteration over numpy-style broadcast operands, shared by kernels of every tier.
//
// The output is walked as `rows` rows of `inner` contiguous elements (inner = last output dim).
// For each row, offsets() gives each operand's element offset of that row's first element, and
// inner_stride(i) is 1 or 0 (operand i broadcast along the last axis).
#pragma once

#include <cstdint>
#include <vector>

#include "kiln/tensor.h"

namespace kiln::kernels {

class Broadcaster {
 public:
  Broadcaster(const Dims& out, const std::vector<Dims>& operands) : out_(out) {
    const size_t rank = out.size();
    inner_ = rank ? out[rank - 1] : 1;
    rows_ = inner_ ? num_elements(out) / inner_ : 0;
    for (const Dims& d : operands) {
      std::vector<int64_t> stride(rank, 0);
      int64_t s = 1;
      for (size_t k = 0; k < d.size(); ++k) {
        size_t axis = rank - 1 - k;
        int64_t dim = d[d.size() - 1 - k];
        stride[axis] = (dim == 1 && out[axis] != 1) ? 0 : s;
        s *= dim;
      }
      strides_.push_back(stride);
    }
  }
  int64_t rows() const { return rows_; }
  int64_t inner() const { return inner_; }
  int64_t inner_stride(size_t i) const { return out_.empty() ? 0 : strides_[i].back(); }
  void offsets(int64_t row, int64_t* off) const {
    for (size_t i = 0; i < strides_.size(); ++i) off[i] = 0;
    int64_t r = row;
    for (int64_t axis = static_cast<int64_t>(out_.size()) - 2; axis >= 0 && r; --axis) {
      int64_t idx = r % out_[axis];
      r /= out_[axis];
      for (size_t i = 0; i < strides_.size(); ++i) off[i] += idx * strides_[i][axis];
    }
  }

 private:
  Dims out_;
  int64_t rows_ = 0, inner_ = 1;
  std::vector<std::vector<int64_t>> strides_;
};

}  // namespace kiln::kernels
