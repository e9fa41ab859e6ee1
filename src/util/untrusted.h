// Helpers for parsers of untrusted bytes (model files, artifacts, .npy, vocabularies, JSON files):
// checked size arithmetic, so a declared size is compared with the bytes that hold it before anything is
// allocated, and JSON parsed with a nesting limit and read through typed getters, so a malformed file
// gives a kiln::Error naming the file, the field and what was expected, never a raw library exception.
//
//   const uint64_t bytes = checked_nbytes(DType::f32, dims, "tensor 'w'");  // fails on overflow
//   nlohmann::json j = parse_json(text, "'config.json'");
//   int64_t h = json_int(j, "hidden_size", "'config.json'");                // "... 'hidden_size' must be an integer"
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "kiln/tensor.h"

namespace kiln {

// The largest tensor a parser allocates from a declared size (when no file bounds it): 64 GiB.
constexpr uint64_t kMaxTensorBytes = uint64_t{1} << 36;
// The deepest JSON nesting any Kiln file format needs is about 6; anything beyond this is refused before
// parsing, so deeply nested input cannot exhaust the stack of a recursive JSON routine.
constexpr int kMaxJsonDepth = 64;

// a * b and a + b, failing with "<what>: size overflows 64 bits" instead of wrapping.
uint64_t checked_mul(uint64_t a, uint64_t b, const std::string& what);
uint64_t checked_add(uint64_t a, uint64_t b, const std::string& what);
// Element count of `dims`: fails on a negative dim, or when the product of the non-zero dims exceeds
// int64 (so num_elements, in any order of multiplication, cannot overflow).
int64_t checked_numel(const Dims& dims, const std::string& what);
// checked_numel x element size, in bytes.
uint64_t checked_nbytes(DType t, const Dims& dims, const std::string& what);

// A non-negative decimal integer written as text (ONNX external_data offsets, id2label keys): digits only,
// at most 2^63 - 1, else "<what> must be a non-negative integer, found '<s>'".
int64_t parse_count(std::string_view s, const std::string& what);

// Parses JSON text. `what` names the source in errors ("'tokenizer.json'", "artifact 'm.kiln' META").
nlohmann::json parse_json(std::string_view text, const std::string& what);

// Typed access to an object's fields. `where` names the object ("'config.json'", "PLAN tensor 3").
// Without a default the field is required; with one, an absent (or null) field gives the default. A
// present field of the wrong type is always an error: "<where>: field 'k' must be an integer, found a string".
const nlohmann::json& json_field(const nlohmann::json& obj, const char* key, const std::string& where);
int64_t json_int(const nlohmann::json& obj, const char* key, const std::string& where);
int64_t json_int(const nlohmann::json& obj, const char* key, int64_t dflt, const std::string& where);
uint64_t json_uint(const nlohmann::json& obj, const char* key, const std::string& where);
double json_number(const nlohmann::json& obj, const char* key, double dflt, const std::string& where);
bool json_bool(const nlohmann::json& obj, const char* key, bool dflt, const std::string& where);
std::string json_string(const nlohmann::json& obj, const char* key, const std::string& where);
std::string json_string(const nlohmann::json& obj, const char* key, const std::string& dflt, const std::string& where);
// A value itself (an array element): `what` names it ("<where>: dims[2]").
int64_t as_int(const nlohmann::json& v, const std::string& what);
double as_number(const nlohmann::json& v, const std::string& what);
std::string as_string(const nlohmann::json& v, const std::string& what);
// "an integer", "a string", "an object", ... for messages.
std::string json_kind(const nlohmann::json& v);

}  // namespace kiln
