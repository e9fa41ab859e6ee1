#include "frontend/onnx_import.h"

#include <onnx/onnx_pb.h>

#include <sys/stat.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <fstream>
#include <map>
#include <set>

#include "kiln/error.h"
#include "ops/op_schema.h"
#include "util/file.h"
#include "util/sha256.h"
#include "util/untrusted.h"

namespace kiln::frontend {
namespace {

constexpr int64_t kMinOpset = 7, kMaxOpset = 21;

DType dtype_from_onnx(int32_t t, const std::string& what) {
  switch (t) {
    case onnx::TensorProto::FLOAT: return DType::f32;
    case onnx::TensorProto::DOUBLE: return DType::f64;
    case onnx::TensorProto::INT64: return DType::i64;
    case onnx::TensorProto::INT32: return DType::i32;
    case onnx::TensorProto::INT8: return DType::i8;
    case onnx::TensorProto::UINT8: return DType::u8;
    case onnx::TensorProto::BOOL: return DType::boolean;
    case onnx::TensorProto::FLOAT16: return DType::f16;
    case onnx::TensorProto::BFLOAT16: return DType::bf16;
    default: break;
  }
  std::string name = onnx::TensorProto::DataType_IsValid(t) ? onnx::TensorProto::DataType_Name(t) : std::to_string(t);
  fail(what, " has element type ", name, ", which Kiln does not support");
}

struct Source {
  std::string path;
  std::string dir;  // for external tensor data; empty: the model came from memory and has no directory
};

// How many values a tensor stores in its typed repeated field (float_data, int64_data, ...).
int64_t typed_count(const onnx::TensorProto& p, DType t) {
  switch (t) {
    case DType::f32: return p.float_data_size();
    case DType::f64: return p.double_data_size();
    case DType::i64: return p.int64_data_size();
    default: return p.int32_data_size();
  }
}

// Every declared size is checked against the bytes that hold it (raw_data, the typed field, the external
// file's size) before the tensor is allocated, so a small file cannot make Kiln allocate gigabytes.
Tensor tensor_from_proto(const onnx::TensorProto& p, const Source& src, const std::string& what) {
  DType t = dtype_from_onnx(p.data_type(), what);
  Dims dims(p.dims().begin(), p.dims().end());
  for (int64_t d : dims)
    if (d < 0) fail(what, " has a negative dim in ", dims_to_string(dims));
  const int64_t n = checked_numel(dims, what);
  const uint64_t nbytes = checked_nbytes(t, dims, what);
  auto expect_count = [&](int64_t got, const char* field) {
    if (got != n) fail(what, ": ", field, " holds ", got, " values, expected ", n, " for shape ", dims_to_string(dims));
  };
  if (p.data_location() == onnx::TensorProto::EXTERNAL) {
    std::string location;
    int64_t offset = 0, length = -1;
    for (const auto& kv : p.external_data()) {
      if (kv.key() == "location") location = kv.value();
      else if (kv.key() == "offset") offset = parse_count(kv.value(), what + ": external data offset");
      else if (kv.key() == "length") length = parse_count(kv.value(), what + ": external data length");
    }
    if (location.empty() || location.find("..") != std::string::npos || location[0] == '/' ||
        location.find('\0') != std::string::npos)
      fail(what, ": external data location '", location, "' must be a file next to the model");
    if (length >= 0 && static_cast<uint64_t>(length) != nbytes)
      fail(what, ": external data length ", length, " bytes, expected ", nbytes);
    if (src.dir.empty()) fail(what, ": external data file '", location, "' cannot be read: the model was given as bytes, not as a file path");
    const std::string file = src.dir + "/" + location;
    struct stat st;
    if (stat(file.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) fail(what, ": cannot open external data file '", file, "'");
    const uint64_t file_size = static_cast<uint64_t>(st.st_size);
    if (static_cast<uint64_t>(offset) > file_size || nbytes > file_size - static_cast<uint64_t>(offset))
      fail(what, ": external data file '", file, "' has ", file_size, " bytes, fewer than offset ", offset, " + ", nbytes, " bytes");
    std::ifstream in(file, std::ios::binary);
    if (!in) fail(what, ": cannot open external data file '", file, "'");
    // Every path below fills the whole buffer (or fails), so skip zero-filling hundreds of MB.
    Tensor out = Tensor::uninitialized(t, dims);
    in.seekg(offset);
    in.read(static_cast<char*>(out.data()), static_cast<std::streamsize>(nbytes));
    if (static_cast<uint64_t>(in.gcount()) != nbytes)
      fail(what, ": external data file '", file, "' ends before offset ", offset, " + ", nbytes, " bytes");
    return out;
  }
  if (p.has_raw_data()) {
    if (p.raw_data().size() != nbytes)
      fail(what, ": raw_data has ", p.raw_data().size(), " bytes, expected ", nbytes, " for ",
           dtype_name(t), dims_to_string(dims));
    Tensor out = Tensor::uninitialized(t, dims);
    if (nbytes) std::memcpy(out.data(), p.raw_data().data(), nbytes);
    return out;
  }
  expect_count(typed_count(p, t), t == DType::f32 ? "float_data" : t == DType::f64 ? "double_data" : t == DType::i64 ? "int64_data" : "int32_data");
  Tensor out = Tensor::uninitialized(t, dims);
  switch (t) {
    case DType::f32:
      expect_count(p.float_data_size(), "float_data");
      std::copy(p.float_data().begin(), p.float_data().end(), out.data_as<float>());
      break;
    case DType::f64:
      expect_count(p.double_data_size(), "double_data");
      std::copy(p.double_data().begin(), p.double_data().end(), out.data_as<double>());
      break;
    case DType::i64:
      expect_count(p.int64_data_size(), "int64_data");
      std::copy(p.int64_data().begin(), p.int64_data().end(), out.data_as<int64_t>());
      break;
    case DType::i32: case DType::i8: case DType::u8: case DType::boolean: case DType::f16: case DType::bf16:
      expect_count(p.int32_data_size(), "int32_data");
      for (int64_t i = 0; i < n; ++i) {
        int32_t v = p.int32_data(static_cast<int>(i));
        switch (t) {
          case DType::i32: out.data_as<int32_t>()[i] = v; break;
          case DType::i8: out.data_as<int8_t>()[i] = static_cast<int8_t>(v); break;
          case DType::u8: out.data_as<uint8_t>()[i] = static_cast<uint8_t>(v); break;
          case DType::boolean: out.data_as<bool>()[i] = v != 0; break;
          default: out.data_as<uint16_t>()[i] = static_cast<uint16_t>(v); break;
        }
      }
      break;
  }
  return out;
}

// Kiln computes in f32; f64 constants (rare in exports) are narrowed so ops see one float type.
Tensor narrow_f64(Tensor t) {
  if (t.dtype() != DType::f64) return t;
  Tensor f(DType::f32, t.dims());
  for (int64_t i = 0; i < t.numel(); ++i) f.data_as<float>()[i] = static_cast<float>(t.data_as<double>()[i]);
  return f;
}

std::string node_label(const onnx::NodeProto& n, int index) {
  return n.name().empty() ? str(n.op_type(), "_", index) : n.name();
}

std::string op_label(const onnx::NodeProto& n) {
  const std::string& d = n.domain();
  return d.empty() || d == "ai.onnx" ? n.op_type() : d + "::" + n.op_type();
}

bool op_supported(const onnx::NodeProto& n) {
  const std::string& d = n.domain();
  if (!(d.empty() || d == "ai.onnx")) return false;
  return n.op_type() == "Constant" || ops::find_schema(n.op_type()) != nullptr;
}

struct LoadedProto {
  onnx::ModelProto model;
  int64_t opset = 0;
};

LoadedProto load_proto(std::string_view bytes, const std::string& path) {
  LoadedProto lp;
  if (bytes.empty()) fail("model file '", path, "' is empty");
  if (bytes.size() > static_cast<size_t>(INT_MAX))
    fail("model file '", path, "' is ", bytes.size(), " bytes, over protobuf's 2 GiB limit: store the weights as external data");
  if (!lp.model.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())))
    fail("model file '", path, "' is not a valid ONNX model: protobuf parsing failed (", bytes.size(),
         " bytes; truncated or not ONNX)");
  if (!lp.model.has_graph() || lp.model.graph().node_size() == 0 || lp.model.graph().output_size() == 0)
    fail("model file '", path, "' is not a valid ONNX model: it has no graph with nodes and outputs");
  if (lp.model.ir_version() <= 0) fail("model file '", path, "' is not a valid ONNX model: ir_version is missing");
  for (const auto& o : lp.model.opset_import())
    if (o.domain().empty() || o.domain() == "ai.onnx") lp.opset = o.version();
  if (lp.opset == 0) fail("model file '", path, "' declares no opset for the default ONNX domain");
  if (lp.opset < kMinOpset || lp.opset > kMaxOpset)
    fail("model file '", path, "' uses opset ", lp.opset, "; Kiln supports opsets ", kMinOpset, " to ", kMaxOpset);
  return lp;
}

std::string producer_of(const onnx::ModelProto& m) {
  std::string p = m.producer_name();
  if (!m.producer_version().empty()) p += " " + m.producer_version();
  return p.empty() ? "unknown" : p;
}

std::string value_info_text(const onnx::ValueInfoProto& v) {
  std::string s = v.name() + ": ";
  if (!v.type().has_tensor_type()) return s + "(not a tensor)";
  const auto& tt = v.type().tensor_type();
  int32_t et = tt.elem_type();
  s += onnx::TensorProto::DataType_IsValid(et) ? onnx::TensorProto::DataType_Name(et) : std::to_string(et);
  s += "[";
  for (int i = 0; i < tt.shape().dim_size(); ++i) {
    const auto& d = tt.shape().dim(i);
    s += (i ? "," : "");
    s += d.has_dim_value() ? std::to_string(d.dim_value()) : (d.dim_param().empty() ? "?" : d.dim_param());
  }
  return s + "]";
}

ir::Attribute convert_attribute(const onnx::AttributeProto& a, const Source& src, const std::string& what) {
  ir::Attribute out;
  switch (a.type()) {
    case onnx::AttributeProto::INT: out.kind = ir::Attribute::Kind::i; out.i = a.i(); break;
    case onnx::AttributeProto::FLOAT: out.kind = ir::Attribute::Kind::f; out.f = a.f(); break;
    case onnx::AttributeProto::STRING: out.kind = ir::Attribute::Kind::s; out.s = a.s(); break;
    case onnx::AttributeProto::INTS:
      out.kind = ir::Attribute::Kind::ints;
      out.ints.assign(a.ints().begin(), a.ints().end());
      break;
    case onnx::AttributeProto::FLOATS:
      out.kind = ir::Attribute::Kind::floats;
      out.floats.assign(a.floats().begin(), a.floats().end());
      break;
    case onnx::AttributeProto::TENSOR:
      if (!a.has_t()) fail(what, ": attribute '", a.name(), "' is a TENSOR without a tensor");
      out.kind = ir::Attribute::Kind::tensor;
      out.t = std::make_shared<const Tensor>(narrow_f64(tensor_from_proto(a.t(), src, what + " attribute '" + a.name() + "'")));
      break;
    default:
      fail(what, ": attribute '", a.name(), "' has type ",
           onnx::AttributeProto::AttributeType_IsValid(a.type()) ? onnx::AttributeProto::AttributeType_Name(a.type()) : std::to_string(a.type()),
           ", which Kiln does not support");
  }
  return out;
}

Tensor scalar_tensor_f32(float v) {
  Tensor t(DType::f32, {});
  t.data_as<float>()[0] = v;
  return t;
}

Tensor ints_tensor(const std::vector<int64_t>& v) {
  Tensor t(DType::i64, {static_cast<int64_t>(v.size())});
  std::copy(v.begin(), v.end(), t.data_as<int64_t>());
  return t;
}

// An attribute's payload is read only after its kind is checked: a file may give any attribute any type.
const ir::Attribute* find_attr(const ir::Attrs& attrs, const char* name, ir::Attribute::Kind kind, const char* kind_name,
                               const std::string& what) {
  const ir::Attribute* a = attrs.find(name);
  if (a && a->kind != kind) fail(what, ": attribute '", name, "' must be ", kind_name);
  return a;
}

// ONNX floats are stored as double in the IR; narrowing one outside float's range is undefined behaviour.
float to_f32(double v) {
  constexpr double kMax = 3.4028234663852886e38;
  return static_cast<float>(v > kMax ? kMax : v < -kMax ? -kMax : v);
}

// The value a Constant node produces, from whichever attribute form it uses.
Tensor constant_value(const ir::Attrs& attrs, const std::string& what) {
  using K = ir::Attribute::Kind;
  if (const ir::Attribute* a = find_attr(attrs, "value", K::tensor, "a TENSOR", what)) return *a->t;
  if (const ir::Attribute* a = find_attr(attrs, "value_float", K::f, "a FLOAT", what)) return scalar_tensor_f32(to_f32(a->f));
  if (const ir::Attribute* a = find_attr(attrs, "value_int", K::i, "an INT", what)) {
    Tensor t(DType::i64, {});
    t.data_as<int64_t>()[0] = a->i;
    return t;
  }
  if (const ir::Attribute* a = find_attr(attrs, "value_ints", K::ints, "INTS", what)) return ints_tensor(a->ints);
  if (const ir::Attribute* a = find_attr(attrs, "value_floats", K::floats, "FLOATS", what)) {
    Tensor t(DType::f32, {static_cast<int64_t>(a->floats.size())});
    for (size_t i = 0; i < a->floats.size(); ++i) t.data_as<float>()[i] = to_f32(a->floats[i]);
    return t;
  }
  fail(what, ": Constant has no value attribute Kiln understands");
}

}  // namespace

