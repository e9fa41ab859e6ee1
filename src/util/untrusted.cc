#include "util/untrusted.h"

#include <limits>

#include "kiln/error.h"

namespace kiln {

uint64_t checked_mul(uint64_t a, uint64_t b, const std::string& what) {
  uint64_t r;
  if (__builtin_mul_overflow(a, b, &r)) fail(what, ": size overflows 64 bits (", a, " x ", b, ")");
  return r;
}

uint64_t checked_add(uint64_t a, uint64_t b, const std::string& what) {
  uint64_t r;
  if (__builtin_add_overflow(a, b, &r)) fail(what, ": size overflows 64 bits (", a, " + ", b, ")");
  return r;
}

int64_t checked_numel(const Dims& dims, const std::string& what) {
  int64_t nonzero = 1;
  bool zero = false;
  for (int64_t d : dims) {
    if (d < 0) fail(what, ": negative dim in ", dims_to_string(dims));
    if (d == 0) {
      zero = true;
      continue;
    }
    if (__builtin_mul_overflow(nonzero, d, &nonzero)) fail(what, ": shape ", dims_to_string(dims), " has more elements than fit in 64 bits");
  }
  return zero ? 0 : nonzero;
}

uint64_t checked_nbytes(DType t, const Dims& dims, const std::string& what) {
  return checked_mul(static_cast<uint64_t>(checked_numel(dims, what)), dtype_size(t), what);
}

int64_t parse_count(std::string_view s, const std::string& what) {
  if (s.empty() || s.size() > 19) fail(what, " must be a non-negative integer, found '", s, "'");
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') fail(what, " must be a non-negative integer, found '", s, "'");
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  if (v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) fail(what, " is too large: ", s);
  return static_cast<int64_t>(v);
}

namespace {

// Nesting depth of JSON text, counted outside strings; stops early once past the limit.
void check_depth(std::string_view text, const std::string& what) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxJsonDepth) fail(what, " nests JSON arrays/objects deeper than ", kMaxJsonDepth, " levels (at byte ", i, ")");
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
}

// nlohmann's messages start with "[json.exception.parse_error.101] "; keep what follows.
std::string json_reason(const std::exception& e) {
  std::string s = e.what();
  if (!s.empty() && s[0] == '[') {
    const size_t close = s.find("] ");
    if (close != std::string::npos) s = s.substr(close + 2);
  }
  return s;
}

}  // namespace

nlohmann::json parse_json(std::string_view text, const std::string& what) {
  check_depth(text, what);
  try {
    return nlohmann::json::parse(text.begin(), text.end());
  } catch (const nlohmann::json::exception& e) {
    fail(what, ": not valid JSON (", json_reason(e), ")");
  }
}

std::string json_kind(const nlohmann::json& v) {
  switch (v.type()) {
    case nlohmann::json::value_t::null: return "null";
    case nlohmann::json::value_t::object: return "an object";
    case nlohmann::json::value_t::array: return "an array";
    case nlohmann::json::value_t::string: return "a string";
    case nlohmann::json::value_t::boolean: return "a boolean";
    case nlohmann::json::value_t::number_integer:
    case nlohmann::json::value_t::number_unsigned: return "an integer";
    case nlohmann::json::value_t::number_float: return "a number";
    default: return "a binary value";
  }
}

namespace {

const nlohmann::json* find_field(const nlohmann::json& obj, const char* key, const std::string& where) {
  if (!obj.is_object()) fail(where, " must be a JSON object, found ", json_kind(obj));
  auto it = obj.find(key);
  return it == obj.end() || it->is_null() ? nullptr : &*it;
}

std::string field_name(const std::string& where, const char* key) { return where + ": field '" + key + "'"; }

}  // namespace

int64_t as_int(const nlohmann::json& v, const std::string& what) {
  if (v.is_number_unsigned()) {
    if (v.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) fail(what, " is too large: ", v.get<uint64_t>());
    return static_cast<int64_t>(v.get<uint64_t>());
  }
  if (!v.is_number_integer()) fail(what, " must be an integer, found ", json_kind(v));
  return v.get<int64_t>();
}

double as_number(const nlohmann::json& v, const std::string& what) {
  if (!v.is_number()) fail(what, " must be a number, found ", json_kind(v));
  return v.get<double>();
}

std::string as_string(const nlohmann::json& v, const std::string& what) {
  if (!v.is_string()) fail(what, " must be a string, found ", json_kind(v));
  return v.get<std::string>();
}

const nlohmann::json& json_field(const nlohmann::json& obj, const char* key, const std::string& where) {
  const nlohmann::json* v = find_field(obj, key, where);
  if (!v) fail(where, ": field '", key, "' is missing");
  return *v;
}

int64_t json_int(const nlohmann::json& obj, const char* key, const std::string& where) {
  return as_int(json_field(obj, key, where), field_name(where, key));
}

int64_t json_int(const nlohmann::json& obj, const char* key, int64_t dflt, const std::string& where) {
  const nlohmann::json* v = find_field(obj, key, where);
  return v ? as_int(*v, field_name(where, key)) : dflt;
}

uint64_t json_uint(const nlohmann::json& obj, const char* key, const std::string& where) {
  const nlohmann::json& v = json_field(obj, key, where);
  if (!v.is_number_unsigned()) fail(field_name(where, key), " must be a non-negative integer, found ", v.is_number_integer() ? "a negative integer" : json_kind(v));
  return v.get<uint64_t>();
}

double json_number(const nlohmann::json& obj, const char* key, double dflt, const std::string& where) {
  const nlohmann::json* v = find_field(obj, key, where);
  return v ? as_number(*v, field_name(where, key)) : dflt;
}

bool json_bool(const nlohmann::json& obj, const char* key, bool dflt, const std::string& where) {
  const nlohmann::json* v = find_field(obj, key, where);
  if (!v) return dflt;
  if (!v->is_boolean()) fail(field_name(where, key), " must be true or false, found ", json_kind(*v));
  return v->get<bool>();
}

std::string json_string(const nlohmann::json& obj, const char* key, const std::string& where) {
  return as_string(json_field(obj, key, where), field_name(where, key));
}

std::string json_string(const nlohmann::json& obj, const char* key, const std::string& dflt, const std::string& where) {
  const nlohmann::json* v = find_field(obj, key, where);
  return v ? as_string(*v, field_name(where, key)) : dflt;
}

}  // namespace kiln
