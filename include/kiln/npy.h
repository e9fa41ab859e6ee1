// NumPy .npy files: the tensors `kiln run` reads and writes, and what a server or a test exchanges with
// NumPy. One array per file, format versions 1.0, 2.0 and 3.0 read; 1.0 written (numpy's own bytes:
// header padded so the data starts 64-byte aligned).
//
// Contract:
//   - dtypes: <f4 (f32), <f8 (f64), <i8 (i64), <i4 (i32), |i1 (i8), |u1 (u8), |b1 (bool); reading also
//     accepts the spellings =f4, =i8, =i4, <i1, =i1, <u1, =u1. Big-endian ('>') and every other dtype
//     (f16, complex, strings, objects) are refused.
//   - Layout: little-endian, C order only; Fortran-order files are refused (save them C-contiguous).
//   - The data must be exactly the header's shape times the item size: a truncated file or trailing bytes
//     are errors; sizes are checked before anything is allocated. Bool bytes are normalised to 0/1.
//   - Errors: kiln::Error naming the file (`path_for_errors` for bytes already in memory) and what is wrong:
//     bad magic, unsupported format version, corrupt or truncated header, dtype, Fortran order, size
//     mismatch with the header's shape, or a tensor dtype that has no .npy code (writing).
#pragma once

#include <string>

#include "kiln/tensor.h"

namespace kiln {

// Reads and parses a .npy file; cannot-open errors name the path.
Tensor read_npy(const std::string& path);
// Parses .npy bytes already in memory (e.g. an HTTP body).
Tensor parse_npy(const std::string& bytes, const std::string& path_for_errors);
// Writes `t` atomically (a temporary file renamed into place).
void write_npy(const std::string& path, const Tensor& t);
// The .npy bytes of `t`, byte-identical to numpy.save of the same array.
std::string serialize_npy(const Tensor& t);

}  // namespace kiln