AnalysisReport analyze_onnx(const std::string& path) { return analyze_onnx_bytes(read_file(path, "model file"), path); }

AnalysisReport analyze_onnx_bytes(std::string_view bytes, const std::string& name) {
  const std::string& path = name;
  LoadedProto lp = load_proto(bytes, path);
  const onnx::GraphProto& g = lp.model.graph();
  AnalysisReport r;
  r.producer = producer_of(lp.model);
  r.opset = lp.opset;
  std::map<std::string, OpSupport> ops;
  for (int i = 0; i < g.node_size(); ++i) {
    const onnx::NodeProto& n = g.node(i);
    OpSupport& s = ops[op_label(n)];
    s.op = op_label(n);
    s.count++;
    s.supported = op_supported(n);
    s.nodes.push_back(node_label(n, i));
  }
  for (auto& [k, v] : ops) r.ops.push_back(v);
  std::set<std::string> init_names;
  for (const auto& t : g.initializer()) {
    init_names.insert(t.name());
    const Dims dims(t.dims().begin(), t.dims().end());
    r.parameter_count = checked_add(r.parameter_count, static_cast<uint64_t>(checked_numel(dims, "initializer '" + t.name() + "'")),
                                    "model file '" + path + "': parameter count");
  }
  r.initializers = static_cast<size_t>(g.initializer_size());
  for (const auto& in : g.input())
    if (!init_names.count(in.name())) r.inputs.push_back(value_info_text(in));
  for (const auto& out : g.output()) r.outputs.push_back(value_info_text(out));
  return r;
}

