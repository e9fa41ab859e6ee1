// Serving a compiled model from C++: an Engine with two replicas and a dynamic batcher, fed by several
// client threads, each sending single sentences (one row) and getting their logits back.
//
//   kiln compile model.onnx -o model.kiln --batch 8 --seq 128
//   build/engine_example model.kiln
#include <cstdio>
#include <thread>
#include <vector>

#include "kiln/engine.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s MODEL.kiln\n", argv[0]);
    return 2;
  }
  try {
    kiln::EngineOptions options;
    options.instances = 1;                 // raise on a machine with more cores (one core group each)
    options.max_queue_delay_us = 5000;     // merge requests that arrive within 5 ms into one batch
    kiln::Engine engine(argv[1], options);
    std::printf("compiled batch %lld, %zu core group(s), %d pipeline stage(s)\n",
                static_cast<long long>(engine.compiled_batch()), engine.core_groups().size(), engine.pipeline_stages());

    // One request: every model input with one row (token id 101 = [CLS], then 102 = [SEP], padding).
    std::vector<kiln::NamedTensor> request;
    for (const kiln::TensorSpec& spec : engine.inputs()) {
      kiln::Dims dims = spec.dims;
      dims[0] = 1;
      kiln::Tensor t(spec.dtype, dims);  // zero-filled
      if (spec.dtype == kiln::DType::i64) {
        int64_t* v = t.data_as<int64_t>();
        if (spec.name.find("mask") != std::string::npos) v[0] = v[1] = 1;
        else if (spec.name.find("type") == std::string::npos) v[0] = 101, v[1] = 102;
      }
      request.push_back({spec.name, std::move(t)});
    }

    std::vector<std::thread> clients;
    for (int c = 0; c < 4; ++c)
      clients.emplace_back([&, c] {
        std::vector<kiln::NamedTensor> out = engine.run(request);  // thread-safe; blocks until answered
        const kiln::Tensor& y = out[0].tensor;
        std::printf("client %d: %s %s, first value %.5f\n", c, out[0].name.c_str(), kiln::dims_to_string(y.dims()).c_str(),
                    y.dtype() == kiln::DType::f32 ? y.data_as<float>()[0] : 0.f);
      });
    for (std::thread& t : clients) t.join();
    const kiln::Engine::Stats s = engine.stats();
    std::printf("%llu requests answered in %llu model call(s)\n", static_cast<unsigned long long>(s.requests),
                static_cast<unsigned long long>(s.calls));
  } catch (const kiln::Error& e) {
    std::fprintf(stderr, "engine_example: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
