// IR: graph building, consumers, compact(), Attrs getters and the verifier. The text form: ir_text_test.cc.
#include "ir/graph.h"
#include "test_util.h"

namespace kiln::test {
namespace {

TEST(Graph, AddValueConstantAndNodeSetProducers) {
  GraphBuilder b;
  int x = b.input("x", DType::f32, shape({"batch", 4}));
  int w = b.constant("w", tensor<float>({4}, {1, 2, 3, 4}));
  int y = b.node1("Add", {x, w}, "y");
  EXPECT_EQ(x, 0);
  EXPECT_EQ(w, 1);
  EXPECT_EQ(y, 2);
  EXPECT_EQ(b.g.values[x].producer, -1);
  EXPECT_EQ(b.g.values[w].producer, -1);
  EXPECT_TRUE(b.g.values[w].is_constant());
  EXPECT_EQ(b.g.values[w].shape, ir::shape_of({4}));
  EXPECT_EQ(b.g.values[y].producer, 0);
  EXPECT_EQ(b.g.find_value("w"), 1);
  EXPECT_EQ(b.g.find_value("nope"), -1);
  EXPECT_EQ(b.g.describe(b.g.nodes[0]), "node 'y' (Add)");
}

TEST(Graph, Consumers) {
  GraphBuilder b;
  int x = b.input("x", DType::f32, shape({2}));
  int a = b.node1("Mul", {x, x}, "a");
  int c = b.node1("Add", {a, x}, "c");
  b.node1("Clip", {c, -1, -1}, "d");
  auto cons = b.g.consumers();
  ASSERT_EQ(cons.size(), b.g.values.size());
  EXPECT_EQ(cons[x], (std::vector<int>{0, 0, 1}));  // read twice by node 0, once by node 1
  EXPECT_EQ(cons[a], (std::vector<int>{1}));
  EXPECT_EQ(cons[c], (std::vector<int>{2}));
  EXPECT_TRUE(cons[b.g.find_value("d")].empty());
}

TEST(Graph, CompactDropsUnusedValuesAndRenumbers) {
  GraphBuilder b;
  b.constant("unused0", scalar<float>(1));
  int x = b.input("x", DType::f32, shape({2}));
  b.constant("unused1", scalar<float>(2));
  int w = b.constant("w", tensor<float>({2}, {1, 2}));
  int y = b.node1("Clip", {x, -1, w}, "y");
  b.output(y);
  b.g.compact();
  ASSERT_EQ(b.g.values.size(), 3u);
  EXPECT_EQ(b.g.values[0].name, "x");  // relative order kept
  EXPECT_EQ(b.g.values[1].name, "w");
  EXPECT_EQ(b.g.values[2].name, "y");
  EXPECT_EQ(b.g.inputs, (std::vector<int>{0}));
  EXPECT_EQ(b.g.outputs, (std::vector<int>{2}));
  EXPECT_EQ(b.g.nodes[0].inputs, (std::vector<int>{0, -1, 1}));  // omitted input stays -1
  EXPECT_EQ(b.g.nodes[0].outputs, (std::vector<int>{2}));
  EXPECT_EQ(b.g.values[2].producer, 0);
  EXPECT_NO_THROW(ir::verify(b.g, true));
}

TEST(Attrs, Getters) {
  ir::Attrs a = Attr().i("n", 3).f("x", 2.5).s("s", "hi").ints("v", {1, 2});
  EXPECT_EQ(a.get_int("n"), 3);
  EXPECT_EQ(a.get_int("missing", 9), 9);
  EXPECT_EQ(a.get_int("x"), 2);  // a float read as an int truncates
  EXPECT_DOUBLE_EQ(a.get_float("x", 0), 2.5);
  EXPECT_DOUBLE_EQ(a.get_float("n", 0), 3.0);
  EXPECT_DOUBLE_EQ(a.get_float("missing", 0.25), 0.25);
  EXPECT_EQ(a.get_string("s", ""), "hi");
  EXPECT_EQ(a.get_string("missing", "d"), "d");
  EXPECT_EQ(a.get_ints("v"), (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(a.get_ints("n"), (std::vector<int64_t>{3}));
  EXPECT_KILN_ERROR(a.get_int("missing"), {"missing attribute 'missing'"});
  EXPECT_KILN_ERROR(a.get_int("s"), {"attribute 's' is not an integer"});
  EXPECT_KILN_ERROR(a.get_string("n", ""), {"attribute 'n' is not a string"});
  EXPECT_KILN_ERROR(a.get_ints("s"), {"attribute 's' is not a list of integers"});
  EXPECT_KILN_ERROR(a.get_float("v", 0), {"attribute 'v' is not a float"});
}

TEST(Shapes, Helpers) {
  ir::Shape s = shape({"batch", 3, ""});
  EXPECT_EQ(ir::shape_to_string(s), "[batch,3,?]");
  EXPECT_FALSE(ir::is_static(s));
  EXPECT_TRUE(ir::is_static(shape({2, 3})));
  EXPECT_TRUE(ir::is_static({}));
  EXPECT_EQ(ir::static_dims(shape({2, 3})), (Dims{2, 3}));
  EXPECT_KILN_ERROR(ir::static_dims(s), {"[batch,3,?]", "not static"});
  EXPECT_EQ(dims_to_string({3, 37}), "[3,37]");
  EXPECT_EQ(num_elements({}), 1);
  EXPECT_EQ(num_elements({2, 0, 5}), 0);
}

// ---- verifier ----------------------------------------------------------------------------------------

GraphBuilder valid_graph() {
  GraphBuilder b;
  int x = b.input("x", DType::f32, shape({2}));
  int a = b.node1("Relu", {x}, "a");
  b.output(b.node1("Neg", {a}, "b"));
  for (ir::Value& v : b.g.values) v.shape = shape({2});
  return b;
}

TEST(Verify, AcceptsValidGraph) {
  GraphBuilder b = valid_graph();
  EXPECT_NO_THROW(ir::verify(b.g, true));
}

TEST(Verify, UseBeforeDefinition) {
  GraphBuilder b = valid_graph();
  std::swap(b.g.nodes[0], b.g.nodes[1]);
  b.g.rebuild_producers();
  EXPECT_KILN_ERROR(ir::verify(b.g, false), {"node 'b' (Neg)", "reads 'a' before it is defined"});
}

TEST(Verify, DanglingValue) {
  GraphBuilder b = valid_graph();
  ir::Value orphan;
  orphan.name = "orphan";
  b.g.nodes[1].inputs[0] = b.g.add_value(orphan);
  EXPECT_KILN_ERROR(ir::verify(b.g, false), {"reads 'orphan' before it is defined"});
}

TEST(Verify, DoubleDefinition) {
  GraphBuilder b = valid_graph();
  b.g.nodes[1].outputs[0] = b.g.nodes[0].outputs[0];  // Neg also "defines" a
  b.g.outputs = {b.g.nodes[0].outputs[0]};
  EXPECT_KILN_ERROR(ir::verify(b.g, false), {"value 'a' is defined twice", "node 'b' (Neg)"});

  GraphBuilder c = valid_graph();
  c.g.nodes[0].outputs[0] = c.g.inputs[0];  // a node overwriting a graph input
  EXPECT_KILN_ERROR(ir::verify(c.g, false), {"value 'x' is defined twice"});

  GraphBuilder d = valid_graph();
  int k = d.constant("k", scalar<float>(1));
  d.g.nodes[0].outputs[0] = k;  // a node overwriting a constant
  d.g.values[k].producer = 0;
  EXPECT_KILN_ERROR(ir::verify(d.g, false), {"value 'k' is defined twice"});
}

TEST(Verify, MissingOrUndefinedOutputs) {
  GraphBuilder b = valid_graph();
  b.g.outputs.clear();
  EXPECT_KILN_ERROR(ir::verify(b.g, false), {"graph has no outputs"});

  GraphBuilder c = valid_graph();
  ir::Value ghost;
  ghost.name = "ghost";
  c.g.outputs.push_back(c.g.add_value(ghost));
  EXPECT_KILN_ERROR(ir::verify(c.g, false), {"graph output 'ghost' is never defined"});

  GraphBuilder d = valid_graph();
  d.g.outputs.push_back(99);
  EXPECT_KILN_ERROR(ir::verify(d.g, false), {"graph output", "value #99 out of range"});
}

TEST(Verify, StaleProducerAndInputWithProducer) {
  GraphBuilder b = valid_graph();
  b.g.values[b.g.nodes[1].outputs[0]].producer = 0;
  EXPECT_KILN_ERROR(ir::verify(b.g, false), {"value 'b' has a stale producer index"});

  GraphBuilder c = valid_graph();
  c.g.values[c.g.inputs[0]].producer = 1;
  EXPECT_KILN_ERROR(ir::verify(c.g, false), {"graph input 'x' has a producer"});

  GraphBuilder d = valid_graph();
  d.g.nodes[0].inputs[0] = 42;
  EXPECT_KILN_ERROR(ir::verify(d.g, false), {"node 'a' (Relu)", "value #42 out of range"});
}

TEST(Verify, NonStaticShapeOnlyWithRequireStatic) {
  GraphBuilder b = valid_graph();
  b.g.values[b.g.find_value("a")].shape = shape({"batch"});
  EXPECT_NO_THROW(ir::verify(b.g, false));
  EXPECT_KILN_ERROR(ir::verify(b.g, true), {"value 'a' has a non-static shape [batch]"});
}

}  // namespace
}  // namespace kiln::test