namespace {

// `owned`, when given, holds `bytes` and is released once parsed (a large model is not kept twice).
ImportedModel import_model(std::string_view bytes, std::string* owned, const std::string& path, const std::string& external_data_dir) {
  LoadedProto lp = load_proto(bytes, path);
  const onnx::GraphProto& g = lp.model.graph();
  Source src{path, external_data_dir};
  ImportedModel m;
  m.producer = producer_of(lp.model);
  m.opset = lp.opset;
  m.sha256 = sha256_hex(bytes.data(), bytes.size());
  m.onnx_nodes = static_cast<size_t>(g.node_size());
  if (owned) std::string().swap(*owned);

  // All unsupported operators at once, before any other work.
  {
    std::map<std::string, std::vector<std::string>> unsupported;
    size_t count = 0;
    for (int i = 0; i < g.node_size(); ++i)
      if (!op_supported(g.node(i))) {
        unsupported[op_label(g.node(i))].push_back(node_label(g.node(i), i));
        ++count;
      }
    if (!unsupported.empty()) {
      std::string list;
      for (const auto& [op, nodes] : unsupported) {
        if (!list.empty()) list += "; ";
        list += op + " x" + std::to_string(nodes.size()) + " (";
        for (size_t i = 0; i < nodes.size(); ++i) list += (i ? ", " : "") + nodes[i];
        list += ")";
      }
      fail("model '", path, "' uses ", unsupported.size(), " unsupported operator type",
           unsupported.size() == 1 ? "" : "s", " in ", count, " node", count == 1 ? "" : "s", ": ", list,
           " (run 'kiln analyze' for the full table)");
    }
  }

  ir::Graph& graph = m.graph;
  graph.name = g.name().empty() ? "main" : g.name();
  std::map<std::string, int> by_name;
  auto define = [&](const std::string& name, int id, const std::string& what) {
    if (!by_name.emplace(name, id).second) fail(what, " redefines value '", name, "'");
  };

  for (const auto& init : g.initializer()) {
    std::string what = "initializer '" + init.name() + "'";
    define(init.name(), graph.add_constant(init.name(), narrow_f64(tensor_from_proto(init, src, what))), what);
  }
  for (const auto& in : g.input()) {
    if (by_name.count(in.name())) continue;  // an initializer listed as input (old exporters)
    std::string what = "model input '" + in.name() + "'";
    if (!in.type().has_tensor_type()) fail(what, " is not a tensor");
    const auto& tt = in.type().tensor_type();
    ir::Value v;
    v.name = in.name();
    v.dtype = dtype_from_onnx(tt.elem_type(), what);
    if (!tt.has_shape()) fail(what, " has no shape; Kiln needs the rank of every input");
    for (int i = 0; i < tt.shape().dim_size(); ++i) {
      const auto& d = tt.shape().dim(i);
      if (d.has_dim_value() && d.dim_value() < 0) fail(what, " has a negative dim ", d.dim_value(), " at axis ", i);
      if (d.has_dim_value()) v.shape.push_back(ir::Dim::of(d.dim_value()));
      else v.shape.push_back(ir::Dim::sym(d.dim_param().empty() ? str(in.name(), "_dim", i) : d.dim_param()));
    }
    int id = graph.add_value(v);
    define(in.name(), id, what);
    graph.inputs.push_back(id);
  }
  if (graph.inputs.empty()) fail("model '", path, "' has no inputs (every graph input is an initializer)");

  std::set<std::string> graph_outputs;
  for (const auto& out : g.output()) graph_outputs.insert(out.name());
  for (int i = 0; i < g.node_size(); ++i) {
    const onnx::NodeProto& pn = g.node(i);
    ir::Node n;
    n.op = pn.op_type();
    n.name = node_label(pn, i);
    const std::string what = str("node '", n.name, "' (", n.op, ")");
    for (const auto& a : pn.attribute()) n.attrs.set(a.name(), convert_attribute(a, src, what));
    // ConstantOfShape's schema and kernel read the tensor of `value`.
    if (n.op == "ConstantOfShape")
      if (const ir::Attribute* a = find_attr(n.attrs, "value", ir::Attribute::Kind::tensor, "a TENSOR", what); a && a->t->numel() != 1)
        fail(what, ": attribute 'value' must hold one element, found ", dims_to_string(a->t->dims()));

    if (n.op == "Constant") {
      if (pn.output_size() != 1) fail(what, " must have one output");
      Tensor t = narrow_f64(constant_value(n.attrs, what));
      define(pn.output(0), graph.add_constant(pn.output(0), std::move(t)), what);
      ++m.constant_nodes;
      continue;
    }
    for (const std::string& in : pn.input()) {
      if (in.empty()) {
        n.inputs.push_back(-1);
        continue;
      }
      auto it = by_name.find(in);
      if (it == by_name.end())
        fail(what, " reads '", in, "', which no earlier node, input or initializer defines");
      n.inputs.push_back(it->second);
    }
    // Normalise old-opset forms into the current ones so schemas and kernels see one form.
    if (n.op == "Cast") {
      // Kiln computes in f32: a Cast to double inside the graph is narrowed to f32 like every f64
      // constant. One that produces a model output keeps f64, so the output has the declared dtype.
      DType to = dtype_from_onnx(static_cast<int32_t>(n.attrs.get_int("to")), what + " target");
      if (to == DType::f64 && !(pn.output_size() == 1 && graph_outputs.count(pn.output(0)))) to = DType::f32;
      n.attrs.set_string("to", dtype_name(to));
    }
    if ((n.op == "Softmax" || n.op == "LogSoftmax") && lp.opset < 13) {
      n.attrs.set_int("axis", n.attrs.get_int("axis", 1));
      n.attrs.set_int("coerce_2d", 1);
    }
    if (n.op == "Slice" && lp.opset < 10) {
      for (const char* k : {"starts", "ends", "axes"})
        if (n.attrs.has(k)) {
          n.inputs.push_back(graph.add_constant(str(n.name, ".", k), ints_tensor(n.attrs.get_ints(k))));
          n.attrs.erase(k);
        } else if (std::string(k) == "axes") {
          break;
        }
    }
    if (n.op == "Clip" && lp.opset < 11) {
      float lo = to_f32(n.attrs.get_float("min", -3.4028234663852886e38));
      float hi = to_f32(n.attrs.get_float("max", 3.4028234663852886e38));
      n.inputs.push_back(graph.add_constant(n.name + ".min", scalar_tensor_f32(lo)));
      n.inputs.push_back(graph.add_constant(n.name + ".max", scalar_tensor_f32(hi)));
      n.attrs.erase("min");
      n.attrs.erase("max");
    }
    for (int o = 0; o < pn.output_size(); ++o) {
      ir::Value v;
      v.name = pn.output(o).empty() ? str(n.name, ".unused_output", o) : pn.output(o);
      int id = graph.add_value(v);
      if (!pn.output(o).empty()) define(pn.output(o), id, what);
      n.outputs.push_back(id);
    }
    graph.add_node(std::move(n));
  }

  for (const auto& out : g.output()) {
    auto it = by_name.find(out.name());
    if (it == by_name.end()) fail("model output '", out.name(), "' is not produced by any node");
    graph.outputs.push_back(it->second);
  }
  return m;
}

}  // namespace

ImportedModel import_onnx(const std::string& path) {
  std::string bytes = read_file(path, "model file");
  return import_model(bytes, &bytes, path, parent_dir(path));
}

ImportedModel import_onnx_bytes(std::string_view bytes, const std::string& name, const std::string& external_data_dir) {
  return import_model(bytes, nullptr, name, external_data_dir);
}

}  // namespace kiln::frontend
