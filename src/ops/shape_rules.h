// Shape arithmetic shared by op schemas and their kernels (one definition of each rule).
#pragma once

#include <cstdint>
#include <vector>

#include "kiln/tensor.h"
#include "ops/op_schema.h"

namespace kiln::ops {

// Reshape target resolution (0 copies the input dim unless allow_zero, -1 is inferred).
Dims reshape_dims(const Dims& in, const std::vector<int64_t>& target, bool allow_zero);

// Resolved Slice: per input axis, the first index, the step and the output length.
struct SliceParams {
  std::vector<int64_t> starts, steps;
  Dims out;
};
SliceParams slice_params(const Dims& in, const std::vector<int64_t>& starts, const std::vector<int64_t>& ends,
                         const std::vector<int64_t>& axes, const std::vector<int64_t>& steps);

// Split: the length of each of `outputs` parts along an axis of length `dim`, from the `split` sizes (input #1
// or the attribute of older opsets) or, without them, equal parts (opset 18's uneven last part included).
// Sizes that do not add up to `dim`, or a negative size, are an error.
std::vector<int64_t> split_sizes(int64_t dim, size_t outputs, const std::vector<int64_t>& split, bool have_split);

// `axes` from input #input_index when present, else from the `axes` attribute (older opsets).
std::vector<int64_t> axes_argument(const InferContext& c, size_t input_index);

}  // namespace kiln::ops
