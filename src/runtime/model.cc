// kiln::Model (kiln/model.h): one mapping of an artifact and its metadata parsed once into ModelInfo.
// Everything a runtime or front end asks of the metadata (axes, roles, pad id, buckets, task, labels)
// is answered here, so no other file reads META's JSON by hand.
#include "kiln/model.h"

#include <atomic>
#include <map>

#include <nlohmann/json.hpp>

#include "artifact/artifact.h"
#include "kernels/kernel.h"
#include "kiln/error.h"
#include "kiln/tokenizer.h"
#include "util/file.h"

namespace kiln {
namespace {

std::atomic<uint64_t> g_mappings{0};

constexpr const char* kTaskNames[] = {"classification", "pair-classification", "embedding", "token-classification", "other"};

int64_t int_or(const nlohmann::json& j, const char* key, int64_t dflt) {
  return j.is_object() && j.contains(key) && j[key].is_number_integer() ? j[key].get<int64_t>() : dflt;
}
std::string string_or(const nlohmann::json& j, const char* key, const std::string& dflt) {
  return j.is_object() && j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : dflt;
}

// The tensors of the longest bucket's plan, with the axes and roles META records for them.
std::vector<TensorInfo> tensors(const plan::Plan& plan, const std::vector<int>& ids, const nlohmann::json& listed) {
  std::map<std::string, const nlohmann::json*> by_name;
  if (listed.is_array())
    for (const auto& t : listed)
      if (t.is_object() && t.contains("name") && t["name"].is_string()) by_name[t["name"].get<std::string>()] = &t;
  std::vector<TensorInfo> out;
  for (int id : ids) {
    const plan::PlanTensor& t = plan.tensors[id];
    TensorInfo info;
    info.name = t.name;
    info.dtype = t.dtype;
    info.compiled = info.request = t.dims;
    if (auto it = by_name.find(t.name); it != by_name.end()) {
      const nlohmann::json& j = *it->second;
      info.batch_axis = static_cast<int>(int_or(j, "batch_axis", -1));
      info.seq_axis = static_cast<int>(int_or(j, "seq_axis", -1));
      info.role = string_or(j, "role", "other");
      info.vocab_size = int_or(j, "vocab_size", 0);
    }
    out.push_back(std::move(info));
  }
  return out;
}

// Rows may vary when the compiler found them independent and every batched tensor has them on axis 0
// (the runtime merges rows along axis 0 only). Lengths may vary when, in addition, every tensor whose
// shape differs between buckets has the sequence on axis 1 and rows on axis 0.
void decide_request_shapes(ModelInfo& m, const artifact::MappedArtifact& art, const nlohmann::json& meta) {
  const nlohmann::json batching = meta.value("batching", nlohmann::json::object());
  m.any_rows = batching.is_object() && batching.value("rows_independent", false);
  m.batching_reason = string_or(batching, "reason", "the artifact does not record its batch axes");
  bool has_rows = false;
  for (const auto* list : {&m.inputs, &m.outputs})
    for (const TensorInfo& t : *list) {
      if (t.batch_axis != -1 && t.batch_axis != 0) m.any_rows = false;
      if (t.batch_axis == 0 && t.compiled.at(0) != m.batch) m.any_rows = false;
    }
  for (const TensorInfo& t : m.inputs) has_rows = has_rows || t.batch_axis == 0;
  m.any_rows = m.any_rows && has_rows;
  if (m.any_rows) m.batching_reason.clear();
  const size_t buckets = art.plan_count();
  bool length_ok = m.any_rows && m.seq_buckets.size() == buckets && m.max_length > 0;
  bool seq_input = false;
  auto check = [&](const std::vector<TensorInfo>& list, const std::vector<int>& (*ids)(const plan::Plan&), bool input) {
    for (size_t i = 0; i < list.size(); ++i) {
      const TensorInfo& t = list[i];
      const bool seq = t.seq_axis == 1 && t.batch_axis == 0;
      if (t.seq_axis != -1 && !seq) length_ok = false;
      for (size_t b = 0; length_ok && b < buckets; ++b) {
        Dims want = t.compiled;
        if (seq) want[1] = m.seq_buckets[b];
        const plan::Plan& p = art.plan(b);
        if (ids(p).size() != list.size() || p.tensors[ids(p)[i]].dims != want) length_ok = false;
      }
      seq_input = seq_input || (input && seq);
    }
  };
  check(m.inputs, [](const plan::Plan& p) -> const std::vector<int>& { return p.inputs; }, true);
  check(m.outputs, [](const plan::Plan& p) -> const std::vector<int>& { return p.outputs; }, false);
  m.any_length = length_ok && seq_input;
  for (auto* list : {&m.inputs, &m.outputs})
    for (TensorInfo& t : *list) {
      if (m.any_rows && t.batch_axis == 0) t.request[0] = -1;
      if (m.any_length && t.seq_axis == 1 && t.batch_axis == 0) t.request[1] = -1;
    }
}

}  // namespace

const char* task_name(Task task) { return kTaskNames[static_cast<int>(task)]; }

Task parse_task(const std::string& name) {
  for (int i = 0; i < 5; ++i)
    if (name == kTaskNames[i]) return static_cast<Task>(i);
  fail("task '", name, "' is not one of classification, pair-classification, embedding, token-classification, other");
}

std::shared_ptr<const Model> Model::open(const std::string& path) {
  std::shared_ptr<Model> model(new Model());
  model->art_ = std::make_unique<artifact::MappedArtifact>(path);
  ++g_mappings;
  const artifact::MappedArtifact& art = *model->art_;
  const nlohmann::json& meta = art.meta();
  ModelInfo& m = model->info_;
  m.path = path;
  const plan::Plan& longest = art.plan(art.plan_count() - 1);
  m.inputs = tensors(longest, longest.inputs, meta.value("inputs", nlohmann::json::array()));
  m.outputs = tensors(longest, longest.outputs, meta.value("outputs", nlohmann::json::array()));
  const nlohmann::json options = meta.value("options", nlohmann::json::object());
  m.batch = int_or(options, "batch", 0);
  m.precision = string_or(options, "precision", "fp32");
  if (meta.contains("seq_buckets") && meta["seq_buckets"].is_array())
    for (const auto& v : meta["seq_buckets"])
      if (v.is_number_integer()) m.seq_buckets.push_back(v.get<int64_t>());
  if (m.seq_buckets.empty()) m.seq_buckets = {int_or(options, "seq", 0)};
  m.max_length = m.seq_buckets.back();
  m.pad_id = int_or(meta, "pad_id", 0);
  if (meta.contains("labels") && meta["labels"].is_array())
    for (const auto& l : meta["labels"]) m.labels.push_back(l.is_string() ? l.get<std::string>() : l.dump());
  m.has_tokenizer = meta.contains("tokenizer") && !art.section("VOCAB").empty();
  if (m.has_tokenizer)
    model->tokenizer_ = std::make_unique<WordPieceTokenizer>(WordPieceTokenizer::from_vocab_text(
        art.section("VOCAB"), meta["tokenizer"].is_object() ? meta["tokenizer"].value("lowercase", true) : true, path));
  m.pipeline_stages = static_cast<int>(int_or(meta.value("pipeline", nlohmann::json::object()), "stages", 1));
  const std::string task = string_or(meta, "task", "other");
  m.task = Task::other;
  for (int i = 0; i < 5; ++i)
    if (task == kTaskNames[i]) m.task = static_cast<Task>(i);
  decide_request_shapes(m, art, meta);
  m.metadata_json = meta.dump();
  model->file_ = FileInfo{art.file_size(), art.format_version(), art.compiler_version()};
  return model;
}

Model::~Model() = default;

void Model::save(const std::string& path) const {
  write_file_atomic(path, std::vector<std::string_view>{art_->bytes()}, "artifact");
}

uint64_t Model::mappings_opened() { return g_mappings.load(); }

PlanInfo Model::plan_info(size_t bucket) const {
  if (bucket >= art_->plan_count())
    fail("sequence bucket ", bucket, " is out of range: '", info_.path, "' has ", art_->plan_count());
  const plan::Plan& plan = art_->plan(bucket);
  PlanInfo p;
  p.weight_bytes = plan.weight_bytes;
  p.arena_bytes = plan.arena_bytes;
  auto spec = [&](int id) {
    return id < 0 ? std::string("_") : std::string(dtype_name(plan.tensors[id].dtype)) + dims_to_string(plan.tensors[id].dims);
  };
  for (const plan::PlanStep& s : plan.steps) {
    StepInfo step;
    step.op = s.op;
    step.name = s.name;
    step.precision = dtype_name(s.dtype);
    if (s.dtype == DType::i8 && s.op == "FusedMatMul") step.precision = "int8-" + s.attrs.get_string("quant", "dynamic");
    const kernels::KernelEntry* k = kernels::select_kernel(s.op, s.dtype);
    step.kernel = k ? k->name : "";
    for (int in : s.inputs) step.inputs.push_back(spec(in));
    for (int out : s.outputs) step.outputs.push_back(spec(out));
    p.steps.push_back(std::move(step));
  }
  return p;
}

}  // namespace kiln
