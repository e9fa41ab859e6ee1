// NumPy .npy files (format versions 1.0, 2.0 and 3.0): the tensors users hand to `kiln run`.
// Little-endian, C order only; dtypes <f4 <f8 <i8 <i4 |i1 |u1 |b1.
#pragma once

#include <string>

#include "kiln/tensor.h"

namespace kiln {

// Throws kiln::Error naming the file and what is wrong (bad magic, header, dtype, Fortran order,
// size mismatch with the header's shape).
Tensor read_npy(const std::string& path);
Tensor parse_npy(const std::string& bytes, const std::string& path_for_errors);
void write_npy(const std::string& path, const Tensor& t);
std::string serialize_npy(const Tensor& t);

}  // namespace kiln
