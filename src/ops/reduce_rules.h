#pragma once

#include <vector>

#include "kiln/tensor.h"

namespace kiln::ops {

struct ReduceParams {
  std::vector<char> reduced;  // per input axis: 1 when reduced
  Dims out;
};
ReduceParams reduce_params(const Dims& in, std::vector<int64_t> axes, bool keepdims, bool noop_with_empty_axes);

}  // namespace kiln::ops
