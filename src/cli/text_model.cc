#include "cli/text_model.h"

#include <algorithm>
#include <cmath>

#include <nlohmann/json.hpp>

#include "artifact/artifact.h"
#include "kiln/error.h"

namespace kiln::cli {

TextModel load_text_model(const std::string& artifact_path) {
  artifact::MappedArtifact art(artifact_path);
  const nlohmann::json& meta = art.meta();
  const std::string vocab = art.section("VOCAB");
  if (!meta.contains("tokenizer") || vocab.empty())
    fail("artifact '", artifact_path, "' has no tokenizer: compile it with --vocab vocab.txt or --tokenizer tokenizer.json");
  TextModel m{WordPieceTokenizer::from_vocab_text(vocab, meta["tokenizer"].value("lowercase", true), artifact_path), {}, 0, {}};
  for (const auto& in : meta.value("inputs", nlohmann::json::array())) m.roles[in.value("name", "")] = in.value("role", "other");
  if (meta.contains("labels")) m.labels = meta["labels"].get<std::vector<std::string>>();
  if (meta.contains("seq_buckets") && !meta["seq_buckets"].empty()) m.max_length = meta["seq_buckets"].back().get<int64_t>();
  else m.max_length = meta.at("options").value("seq", int64_t{0});
  return m;
}

std::vector<NamedTensor> inputs_for(const TextModel& model, const Engine& engine, const std::vector<Encoding>& encodings) {
  size_t seq = 1;
  for (const Encoding& e : encodings) seq = std::max(seq, e.ids.size());
  const int64_t rows = static_cast<int64_t>(encodings.size());
  std::vector<NamedTensor> inputs;
  for (const TensorSpec& spec : engine.inputs()) {
    auto it = model.roles.find(spec.name);
    const std::string role = it == model.roles.end() ? "other" : it->second;
    if (role == "other")
      fail("model input '", spec.name, "' has no text role (token_ids, attention_mask or token_type_ids): "
           "compile with --input-role ", spec.name, "=ROLE");
    Tensor t(DType::i64, {rows, static_cast<int64_t>(seq)});
    for (int64_t r = 0; r < rows; ++r) {
      const Encoding& e = encodings[r];
      const std::vector<int64_t>& src = role == "token_ids" ? e.ids : role == "attention_mask" ? e.attention_mask : e.token_type_ids;
      for (size_t i = 0; i < seq; ++i) t.data_as<int64_t>()[r * seq + i] = i < src.size() ? src[i] : 0;
    }
    inputs.push_back({spec.name, std::move(t)});
  }
  return inputs;
}

std::vector<std::vector<double>> softmax_rows(const Tensor& logits) {
  const int64_t rows = logits.dims().at(0), n = logits.numel() / std::max<int64_t>(rows, 1);
  std::vector<std::vector<double>> out(rows);
  for (int64_t r = 0; r < rows; ++r) {
    const float* x = logits.data_as<float>() + r * n;
    const double mx = *std::max_element(x, x + n);
    double sum = 0;
    for (int64_t i = 0; i < n; ++i) sum += std::exp(x[i] - mx);
    for (int64_t i = 0; i < n; ++i) out[r].push_back(std::exp(x[i] - mx) / sum);
  }
  return out;
}

}  // namespace kiln::cli
