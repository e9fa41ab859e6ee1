// Parsers of untrusted bytes (issue 10, "no input can crash Kiln"): the from-bytes entry points and the
// limits checked before allocation. Each malformed input must give a kiln::Error naming the file and the
// field; the fuzz targets in tests/fuzz/ exercise the same entry points with random inputs.
#include <onnx/onnx_pb.h>

#include <cstring>
#include <fstream>
#include <sstream>

#include "artifact/artifact.h"
#include "kiln/npy.h"
#include "compiler/calibration.h"
#include "frontend/onnx_import.h"
#include "frontend/safetensors.h"
#include "frontend/torch_pickle.h"
#include "kiln/tokenizer.h"
#include "test_util.h"
#include "util/untrusted.h"

namespace kiln::test {
namespace {

TEST(CheckedSizes, OverflowAndNegativeDimsAreErrors) {
  EXPECT_EQ(checked_numel({2, 3, 4}, "t"), 24);
  EXPECT_EQ(checked_numel({}, "t"), 1);
  // A zero dim makes the product 0, but the other dims must still fit: num_elements multiplies in order.
  EXPECT_KILN_ERROR(checked_numel({int64_t{1} << 40, int64_t{1} << 40, 0}, "w"), {"w: shape", "more elements than fit in 64 bits"});
  EXPECT_KILN_ERROR(checked_numel({3, -1}, "w"), {"w: negative dim in [3,-1]"});
  EXPECT_KILN_ERROR(checked_nbytes(DType::f32, {int64_t{1} << 62}, "w"), {"w: size overflows 64 bits"});
  EXPECT_KILN_ERROR(checked_add(~uint64_t{0}, 1, "s"), {"s: size overflows"});
  EXPECT_EQ(parse_count("12345", "offset"), 12345);
  EXPECT_KILN_ERROR(parse_count("12x", "offset"), {"offset must be a non-negative integer, found '12x'"});
  EXPECT_KILN_ERROR(parse_count("-1", "offset"), {"offset must be a non-negative integer"});
  EXPECT_KILN_ERROR(parse_count("99999999999999999999", "offset"), {"offset must be a non-negative integer"});
}

TEST(UntrustedJson, ParseErrorsAndTypesNameTheField) {
  EXPECT_KILN_ERROR(parse_json("{\"a\": ", "'c.json'"), {"'c.json': not valid JSON (", "parse error"});
  EXPECT_FALSE(throws_error([] { parse_json("{\"a\": [1]}", "x"); }, {""}));
  const std::string deep = std::string(100, '[') + std::string(100, ']');
  EXPECT_KILN_ERROR(parse_json(deep, "'d.json'"), {"'d.json' nests JSON arrays/objects deeper than 64 levels"});
  EXPECT_FALSE(throws_error([] { parse_json("[\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\"]", "x"); }, {""}));
  const nlohmann::json j = parse_json(R"({"n": 3, "s": "x", "b": true, "f": 1.5, "neg": -1, "nul": null})", "x");
  EXPECT_EQ(json_int(j, "n", "cfg"), 3);
  EXPECT_EQ(json_int(j, "nul", 7, "cfg"), 7);
  EXPECT_EQ(json_string(j, "missing", "d", "cfg"), "d");
  EXPECT_KILN_ERROR(json_int(j, "s", "cfg"), {"cfg: field 's' must be an integer, found a string"});
  EXPECT_KILN_ERROR(json_int(j, "f", 0, "cfg"), {"cfg: field 'f' must be an integer, found a number"});
  EXPECT_KILN_ERROR(json_string(j, "n", "cfg"), {"cfg: field 'n' must be a string, found an integer"});
  EXPECT_KILN_ERROR(json_bool(j, "n", false, "cfg"), {"cfg: field 'n' must be true or false"});
  EXPECT_KILN_ERROR(json_uint(j, "neg", "cfg"), {"cfg: field 'neg' must be a non-negative integer, found a negative integer"});
  EXPECT_KILN_ERROR(json_field(j, "zz", "cfg"), {"cfg: field 'zz' is missing"});
  EXPECT_KILN_ERROR(json_int(parse_json("[1]", "x"), "n", "cfg"), {"cfg must be a JSON object, found an array"});
  EXPECT_KILN_ERROR(as_int(parse_json("18446744073709551615", "x"), "v"), {"v is too large"});
}

// A one-node ONNX model (Identity of its input), extended per test.
onnx::ModelProto tiny_model() {
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(13);
  onnx::GraphProto* g = m.mutable_graph();
  onnx::ValueInfoProto* in = g->add_input();
  in->set_name("x");
  in->mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::FLOAT);
  in->mutable_type()->mutable_tensor_type()->mutable_shape()->add_dim()->set_dim_value(2);
  onnx::NodeProto* n = g->add_node();
  n->set_op_type("Identity");
  n->add_input("x");
  n->add_output("y");
  g->add_output()->set_name("y");
  return m;
}

onnx::NodeProto* add_constant(onnx::ModelProto& m, const std::string& out) {
  onnx::NodeProto* n = m.mutable_graph()->add_node();
  n->set_op_type("Constant");
  n->set_name("c");
  n->add_output(out);
  return n;
}

TEST(OnnxBytes, ImportsFromMemory) {
  const std::string bytes = tiny_model().SerializeAsString();
  const frontend::ImportedModel m = frontend::import_onnx_bytes(bytes, "mem.onnx");
  EXPECT_EQ(m.graph.inputs.size(), 1u);
  EXPECT_EQ(m.opset, 13);
  EXPECT_EQ(frontend::analyze_onnx_bytes(bytes, "mem.onnx").ops.size(), 1u);
  EXPECT_KILN_ERROR(frontend::import_onnx_bytes("", "mem.onnx"), {"model file 'mem.onnx' is empty"});
  EXPECT_KILN_ERROR(frontend::analyze_onnx_bytes("\xff\xff\xff garbage", "mem.onnx"), {"'mem.onnx' is not a valid ONNX model"});
}

TEST(OnnxBytes, ConstantValueOfTheWrongKindIsAnError) {
  // The regression of tests/fuzz/regressions/onnx/onnx-import-segv.onnx: `value` as an INT, not a TENSOR.
  onnx::ModelProto m = tiny_model();
  onnx::AttributeProto* a = add_constant(m, "k")->add_attribute();
  a->set_name("value");
  a->set_type(onnx::AttributeProto::INT);
  a->set_i(3);
  EXPECT_KILN_ERROR(frontend::import_onnx_bytes(m.SerializeAsString(), "m.onnx"), {"node 'c' (Constant): attribute 'value' must be a TENSOR"});
  onnx::ModelProto m2 = tiny_model();
  onnx::AttributeProto* b = add_constant(m2, "k")->add_attribute();
  b->set_name("value_ints");
  b->set_type(onnx::AttributeProto::FLOAT);
  b->set_f(1);
  EXPECT_KILN_ERROR(frontend::import_onnx_bytes(m2.SerializeAsString(), "m.onnx"), {"attribute 'value_ints' must be INTS"});
  // An integer attribute given as a float NaN: not convertible.
  ir::Attrs attrs;
  attrs.set_float("axis", std::nan(""));
  EXPECT_KILN_ERROR(attrs.get_int("axis"), {"attribute 'axis' is not an integer"});
}

TEST(OnnxBytes, DeclaredSizesAreCheckedBeforeAllocating) {
  onnx::ModelProto m = tiny_model();
  onnx::TensorProto* t = m.mutable_graph()->add_initializer();
  t->set_name("huge");
  t->set_data_type(onnx::TensorProto::FLOAT);
  t->add_dims(int64_t{1} << 40);  // 4 TiB declared, no data
  t->set_raw_data("abcd");
  EXPECT_KILN_ERROR(frontend::import_onnx_bytes(m.SerializeAsString(), "m.onnx"), {"initializer 'huge': raw_data has 4 bytes, expected 4398046511104"});
  t->clear_raw_data();
  EXPECT_KILN_ERROR(frontend::import_onnx_bytes(m.SerializeAsString(), "m.onnx"), {"initializer 'huge': float_data holds 0 values"});
  t->add_dims(int64_t{1} << 40);
  EXPECT_KILN_ERROR(frontend::import_onnx_bytes(m.SerializeAsString(), "m.onnx"), {"initializer 'huge'", "more elements than fit in 64 bits"});
  EXPECT_KILN_ERROR(frontend::analyze_onnx_bytes(m.SerializeAsString(), "m.onnx"), {"initializer 'huge'", "more elements than fit in 64 bits"});
  // External data: offsets are numbers, and a model given as bytes has no folder to read them from.
  onnx::ModelProto e = tiny_model();
  onnx::TensorProto* x = e.mutable_graph()->add_initializer();
  x->set_name("ext");
  x->set_data_type(onnx::TensorProto::FLOAT);
  x->add_dims(2);
  x->set_data_location(onnx::TensorProto::EXTERNAL);
  auto* loc = x->add_external_data();
  loc->set_key("location");
  loc->set_value("w.bin");
  auto* off = x->add_external_data();
  off->set_key("offset");
  off->set_value("12x");
  EXPECT_KILN_ERROR(frontend::import_onnx_bytes(e.SerializeAsString(), "m.onnx"), {"initializer 'ext': external data offset must be a non-negative integer, found '12x'"});
  off->set_value("0");
  EXPECT_KILN_ERROR(frontend::import_onnx_bytes(e.SerializeAsString(), "m.onnx"), {"cannot be read: the model was given as bytes"});
  TempDir dir;
  std::ofstream(dir.file("w.bin")) << "1234";  // 4 bytes, 8 needed
  EXPECT_KILN_ERROR(frontend::import_onnx_bytes(e.SerializeAsString(), "m.onnx", dir.path()), {"has 4 bytes, fewer than offset 0 + 8 bytes"});
}

std::string safetensors(const std::string& header, const std::string& data) {
  std::string out(8, '\0');
  uint64_t n = header.size();
  std::memcpy(out.data(), &n, 8);
  return out + header + data;
}

TEST(SafetensorsBytes, HeaderAndOffsetsAreChecked) {
  const std::string good = safetensors(R"({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}})", std::string(8, '\0'));
  EXPECT_EQ(frontend::read_safetensors_bytes(good, "m.st").at("w").numel(), 2);
  std::string big = good;
  big[7] = '\x7f';
  EXPECT_KILN_ERROR(frontend::read_safetensors_bytes(big, "m.st"), {"'m.st': the safetensors header length", "larger than the rest of the file"});
  EXPECT_KILN_ERROR(frontend::read_safetensors_bytes("abc", "m.st"), {"'m.st' is truncated"});
  EXPECT_KILN_ERROR(frontend::read_safetensors_bytes(safetensors(R"({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 16]}})", std::string(8, '\0')), "m.st"),
                    {"tensor 'w': data [0, 16) lies outside the file's 8 data bytes"});
  EXPECT_KILN_ERROR(frontend::read_safetensors_bytes(safetensors(R"({"w": {"dtype": 5, "shape": [2], "data_offsets": [0, 8]}})", std::string(8, '\0')), "m.st"),
                    {"tensor 'w': field 'dtype' must be a string, found an integer"});
  EXPECT_KILN_ERROR(frontend::read_safetensors_bytes(safetensors(R"({"w": {"dtype": "F32", "shape": [4611686018427387904, 4], "data_offsets": [0, 0]}})", ""), "m.st"),
                    {"tensor 'w'", "more elements than fit in 64 bits"});
  EXPECT_KILN_ERROR(frontend::read_safetensors_bytes(safetensors(R"({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0]}})", ""), "m.st"),
                    {"data_offsets must be two non-negative integers"});
  EXPECT_KILN_ERROR(frontend::read_safetensors_bytes(safetensors("{\"w\": ", ""), "m.st"), {"'m.st': the safetensors header: not valid JSON"});
}

TEST(TorchPickleBytes, NotAZipIsAnError) {
  EXPECT_KILN_ERROR(frontend::read_torch_state_dict_bytes("short", "m.bin"), {"'m.bin' is not a zip archive"});
  EXPECT_KILN_ERROR(frontend::read_torch_state_dict_bytes(std::string(100, 'x'), "m.bin"), {"no end-of-directory record"});
  // An end-of-directory record claiming 65535 entries at offset 0 of a 22-byte file.
  std::string eocd("PK\x05\x06\0\0\0\0\xff\xff\xff\xff\0\0\0\0\0\0\0\0\0\0", 22);
  EXPECT_KILN_ERROR(frontend::read_torch_state_dict_bytes(eocd, "m.bin"), {"'m.bin'", "zip"});
}

TEST(ArtifactBytes, OpensFromMemoryWithTheSameChecks) {
  TempDir dir;
  // The smallest artifact: one input copied to the output by an Identity-like step is enough for parsing.
  plan::Plan p;
  p.tensors = {{"x", DType::f32, {2}, plan::TensorKind::input, 0, 8}, {"y", DType::f32, {2}, plan::TensorKind::activation, 64, 8}};
  plan::PlanStep s;
  s.op = "Relu";
  s.name = "relu";
  s.inputs = {0};
  s.outputs = {1};
  p.steps = {s};
  p.inputs = {0};
  p.outputs = {1};
  p.arena_bytes = 128;
  artifact::write_artifact(dir.file("a.kiln"), {{"options", {{"batch", 2}, {"seq", 0}}}}, p, std::string(64, '\0'));
  std::ifstream f(dir.file("a.kiln"), std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  artifact::MappedArtifact a(artifact::MappedArtifact::FromBytes{}, bytes, "mem.kiln");
  EXPECT_EQ(a.plan().steps.size(), 1u);
  EXPECT_EQ(a.file_size(), bytes.size());
  EXPECT_EQ(reinterpret_cast<uintptr_t>(a.weights()) % 64, 0u);
  EXPECT_KILN_ERROR(artifact::MappedArtifact(artifact::MappedArtifact::FromBytes{}, bytes.substr(0, 40), "mem.kiln"), {"artifact 'mem.kiln' is truncated"});
  EXPECT_KILN_ERROR(artifact::MappedArtifact(artifact::MappedArtifact::FromBytes{}, bytes.substr(0, bytes.size() - 64), "mem.kiln"), {"'mem.kiln' is truncated"});
  // META and plan fields of the wrong type, written with valid checksums.
  artifact::write_artifact(dir.file("b.kiln"), {{"options", {{"batch", "two"}}}}, p, std::string(64, '\0'));
  EXPECT_KILN_ERROR(artifact::MappedArtifact a(dir.file("b.kiln")), {"bad metadata: META options: field 'batch' must be an integer, found a string"});
  artifact::write_artifact(dir.file("c.kiln"), {{"seq_buckets", {8}}}, p, std::string(64, '\0'));
  EXPECT_KILN_ERROR(artifact::MappedArtifact a(dir.file("c.kiln")), {"bad metadata: META: field 'options' is missing"});
  plan::Plan q = p;
  q.tensors[1].bytes = 4;  // f32[2] needs 8
  artifact::write_artifact(dir.file("d.kiln"), {{"options", nlohmann::json::object()}}, q, std::string(64, '\0'));
  EXPECT_KILN_ERROR(artifact::MappedArtifact a(dir.file("d.kiln")), {"bad plan: plan tensor 1 'y' has 4 bytes, fewer than its f32[2] needs (8)"});
  q = p;
  q.tensors[1].offset = 128;
  artifact::write_artifact(dir.file("e.kiln"), {{"options", nlohmann::json::object()}}, q, std::string(64, '\0'));
  EXPECT_KILN_ERROR(artifact::MappedArtifact a(dir.file("e.kiln")), {"plan tensor 1 'y' [128, +8) lies outside the 128-byte arena"});
  q = p;
  q.tensors[1].kind = plan::TensorKind::constant;
  artifact::write_artifact(dir.file("f.kiln"), {{"options", nlohmann::json::object()}}, q, std::string(64, '\0'));
  EXPECT_KILN_ERROR(artifact::MappedArtifact a(dir.file("f.kiln")), {"plan step 0 ('relu') writes the constant tensor 'y'"});
}

TEST(TokenizerJsonText, MalformedFilesNameTheField) {
  auto tok = [](const std::string& model_json) {
    return WordPieceTokenizer::from_tokenizer_json_text(R"({"model": )" + model_json + "}", "t.json");
  };
  const std::string vocab = R"("vocab": {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "hi": 4})";
  EXPECT_EQ(tok(R"({"type": "WordPiece", )" + vocab + "}").vocab_size(), 5u);
  EXPECT_KILN_ERROR(tok(R"({"type": "WordPiece", "vocab": {"[PAD]": 0, "[UNK]": 0}})"), {"'t.json': token '[UNK]' has id 0, which token '[PAD]' has too"});
  EXPECT_KILN_ERROR(tok(R"({"type": "WordPiece", "vocab": {"[PAD]": "zero"}})"), {"the id of token '[PAD]' must be an integer, found a string"});
  EXPECT_KILN_ERROR(tok(R"({"type": "WordPiece", "vocab": [1, 2]})"), {"field 'vocab' must be an object"});
  EXPECT_KILN_ERROR(tok(R"({"type": "WordPiece", "unk_token": "<unk>", )" + vocab + "}"), {"unk_token '<unk>' is not in the vocabulary"});
  EXPECT_KILN_ERROR(tok(R"({"type": "WordPiece", "max_input_chars_per_word": -5, )" + vocab + "}"), {"'max_input_chars_per_word' must be positive"});
  EXPECT_KILN_ERROR(tok(R"({"type": 7})"), {"t.json': model: field 'type' must be a string, found an integer"});
  EXPECT_KILN_ERROR(tok(R"({"type": "WordPiece", "vocab": {"a\nb": 0}})"), {"contains a line break"});
  EXPECT_KILN_ERROR(WordPieceTokenizer::from_tokenizer_json_text("[1", "t.json"), {"'t.json': not valid JSON"});
  EXPECT_KILN_ERROR(WordPieceTokenizer::from_tokenizer_json_text("[1]", "t.json"), {"'t.json' must hold a JSON object, found an array"});
}

TEST(WordPieceBytes, LongWordsAndLimits) {
  const WordPieceTokenizer t = WordPieceTokenizer::from_vocab_text("[PAD]\n[UNK]\n[CLS]\n[SEP]\na\n##a\n", true, "v");
  // A 100-character word is split into pieces; one of 101 is [UNK] (the max_chars_per_word rule).
  EXPECT_EQ(t.tokenize(std::string(100, 'a')).size(), 100u);
  EXPECT_EQ(t.tokenize(std::string(101, 'a')), std::vector<std::string>{"[UNK]"});
  EXPECT_KILN_ERROR(t.encode("a", nullptr, int64_t{1} << 40, true), {"max length 1099511627776 is larger than"});
}

TEST(CalibrationText, MalformedLinesNameTheLine) {
  const std::map<std::string, int64_t> rows = {{"ids", 2}};
  EXPECT_EQ(compiler::read_calibration_text("{\"ids\": [1, 2]}\n\n{\"ids\": [[3], [4]]}\n", "c.jsonl", rows).size(), 2u);
  EXPECT_KILN_ERROR(compiler::read_calibration_text("{\"ids\": [1, 2]}\n{\"ids\": [1e400, 2]}\n", "c.jsonl", rows), {"c.jsonl:2: not valid JSON"});
  EXPECT_KILN_ERROR(compiler::read_calibration_text("{\"ids\": [1, 2.5]}", "c.jsonl", rows), {"c.jsonl:1: input 'ids': expected integers, found 2.5"});
  EXPECT_KILN_ERROR(compiler::read_calibration_text("{\"ids\": [1, 18446744073709551615]}", "c.jsonl", rows), {"c.jsonl:1: input 'ids' is too large"});
  EXPECT_KILN_ERROR(compiler::read_calibration_text("{\"ids\": " + std::string(200, '[') + "]}", "c.jsonl", rows), {"c.jsonl:1 nests JSON"});
  EXPECT_KILN_ERROR(compiler::read_calibration_text("\n \n", "c.jsonl", rows), {"calibration file 'c.jsonl' has no samples"});
}

TEST(NpyBytes, ShapeSizeIsCheckedWithoutOverflow) {
  auto npy = [](const std::string& shape) {
    std::string h = "{'descr': '<f4', 'fortran_order': False, 'shape': " + shape + ", }";
    h.append(63 - (10 + h.size()) % 64, ' ');
    h += '\n';
    std::string out = "\x93NUMPY\x01";
    out += '\0';
    out += static_cast<char>(h.size() & 0xff);
    out += static_cast<char>(h.size() >> 8);
    return out + h;
  };
  EXPECT_EQ(parse_npy(npy("(0, 3)"), "e.npy").numel(), 0);
  EXPECT_KILN_ERROR(parse_npy(npy("(999999999999999, 999999999999999, 0)"), "z.npy"), {"npy file 'z.npy' shape", "more elements than fit"});
  EXPECT_KILN_ERROR(parse_npy(npy("(1000000, 1000000)"), "b.npy"), {"holds 0 data bytes", "(4000000000000 bytes)"});
}

}  // namespace
}  // namespace kiln::test
