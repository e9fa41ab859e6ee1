// kiln/labeled_data.h and kiln/evaluate.h: labelled TSVs read with and without headers, columns by name
// and index, every malformed case a clear error; and accuracy, F1 and the confusion matrix of a model
// whose answers are known (tests/sentiment_model.h).
#include <cmath>

#include "sentiment_model.h"
#include "kiln/engine.h"
#include "kiln/evaluate.h"
#include "kiln/labeled_data.h"
#include "kiln/model.h"
#include "kiln/text.h"
#include "test_util.h"

namespace kiln::test {
namespace {

LabeledData parse(const std::string& text, LabeledColumns c = {}) { return parse_labeled_tsv(text, c, "d.tsv"); }

TEST(LabeledTsv, HeaderDetectedAndColumnsByName) {
  const LabeledData d = parse("sentence\tlabel\r\ngood film\t1\n\nbad\t0\n");
  ASSERT_EQ(d.examples.size(), 2u);
  EXPECT_EQ(d.header, (std::vector<std::string>{"sentence", "label"}));
  EXPECT_FALSE(d.pairs);
  EXPECT_EQ(d.examples[0].text, "good film");
  EXPECT_EQ(d.examples[0].label, 1);
  EXPECT_EQ(d.examples[1].line, 4u);  // the blank line counts
}

TEST(LabeledTsv, NoHeaderPairsAndIndices) {
  const LabeledData d = parse("1\tq one\td one\n0\tq two\td two\n");
  EXPECT_TRUE(d.header.empty());
  EXPECT_TRUE(d.pairs);
  EXPECT_EQ(d.examples[1].pair, "d two");
  LabeledColumns c;
  c.text = "2";
  c.pair = "1";
  c.label = "0";
  c.header = "no";
  const LabeledData swapped = parse("1\tq\td\n", c);
  EXPECT_EQ(swapped.examples[0].text, "d");
  EXPECT_EQ(swapped.examples[0].pair, "q");
}

TEST(LabeledTsv, MalformedInputIsAClearError) {
  EXPECT_KILN_ERROR(parse(""), {"'d.tsv' is empty"});
  EXPECT_KILN_ERROR(parse("sentence\tlabel\n"), {"has no rows"});
  EXPECT_KILN_ERROR(parse("a\tlabel\nx\t1\ny\n"), {"d.tsv:3: expected at least 2 tab-separated columns, found 1"});
  EXPECT_KILN_ERROR(parse("label\ta\n1\tx\nyes\ty\n"), {"d.tsv:3: label 'yes' is not an integer"});
  EXPECT_KILN_ERROR(parse("label\ta\n99999999999999999999999\tx\n"), {"d.tsv:2: label '99999999999999999999999' is out of range"});
  LabeledColumns c;
  c.text = "review";
  EXPECT_KILN_ERROR(parse("sentence\tlabel\nx\t1\n", c), {"text column 'review' is not a column", "columns: sentence, label"});
  c.text = "123456789012";
  EXPECT_KILN_ERROR(parse("sentence\tlabel\nx\t1\n", c), {"is not a column index"});
  LabeledColumns h;
  h.header = "maybe";
  EXPECT_KILN_ERROR(parse("x\t1\n", h), {"header must be auto, yes or no"});
  EXPECT_KILN_ERROR(read_labeled_tsv("/nonexistent/d.tsv", {}), {"cannot read '/nonexistent/d.tsv'"});
}

TEST(Evaluate, AccuracyF1AndConfusionOfKnownAnswers) {
  TempDir dir;
  compile_sentiment(dir.file("c.kiln"), "classification");
  Engine engine(Model::open(dir.file("c.kiln")));
  // Predictions: good->0, bad->1, film (tie)->0, good->0, bad->1. True: 0, 1, 1, 1, 1.
  const LabeledData d = parse("label\ttext\n0\tgood\n1\tbad\n1\tfilm\n1\tgood film\n1\tbad\n");
  size_t calls = 0;
  const EvalReport r = evaluate(engine, d, [&](size_t done, size_t total) {
    ++calls;
    EXPECT_EQ(total, 5u);
    EXPECT_LE(done, total);
  });
  EXPECT_EQ(calls, 3u);  // batches of the compiled 2
  EXPECT_EQ(r.batch, 2);
  EXPECT_EQ(r.classes, 2);
  EXPECT_EQ(r.predictions, (std::vector<int64_t>{0, 1, 0, 0, 1}));
  EXPECT_EQ(r.correct, 3);
  EXPECT_DOUBLE_EQ(r.accuracy, 0.6);
  EXPECT_EQ(r.confusion, (std::vector<std::vector<int64_t>>{{1, 0}, {2, 2}}));
  EXPECT_DOUBLE_EQ(r.f1[0], 2.0 / (2.0 + 2.0));   // tp 1, fp 2, fn 0
  EXPECT_DOUBLE_EQ(r.f1[1], 4.0 / (4.0 + 2.0));   // tp 2, fp 0, fn 2
  EXPECT_DOUBLE_EQ(r.f1_macro, (r.f1[0] + r.f1[1]) / 2);
  EXPECT_EQ(r.class_names, (std::vector<std::string>{"positive", "negative"}));
  EXPECT_EQ(r.call_ms.size(), 3u);

  EXPECT_KILN_ERROR(evaluate(engine, parse("label\ttext\n2\tgood\n")), {"d.tsv:2: label 2 is outside the model's 2 classes"});
  EXPECT_KILN_ERROR(evaluate(engine, parse("label\ttext\n0\tgood\n0\tok\xff\n")), {"d.tsv:3:", "UTF-8"});
}

TEST(Evaluate, RefusesModelsThatAreNotClassifiers) {
  TempDir dir;
  compile_sentiment(dir.file("e.kiln"), "embedding");
  Engine engine(Model::open(dir.file("e.kiln")));
  EXPECT_KILN_ERROR(evaluate(engine, parse("label\ttext\n0\tgood\n")), {"eval needs a classifier", "task embedding"});
}

}  // namespace
}  // namespace kiln::test
