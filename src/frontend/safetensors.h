// Reading Hugging Face `.safetensors` files: an 8-byte little-endian header length N, N bytes of JSON
// ({name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {...}}), then the tensor bytes.
// F32, F16 and BF16 tensors are returned as f32. Nothing is executed; every offset is checked against
// the file, and errors name the file, the tensor and what was wrong.
#pragma once

#include <map>
#include <string>

#include "kiln/tensor.h"

namespace kiln::frontend {

std::map<std::string, Tensor> read_safetensors(const std::string& path);

}  // namespace kiln::frontend
