#include <cstring>

#include <cmath>
#include <limits>

#include "artifact/artifact.h"
#include "kiln/error.h"
#include "util/untrusted.h"

namespace kiln::artifact {
namespace {

using nlohmann::json;

const char* kind_name(plan::TensorKind k) {
  switch (k) {
    case plan::TensorKind::input: return "input";
    case plan::TensorKind::activation: return "activation";
    case plan::TensorKind::constant: return "constant";
  }
  return "?";
}

plan::TensorKind kind_from(const std::string& s) {
  if (s == "input") return plan::TensorKind::input;
  if (s == "activation") return plan::TensorKind::activation;
  if (s == "constant") return plan::TensorKind::constant;
  fail("unknown tensor kind '", s, "'");
}

// Small tensors (attribute values such as ConstantOfShape's) as {dtype, dims, data as numbers}.
json tensor_to_json(const Tensor& t) {
  json data = json::array();
  for (int64_t i = 0; i < t.numel(); ++i) {
    switch (t.dtype()) {
      case DType::f32: data.push_back(t.data_as<float>()[i]); break;
      case DType::f64: data.push_back(t.data_as<double>()[i]); break;
      case DType::i64: data.push_back(t.data_as<int64_t>()[i]); break;
      case DType::i32: data.push_back(t.data_as<int32_t>()[i]); break;
      case DType::i8: data.push_back(t.data_as<int8_t>()[i]); break;
      case DType::u8: data.push_back(t.data_as<uint8_t>()[i]); break;
      case DType::boolean: data.push_back(t.data_as<bool>()[i]); break;
      default: fail("cannot store a ", dtype_name(t.dtype()), " attribute tensor");
    }
  }
  return json{{"dtype", dtype_name(t.dtype())}, {"dims", t.dims()}, {"data", data}};
}

Dims dims_from_json(const json& j, const std::string& what) {
  if (!j.is_array()) fail(what, " must be an array of integers, found ", json_kind(j));
  Dims d;
  for (size_t i = 0; i < j.size(); ++i) d.push_back(as_int(j[i], str(what, "[", i, "]")));
  return d;
}

std::vector<int> ids_from_json(const json& j, const std::string& what) {
  if (!j.is_array()) fail(what, " must be an array of tensor indices, found ", json_kind(j));
  std::vector<int> ids;
  for (size_t i = 0; i < j.size(); ++i) {
    const int64_t v = as_int(j[i], str(what, "[", i, "]"));
    if (v < -1 || v > std::numeric_limits<int>::max()) fail("tensor index ", v, " out of range");
    ids.push_back(static_cast<int>(v));
  }
  return ids;
}

// An integer element that must fit the tensor's type.
template <typename T> T int_in_range(const json& v, const std::string& what) {
  const int64_t x = as_int(v, what);
  if (x < static_cast<int64_t>(std::numeric_limits<T>::min()) || x > static_cast<int64_t>(std::numeric_limits<T>::max()))
    fail(what, " = ", x, " does not fit the tensor's type");
  return static_cast<T>(x);
}

Tensor tensor_from_json(const json& j, const std::string& what) {
  const DType dt = dtype_from_name(json_string(j, "dtype", what));
  const Dims dims = dims_from_json(json_field(j, "dims", what), what + ": dims");
  const json& data = json_field(j, "data", what);
  if (!data.is_array()) fail(what, ": data must be an array, found ", json_kind(data));
  // Compared before allocating: the values must be in the file.
  if (static_cast<uint64_t>(checked_numel(dims, what)) != data.size()) fail("attribute tensor has the wrong number of values");
  Tensor t(dt, dims);
  for (int64_t i = 0; i < t.numel(); ++i) {
    const std::string w = str(what, ": data[", i, "]");
    switch (t.dtype()) {
      case DType::f32: {
        const double v = as_number(data[i], w);
        if (std::abs(v) > std::numeric_limits<float>::max() && std::isfinite(v)) fail(w, " = ", v, " does not fit f32");
        t.data_as<float>()[i] = static_cast<float>(v);
        break;
      }
      case DType::f64: t.data_as<double>()[i] = as_number(data[i], w); break;
      case DType::i64: t.data_as<int64_t>()[i] = as_int(data[i], w); break;
      case DType::i32: t.data_as<int32_t>()[i] = int_in_range<int32_t>(data[i], w); break;
      case DType::i8: t.data_as<int8_t>()[i] = int_in_range<int8_t>(data[i], w); break;
      case DType::u8: t.data_as<uint8_t>()[i] = int_in_range<uint8_t>(data[i], w); break;
      case DType::boolean:
        if (!data[i].is_boolean()) fail(w, " must be true or false, found ", json_kind(data[i]));
        t.data_as<bool>()[i] = data[i].get<bool>();
        break;
      default: fail("bad attribute tensor dtype");
    }
  }
  return t;
}

json attrs_to_json(const ir::Attrs& attrs) {
  json j = json::object();
  for (const auto& [name, a] : attrs.all()) {
    switch (a.kind) {
      case ir::Attribute::Kind::i: j[name] = {{"int", a.i}}; break;
      case ir::Attribute::Kind::f: j[name] = {{"float", a.f}}; break;
      case ir::Attribute::Kind::s: j[name] = {{"string", a.s}}; break;
      case ir::Attribute::Kind::ints: j[name] = {{"ints", a.ints}}; break;
      case ir::Attribute::Kind::floats: j[name] = {{"floats", a.floats}}; break;
      case ir::Attribute::Kind::tensor: j[name] = {{"tensor", tensor_to_json(*a.t)}}; break;
    }
  }
  return j;
}

ir::Attrs attrs_from_json(const json& j, const std::string& where) {
  if (!j.is_object()) fail(where, " must be an object, found ", json_kind(j));
  ir::Attrs attrs;
  for (const auto& [name, v] : j.items()) {
    ir::Attribute a;
    const std::string w = where + " '" + name + "'";
    if (!v.is_object()) fail("attribute '", name, "' has an unknown encoding");
    if (v.contains("int")) { a.kind = ir::Attribute::Kind::i; a.i = json_int(v, "int", w); }
    else if (v.contains("float")) { a.kind = ir::Attribute::Kind::f; a.f = json_number(v, "float", 0, w); }
    else if (v.contains("string")) { a.kind = ir::Attribute::Kind::s; a.s = json_string(v, "string", w); }
    else if (v.contains("ints")) { a.kind = ir::Attribute::Kind::ints; a.ints = dims_from_json(v["ints"], w + ": ints"); }
    else if (v.contains("floats")) {
      a.kind = ir::Attribute::Kind::floats;
      if (!v["floats"].is_array()) fail(w, ": floats must be an array of numbers, found ", json_kind(v["floats"]));
      for (size_t i = 0; i < v["floats"].size(); ++i) a.floats.push_back(as_number(v["floats"][i], str(w, ": floats[", i, "]")));
    } else if (v.contains("tensor")) {
      a.kind = ir::Attribute::Kind::tensor;
      a.t = std::make_shared<const Tensor>(tensor_from_json(v["tensor"], w + ": tensor"));
    } else {
      fail("attribute '", name, "' has an unknown encoding");
    }
    attrs.set(name, std::move(a));
  }
  return attrs;
}

}  // namespace

json plan_to_json(const plan::Plan& p) {
  json tensors = json::array();
  for (const plan::PlanTensor& t : p.tensors)
    tensors.push_back({{"name", t.name}, {"dtype", dtype_name(t.dtype)}, {"dims", t.dims},
                       {"kind", kind_name(t.kind)}, {"offset", t.offset}, {"bytes", t.bytes}});
  json steps = json::array();
  for (const plan::PlanStep& s : p.steps)
    steps.push_back({{"op", s.op}, {"name", s.name}, {"dtype", dtype_name(s.dtype)}, {"inputs", s.inputs},
                     {"outputs", s.outputs}, {"attrs", attrs_to_json(s.attrs)}});
  return json{{"tensors", tensors}, {"steps", steps}, {"inputs", p.inputs}, {"outputs", p.outputs},
              {"arena_bytes", p.arena_bytes}, {"weight_bytes", p.weight_bytes}};
}

plan::Plan plan_from_json(const json& j) {
  plan::Plan p;
  if (!j.is_object()) fail("the plan must be a JSON object, found ", json_kind(j));
  p.arena_bytes = json_uint(j, "arena_bytes", "plan");
  p.weight_bytes = json_uint(j, "weight_bytes", "plan");
  if (p.arena_bytes > kMaxArenaBytes) fail("plan: arena of ", p.arena_bytes, " bytes is over the ", kMaxArenaBytes, "-byte limit");
  const json& tensors = json_field(j, "tensors", "plan");
  if (!tensors.is_array()) fail("plan: field 'tensors' must be an array, found ", json_kind(tensors));
  if (tensors.size() > static_cast<size_t>(std::numeric_limits<int>::max())) fail("plan: too many tensors");
  for (size_t i = 0; i < tensors.size(); ++i) {
    const json& t = tensors[i];
    const std::string w = str("plan tensor ", i);
    plan::PlanTensor pt;
    pt.name = json_string(t, "name", w);
    pt.dtype = dtype_from_name(json_string(t, "dtype", w));
    pt.dims = dims_from_json(json_field(t, "dims", w), w + ": dims");
    pt.kind = kind_from(json_string(t, "kind", w));
    pt.offset = json_uint(t, "offset", w);
    pt.bytes = json_uint(t, "bytes", w);
    // Kernels read and write numel x element size bytes; packed weights may be larger, never smaller.
    const uint64_t need = checked_nbytes(pt.dtype, pt.dims, w + " '" + pt.name + "'");
    if (pt.bytes < need) fail(w, " '", pt.name, "' has ", pt.bytes, " bytes, fewer than its ", dtype_name(pt.dtype), dims_to_string(pt.dims), " needs (", need, ")");
    if (pt.kind != plan::TensorKind::constant && (pt.offset > p.arena_bytes || pt.bytes > p.arena_bytes - pt.offset))
      fail(w, " '", pt.name, "' [", pt.offset, ", +", pt.bytes, ") lies outside the ", p.arena_bytes, "-byte arena");
    p.tensors.push_back(std::move(pt));
  }
  const int n = static_cast<int>(p.tensors.size());
  auto check_ids = [n](const std::vector<int>& ids, bool allow_missing) {
    for (int id : ids)
      if (id >= n || (id < 0 && !(allow_missing && id == -1))) fail("tensor index ", id, " out of range");
    return ids;
  };
  const json& steps = json_field(j, "steps", "plan");
  if (!steps.is_array()) fail("plan: field 'steps' must be an array, found ", json_kind(steps));
  for (size_t i = 0; i < steps.size(); ++i) {
    const json& s = steps[i];
    const std::string w = str("plan step ", i);
    plan::PlanStep ps;
    ps.op = json_string(s, "op", w);
    ps.name = json_string(s, "name", w);
    ps.dtype = dtype_from_name(json_string(s, "dtype", w));
    ps.inputs = check_ids(ids_from_json(json_field(s, "inputs", w), w + ": inputs"), true);
    ps.outputs = check_ids(ids_from_json(json_field(s, "outputs", w), w + ": outputs"), false);
    // Weights are mapped read-only: a step may not write one.
    for (int o : ps.outputs)
      if (p.tensors[o].kind == plan::TensorKind::constant) fail(w, " ('", ps.name, "') writes the constant tensor '", p.tensors[o].name, "'");
    ps.attrs = attrs_from_json(json_field(s, "attrs", w), w + " attribute");
    p.steps.push_back(std::move(ps));
  }
  p.inputs = check_ids(ids_from_json(json_field(j, "inputs", "plan"), "plan: inputs"), false);
  p.outputs = check_ids(ids_from_json(json_field(j, "outputs", "plan"), "plan: outputs"), false);
  return p;
}

}  // namespace kiln::artifact
