// kiln/text.h: classify and embed through the Engine on a model with a tokenizer, against values worked
// out by hand; the task recorded in the artifact decides which applies.
#include <cmath>

#include "sentiment_model.h"
#include "kiln/engine.h"
#include "kiln/model.h"
#include "kiln/text.h"
#include "test_util.h"

namespace kiln::test {
namespace {

TEST(Text, ClassifyThroughTheEngine) {
  TempDir dir;
  compile_sentiment(dir.file("c.kiln"), "classification");
  std::shared_ptr<const Model> model = Model::open(dir.file("c.kiln"));
  ASSERT_NE(model->tokenizer(), nullptr);
  EXPECT_EQ(model->info().task, Task::classification);
  EXPECT_EQ(model->info().max_length, 8);
  Engine engine(model);
  // Three texts (more than the compiled batch of 2), one longer than 8 tokens: truncated.
  std::vector<Classification> c = classify(engine, {"Good film", "bad bad", "good good good good good good good good"});
  ASSERT_EQ(c.size(), 3u);
  const double p = 1.0 / (1.0 + std::exp(-2.0));  // softmax of (2, 0)
  EXPECT_EQ(c[0].label, "positive");
  EXPECT_NEAR(c[0].score, p, 1e-6);
  ASSERT_EQ(c[0].scores.size(), 2u);
  EXPECT_EQ(c[0].scores[1].label, "negative");
  EXPECT_EQ(c[0].tokens, 4u);  // [CLS] good film [SEP]
  EXPECT_EQ(c[1].label, "negative");
  EXPECT_NEAR(c[1].score, 1.0 / (1.0 + std::exp(-4.0)), 1e-6);
  EXPECT_EQ(c[2].tokens, 8u);  // [CLS] + 6 x good + [SEP]: cut to the compiled length
  EXPECT_NEAR(c[2].scores[0].logit, 12.0f, 1e-5);
  EXPECT_KILN_ERROR(classify(engine, {"a", "b"}, {"x"}), {"2 texts but 1 pairs"});
  EXPECT_KILN_ERROR(embed(engine, {"good"}), {"embed needs an embedding model", "task classification"});
  EXPECT_KILN_ERROR(classify(engine, {"ok\xff"}), {"UTF-8"});
}

TEST(Text, EmbedReturnsOutputRowsAndNormalises) {
  TempDir dir;
  compile_sentiment(dir.file("e.kiln"), "embedding");
  Engine engine(dir.file("e.kiln"));
  std::vector<Embedding> e = embed(engine, {"good bad bad", "film"});
  ASSERT_EQ(e.size(), 2u);
  EXPECT_EQ(e[0].vector, (std::vector<float>{2.0f, 4.0f}));
  EXPECT_EQ(e[1].vector, (std::vector<float>{0.0f, 0.0f}));
  std::vector<Embedding> n = embed(engine, {"good bad bad", "film"}, true);
  EXPECT_NEAR(n[0].vector[0], 2.0 / std::sqrt(20.0), 1e-6);
  EXPECT_NEAR(n[0].vector[1], 4.0 / std::sqrt(20.0), 1e-6);
  EXPECT_EQ(n[1].vector, (std::vector<float>{0.0f, 0.0f}));  // a zero vector stays zero
  EXPECT_KILN_ERROR(classify(engine, {"good"}), {"classify needs a classification model", "task embedding"});
}

}  // namespace
}  // namespace kiln::test
