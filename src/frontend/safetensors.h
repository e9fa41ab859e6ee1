// Reading Hugging Face `.safetensors` files: an 8-byte little-endian header length N, N bytes of JSON
// ({name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {...}}), then the tensor bytes.
// F32, F16, BF16 and F64 tensors are returned as f32; I64, I32, I8, U8 and BOOL ones (buffers such as
// position_ids) keep their dtype. Nothing is executed; the header length, every shape and
// every offset are checked against the file before anything is allocated, and errors name the file, the
// tensor and what was wrong.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "kiln/tensor.h"

namespace kiln::frontend {

// The format caps the JSON header at 100 MB.
constexpr uint64_t kMaxSafetensorsHeader = 100'000'000;

struct SafetensorsEntry {
  std::string name, dtype;  // dtype as the file names it: "F32", "F16", "BF16", "I64", ...
  Dims dims;
  uint64_t begin = 0, end = 0;  // byte range within the data (which starts at data_start)
};

struct SafetensorsHeader {
  uint64_t data_start = 0;  // 8 + header length
  std::vector<SafetensorsEntry> tensors;
};

// Parses and checks the header. `head` is the file's first bytes (at least 8 + the header length, or the
// whole file), `file_size` the size of the whole file; `name` stands for the file in errors.
SafetensorsHeader parse_safetensors_header(std::string_view head, uint64_t file_size, const std::string& name);

std::map<std::string, Tensor> read_safetensors(const std::string& path);
// A whole file already in memory.
std::map<std::string, Tensor> read_safetensors_bytes(std::string_view bytes, const std::string& name);

}  // namespace kiln::frontend
