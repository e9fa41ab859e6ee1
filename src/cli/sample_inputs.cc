#include "cli/sample_inputs.h"

#include <nlohmann/json.hpp>

#include "cli/npy.h"
#include "kiln/error.h"

namespace kiln::cli {

std::vector<NamedTensor> read_input_specs(const std::vector<std::string>& specs) {
  std::vector<NamedTensor> inputs;
  for (const std::string& spec : specs) {
    size_t eq = spec.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == spec.size()) fail("--input '", spec, "' must be NAME=FILE.npy");
    inputs.push_back({spec.substr(0, eq), read_npy(spec.substr(eq + 1))});
  }
  return inputs;
}

std::vector<NamedTensor> load_or_make_inputs(const Session& session, const std::vector<std::string>& specs) {
  std::vector<NamedTensor> inputs = read_input_specs(specs);
  const nlohmann::json meta = nlohmann::json::parse(session.metadata_json());
  for (const TensorSpec& spec : session.inputs()) {
    bool given = false;
    for (const NamedTensor& in : inputs) given |= in.name == spec.name;
    if (given) continue;
    std::string role = "other";
    int64_t vocab = 0;
    for (const auto& m : meta.at("inputs"))
      if (m.at("name") == spec.name) {
        role = m.value("role", "other");
        vocab = m.value("vocab_size", int64_t{0});
      }
    Tensor t(spec.dtype, spec.dims);
    uint64_t state = 0x9E3779B97F4A7C15ull;  // fixed seed: the same inputs on every run
    for (int64_t i = 0; i < t.numel(); ++i) {
      state = state * 6364136223846793005ull + 1442695040888963407ull;
      int64_t v = 0;
      if (role == "attention_mask") v = 1;
      else if (role == "token_ids" && vocab > 0) v = static_cast<int64_t>((state >> 33) % static_cast<uint64_t>(vocab));
      switch (spec.dtype) {
        case DType::i64: t.data_as<int64_t>()[i] = v; break;
        case DType::i32: t.data_as<int32_t>()[i] = static_cast<int32_t>(v); break;
        case DType::f32: t.data_as<float>()[i] = static_cast<float>((state >> 40) % 1000) / 1000.f - 0.5f; break;
        case DType::boolean: t.data_as<bool>()[i] = role == "attention_mask"; break;
        default: break;
      }
    }
    inputs.push_back({spec.name, std::move(t)});
  }
  return inputs;
}

}  // namespace kiln::cli
