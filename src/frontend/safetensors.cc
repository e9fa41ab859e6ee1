#include "frontend/safetensors.h"

#include <cstring>
#include <fstream>

#include <nlohmann/json.hpp>

#include "kiln/error.h"
#include "util/half.h"

namespace kiln::frontend {

std::map<std::string, Tensor> read_safetensors(const std::string& path) {
  std::ifstream f(path, std::ios::binary | std::ios::ate);
  if (!f) fail("cannot read '", path, "': ", std::strerror(errno));
  const uint64_t size = static_cast<uint64_t>(f.tellg());
  f.seekg(0);
  if (size < 8) fail("'", path, "' is truncated: ", size, " bytes, too short for the 8-byte safetensors header length");
  unsigned char len_bytes[8];
  f.read(reinterpret_cast<char*>(len_bytes), 8);
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = n << 8 | len_bytes[i];
  if (n > size - 8) fail("'", path, "': the safetensors header length ", n, " is larger than the rest of the file (", size - 8, " bytes)");
  std::string header(n, '\0');
  f.read(header.data(), static_cast<std::streamsize>(n));
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(header);
  } catch (const nlohmann::json::exception& e) {
    fail("'", path, "': the safetensors header is not valid JSON (", e.what(), ")");
  }
  if (!j.is_object()) fail("'", path, "': the safetensors header is not a JSON object");
  const uint64_t data_start = 8 + n, data_size = size - data_start;
  std::map<std::string, Tensor> out;
  for (const auto& [name, info] : j.items()) {
    if (name == "__metadata__") continue;
    const std::string where = "'" + path + "', tensor '" + name + "'";
    if (!info.is_object() || !info.contains("dtype") || !info.contains("shape") || !info.contains("data_offsets"))
      fail(where, ": needs dtype, shape and data_offsets");
    const std::string dt = info["dtype"].get<std::string>();
    Dims dims;
    for (const auto& d : info["shape"]) {
      if (!d.is_number_integer() || d.get<int64_t>() < 0) fail(where, ": bad shape ", info["shape"].dump());
      dims.push_back(d.get<int64_t>());
    }
    const uint64_t b = info["data_offsets"].at(0).get<uint64_t>(), e = info["data_offsets"].at(1).get<uint64_t>();
    const size_t esz = dt == "F32" ? 4 : (dt == "F16" || dt == "BF16") ? 2 : 0;
    if (!esz) fail(where, ": dtype ", dt, " is not supported (F32, F16, BF16)");
    if (b > e || e > data_size) fail(where, ": data [", b, ", ", e, ") lies outside the file's ", data_size, " data bytes");
    if (e - b != static_cast<uint64_t>(num_elements(dims)) * esz)
      fail(where, ": ", e - b, " bytes for ", dt, dims_to_string(dims));
    std::string bytes(e - b, '\0');
    f.seekg(static_cast<std::streamoff>(data_start + b));
    f.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!f) fail(where, ": cannot read its data");
    Tensor t(DType::f32, dims);
    float* dst = t.data_as<float>();
    for (int64_t i = 0; i < t.numel(); ++i) {
      if (dt == "F32") {
        std::memcpy(dst + i, bytes.data() + 4 * i, 4);
      } else {
        uint16_t h;
        std::memcpy(&h, bytes.data() + 2 * i, 2);
        dst[i] = dt == "F16" ? f16_to_f32(h) : bf16_to_f32(h);
      }
    }
    out.emplace(name, std::move(t));
  }
  return out;
}

}  // namespace kiln::frontend
