#include "kiln/sample_inputs.h"

#include "kiln/engine.h"
#include "kiln/session.h"

namespace kiln {

std::vector<NamedTensor> make_sample_inputs(const ModelInfo& info, const std::vector<TensorSpec>& shapes, uint64_t seed) {
  std::vector<NamedTensor> inputs;
  for (const TensorSpec& spec : shapes) {
    std::string role = "other";
    int64_t vocab = 0;
    for (const TensorInfo& t : info.inputs)
      if (t.name == spec.name) role = t.role, vocab = t.vocab_size;
    Tensor t(spec.dtype, spec.dims);
    uint64_t state = seed;
    for (int64_t i = 0; i < t.numel(); ++i) {
      state = state * 6364136223846793005ull + 1442695040888963407ull;  // a 64-bit LCG (Knuth's MMIX constants)
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

std::vector<NamedTensor> make_sample_inputs(const Session& session, uint64_t seed) {
  return make_sample_inputs(session.model()->info(), session.inputs(), seed);
}

std::vector<NamedTensor> make_sample_inputs(const Engine& engine, uint64_t seed) {
  return make_sample_inputs(engine.model()->info(), engine.inputs(), seed);
}

}  // namespace kiln
