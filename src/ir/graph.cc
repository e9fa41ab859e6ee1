#include "ir/graph.h"

#include <algorithm>

#include "kiln/error.h"

namespace kiln::ir {

Shape shape_of(const Dims& dims) {
  Shape s;
  for (int64_t d : dims) s.push_back(Dim::of(d));
  return s;
}

bool is_static(const Shape& shape) {
  return std::all_of(shape.begin(), shape.end(), [](const Dim& d) { return d.known(); });
}

Dims static_dims(const Shape& shape) {
  Dims out;
  for (const Dim& d : shape) {
    if (!d.known()) fail("shape ", shape_to_string(shape), " is not static");
    out.push_back(d.value);
  }
  return out;
}

std::string shape_to_string(const Shape& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ",";
    s += shape[i].known() ? std::to_string(shape[i].value)
                          : (shape[i].symbol.empty() ? "?" : shape[i].symbol);
  }
  return s + "]";
}

void Attrs::set_int(const std::string& name, int64_t v) {
  Attribute a;
  a.kind = Attribute::Kind::i;
  a.i = v;
  map_[name] = a;
}
void Attrs::set_float(const std::string& name, double v) {
  Attribute a;
  a.kind = Attribute::Kind::f;
  a.f = v;
  map_[name] = a;
}
void Attrs::set_ints(const std::string& name, std::vector<int64_t> v) {
  Attribute a;
  a.kind = Attribute::Kind::ints;
  a.ints = std::move(v);
  map_[name] = a;
}
void Attrs::set_string(const std::string& name, std::string v) {
  Attribute a;
  a.kind = Attribute::Kind::s;
  a.s = std::move(v);
  map_[name] = a;
}

const Attribute* Attrs::find(const std::string& name) const {
  auto it = map_.find(name);
  return it == map_.end() ? nullptr : &it->second;
}

int64_t Attrs::get_int(const std::string& name, int64_t dflt) const {
  const Attribute* a = find(name);
  return a ? get_int(name) : dflt;
}

int64_t Attrs::get_int(const std::string& name) const {
  const Attribute* a = find(name);
  if (!a) fail("missing attribute '", name, "'");
  if (a->kind == Attribute::Kind::i) return a->i;
  // A float is truncated, as ONNX exporters sometimes write integral attributes as floats; one that is
  // not finite or outside int64 would be undefined behaviour to convert.
  if (a->kind == Attribute::Kind::f) {
    if (!(a->f > -9.2e18 && a->f < 9.2e18)) fail("attribute '", name, "' is not an integer (", a->f, ")");
    return static_cast<int64_t>(a->f);
  }
  fail("attribute '", name, "' is not an integer");
}

double Attrs::get_float(const std::string& name, double dflt) const {
  const Attribute* a = find(name);
  if (!a) return dflt;
  if (a->kind == Attribute::Kind::f) return a->f;
  if (a->kind == Attribute::Kind::i) return static_cast<double>(a->i);
  fail("attribute '", name, "' is not a float");
}

std::string Attrs::get_string(const std::string& name, const std::string& dflt) const {
  const Attribute* a = find(name);
  if (!a) return dflt;
  if (a->kind != Attribute::Kind::s) fail("attribute '", name, "' is not a string");
  return a->s;
}

std::vector<int64_t> Attrs::get_ints(const std::string& name) const {
  const Attribute* a = find(name);
  if (!a) fail("missing attribute '", name, "'");
  if (a->kind == Attribute::Kind::ints) return a->ints;
  if (a->kind == Attribute::Kind::i) return {a->i};
  fail("attribute '", name, "' is not a list of integers");
}

int Graph::add_value(Value v) {
  values.push_back(std::move(v));
  return static_cast<int>(values.size()) - 1;
}

int Graph::add_constant(const std::string& name, Tensor t) {
  Value v;
  v.name = name;
  v.dtype = t.dtype();
  v.shape = shape_of(t.dims());
  v.constant = std::make_shared<const Tensor>(std::move(t));
  return add_value(std::move(v));
}

