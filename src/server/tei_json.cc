#include "server/tei_json.h"

#include <cstdint>
#include <cstring>

#include "server/http_types.h"

namespace kiln::server {

using json = nlohmann::json;

namespace {
[[noreturn]] void bad(const std::string& m) { throw HttpError(400, m); }
std::string quoted(const char* field) { return std::string("'") + field + "'"; }
}  // namespace

std::vector<std::string> tei_texts(const json& body, const char* field, size_t limit) {
  if (!body.is_object() || !body.contains(field)) bad(quoted(field) + " is missing");
  const json& in = body[field];
  std::vector<std::string> out;
  if (in.is_string()) {
    out.push_back(in.get<std::string>());
  } else if (in.is_array()) {
    for (const json& e : in) {
      if (!e.is_string()) bad(quoted(field) + " must be a string or a list of strings; an element is a " + e.type_name());
      out.push_back(e.get<std::string>());
    }
  } else {
    bad(quoted(field) + " must be a string or a list of strings, got " + in.type_name());
  }
  if (out.empty()) bad(quoted(field) + " is an empty list");
  if (out.size() > limit)
    bad(quoted(field) + " has " + std::to_string(out.size()) + " texts, more than the limit of " + std::to_string(limit) + " per request");
  return out;
}

bool tei_flag(const json& body, const char* field, bool fallback) {
  if (!body.is_object() || !body.contains(field) || body[field].is_null()) return fallback;
  if (!body[field].is_boolean()) bad(quoted(field) + " must be true or false");
  return body[field].get<bool>();
}

std::string tei_string(const json& body, const char* field) {
  if (!body.is_object() || !body.contains(field) || body[field].is_null()) return "";
  if (!body[field].is_string()) bad(quoted(field) + " must be a string");
  return body[field].get<std::string>();
}

PredictInputs tei_predict_inputs(const json& body, size_t limit) {
  if (!body.is_object() || !body.contains("inputs")) bad("'inputs' is missing");
  const json& in = body["inputs"];
  PredictInputs p;
  auto add = [&](const json& item) {
    if (item.is_string()) {
      p.texts.push_back(item.get<std::string>());
      p.pairs.emplace_back();
    } else if (item.is_array() && item.size() == 1 && item[0].is_string()) {
      p.texts.push_back(item[0].get<std::string>());
      p.pairs.emplace_back();
    } else if (item.is_array() && item.size() == 2 && item[0].is_string() && item[1].is_string()) {
      p.texts.push_back(item[0].get<std::string>());
      p.pairs.push_back(item[1].get<std::string>());
      p.any_pair = true;
    } else {
      bad("'inputs' items must be [text] or a pair [text, text_pair] (or a string)");
    }
  };
  if (in.is_string() || (in.is_array() && in.size() == 2 && in[0].is_string() && in[1].is_string())) {
    add(in);
  } else if (in.is_array() && !in.empty()) {
    p.batch = true;
    if (in.size() > limit)
      bad("'inputs' has " + std::to_string(in.size()) + " items, more than the limit of " + std::to_string(limit) + " per request");
    for (const json& item : in) add(item);
  } else {
    bad("'inputs' must be a string, a pair, or a non-empty list of them");
  }
  return p;
}

RerankInputs tei_rerank_inputs(const json& body, size_t limit) {
  if (!body.is_object() || !body.contains("query") || !body["query"].is_string()) bad("'query' must be a string");
  return {body["query"].get<std::string>(), tei_texts(body, "texts", limit)};
}

std::string openai_encoding_format(const json& body) {
  const std::string f = tei_string(body, "encoding_format");
  if (f.empty()) return "float";
  if (f != "float" && f != "base64") bad("'encoding_format' must be \"float\" or \"base64\", got \"" + f + "\"");
  return f;
}

std::string base64_floats(const std::vector<float>& v) {
  static const char* b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string bytes(v.size() * sizeof(float), '\0');
  for (size_t i = 0; i < v.size(); ++i) {  // little-endian whatever the host
    uint32_t u;
    std::memcpy(&u, &v[i], sizeof u);
    for (int b = 0; b < 4; ++b) bytes[i * 4 + b] = static_cast<char>((u >> (8 * b)) & 0xff);
  }
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  const size_t n = bytes.size();
  std::string s;
  s.reserve((n + 2) / 3 * 4);
  for (size_t k = 0; k < n; k += 3) {
    const uint32_t w = (uint32_t{p[k]} << 16) | (k + 1 < n ? uint32_t{p[k + 1]} << 8 : 0) | (k + 2 < n ? p[k + 2] : 0);
    s += b64[(w >> 18) & 63];
    s += b64[(w >> 12) & 63];
    s += k + 1 < n ? b64[(w >> 6) & 63] : '=';
    s += k + 2 < n ? b64[w & 63] : '=';
  }
  return s;
}

}  // namespace kiln::server
