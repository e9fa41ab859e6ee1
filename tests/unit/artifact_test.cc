// .kiln artifact: write/map round trip, determinism, and detection of every kind of corruption.
#include <cstring>
#include <fstream>

#include "artifact/artifact.h"
#include "planner/build_plan.h"
#include "kiln/version.h"
#include "test_util.h"

namespace kiln::test {
namespace {

using nlohmann::json;

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}
void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}
template <typename T> T get_le(const std::string& b, size_t at) {
  T v;
  std::memcpy(&v, b.data() + at, sizeof v);
  return v;
}

// A hand-made plan with one step per attribute kind (the plan is not executed here).
plan::Plan sample_plan() {
  plan::Plan p;
  p.tensors = {
      {"x", DType::f32, {2, 3}, plan::TensorKind::input, 0, 24},
      {"w", DType::f32, {3}, plan::TensorKind::constant, 0, 12},
      {"idx", DType::i64, {2}, plan::TensorKind::constant, 64, 16},
      {"y", DType::f32, {2, 3}, plan::TensorKind::activation, 64, 24},
      {"z", DType::boolean, {}, plan::TensorKind::activation, 128, 1},
  };
  plan::PlanStep s1;
  s1.op = "Add";
  s1.name = "add_1";
  s1.inputs = {0, 1};
  s1.outputs = {3};
  s1.attrs = Attr().i("axis", -1).f("alpha", 0.125).s("mode", "tanh \"quoted\"").ints("perm", {0, 2, 1})
                 .floats("scales", {0.5, -2.25});
  plan::PlanStep s2;
  s2.op = "ConstantOfShape";
  s2.name = "cos";
  s2.dtype = DType::boolean;
  s2.inputs = {2, -1};
  s2.outputs = {4};
  s2.attrs = Attr()
                 .t("value", tensor<int64_t>({1}, {-7}))
                 .t("vf", tensor<float>({2}, {1.5f, -0.25f}))
                 .t("vb", tensor<bool>({3}, {true, false, true}))
                 .t("vi", tensor<int32_t>({}, {42}))
                 .t("vu", tensor<uint8_t>({2}, {0, 255}));
  p.steps = {s1, s2};
  p.inputs = {0};
  p.outputs = {3, 4};
  p.arena_bytes = 192;
  p.weight_bytes = 128;
  return p;
}
std::string sample_weights() {
  std::string w(128, '\0');
  for (size_t i = 0; i < w.size(); ++i) w[i] = static_cast<char>(i * 7 + 1);
  return w;
}
json sample_meta() {
  return {{"format_version", kArtifactFormatVersion},
          {"options", {{"batch", 2}, {"seq", 0}}},
          {"source", {{"file", "tiny.onnx"}, {"sha256", "abc"}}},
          {"list", {1, 2.5, "three", nullptr, true}}};
}

class ArtifactTest : public ::testing::Test {
 protected:
  TempDir dir;
  std::string path = dir.file("model.kiln");
  void SetUp() override { artifact::write_artifact(path, sample_meta(), sample_plan(), sample_weights()); }

  // Offset and size of a named section, read from the section table.
  std::pair<uint64_t, uint64_t> section(const std::string& bytes, const std::string& name) {
    const uint32_t count = get_le<uint32_t>(bytes, 12);
    for (uint32_t i = 0; i < count; ++i) {
      const size_t e = artifact::kHeaderBytes + i * artifact::kSectionEntryBytes;
      if (std::string(bytes.data() + e, strnlen(bytes.data() + e, 8)) == name)
        return {get_le<uint64_t>(bytes, e + 8), get_le<uint64_t>(bytes, e + 16)};
    }
    ADD_FAILURE() << "no section " << name;
    return {0, 0};
  }
  ::testing::AssertionResult load_fails(const std::string& bytes, std::initializer_list<std::string> parts) {
    const std::string bad = dir.file("bad.kiln");
    write_bytes(bad, bytes);
    return throws_error([&] { artifact::MappedArtifact a(bad); }, parts);
  }
};

