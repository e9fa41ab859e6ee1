#include "frontend/safetensors.h"

#include <cerrno>
#include <cstring>
#include <fstream>

#include <nlohmann/json.hpp>

#include "kiln/error.h"
#include "util/half.h"
#include "util/untrusted.h"

namespace kiln::frontend {
namespace {

// The dtypes a checkpoint holds: floating weights, and integer or bool buffers (position_ids, token_type_ids).
struct Kind {
  const char* name;
  size_t size;
  DType dtype;  // what the tensor is returned as: f32 for every floating dtype
};
const Kind kKinds[] = {{"F32", 4, DType::f32}, {"F16", 2, DType::f32}, {"BF16", 2, DType::f32}, {"F64", 8, DType::f32},
                       {"I64", 8, DType::i64}, {"I32", 4, DType::i32}, {"I8", 1, DType::i8},    {"U8", 1, DType::u8},
                       {"BOOL", 1, DType::boolean}};

const Kind* kind_of(const std::string& dt) {
  for (const Kind& k : kKinds)
    if (dt == k.name) return &k;
  return nullptr;
}

size_t element_size(const std::string& dt) { return kind_of(dt) ? kind_of(dt)->size : 0; }

uint64_t header_length(std::string_view head, uint64_t file_size, const std::string& name) {
  if (file_size < 8 || head.size() < 8)
    fail("'", name, "' is truncated: ", file_size, " bytes, too short for the 8-byte safetensors header length");
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = n << 8 | static_cast<uint8_t>(head[i]);
  if (n > file_size - 8)
    fail("'", name, "': the safetensors header length ", n, " is larger than the rest of the file (", file_size - 8, " bytes)");
  if (n > kMaxSafetensorsHeader)
    fail("'", name, "': the safetensors header length ", n, " is over the format's limit of ", kMaxSafetensorsHeader, " bytes");
  return n;
}

// Converts one tensor's bytes (already checked to be numel x element size): floating dtypes to f32, integer
// and bool ones copied as they are.
Tensor to_tensor(const SafetensorsEntry& e, const char* bytes) {
  const Kind& kind = *kind_of(e.dtype);
  Tensor t = Tensor::uninitialized(kind.dtype, e.dims);
  const int64_t n = t.numel();
  if (kind.dtype != DType::f32 || e.dtype == "F32") {
    if (n) std::memcpy(t.data(), bytes, static_cast<size_t>(n) * kind.size);
    return t;
  }
  float* dst = t.data_as<float>();
  for (int64_t i = 0; i < n; ++i) {
    if (e.dtype == "F64") {
      double v;
      std::memcpy(&v, bytes + 8 * i, 8);
      dst[i] = static_cast<float>(v);
      continue;
    }
    uint16_t h;
    std::memcpy(&h, bytes + 2 * i, 2);
    dst[i] = e.dtype == "F16" ? f16_to_f32(h) : bf16_to_f32(h);
  }
  return t;
}

}  // namespace

SafetensorsHeader parse_safetensors_header(std::string_view head, uint64_t file_size, const std::string& name) {
  const uint64_t n = header_length(head, file_size, name);
  if (head.size() < 8 + n) fail("'", name, "': the safetensors header is truncated");
  const nlohmann::json j = parse_json(head.substr(8, n), "'" + name + "': the safetensors header");
  if (!j.is_object()) fail("'", name, "': the safetensors header is not a JSON object");
  SafetensorsHeader h;
  h.data_start = 8 + n;
  const uint64_t data_size = file_size - h.data_start;
  for (const auto& [key, info] : j.items()) {
    if (key == "__metadata__") continue;
    const std::string where = "'" + name + "', tensor '" + key + "'";
    if (!info.is_object() || !info.contains("dtype") || !info.contains("shape") || !info.contains("data_offsets"))
      fail(where, ": needs dtype, shape and data_offsets");
    SafetensorsEntry e;
    e.name = key;
    e.dtype = json_string(info, "dtype", where);
    const size_t esz = element_size(e.dtype);
    if (!esz) fail(where, ": dtype ", e.dtype, " is not supported (F32, F16, BF16, F64; I64, I32, I8, U8, BOOL buffers)");
    const nlohmann::json& shape = info["shape"];
    if (!shape.is_array()) fail(where, ": shape must be an array of integers, found ", json_kind(shape));
    for (const auto& d : shape) {
      if (!d.is_number_integer() || as_int(d, where + ": shape") < 0) fail(where, ": bad shape ", shape.dump());
      e.dims.push_back(as_int(d, where + ": shape"));
    }
    const nlohmann::json& offsets = info["data_offsets"];
    if (!offsets.is_array() || offsets.size() != 2 || !offsets[0].is_number_unsigned() || !offsets[1].is_number_unsigned())
      fail(where, ": data_offsets must be two non-negative integers [begin, end], found ", offsets.dump());
    e.begin = offsets[0].get<uint64_t>();
    e.end = offsets[1].get<uint64_t>();
    if (e.begin > e.end || e.end > data_size)
      fail(where, ": data [", e.begin, ", ", e.end, ") lies outside the file's ", data_size, " data bytes");
    const uint64_t want = checked_mul(static_cast<uint64_t>(checked_numel(e.dims, where)), esz, where);
    if (e.end - e.begin != want) fail(where, ": ", e.end - e.begin, " bytes for ", e.dtype, dims_to_string(e.dims), " (expected ", want, ")");
    h.tensors.push_back(std::move(e));
  }
  return h;
}

std::map<std::string, Tensor> read_safetensors_bytes(std::string_view bytes, const std::string& name) {
  const SafetensorsHeader h = parse_safetensors_header(bytes, bytes.size(), name);
  std::map<std::string, Tensor> out;
  for (const SafetensorsEntry& e : h.tensors) out.emplace(e.name, to_tensor(e, bytes.data() + h.data_start + e.begin));
  return out;
}

std::map<std::string, Tensor> read_safetensors(const std::string& path) {
  std::ifstream f(path, std::ios::binary | std::ios::ate);
  if (!f) fail("cannot read '", path, "': ", std::strerror(errno));
  const uint64_t size = static_cast<uint64_t>(f.tellg());
  f.seekg(0);
  // The header only: tensors are read one at a time, so a large checkpoint is never held twice.
  std::string head(std::min<uint64_t>(size, 8), '\0');
  f.read(head.data(), static_cast<std::streamsize>(head.size()));
  const uint64_t n = header_length(head, size, path);
  head.resize(8 + n);
  f.read(head.data() + 8, static_cast<std::streamsize>(n));
  if (!f) fail("'", path, "': cannot read the safetensors header");
  const SafetensorsHeader h = parse_safetensors_header(head, size, path);
  std::map<std::string, Tensor> out;
  std::string bytes;
  for (const SafetensorsEntry& e : h.tensors) {
    bytes.resize(e.end - e.begin);
    f.seekg(static_cast<std::streamoff>(h.data_start + e.begin));
    f.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!f) fail("'", path, "', tensor '", e.name, "': cannot read its data");
    out.emplace(e.name, to_tensor(e, bytes.data()));
  }
  return out;
}

}  // namespace kiln::frontend
