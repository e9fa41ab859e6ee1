// Hugging Face checkpoint folders -> Kiln IR (see hf_import.h). The graph is built directly from Kiln's
// fused ops (FusedMatMul with bias/activation/residual epilogues, MultiHeadAttention over the merged
// Q/K/V projection, LayerNormalization), the form the fusion passes produce from an ONNX export; the
// shape chains (positions from the sequence length) fold away at compile time.
#include "frontend/hf_import.h"

#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <set>

#include <nlohmann/json.hpp>

#include "frontend/safetensors.h"
#include "frontend/torch_pickle.h"
#include "kiln/error.h"
#include "util/file.h"
#include "util/sha256.h"
#include "util/untrusted.h"

namespace kiln::frontend {
namespace {

bool exists(const std::string& p) {
  struct stat st;
  return stat(p.c_str(), &st) == 0;
}

struct Family {
  const char* model_type;
  const char* prefix;  // state-dict prefix of the encoder in *ForSequenceClassification checkpoints
};
const Family kFamilies[] = {{"bert", "bert"}, {"roberta", "roberta"}, {"xlm-roberta", "roberta"}, {"distilbert", "distilbert"},
                            {"electra", "electra"}};

std::string supported_types() {
  std::string s;
  for (const Family& f : kFamilies) s += (s.empty() ? "" : ", ") + std::string(f.model_type);
  return s;
}

class Builder {
 public:
  // `buffers`: the checkpoint's known non-parameter tensors, which transformers ignores on load too.
  Builder(ir::Graph& g, std::map<std::string, Tensor>& weights, std::string file, std::set<std::string> buffers)
      : g_(g), w_(weights), file_(std::move(file)), buffers_(std::move(buffers)) {}

  // A weight of the checkpoint, checked against the shape the config implies.
  int weight(const std::string& name, const Dims& dims, const std::string& why) {
    auto it = w_.find(name);
    if (it == w_.end()) fail(file_, " has no tensor '", name, "' (", why, ")");
    if (it->second.dims() != dims)
      fail(file_, ": tensor '", name, "' has shape ", dims_to_string(it->second.dims()), ", expected ", dims_to_string(dims), " (", why, ")");
    if (it->second.dtype() != DType::f32)
      fail(file_, ": tensor '", name, "' holds ", dtype_name(it->second.dtype()), " values; a weight must be floating point (", why, ")");
    used_.insert(name);
    return g_.add_constant(name, it->second);
  }
  bool has(const std::string& name) const { return w_.count(name) != 0; }
  int constant(const std::string& name, Tensor t) { return g_.add_constant(name, std::move(t)); }
  int node(const std::string& op, std::vector<int> inputs, const std::string& name, ir::Attrs attrs = {}) {
    ir::Value v;
    v.name = name;
    const int out = g_.add_value(v);
    ir::Node n;
    n.op = op;
    n.name = name;
    n.inputs = std::move(inputs);
    n.outputs = {out};
    n.attrs = std::move(attrs);
    g_.add_node(std::move(n));
    return out;
  }
  // y = x W^T + b (a torch Linear's [out, in] weight), with an optional activation and residual.
  int linear(int x, const std::string& prefix, int64_t in, int64_t out, const std::string& name, const std::string& act = "none",
             int residual = -1) {
    ir::Attrs a;
    a.set_int("trans_b", 1);
    a.set_string("activation", act);
    const std::string why = std::to_string(out) + " x " + std::to_string(in) + " Linear";
    std::vector<int> ins = {x, weight(prefix + ".weight", {out, in}, why), weight(prefix + ".bias", {out}, why)};
    if (residual >= 0) ins.push_back(residual);
    return node("FusedMatMul", ins, name, a);
  }
  int layer_norm(int x, const std::string& prefix, int64_t h, double eps, const std::string& name) {
    ir::Attrs a;
    a.set_int("axis", -1);
    a.set_float("epsilon", eps);
    return node("LayerNormalization", {x, weight(prefix + ".weight", {h}, "LayerNorm"), weight(prefix + ".bias", {h}, "LayerNorm")}, name, a);
  }
  // The merged Q/K/V projection: the three [h, h] weights stacked to [3h, h].
  int qkv(int x, const std::string& q, const std::string& k, const std::string& v, int64_t h, const std::string& name) {
    Tensor W(DType::f32, {3 * h, h}), B(DType::f32, {3 * h});
    int i = 0;
    for (const std::string& p : {q, k, v}) {
      weight(p + ".weight", {h, h}, "attention projection");
      weight(p + ".bias", {h}, "attention projection");
      std::memcpy(W.data_as<float>() + i * h * h, w_.at(p + ".weight").data(), h * h * sizeof(float));
      std::memcpy(B.data_as<float>() + i * h, w_.at(p + ".bias").data(), h * sizeof(float));
      ++i;
    }
    ir::Attrs a;
    a.set_int("trans_b", 1);
    return node("FusedMatMul", {x, constant(name + ".weight", std::move(W)), constant(name + ".bias", std::move(B))}, name, a);
  }
  // Checkpoint tensors the graph did not use (a head Kiln does not build, a mismatched architecture), known
  // buffers aside.
  std::vector<std::string> unused() const {
    std::vector<std::string> u;
    for (const auto& [name, _] : w_)
      if (!used_.count(name) && !buffers_.count(name)) u.push_back(name);
    return u;
  }

