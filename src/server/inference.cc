#include "server/inference.h"

#include <algorithm>
#include <future>

#include "kiln/text.h"
#include "server/http_types.h"

namespace kiln::server {

std::vector<NamedTensor> run_model(const ServedModel& m, std::vector<NamedTensor> inputs, const InferenceLimits& limits) {
  std::future<std::vector<NamedTensor>> f = m.engine->submit(std::move(inputs));
  if (limits.timeout_ms > 0 && f.wait_for(std::chrono::milliseconds(limits.timeout_ms)) != std::future_status::ready)
    throw HttpError(504, "no answer within the request timeout of " + std::to_string(limits.timeout_ms) + " ms");
  return f.get();
}

InferenceResult run_inference(const ServedModel& m, InferenceRequest r, const InferenceLimits& limits) {
  const ModelInfo& info = m.model->info();
  auto too_many = [&](const std::string& input, size_t rows) {
    throw HttpError(400, "input '" + input + "' has " + std::to_string(rows) + " rows, more than the limit of " +
                             std::to_string(limits.max_rows) + " per request");
  };
  std::vector<NamedTensor> inputs;
  if (r.text) {
    if (!info.has_tokenizer) throw HttpError(400, "model '" + m.name + "' has no tokenizer: send its token tensors");
    if (r.texts.empty()) throw HttpError(400, "input 'text' is empty");
    if (r.texts.size() > limits.max_rows) too_many("text", r.texts.size());
    inputs = text_inputs(*m.model, encode_texts(*m.model, r.texts, r.pairs, r.truncate));
  } else {
    if (info.any_rows)
      for (const NamedTensor& t : r.inputs)
        if (!t.tensor.dims().empty() && static_cast<size_t>(t.tensor.dims()[0]) > limits.max_rows)
          too_many(t.name, static_cast<size_t>(t.tensor.dims()[0]));
    inputs = std::move(r.inputs);
  }
  InferenceResult result;
  result.outputs = run_model(m, std::move(inputs), limits);
  if (r.text && is_classifier(info)) {
    result.classified = true;
    for (const Classification& c : classifications(*m.model, result.outputs.at(0).tensor)) {
      result.labels.push_back(c.label);
      result.scores.push_back(c.score);
    }
  }
  return result;
}

const ServedModel& resolve_model(const ModelRepository& repo, const std::string& name, const std::string& version) {
  if (const ServedModel* m = repo.find(name, version)) return *m;
  auto joined = [](const std::vector<std::string>& v) {
    std::string s;
    for (const std::string& x : v) s += (s.empty() ? "" : ", ") + x;
    return s;
  };
  const std::vector<std::string> versions = repo.versions(name);
  if (versions.empty()) {
    std::vector<std::string> names;
    for (const auto& m : repo.models())
      if (names.empty() || names.back() != m->name) names.push_back(m->name);
    throw HttpError(404, "unknown model '" + name + "'; this server serves " + joined(names));
  }
  throw HttpError(404, "model '" + name + "' has no version '" + version + "'; its versions are " + joined(versions));
}

bool output_wanted(const std::vector<std::string>& requested, const std::string& name) {
  return requested.empty() || std::find(requested.begin(), requested.end(), name) != requested.end();
}

}  // namespace kiln::server