TEST_F(ArtifactTest, RoundTrip) {
  artifact::MappedArtifact a(path);
  EXPECT_EQ(a.meta(), sample_meta());
  EXPECT_EQ(artifact::plan_to_json(a.plan()), artifact::plan_to_json(sample_plan()));
  EXPECT_EQ(a.format_version(), kArtifactFormatVersion);
  EXPECT_EQ(a.compiler_version(), std::string("kiln ") + version());
  EXPECT_EQ(a.file_size(), read_bytes(path).size());
  ASSERT_EQ(a.weights_size(), 128u);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(a.weights()), 128), sample_weights());
  EXPECT_EQ(reinterpret_cast<uintptr_t>(a.weights()) % 64, 0u);
}

TEST_F(ArtifactTest, AttributesOfEveryKindSurvive) {
  artifact::MappedArtifact a(path);
  const ir::Attrs& s1 = a.plan().steps.at(0).attrs;
  EXPECT_EQ(s1.get_int("axis"), -1);
  EXPECT_DOUBLE_EQ(s1.get_float("alpha", 0), 0.125);
  EXPECT_EQ(s1.get_string("mode", ""), "tanh \"quoted\"");
  EXPECT_EQ(s1.get_ints("perm"), (std::vector<int64_t>{0, 2, 1}));
  ASSERT_NE(s1.find("scales"), nullptr);
  EXPECT_EQ(s1.find("scales")->kind, ir::Attribute::Kind::floats);
  EXPECT_EQ(s1.find("scales")->floats, (std::vector<double>{0.5, -2.25}));
  const ir::Attrs& s2 = a.plan().steps.at(1).attrs;
  const ir::Attribute* v = s2.find("value");
  ASSERT_NE(v, nullptr);
  ASSERT_EQ(v->kind, ir::Attribute::Kind::tensor);
  EXPECT_TENSOR(*v->t, DType::i64, {1}, {-7}, kTolExact);
  EXPECT_TENSOR(*s2.find("vf")->t, DType::f32, {2}, {1.5, -0.25}, kTolExact);
  EXPECT_TENSOR(*s2.find("vb")->t, DType::boolean, {3}, {1, 0, 1}, kTolExact);
  EXPECT_TENSOR(*s2.find("vi")->t, DType::i32, {}, {42}, kTolExact);
  EXPECT_TENSOR(*s2.find("vu")->t, DType::u8, {2}, {0, 255}, kTolExact);
  EXPECT_EQ(a.plan().steps[1].inputs, (std::vector<int>{2, -1}));
  EXPECT_EQ(a.plan().steps[1].dtype, DType::boolean);
  EXPECT_EQ(a.plan().tensors[4].dims, Dims{});
  EXPECT_EQ(a.plan().tensors[2].kind, plan::TensorKind::constant);
}

TEST_F(ArtifactTest, LayoutMatchesTheDocumentedHeader) {
  const std::string b = read_bytes(path);
  EXPECT_EQ(std::memcmp(b.data(), "KILNART\0", 8), 0);
  EXPECT_EQ(get_le<uint32_t>(b, 8), kArtifactFormatVersion);
  EXPECT_EQ(get_le<uint32_t>(b, 12), 3u);
  EXPECT_EQ(get_le<uint64_t>(b, 48), b.size());
  for (const char* name : {"META", "PLAN", "WEIGHTS"}) {
    auto [off, size] = section(b, name);
    EXPECT_EQ(off % 64, 0u) << name;
    EXPECT_LE(off + size, b.size()) << name;
  }
}

TEST_F(ArtifactTest, WritingTwiceIsByteIdentical) {
  const std::string second = dir.file("again.kiln");
  artifact::write_artifact(second, sample_meta(), sample_plan(), sample_weights());
  EXPECT_EQ(read_bytes(path), read_bytes(second));
}