 private:
  ir::Graph& g_;
  std::map<std::string, Tensor>& w_;
  std::string file_;
  std::set<std::string> buffers_;
  std::set<std::string> used_;
};

template <typename T> Tensor scalar_of(DType t, T v) {
  Tensor s(t, {});
  std::memcpy(s.data(), &v, sizeof v);
  return s;
}

int64_t get_int(const nlohmann::json& c, std::initializer_list<const char*> keys, const std::string& where) {
  for (const char* k : keys)
    if (c.contains(k) && !c[k].is_null()) return json_int(c, k, where);
  fail(where, " has no integer '", *keys.begin(), "'");
}

// The weights of a folder: model.safetensors or pytorch_model.bin, or their sharded forms (an index JSON
// whose weight_map names, for every tensor, the shard file in the same folder that holds it).
struct Checkpoint {
  std::map<std::string, Tensor> tensors;
  std::string name;    // the file (or index) errors name
  std::string sha256;  // of the file, or of the shards' bytes in index order
};

std::map<std::string, Tensor> read_weights_file(const std::string& path) {
  const bool bin = path.size() >= 4 && path.compare(path.size() - 4, 4, ".bin") == 0;
  return bin ? read_torch_state_dict(path) : read_safetensors(path);
}

// SHA-256 of the files' bytes, concatenated in order (the source model's identity in the artifact).
std::string file_sha256(const std::vector<std::string>& paths) {
  std::string bytes;
  for (const std::string& p : paths) bytes += read_file(p, "checkpoint");
  return sha256_hex(bytes.data(), bytes.size());
}

Checkpoint read_sharded(const std::string& dir, const std::string& index_name) {
  const std::string index = dir + "/" + index_name;
  const nlohmann::json j = parse_json(read_file(index, "checkpoint index"), "'" + index + "'");
  if (!j.is_object() || !j.contains("weight_map") || !j["weight_map"].is_object())
    fail("'", index, "' has no weight_map object (tensor name -> shard file)");
  std::map<std::string, std::string> owner;  // tensor -> shard
  std::vector<std::string> shards;           // in order of first mention
  for (const auto& [tensor, file] : j["weight_map"].items()) {
    const std::string shard = as_string(file, "'" + index + "': weight_map['" + tensor + "']");
    if (shard.empty() || shard.find('/') != std::string::npos || shard == "." || shard == "..")
      fail("'", index, "': shard '", shard, "' of tensor '", tensor, "' is not a file name in the same folder");
    owner[tensor] = shard;
    if (std::find(shards.begin(), shards.end(), shard) == shards.end()) shards.push_back(shard);
  }
  if (shards.empty()) fail("'", index, "': the weight_map is empty");
  Checkpoint ck;
  ck.name = index;
  std::vector<std::string> paths;
  for (const std::string& shard : shards) {
    const std::string path = dir + "/" + shard;
    if (!exists(path)) fail("'", index, "' names shard '", shard, "', which the folder lacks");
    paths.push_back(path);
    for (auto& [name, t] : read_weights_file(path)) {
      auto it = owner.find(name);
      if (it == owner.end()) fail("'", path, "' holds tensor '", name, "', which '", index_name, "' does not list");
      if (it->second != shard) fail("'", path, "' holds tensor '", name, "', which '", index_name, "' puts in '", it->second, "'");
      ck.tensors.emplace(name, std::move(t));
    }
  }
  for (const auto& [name, shard] : owner)
    if (!ck.tensors.count(name)) fail("'", index, "' puts tensor '", name, "' in '", shard, "', which does not hold it");
  ck.sha256 = file_sha256(paths);
  return ck;
}

Checkpoint read_checkpoint(const std::string& dir) {
  for (const char* single : {"model.safetensors", "pytorch_model.bin"}) {
    const std::string path = dir + "/" + single;
    if (exists(path)) return {read_weights_file(path), path, file_sha256({path})};
  }
  for (const char* index : {"model.safetensors.index.json", "pytorch_model.bin.index.json"})
    if (exists(dir + "/" + index)) return read_sharded(dir, index);
  fail("'", dir, "' has no weights: expected model.safetensors or pytorch_model.bin (or a sharded "
       "model.safetensors.index.json or pytorch_model.bin.index.json)");
}

}  // namespace

HfModel import_hf_folder(const std::string& dir) {
  const std::string cfg_path = dir + "/config.json";
  if (!exists(cfg_path)) fail("'", dir, "' has no config.json: a Hugging Face model folder needs config.json and model.safetensors");
  const nlohmann::json c = parse_json(read_file(cfg_path, "model config"), "'" + cfg_path + "'");
  if (!c.is_object()) fail("'", cfg_path, "' must hold a JSON object, found ", json_kind(c));
  const std::string cfg = "'" + cfg_path + "'";
  const std::string type = json_string(c, "model_type", "", cfg);
  const Family* fam = nullptr;
  for (const Family& f : kFamilies)
    if (type == f.model_type) fam = &f;
  if (!fam) fail("'", cfg_path, "': model_type '", type, "' is not supported (supported: ", supported_types(), ")");
  Checkpoint ck = read_checkpoint(dir);
  std::map<std::string, Tensor>& w = ck.tensors;
  const std::string& weights_path = ck.name;

  const bool distil = type == "distilbert";
  const int64_t H = get_int(c, {distil ? "dim" : "hidden_size"}, cfg_path);
  const int64_t L = get_int(c, {distil ? "n_layers" : "num_hidden_layers"}, cfg_path);
  const int64_t heads = get_int(c, {distil ? "n_heads" : "num_attention_heads"}, cfg_path);
  const int64_t I = get_int(c, {distil ? "hidden_dim" : "intermediate_size"}, cfg_path);
  const int64_t V = get_int(c, {"vocab_size"}, cfg_path);
  const int64_t P = get_int(c, {"max_position_embeddings"}, cfg_path);
  const int64_t E = type == "electra" ? json_int(c, "embedding_size", H, cfg) : H;
  const int64_t pad = json_int(c, "pad_token_id", 0, cfg);
  const double eps = distil ? 1e-12 : json_number(c, "layer_norm_eps", 1e-12, cfg);
  const std::string act_name = json_string(c, distil ? "activation" : "hidden_act", "gelu", cfg);
  std::string act;
  if (act_name == "gelu" || act_name == "gelu_python") act = "gelu_erf";
  else if (act_name == "gelu_new" || act_name == "gelu_pytorch_tanh") act = "gelu_tanh";
  else if (act_name == "relu") act = "relu";
  else fail("'", cfg_path, "': activation '", act_name, "' is not supported (gelu, gelu_new, relu)");
  if (heads <= 0 || H % heads) fail("'", cfg_path, "': ", heads, " attention heads do not divide the hidden size ", H);

  std::string arch;
  if (c.contains("architectures") && !c["architectures"].is_null()) {
    const nlohmann::json& archs = c["architectures"];
    if (!archs.is_array()) fail(cfg, ": field 'architectures' must be an array of strings, found ", json_kind(archs));
    if (!archs.empty()) arch = as_string(archs[0], cfg + ": architectures[0]");
  }
  const bool classifier = arch.find("ForSequenceClassification") != std::string::npos;
  // Weights may be saved with or without the encoder prefix (a bare *Model has none).
  std::string pre = std::string(fam->prefix) + ".";
  if (!w.count(pre + "embeddings.word_embeddings.weight")) pre = "";
  if (!w.count(pre + "embeddings.word_embeddings.weight"))
    fail(weights_path, " has no tensor '", fam->prefix, ".embeddings.word_embeddings.weight' (or without the prefix): not a ", type, " checkpoint");

  HfModel m;
  m.sha256 = ck.sha256;
  m.model_type = type;
  m.architecture = arch.empty() ? "(none)" : arch;
  if (c.contains("id2label") && !c["id2label"].is_object())
    fail(cfg, ": field 'id2label' must be an object mapping ids to labels, found ", json_kind(c["id2label"]));
  if (c.contains("id2label") && classifier) {
    const int64_t n = static_cast<int64_t>(c["id2label"].size());
    m.labels.assign(n, "");
    for (const auto& [k, v] : c["id2label"].items()) {
      const int64_t i = parse_count(k, cfg + ": id2label key '" + k + "'");
      if (i >= n) fail("'", cfg_path, "': id2label has an id ", k, " outside 0..", n - 1);
      m.labels[i] = as_string(v, cfg + ": id2label['" + k + "']");
    }
  }
  for (const char* v : {"vocab.txt", "tokenizer.json"})
    if (exists(dir + "/" + v)) (std::string(v) == "vocab.txt" ? m.vocab_file : m.tokenizer_file) = dir + "/" + v;
  if (exists(dir + "/tokenizer_config.json")) {
    const std::string tc = "'" + dir + "/tokenizer_config.json'";
    const nlohmann::json t = parse_json(read_file(dir + "/tokenizer_config.json", "tokenizer config"), tc);
    if (t.is_object()) m.lowercase = json_bool(t, "do_lower_case", true, tc);
  }
  m.pad_id = pad;

  ir::Graph& g = m.graph;
  // Buffers transformers registers on the embeddings (position ids; token type ids in newer releases) and
  // saves with some versions; it ignores them on load, and so does Kiln. Any other unused tensor is an error.
  Builder b(g, w, weights_path, {pre + "embeddings.position_ids", pre + "embeddings.token_type_ids"});
  auto input = [&](const std::string& name) {
    ir::Value v;
    v.name = name;
    v.dtype = DType::i64;
    v.shape = {ir::Dim::sym("batch"), ir::Dim::sym("sequence")};
    const int id = g.add_value(v);
    g.inputs.push_back(id);
    return id;
  };
  const bool roberta = type == "roberta" || type == "xlm-roberta";
  const int ids = input("input_ids");
  const int mask = input("attention_mask");
  const bool has_types = !distil && !roberta;
  const int types = has_types ? input("token_type_ids") : -1;
  const std::string ep = pre + "embeddings.";

  // Embeddings: words + positions (+ token types), LayerNorm.
  ir::Attrs axis0;
  axis0.set_int("axis", 0);
  int x = b.node("Gather", {b.weight(ep + "word_embeddings.weight", {V, E}, "vocab_size x hidden"), ids}, "embeddings.words", axis0);
  int positions;
  if (roberta) {
    // Positions count from pad + 1 over non-pad tokens; pads keep the pad position (HF's
    // create_position_ids_from_input_ids).
    const int is_pad = b.node("Equal", {ids, b.constant("pad_id", scalar_of<int64_t>(DType::i64, pad))}, "positions.is_pad");
    const int keep = b.node("Not", {is_pad}, "positions.keep");
    ir::Attrs to_i64;
    to_i64.set_string("to", "i64");
    const int keep_i = b.node("Cast", {keep}, "positions.keep_i64", to_i64);
    const int cum = b.node("CumSum", {keep_i, b.constant("positions.axis", scalar_of<int64_t>(DType::i64, 1))}, "positions.cumsum");
    const int masked = b.node("Mul", {cum, keep_i}, "positions.masked");
    positions = b.node("Add", {masked, b.constant("positions.offset", scalar_of<int64_t>(DType::i64, pad))}, "positions.ids");
  } else {
    // 0 .. sequence-1, from the input's shape (folded at compile time).
    const int shape = b.node("Shape", {ids}, "positions.shape");
    const int seq = b.node("Gather", {shape, b.constant("positions.one", scalar_of<int64_t>(DType::i64, 1))}, "positions.seq", axis0);
    positions = b.node("Range", {b.constant("positions.zero", scalar_of<int64_t>(DType::i64, 0)), seq,
                                 b.constant("positions.step", scalar_of<int64_t>(DType::i64, 1))}, "positions.ids");
  }
  const int pos = b.node("Gather", {b.weight(ep + "position_embeddings.weight", {P, E}, "max_position_embeddings x hidden"), positions},
                         "embeddings.positions", axis0);
  x = b.node("Add", {x, pos}, "embeddings.add_positions");
  if (!distil) {
    const int64_t T = get_int(c, {"type_vocab_size"}, cfg_path);
    const int table = b.weight(ep + "token_type_embeddings.weight", {T, E}, "type_vocab_size x hidden");
    const int tt = has_types ? b.node("Gather", {table, types}, "embeddings.token_types", axis0)
                             : b.node("Gather", {table, b.constant("token_type.zero", scalar_of<int64_t>(DType::i64, 0))},
                                      "embeddings.token_type0", axis0);
    x = b.node("Add", {x, tt}, "embeddings.add_token_types");
  }
  x = b.layer_norm(x, ep + "LayerNorm", E, eps, "embeddings.layer_norm");
  if (E != H) x = b.linear(x, pre + "embeddings_project", E, H, "embeddings.project");

  // Additive attention mask [batch, 1, 1, seq]: 0 where attended, the lowest float elsewhere.
  ir::Attrs to_f32;
  to_f32.set_string("to", "f32");
  const int axes = b.constant("mask.axes", [] {
    Tensor t(DType::i64, {2});
    t.data_as<int64_t>()[0] = 1;
    t.data_as<int64_t>()[1] = 2;
    return t;
  }());
  const int m4 = b.node("Unsqueeze", {mask, axes}, "mask.unsqueeze");
  const int mf = b.node("Cast", {m4}, "mask.f32", to_f32);
  const int inv = b.node("Sub", {b.constant("mask.one", scalar_of<float>(DType::f32, 1.f)), mf}, "mask.inverted");
  const int add_mask = b.node("Mul", {inv, b.constant("mask.min", scalar_of<float>(DType::f32, std::numeric_limits<float>::lowest()))},
                              "mask.additive");

  // Encoder layers.
  for (int64_t l = 0; l < L; ++l) {
    const std::string n = "layer" + std::to_string(l) + ".";
    const std::string lp = pre + (distil ? "transformer.layer." : "encoder.layer.") + std::to_string(l) + ".";
    const std::string q = lp + (distil ? "attention.q_lin" : "attention.self.query"), k = lp + (distil ? "attention.k_lin" : "attention.self.key"),
                      v = lp + (distil ? "attention.v_lin" : "attention.self.value");
    const int qkv = b.qkv(x, q, k, v, H, n + "qkv");
    ir::Attrs mha;
    mha.set_int("num_heads", heads);
    mha.set_float("scale", 1.0 / std::sqrt(static_cast<double>(H / heads)));
    mha.set_int("packed_qkv", 1);
    const int att = b.node("MultiHeadAttention", {qkv, -1, -1, add_mask}, n + "attention", mha);
    const int a = b.linear(att, lp + (distil ? "attention.out_lin" : "attention.output.dense"), H, H, n + "attention_output", "none", x);
    const int h1 = b.layer_norm(a, lp + (distil ? "sa_layer_norm" : "attention.output.LayerNorm"), H, eps, n + "attention_norm");
    const int f = b.linear(h1, lp + (distil ? "ffn.lin1" : "intermediate.dense"), H, I, n + "ffn_in", act);
    const int o = b.linear(f, lp + (distil ? "ffn.lin2" : "output.dense"), I, H, n + "ffn_out", "none", h1);
    x = b.layer_norm(o, lp + (distil ? "output_layer_norm" : "output.LayerNorm"), H, eps, n + "output_norm");
  }

  int output;
  if (!classifier) {
    output = x;
    g.values[output].name = "last_hidden_state";
  } else {
    const int64_t labels = c.contains("id2label") ? static_cast<int64_t>(c["id2label"].size()) : json_int(c, "num_labels", 2, cfg);
    ir::Attrs axis1;
    axis1.set_int("axis", 1);
    const int cls = b.node("Gather", {x, b.constant("cls.index", scalar_of<int64_t>(DType::i64, 0))}, "cls", axis1);
    if (type == "bert") {
      const int pooled = b.node("Tanh", {b.linear(cls, pre + "pooler.dense", H, H, "pooler.dense")}, "pooler.tanh");
      output = b.linear(pooled, "classifier", H, labels, "logits");
    } else if (distil) {
      const int hdn = b.linear(cls, "pre_classifier", H, H, "pre_classifier", "relu");
      output = b.linear(hdn, "classifier", H, labels, "logits");
    } else if (roberta) {
      const int d = b.node("Tanh", {b.linear(cls, "classifier.dense", H, H, "classifier.dense")}, "classifier.tanh");
      output = b.linear(d, "classifier.out_proj", H, labels, "logits");
    } else {  // electra
      const int d = b.linear(cls, "classifier.dense", H, H, "classifier.dense", act);
      output = b.linear(d, "classifier.out_proj", H, labels, "logits");
    }
    g.values[output].name = "logits";
  }
  g.outputs.push_back(output);
  const std::vector<std::string> unused = b.unused();
  if (!unused.empty())
    fail(weights_path, " has ", unused.size(), " tensor(s) a ", m.architecture, " (", type, ") does not use, e.g. '", unused[0],
         "': check architectures in config.json");
  return m;
}

bool is_hf_folder(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

}  // namespace kiln::frontend
