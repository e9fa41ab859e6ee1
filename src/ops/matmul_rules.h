#pragma once

#include "kiln/tensor.h"

namespace kiln::ops {

// MatMul with numpy semantics: a [..., m, k] x b [..., k, n]; 1-D operands are promoted and the
// added dim dropped from `out`. `batch` is the broadcast of the two batch shapes.
struct MatMulShape {
  int64_t m = 0, k = 0, n = 0;
  Dims a_batch, b_batch, batch, out;
};
MatMulShape matmul_shape(const Dims& a, const Dims& b);

}  // namespace kiln::ops