TEST_F(ArtifactTest, FlippedByteInEachSectionIsNamed) {
  const std::string good = read_bytes(path);
  for (const char* name : {"META", "PLAN", "WEIGHTS"}) {
    SCOPED_TRACE(name);
    auto [off, size] = section(good, name);
    ASSERT_GT(size, 0u);
    for (uint64_t at : {off, off + size / 2, off + size - 1}) {
      std::string bad = good;
      bad[at] = static_cast<char>(bad[at] ^ 0x10);
      EXPECT_TRUE(load_fails(bad, {"damaged", std::string("section ") + name, "checksum"})) << "byte " << at;
    }
  }
}

TEST_F(ArtifactTest, FlippedByteInHeaderOrSectionTable) {
  const std::string good = read_bytes(path);
  std::string bad = good;
  bad[20] ^= 0x01;  // compiler version string
  EXPECT_TRUE(load_fails(bad, {"header checksum mismatch"}));
  bad = good;
  bad[artifact::kHeaderBytes + artifact::kSectionEntryBytes + 16] ^= 0x01;  // PLAN's size
  EXPECT_TRUE(load_fails(bad, {"section table checksum mismatch"}));
}

TEST_F(ArtifactTest, Truncation) {
  const std::string good = read_bytes(path);
  EXPECT_TRUE(load_fails(good.substr(0, good.size() - 10), {"truncated", "header says", std::to_string(good.size())}));
  EXPECT_TRUE(load_fails(good.substr(0, 30), {"truncated", "30 bytes", "64-byte header"}));
  EXPECT_TRUE(load_fails("", {"truncated"}));
  EXPECT_TRUE(load_fails(good + std::string(64, '\0'), {"damaged", "header says"}));
}

TEST_F(ArtifactTest, BadMagic) {
  std::string bad = read_bytes(path);
  bad[0] = 'X';
  EXPECT_TRUE(load_fails(bad, {"not a Kiln artifact", "bad magic"}));
  EXPECT_TRUE(load_fails(std::string(100, 'a'), {"bad magic"}));
}

TEST_F(ArtifactTest, NewerAndOlderFormatVersion) {
  std::string bad = read_bytes(path);
  const uint32_t newer = kArtifactFormatVersion + 1;
  std::memcpy(bad.data() + 8, &newer, 4);  // checked before the checksums
  EXPECT_TRUE(load_fails(bad, {"format version " + std::to_string(newer), "newer than this kiln supports"}));
  const uint32_t older = kArtifactFormatVersion - 1;
  std::memcpy(bad.data() + 8, &older, 4);
  EXPECT_TRUE(load_fails(bad, {"old format version", "recompile"}));
}

TEST_F(ArtifactTest, MissingFileAndDirectory) {
  EXPECT_KILN_ERROR(artifact::MappedArtifact a(dir.file("nope.kiln")), {"cannot open artifact", "nope.kiln"});
  EXPECT_KILN_ERROR(artifact::MappedArtifact a(dir.path()), {"not a regular file"});
}

TEST(PlanJson, RoundTrip) {
  const plan::Plan p = sample_plan();
  const json j = artifact::plan_to_json(p);
  const plan::Plan back = artifact::plan_from_json(j);
  EXPECT_EQ(artifact::plan_to_json(back), j);
  ASSERT_EQ(back.tensors.size(), p.tensors.size());
  for (size_t i = 0; i < p.tensors.size(); ++i) {
    EXPECT_EQ(back.tensors[i].name, p.tensors[i].name);
    EXPECT_EQ(back.tensors[i].dtype, p.tensors[i].dtype);
    EXPECT_EQ(back.tensors[i].dims, p.tensors[i].dims);
    EXPECT_EQ(back.tensors[i].kind, p.tensors[i].kind);
    EXPECT_EQ(back.tensors[i].offset, p.tensors[i].offset);
    EXPECT_EQ(back.tensors[i].bytes, p.tensors[i].bytes);
  }
  EXPECT_EQ(back.inputs, p.inputs);
  EXPECT_EQ(back.outputs, p.outputs);
  EXPECT_EQ(back.arena_bytes, 192u);
  EXPECT_EQ(back.weight_bytes, 128u);
  EXPECT_EQ(j.at("tensors").at(1).at("kind"), "constant");
  EXPECT_EQ(j.at("steps").at(0).at("attrs").at("axis"), (json{{"int", -1}}));
}

