// Kiln's IR: a typed SSA graph.
//
// Values are tensors with a dtype and a shape whose dims are numbers or named symbols ("batch",
// "sequence"). Each value is produced by at most one node; graph inputs and constants have no
// producer. Nodes are kept in topological order. Everything refers to values by index into
// Graph::values; an omitted optional input is -1.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "kiln/dtype.h"
#include "kiln/tensor.h"

namespace kiln::ir {

struct Dim {
  int64_t value = -1;  // >= 0 when known
  std::string symbol;  // name of a symbolic dim when value < 0 (may be empty: anonymous)
  static Dim of(int64_t v) { return Dim{v, {}}; }
  static Dim sym(std::string s) { return Dim{-1, std::move(s)}; }
  bool known() const { return value >= 0; }
  bool operator==(const Dim& o) const { return value == o.value && symbol == o.symbol; }
  bool operator!=(const Dim& o) const { return !(*this == o); }
};
using Shape = std::vector<Dim>;

Shape shape_of(const Dims& dims);
bool is_static(const Shape& shape);
// Numbers of a static shape; throws if a dim is symbolic.
Dims static_dims(const Shape& shape);
std::string shape_to_string(const Shape& shape);  // "[batch,37,60]"

struct Attribute {
  enum class Kind { i, f, s, ints, floats, tensor };
  Kind kind = Kind::i;
  int64_t i = 0;
  double f = 0;
  std::string s;
  std::vector<int64_t> ints;
  std::vector<double> floats;
  std::shared_ptr<const Tensor> t;
};

// Node attributes by name. Getters with a default return it when the attribute is absent; the others
// throw kiln::Error naming the attribute.
class Attrs {
 public:
  bool has(const std::string& name) const { return map_.count(name) != 0; }
  const std::map<std::string, Attribute>& all() const { return map_; }
  void set(const std::string& name, Attribute a) { map_[name] = std::move(a); }
  void set_int(const std::string& name, int64_t v);
  void set_float(const std::string& name, double v);
  void set_ints(const std::string& name, std::vector<int64_t> v);
  void set_string(const std::string& name, std::string v);
  void erase(const std::string& name) { map_.erase(name); }

  int64_t get_int(const std::string& name, int64_t dflt) const;
  int64_t get_int(const std::string& name) const;
  double get_float(const std::string& name, double dflt) const;
  std::string get_string(const std::string& name, const std::string& dflt) const;
  std::vector<int64_t> get_ints(const std::string& name) const;
  const Attribute* find(const std::string& name) const;

 private:
  std::map<std::string, Attribute> map_;
};

struct Value {
  std::string name;
  DType dtype = DType::f32;
  Shape shape;
  int producer = -1;                       // node index, -1 for graph inputs and constants
  std::shared_ptr<const Tensor> constant;  // initializers and folded values
  bool is_constant() const { return constant != nullptr; }
};

struct Node {
  std::string op;      // ONNX op type, e.g. "MatMul"
  std::string domain;  // "" for the default ONNX domain
  std::string name;    // source node name, quoted in every error about this node
  std::vector<int> inputs;
  std::vector<int> outputs;
  Attrs attrs;
};

class Graph {
 public:
  std::string name = "main";
  std::vector<Value> values;
  std::vector<Node> nodes;
  std::vector<int> inputs;
  std::vector<int> outputs;

  int add_value(Value v);
  int add_constant(const std::string& name, Tensor t);
  // Appends a node and sets the producer of its outputs. Returns the node index.
  int add_node(Node n);
  // Recomputes Value::producer from the node list (after a pass rewrote `nodes`).
  void rebuild_producers();
  // consumers()[v] = indices of the nodes that read value v.
  std::vector<std::vector<int>> consumers() const;
  // Index of the value called `name`, or -1.
  int find_value(const std::string& name) const;
  // Drops values no node, input or output refers to, and renumbers; keeps relative order.
  void compact();
  // "node 'name' (Op)": the prefix of every error about a node.
  std::string describe(const Node& n) const;
};

// The text form (to_text, parse_graph) is in ir/text_format.h.

// Checks structural invariants: values in range, single producer, topological order, outputs
// defined. With `require_static`, also that every value has a static shape. Throws kiln::Error.
void verify(const Graph& g, bool require_static);

}  // namespace kiln::ir
