// The request bodies of the Text Embeddings Inference-compatible routes (/embed, /predict, /rerank,
// /tokenize, /v1/embeddings), decoded into plain values, and the base64 form of an embedding. Pure
// functions of the parsed JSON, so the fuzz target runs them without a server. Errors are HttpError(400)
// naming the field.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace kiln::server {

// `field` of a body: one string, or a non-empty list of strings (at most `limit`).
std::vector<std::string> tei_texts(const nlohmann::json& body, const char* field, size_t limit);
// A boolean field, `fallback` when absent or null.
bool tei_flag(const nlohmann::json& body, const char* field, bool fallback);
// An optional string field ("" when absent or null).
std::string tei_string(const nlohmann::json& body, const char* field);

// /predict's `inputs`: "text" | ["text", "pair"] (one pair, not a batch of two) | a list of items, each
// ["text"], ["text", "pair"] or a plain string. `pairs[i]` is "" for a single text.
struct PredictInputs {
  std::vector<std::string> texts, pairs;
  bool batch = false;  // a list of items (the answer is a list of lists)
  bool any_pair = false;
};
PredictInputs tei_predict_inputs(const nlohmann::json& body, size_t limit);

// /rerank: the query and the texts.
struct RerankInputs {
  std::string query;
  std::vector<std::string> texts;
};
RerankInputs tei_rerank_inputs(const nlohmann::json& body, size_t limit);

// /v1/embeddings' encoding_format: "float" (default) or "base64".
std::string openai_encoding_format(const nlohmann::json& body);
// The little-endian float32 bytes of `v`, base64 (RFC 4648, padded).
std::string base64_floats(const std::vector<float>& v);

}  // namespace kiln::server