TEST(PlanJson, RejectsBadPlans) {
  json j = artifact::plan_to_json(sample_plan());
  json bad = j;
  bad["tensors"][0]["kind"] = "weird";
  EXPECT_KILN_ERROR(artifact::plan_from_json(bad), {"unknown tensor kind 'weird'"});
  bad = j;
  bad["steps"][0]["inputs"] = {0, 9};
  EXPECT_KILN_ERROR(artifact::plan_from_json(bad), {"tensor index 9 out of range"});
  bad = j;
  bad["outputs"] = {-1};
  EXPECT_KILN_ERROR(artifact::plan_from_json(bad), {"tensor index -1 out of range"});
  bad = j;
  bad["tensors"][0]["dtype"] = "f128";
  EXPECT_KILN_ERROR(artifact::plan_from_json(bad), {"unknown dtype 'f128'"});
  bad = j;
  bad["steps"][0]["attrs"]["axis"] = {{"complex", 1}};
  EXPECT_KILN_ERROR(artifact::plan_from_json(bad), {"attribute 'axis' has an unknown encoding"});
}

TEST_F(ArtifactTest, CorruptPlanJsonWithValidChecksumIsReported) {
  // A writer bug (not disk damage): valid checksums around a plan that names a bad tensor index.
  plan::Plan p = sample_plan();
  p.steps[0].outputs = {77};
  const std::string bad = dir.file("badplan.kiln");
  artifact::write_artifact(bad, sample_meta(), p, sample_weights());
  EXPECT_KILN_ERROR(artifact::MappedArtifact a(bad), {"bad plan", "tensor index 77"});
  // A constant that claims to lie past the end of WEIGHTS.
  plan::Plan q = sample_plan();
  q.tensors[2].offset = 120;
  artifact::write_artifact(bad, sample_meta(), q, sample_weights());
  EXPECT_KILN_ERROR(artifact::MappedArtifact a(bad), {"weight 'idx' lies outside the WEIGHTS section"});
}

}  // namespace
}  // namespace kiln::test

namespace kiln::test {
namespace {

// Sequence buckets: several plans over one WEIGHTS section, extra sections (the tokenizer's VOCAB), and
// byte-identical constants of different plans stored once.
TEST(ArtifactBuckets, SeveralPlansSharedWeightsAndExtraSections) {
  TempDir dir;
  planner::WeightBlob blob;
  const float a[4] = {1, 2, 3, 4}, b[2] = {5, 6};
  const uint64_t oa = blob.place(a, sizeof a), ob = blob.place(b, sizeof b), oa2 = blob.place(a, sizeof a);
  EXPECT_EQ(oa, oa2);  // the same bytes again: shared
  EXPECT_NE(oa, ob);
  EXPECT_EQ(ob % plan::kAlignment, 0u);
  plan::Plan p0 = sample_plan(), p1 = sample_plan();
  p1.tensors[0].dims = {2, 3};
  p1.steps.pop_back();
  std::vector<const plan::Plan*> plans = {&p0, &p1};
  const std::string path = dir.file("b.kiln");
  blob.bytes.resize(plan::align_up(std::max<size_t>(blob.bytes.size(), 128)), '\0');
  artifact::write_artifact(path, sample_meta(), plans, blob.bytes, {{"VOCAB", "[PAD]\n[UNK]\n"}});
  artifact::MappedArtifact art(path);
  ASSERT_EQ(art.plan_count(), 2u);
  EXPECT_EQ(art.plan(0).steps.size(), p0.steps.size());
  EXPECT_EQ(art.plan(1).steps.size(), p1.steps.size());
  EXPECT_EQ(art.section("VOCAB"), "[PAD]\n[UNK]\n");
  EXPECT_EQ(art.section("NOPE"), "");
  EXPECT_THROW(art.plan(2), std::out_of_range);
}

}  // namespace
}  // namespace kiln::test
