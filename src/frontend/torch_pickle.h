// pytorch_model.bin (torch.save's zip + pickle format, or its legacy non-zip format) read without executing
// anything: see torch_pickle.cc. Tensors of floating storages (f32, f16, bf16, f64; any strides) are returned
// contiguous in f32; integer and bool ones (buffers such as position_ids) keep their dtype.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "kiln/tensor.h"

namespace kiln::frontend {

std::map<std::string, Tensor> read_torch_state_dict(const std::string& path);
// The same from the file's bytes; `name` stands for the file in errors.
std::map<std::string, Tensor> read_torch_state_dict_bytes(std::string_view bytes, const std::string& name);

}  // namespace kiln::frontend
