#include <cstring>

#include "artifact/artifact.h"
#include "kiln/error.h"

namespace kiln::artifact {
namespace {

using nlohmann::json;

const char* kind_name(planner::TensorKind k) {
  switch (k) {
    case planner::TensorKind::input: return "input";
    case planner::TensorKind::activation: return "activation";
    case planner::TensorKind::constant: return "constant";
  }
  return "?";
}

planner::TensorKind kind_from(const std::string& s) {
  if (s == "input") return planner::TensorKind::input;
  if (s == "activation") return planner::TensorKind::activation;
  if (s == "constant") return planner::TensorKind::constant;
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

Tensor tensor_from_json(const json& j) {
  Tensor t(dtype_from_name(j.at("dtype").get<std::string>()), j.at("dims").get<Dims>());
  const json& data = j.at("data");
  if (static_cast<int64_t>(data.size()) != t.numel()) fail("attribute tensor has the wrong number of values");
  for (int64_t i = 0; i < t.numel(); ++i) {
    switch (t.dtype()) {
      case DType::f32: t.data_as<float>()[i] = data[i].get<float>(); break;
      case DType::f64: t.data_as<double>()[i] = data[i].get<double>(); break;
      case DType::i64: t.data_as<int64_t>()[i] = data[i].get<int64_t>(); break;
      case DType::i32: t.data_as<int32_t>()[i] = data[i].get<int32_t>(); break;
      case DType::i8: t.data_as<int8_t>()[i] = data[i].get<int8_t>(); break;
      case DType::u8: t.data_as<uint8_t>()[i] = data[i].get<uint8_t>(); break;
      case DType::boolean: t.data_as<bool>()[i] = data[i].get<bool>(); break;
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

ir::Attrs attrs_from_json(const json& j) {
  ir::Attrs attrs;
  for (const auto& [name, v] : j.items()) {
    ir::Attribute a;
    if (v.contains("int")) { a.kind = ir::Attribute::Kind::i; a.i = v["int"].get<int64_t>(); }
    else if (v.contains("float")) { a.kind = ir::Attribute::Kind::f; a.f = v["float"].get<double>(); }
    else if (v.contains("string")) { a.kind = ir::Attribute::Kind::s; a.s = v["string"].get<std::string>(); }
    else if (v.contains("ints")) { a.kind = ir::Attribute::Kind::ints; a.ints = v["ints"].get<std::vector<int64_t>>(); }
    else if (v.contains("floats")) { a.kind = ir::Attribute::Kind::floats; a.floats = v["floats"].get<std::vector<double>>(); }
    else if (v.contains("tensor")) {
      a.kind = ir::Attribute::Kind::tensor;
      a.t = std::make_shared<const Tensor>(tensor_from_json(v["tensor"]));
    } else {
      fail("attribute '", name, "' has an unknown encoding");
    }
    attrs.set(name, std::move(a));
  }
  return attrs;
}

}  // namespace

json plan_to_json(const planner::Plan& p) {
  json tensors = json::array();
  for (const planner::PlanTensor& t : p.tensors)
    tensors.push_back({{"name", t.name}, {"dtype", dtype_name(t.dtype)}, {"dims", t.dims},
                       {"kind", kind_name(t.kind)}, {"offset", t.offset}, {"bytes", t.bytes}});
  json steps = json::array();
  for (const planner::PlanStep& s : p.steps)
    steps.push_back({{"op", s.op}, {"name", s.name}, {"dtype", dtype_name(s.dtype)}, {"inputs", s.inputs},
                     {"outputs", s.outputs}, {"attrs", attrs_to_json(s.attrs)}});
  return json{{"tensors", tensors}, {"steps", steps}, {"inputs", p.inputs}, {"outputs", p.outputs},
              {"arena_bytes", p.arena_bytes}, {"weight_bytes", p.weight_bytes}};
}

planner::Plan plan_from_json(const json& j) {
  planner::Plan p;
  for (const json& t : j.at("tensors")) {
    planner::PlanTensor pt;
    pt.name = t.at("name").get<std::string>();
    pt.dtype = dtype_from_name(t.at("dtype").get<std::string>());
    pt.dims = t.at("dims").get<Dims>();
    pt.kind = kind_from(t.at("kind").get<std::string>());
    pt.offset = t.at("offset").get<uint64_t>();
    pt.bytes = t.at("bytes").get<uint64_t>();
    p.tensors.push_back(std::move(pt));
  }
  const int n = static_cast<int>(p.tensors.size());
  auto check_ids = [n](const std::vector<int>& ids, bool allow_missing) {
    for (int id : ids)
      if (id >= n || (id < 0 && !(allow_missing && id == -1))) fail("tensor index ", id, " out of range");
    return ids;
  };
  for (const json& s : j.at("steps")) {
    planner::PlanStep ps;
    ps.op = s.at("op").get<std::string>();
    ps.name = s.at("name").get<std::string>();
    ps.dtype = dtype_from_name(s.at("dtype").get<std::string>());
    ps.inputs = check_ids(s.at("inputs").get<std::vector<int>>(), true);
    ps.outputs = check_ids(s.at("outputs").get<std::vector<int>>(), false);
    ps.attrs = attrs_from_json(s.at("attrs"));
    p.steps.push_back(std::move(ps));
  }
  p.inputs = check_ids(j.at("inputs").get<std::vector<int>>(), false);
  p.outputs = check_ids(j.at("outputs").get<std::vector<int>>(), false);
  p.arena_bytes = j.at("arena_bytes").get<uint64_t>();
  p.weight_bytes = j.at("weight_bytes").get<uint64_t>();
  return p;
}

}  // namespace kiln::artifact
