// Classify sentences through Kiln's public API alone: open a compiled model once, run texts through an
// Engine, print labels with scores.
//
//   kiln compile models/sst2_tiny/model.onnx -o sst2.kiln --batch 8 --seq 64
//       --vocab data/bert-base-uncased-vocab.txt --labels negative,positive      (one command)
//   build/classify_example sst2.kiln "a wonderful, moving film" "dull and far too long"
#include <cstdio>
#include <string>
#include <vector>

#include "kiln/engine.h"
#include "kiln/error.h"
#include "kiln/model.h"
#include "kiln/text.h"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s MODEL.kiln TEXT [TEXT...]\n", argv[0]);
    return 2;
  }
  try {
    std::shared_ptr<const kiln::Model> model = kiln::Model::open(argv[1]);
    std::printf("%s: task %s, %zu labels, batch %lld, up to %lld tokens\n", argv[1], kiln::task_name(model->info().task),
                model->info().labels.size(), static_cast<long long>(model->info().batch),
                static_cast<long long>(model->info().max_length));
    kiln::Engine engine(model);
    const std::vector<std::string> texts(argv + 2, argv + argc);
    const std::vector<kiln::Classification> results = kiln::classify(engine, texts);
    for (size_t i = 0; i < texts.size(); ++i)
      std::printf("%-10s %.4f  %s\n", results[i].label.c_str(), results[i].score, texts[i].c_str());
  } catch (const kiln::InvalidInputError& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  } catch (const kiln::Error& e) {
    std::fprintf(stderr, "internal error: %s\n", e.what());
    return 3;
  }
  return 0;
}