int Graph::add_node(Node n) {
  int idx = static_cast<int>(nodes.size());
  for (int o : n.outputs) values.at(o).producer = idx;
  nodes.push_back(std::move(n));
  return idx;
}

void Graph::rebuild_producers() {
  for (Value& v : values) v.producer = -1;
  for (size_t i = 0; i < nodes.size(); ++i)
    for (int o : nodes[i].outputs) values.at(o).producer = static_cast<int>(i);
}

std::vector<std::vector<int>> Graph::consumers() const {
  std::vector<std::vector<int>> out(values.size());
  for (size_t i = 0; i < nodes.size(); ++i)
    for (int in : nodes[i].inputs)
      if (in >= 0) out[in].push_back(static_cast<int>(i));
  return out;
}

int Graph::find_value(const std::string& name) const {
  for (size_t i = 0; i < values.size(); ++i)
    if (values[i].name == name) return static_cast<int>(i);
  return -1;
}

void Graph::compact() {
  std::vector<char> used(values.size(), 0);
  for (int v : inputs) used[v] = 1;
  for (int v : outputs) used[v] = 1;
  for (const Node& n : nodes) {
    for (int v : n.inputs)
      if (v >= 0) used[v] = 1;
    for (int v : n.outputs) used[v] = 1;
  }
  std::vector<int> remap(values.size(), -1);
  std::vector<Value> kept;
  for (size_t i = 0; i < values.size(); ++i)
    if (used[i]) {
      remap[i] = static_cast<int>(kept.size());
      kept.push_back(std::move(values[i]));
    }
  values = std::move(kept);
  auto fix = [&](std::vector<int>& ids) {
    for (int& v : ids)
      if (v >= 0) v = remap[v];
  };
  fix(inputs);
  fix(outputs);
  for (Node& n : nodes) {
    fix(n.inputs);
    fix(n.outputs);
  }
  rebuild_producers();
}

std::string Graph::describe(const Node& n) const {
  return str("node '", n.name, "' (", n.domain.empty() ? "" : n.domain + "::", n.op, ")");
}

void verify(const Graph& g, bool require_static) {
  const int nv = static_cast<int>(g.values.size());
  std::vector<int> defined(nv, 0);
  auto in_range = [&](int v, const std::string& where) {
    if (v < 0 || v >= nv) fail("IR verifier: ", where, " refers to value #", v, " out of range");
  };
  for (int v : g.inputs) {
    in_range(v, "graph input");
    if (g.values[v].producer != -1) fail("IR verifier: graph input '", g.values[v].name, "' has a producer");
    defined[v] = 1;
  }
  for (int v = 0; v < nv; ++v)
    if (g.values[v].is_constant()) defined[v] = 1;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& n = g.nodes[i];
    for (int in : n.inputs) {
      if (in < 0) continue;
      in_range(in, g.describe(n));
      if (!defined[in])
        fail("IR verifier: ", g.describe(n), " reads '", g.values[in].name,
             "' before it is defined (graph not in topological order or dangling value)");
    }
    for (int o : n.outputs) {
      in_range(o, g.describe(n));
      if (defined[o]) fail("IR verifier: value '", g.values[o].name, "' is defined twice (", g.describe(n), ")");
      if (g.values[o].producer != static_cast<int>(i))
        fail("IR verifier: value '", g.values[o].name, "' has a stale producer index");
      defined[o] = 1;
    }
  }
  if (g.outputs.empty()) fail("IR verifier: graph has no outputs");
  for (int o : g.outputs) {
    in_range(o, "graph output");
    if (!defined[o]) fail("IR verifier: graph output '", g.values[o].name, "' is never defined");
  }
  if (require_static)
    for (const Value& v : g.values)
      if (!is_static(v.shape))
        fail("IR verifier: value '", v.name, "' has a non-static shape ", shape_to_string(v.shape));
}

}  // namespace kiln::ir
