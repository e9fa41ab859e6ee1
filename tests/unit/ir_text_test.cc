// The IR text form (ir/text_format.h): the printer's format, round trips (text and bits), the reader's
// conveniences (comments, fill, random, '@' node names), and every error the reader gives, each a
// kiln::InvalidInputError with the line and column.
#include <cmath>
#include <limits>

#include "passes/passes.h"
#include "test_util.h"
#include "util/half.h"

namespace kiln::test {
namespace {

// The graph of FullFormat: every kind of statement, attribute and dim.
ir::Graph full_graph() {
  GraphBuilder b;
  b.g.name = "tiny";
  int x = b.input("x", DType::f32, shape({"batch", 4}));
  int anon = b.input("m", DType::boolean, {ir::Dim::sym(""), ir::Dim::of(4)});
  int w = b.constant("w", tensor<float>({4}, {0.5f, -1, 1e-3f, 3.14159274f}));
  int idx = b.constant("idx", tensor<int64_t>({2}, {-1, 7}));
  int flag = b.constant("flag", tensor<bool>({2}, {true, false}));
  int big = b.constant("big", Tensor(DType::i32, {3, 3}));
  int y = b.node1("Add", {x, w}, "y");
  b.g.values[y].shape = shape({"batch", 4});
  Attr attrs;
  attrs.i("axis", -1).f("epsilon", 1e-5).s("mode", "tanh").ints("perm", {0, 2, 1}).floats("scales", {0.5, 2})
      .t("value", tensor<int64_t>({1}, {3}));
  std::vector<int> outs = b.node("Custom", {y, -1, idx, flag, big, anon}, {"o1", "o2"}, attrs);
  b.g.nodes.back().domain = "com.microsoft";
  b.output(outs[0]);
  b.output(outs[1]);
  return b.g;
}

TEST(ToText, FullFormat) {
  EXPECT_EQ(ir::to_text(full_graph()),
            "graph tiny(%x: f32[batch,4], %m: bool[?,4]) {\n"
            "  const %w: f32[4] = [0.5, -1, 0.001, 3.1415927]\n"
            "  const %idx: i64[2] = [-1, 7]\n"
            "  const %flag: bool[2] = [true, false]\n"
            "  const %big: i32[3,3] = fill(0)\n"
            "  %y: f32[batch,4] = Add(%x, %w)\n"
            "  %o1: f32[], %o2: f32[] = com.microsoft::Custom<axis=-1, epsilon=1e-05, mode=\"tanh\", perm=[0,2,1], "
            "scales=[0.5,2.0], value=i64[1] [3]>(%y, _, %idx, %flag, %big, %m)\n"
            "  return %o1, %o2\n"
            "}\n");
}

TEST(ToText, IsDeterministic) {
  GraphBuilder b;
  int x = b.input("x", DType::f32, shape({2}));
  b.output(b.node1("Relu", {x}, "r"));
  ir::Graph copy = b.g;
  EXPECT_EQ(ir::to_text(b.g), ir::to_text(copy));
}

TEST(ToText, LargeConstantsAreSummarisedUnlessExact) {
  GraphBuilder b;
  int x = b.input("x", DType::f32, shape({9}));
  int w = b.constant("w", tensor<float>({9}, {1, 2, 3, 4, 5, 6, 7, 8, 9}));
  int z = b.constant("z", tensor<float>({9}, {-0.f, -0.f, -0.f, -0.f, -0.f, -0.f, -0.f, -0.f, -0.f}));
  b.output(b.node1("Add", {b.node1("Add", {x, w}, "a"), z}, "y"));
  EXPECT_EQ(ir::to_text(b.g),
            "graph main(%x: f32[9]) {\n"
            "  const %w: f32[9] = <9 values>\n"
            "  const %z: f32[9] = fill(-0)\n"
            "  %a: f32[] = Add(%x, %w)\n"
            "  %y: f32[] = Add(%a, %z)\n"
            "  return %y\n"
            "}\n");
  EXPECT_NE(ir::to_text(b.g, ir::TextOptions::exact()).find("const %w: f32[9] = [1, 2, 3, 4, 5, 6, 7, 8, 9]\n"),
            std::string::npos);
}

// ---- round trips -----------------------------------------------------------------------------------------

// Same text, and the same graph: names, types, producers, nodes, attributes, constants bit for bit.
void expect_same_graph(const ir::Graph& a, const ir::Graph& b) {
  EXPECT_EQ(ir::to_text(a, ir::TextOptions::exact()), ir::to_text(b, ir::TextOptions::exact()));
  EXPECT_EQ(a.name, b.name);
  ASSERT_EQ(a.nodes.size(), b.nodes.size());
  auto same_tensor = [](const Tensor& x, const Tensor& y) {
    return x.dtype() == y.dtype() && x.dims() == y.dims() && std::memcmp(x.data(), y.data(), x.nbytes()) == 0;
  };
  auto same_value = [&](int va, int vb) {
    if (va < 0 || vb < 0) return va == vb;
    const ir::Value &x = a.values[va], &y = b.values[vb];
    if (x.name != y.name || x.dtype != y.dtype || x.shape != y.shape || x.is_constant() != y.is_constant()) return false;
    if (x.producer != y.producer) return false;
    return !x.is_constant() || same_tensor(*x.constant, *y.constant);
  };
  for (size_t i = 0; i < a.nodes.size(); ++i) {
    const ir::Node &x = a.nodes[i], &y = b.nodes[i];
    EXPECT_EQ(x.op, y.op);
    EXPECT_EQ(x.domain, y.domain);
    EXPECT_EQ(x.name, y.name);
    ASSERT_EQ(x.inputs.size(), y.inputs.size());
    ASSERT_EQ(x.outputs.size(), y.outputs.size());
    for (size_t k = 0; k < x.inputs.size(); ++k) EXPECT_TRUE(same_value(x.inputs[k], y.inputs[k])) << x.name << " input " << k;
    for (size_t k = 0; k < x.outputs.size(); ++k) EXPECT_TRUE(same_value(x.outputs[k], y.outputs[k])) << x.name << " output " << k;
    ASSERT_EQ(x.attrs.all().size(), y.attrs.all().size()) << x.name;
    for (const auto& [key, at] : x.attrs.all()) {
      const ir::Attribute* bt = y.attrs.find(key);
      ASSERT_NE(bt, nullptr) << key;
      EXPECT_EQ(static_cast<int>(at.kind), static_cast<int>(bt->kind)) << key;
      EXPECT_EQ(at.i, bt->i) << key;
      EXPECT_EQ(at.s, bt->s) << key;
      EXPECT_EQ(at.ints, bt->ints) << key;
      if (at.kind == ir::Attribute::Kind::tensor) {
        EXPECT_TRUE(same_tensor(*at.t, *bt->t)) << key;
      }
    }
  }
  ASSERT_EQ(a.inputs.size(), b.inputs.size());
  for (size_t k = 0; k < a.inputs.size(); ++k) EXPECT_TRUE(same_value(a.inputs[k], b.inputs[k]));
  ASSERT_EQ(a.outputs.size(), b.outputs.size());
  for (size_t k = 0; k < a.outputs.size(); ++k) EXPECT_TRUE(same_value(a.outputs[k], b.outputs[k]));
}

TEST(IrText, FullFormatRoundTrips) {
  const ir::Graph g = full_graph();
  const std::string text = ir::to_text(g);
  const ir::Graph back = ir::parse_graph(text);
  EXPECT_EQ(ir::to_text(back), text);
  // The graph was built with a shape-less %o1 (f32[]), so only the text form is compared for it; the
  // values and attributes are the same.
  EXPECT_EQ(ir::to_text(back, ir::TextOptions::exact()), ir::to_text(g, ir::TextOptions::exact()));
  EXPECT_DOUBLE_EQ(back.nodes[1].attrs.get_float("epsilon", 0), 1e-5);
  EXPECT_EQ(back.nodes[1].attrs.find("scales")->kind, ir::Attribute::Kind::floats);
  EXPECT_EQ(back.nodes[1].attrs.find("value")->kind, ir::Attribute::Kind::tensor);
  EXPECT_EQ(back.nodes[1].inputs[1], -1);
  EXPECT_EQ(back.nodes[1].name, "o1");
  EXPECT_TRUE(back.values[back.inputs[1]].shape[0].symbol.empty());
  EXPECT_NO_THROW(ir::verify(back, false));
}

TEST(IrText, EveryDtypeRoundTripsBitExact) {
  GraphBuilder b;
  const float denormal = std::numeric_limits<float>::denorm_min();
  const float inf = std::numeric_limits<float>::infinity();
  std::vector<int> cs = {
      b.constant("f32", tensor<float>({8}, {0.1f, -0.f, 1e-30f, denormal, 3.4028235e38f, -inf, 1.f / 3, 16777216.f})),
      b.constant("f64", tensor<double>({4}, {0.1, 1.0 / 3, 5e-324, -1e300})),
      b.constant("i64", tensor<int64_t>({3}, {std::numeric_limits<int64_t>::min(), 0, std::numeric_limits<int64_t>::max()})),
      b.constant("i32", tensor<int32_t>({2}, {-2147483647 - 1, 2147483647})),
      b.constant("i8", tensor<int8_t>({2}, {-128, 127})),
      b.constant("u8", tensor<uint8_t>({2}, {0, 255})),
      b.constant("bool", tensor<bool>({3}, {true, false, true})),
      b.constant("w", random_f32({6, 5}, 9)),
  };
  Tensor h(DType::f16, {4}), bf(DType::bf16, {4});
  const float hv[] = {0.1f, -65504.f, 6e-8f, 1.f / 3};
  for (int i = 0; i < 4; ++i) {
    h.data_as<uint16_t>()[i] = f32_to_f16(hv[i]);
    bf.data_as<uint16_t>()[i] = f32_to_bf16(hv[i] * 1e30f);
  }
  cs.push_back(b.constant("f16", h));
  cs.push_back(b.constant("bf16", bf));
  b.output(b.node("Concat", cs, {"all"})[0]);
  const std::string text = ir::to_text(b.g, ir::TextOptions::exact());
  const ir::Graph back = ir::parse_graph(text);
  expect_same_graph(b.g, back);
  EXPECT_NE(text.find("[0.1, -0, 1e-30, 1e-45, 3.4028235e+38, -inf, 0.33333334, 16777216]"), std::string::npos) << text;
  EXPECT_NE(text.find("[0.1, 0.3333333333333333, 5e-324, -1e+300]"), std::string::npos) << text;
}

TEST(IrText, NanRoundTrips) {
  GraphBuilder b;
  b.output(b.node1("Neg", {b.constant("n", tensor<float>({2}, {std::nanf(""), 1}))}, "y"));
  const ir::Graph back = ir::parse_graph(ir::to_text(b.g));
  EXPECT_TRUE(std::isnan(back.values[back.nodes[0].inputs[0]].constant->data_as<float>()[0]));
  EXPECT_EQ(ir::to_text(back), ir::to_text(b.g));
}

TEST(IrText, NamesThatNeedQuotesRoundTrip) {
  GraphBuilder b;
  b.g.name = "my graph";
  int x = b.input("input ids", DType::i64, shape({"batch size", "sequence"}));
  int w = b.constant("onnx::MatMul_337", tensor<float>({1}, {2}));
  int a = b.node1("Cast", {x}, "/bert/embeddings/Cast_output_0", Attr().s("to", "f32\n\"x\"\\\x01"));
  int c = b.node1("Mul", {a, w}, "ends:");
  int d = b.node1("Relu", {c}, "");
  int e = b.node1("a::b", {d}, "1.0");
  b.g.nodes.back().domain = "my domain";
  b.g.nodes.back().name = "@ node \xe4\xb8\x80";
  std::vector<int> f = b.node("Op", {e}, {"x:::y", "\"q\""}, Attr().i("weird key", 1).floats("none", {}));
  b.g.nodes.back().domain = "ai.onnx::ml";
  b.output(f[0]);
  b.output(f[1]);
  const std::string text = ir::to_text(b.g);
  EXPECT_EQ(text,
            "graph \"my graph\"(%\"input ids\": i64[\"batch size\",sequence]) {\n"
            "  const %onnx::MatMul_337: f32[1] = [2]\n"
            "  %/bert/embeddings/Cast_output_0: f32[] = Cast<to=\"f32\\n\\\"x\\\"\\\\\\x01\">(%\"input ids\")\n"
            "  %\"ends:\": f32[] = Mul(%/bert/embeddings/Cast_output_0, %onnx::MatMul_337)\n"
            "  %\"\": f32[] = Relu(%\"ends:\")\n"
            "  %1.0: f32[] = \"my domain\"::\"a::b\"(%\"\") @\"@ node \xe4\xb8\x80\"\n"
            "  %\"x:::y\": f32[], %\"\\\"q\\\"\": f32[] = ai.onnx::ml::Op<none=floats[], \"weird key\"=1>(%1.0)\n"
            "  return %\"x:::y\", %\"\\\"q\\\"\"\n"
            "}\n");
  expect_same_graph(b.g, ir::parse_graph(text));
}

// A fused, auto-cast and quantised graph, as the pipeline leaves it: the text reads back to a graph that
// prints the same and computes the same bits.
TEST(IrText, OptimisedGraphRoundTripsAndComputesTheSame) {
  GraphBuilder b;
  int x = b.input("x", DType::f32, shape({2, 3, 8}));
  int mm = b.node1("MatMul", {x, b.constant("W", random_f32({8, 8}, 1))}, "mm");
  int a = b.node1("Add", {mm, b.constant("bias", random_f32({8}, 2))}, "a");
  int h = b.node1("Gelu", {a}, "h");
  int mm2 = b.node1("MatMul", {h, b.constant("W2", random_f32({8, 8}, 3))}, "mm2");
  int s = b.node1("Add", {mm2, x}, "s");
  b.output(b.node1("LayerNormalization", {s, b.constant("g", random_f32({8}, 4)), b.constant("be", random_f32({8}, 5))}, "y",
                   Attr().f("epsilon", 1e-12)));
  passes::fold_constants(b.g);
  passes::fuse_matmul(b.g);
  passes::eliminate_dead_code(b.g);
  passes::auto_cast(b.g, "matmult", DType::bf16);
  passes::fold_constants(b.g);
  passes::quantize_int8(b.g, nullptr);
  passes::eliminate_dead_code(b.g);
  ir::verify(b.g, true);
  const ir::Graph back = ir::parse_graph(ir::to_text(b.g, ir::TextOptions::exact()));
  expect_same_graph(b.g, back);
  ir::verify(back, true);
  const std::vector<Tensor> in = {random_f32({2, 3, 8}, 6)};
  EXPECT_CLOSE(run_graph(back, in)[0], run_graph(b.g, in)[0], kTolExact);
}

// ---- what the reader accepts -----------------------------------------------------------------------

TEST(IrText, ReaderConveniences) {
  const ir::Graph g = ir::parse_graph(R"(
    # a comment
    graph g (  %x : f32 [ 2 , n ] ,%m:bool[2,n]) {   # inputs
      const %w: f32[4, 3] = random(7)
      %y: f32[2, n] = Relu(%x) @relu_node
      const %z: bf16[4, 3] = random(7)     # constants may come after nodes
      const %k: i64[3] = fill(-2)
      const %q: f32[2] = [1e-3, -.5]
      %u: f32[2, n],
      %v: f32[2, n] = Split<axis=0, split=[1, 1], alpha=[1, 2.5], none=floats[], t=u8[2] [0, 255],
                            s="a b">(%y, _)
      = Print(%u, %w, %z, %k, %q)
      return
    }
  )");
  EXPECT_EQ(g.name, "g");
  ASSERT_EQ(g.nodes.size(), 3u);
  EXPECT_EQ(g.nodes[0].name, "relu_node");
  EXPECT_EQ(g.nodes[1].name, "u");   // a node's name is its first output's
  EXPECT_EQ(g.nodes[2].name, "Print");  // or its op's when it has none
  EXPECT_TRUE(g.nodes[2].outputs.empty());
  EXPECT_TRUE(g.outputs.empty());
  EXPECT_EQ(g.values[g.inputs[0]].shape, (ir::Shape{ir::Dim::of(2), ir::Dim::sym("n")}));
  const Tensor& w = *g.values[g.find_value("w")].constant;
  EXPECT_EQ(std::memcmp(w.data(), random_f32({4, 3}, 7).data(), w.nbytes()), 0);  // random(seed) is random_f32
  const Tensor& z = *g.values[g.find_value("z")].constant;
  for (int i = 0; i < 12; ++i) EXPECT_EQ(z.data_as<uint16_t>()[i], f32_to_bf16(w.data_as<float>()[i]));
  EXPECT_EQ(g.values[g.find_value("k")].constant->data_as<int64_t>()[2], -2);
  EXPECT_FLOAT_EQ(g.values[g.find_value("q")].constant->data_as<float>()[1], -0.5f);
  const ir::Attrs& at = g.nodes[1].attrs;
  EXPECT_EQ(at.find("split")->kind, ir::Attribute::Kind::ints);
  EXPECT_EQ(at.find("alpha")->kind, ir::Attribute::Kind::floats);  // one float makes a float list
  EXPECT_EQ(at.find("alpha")->floats, (std::vector<double>{1, 2.5}));
  EXPECT_EQ(at.find("none")->kind, ir::Attribute::Kind::floats);
  EXPECT_EQ(at.find("t")->t->data_as<uint8_t>()[1], 255);
  EXPECT_EQ(at.get_string("s", ""), "a b");
  EXPECT_EQ(g.nodes[1].inputs[1], -1);
  // Statements are printed canonically: constants first, at their first use.
  const std::string start = "graph g(%x: f32[2,n], %m: bool[2,n]) {\n"
                            "  const %w: f32[4,3] = <12 values>\n"
                            "  const %z: bf16[4,3] = <12 values>\n"
                            "  const %k: i64[3] = [-2, -2, -2]\n"
                            "  const %q: f32[2] = [0.001, -0.5]\n"
                            "  %y: f32[2,n] = Relu(%x) @relu_node\n";
  EXPECT_EQ(ir::to_text(g).substr(0, start.size()), start);
}

TEST(IrText, RandomValuesOfEveryDtype) {
  const Tensor f = ir::random_values(DType::f32, {64}, 3);
  const Tensor i = ir::random_values(DType::i8, {64}, 3);
  const Tensor u = ir::random_values(DType::u8, {64}, 3);
  const Tensor b = ir::random_values(DType::boolean, {64}, 3);
  for (int k = 0; k < 64; ++k) {
    const float v = f.data_as<float>()[k];
    EXPECT_TRUE(v >= -1 && v < 1);
    EXPECT_EQ(i.data_as<int8_t>()[k], static_cast<int8_t>(std::floor(8 * v)));
    EXPECT_EQ(u.data_as<uint8_t>()[k], i.data_as<int8_t>()[k] + 8);
    EXPECT_EQ(b.data_as<uint8_t>()[k], v >= 0);
  }
}

// The reader builds IR and checks the text, not the ops: an unknown op reads, and the first pass
// that needs its schema says it is not supported.
TEST(IrText, UnknownOpsReadAndFailAtInference) {
  ir::Graph g = ir::parse_graph("graph main(%x: f32[2]) { %y: f32[2] = NoSuchOp(%x)  return %y }");
  EXPECT_NO_THROW(ir::verify(g, true));
  EXPECT_KILN_ERROR(passes::fold_constants(g), {"node 'y' (NoSuchOp)", "not supported"});
}

// ---- errors ----------------------------------------------------------------------------------------------

struct BadText {
  const char* text;
  const char* message;  // the whole message
};

TEST(IrText, MalformedTextIsAnInvalidInputErrorWithLineAndColumn) {
  const BadText cases[] = {
      {"", "IR text line 1, column 1: expected 'graph' at the start of the text, found the end of the text"},
      {"grap main() {}", "IR text line 1, column 1: expected 'graph' at the start of the text, found 'grap'"},
      {"graph (", "IR text line 1, column 7: expected the graph's name, found '('"},
      {"graph g {", "IR text line 1, column 9: expected '(' after the graph's name, found '{'"},
      {"graph g(x: f32[2])", "IR text line 1, column 9: expected '%' and the name of a graph input, found 'x'"},
      {"graph g(%x f32[2])", "IR text line 1, column 12: expected ':' and the type of graph input %x, found 'f32'"},
      {"graph g(%x: f33[2])", "IR text line 1, column 13: expected a dtype (f32, f64, f16, bf16, i64, i32, i8, u8, bool), found 'f33'"},
      {"graph g(%x: f32)", "IR text line 1, column 16: expected '[' and the shape after the dtype, found ')'"},
      {"graph g(%x: f32[-1])", "IR text line 1, column 17: expected a dim (a number >= 0, a symbol or '?'), found '-1'"},
      {"graph g(%x: f32[2;3])", "IR text line 1, column 18: expected ',' or ']' in a shape, found ';'"},
      {"graph g(%x: f32[2] %y: f32[2])", "IR text line 1, column 20: expected ',' or ')' after a graph input, found '%'"},
      {"graph g(%x: f32[2], %x: f32[2])",
       "IR text line 1, column 22: %x is defined twice (first at IR text line 1, column 10)"},
      {"graph g() return }", "IR text line 1, column 11: expected '{' after the graph's inputs, found 'return'"},
      {"graph g() {\n  Relu(%x)\n}", "IR text line 2, column 3: expected a statement ('const', '%name: type = Op(...)' or 'return'), found 'Relu'"},
      {"graph g() {\n  const %c: f32[2] = [1]\n return %c }", "IR text line 2, column 22: f32[2] holds 2 value(s), found 1"},
      {"graph g() {\n  const %c: f32[1] = [1, 2]\n return %c }", "IR text line 2, column 26: f32[1] holds 1 value(s); found more"},
      {"graph g() { const %c: i8[1] = [300] return %c }", "IR text line 1, column 32: 300 is out of range for i8"},
      {"graph g() { const %c: u8[1] = [-1] return %c }", "IR text line 1, column 32: -1 is out of range for u8"},
      {"graph g() { const %c: i64[1] = [1.5] return %c }",
       "IR text line 1, column 33: expected an integer for i64, found the non-integer '1.5'"},
      {"graph g() { const %c: i64[1] = [99999999999999999999] return %c }",
       "IR text line 1, column 33: the integer '99999999999999999999' is out of range for int64"},
      {"graph g() { const %c: f32[1] = [1e39] return %c }", "IR text line 1, column 33: '1e39' is out of range for f32"},
      {"graph g() { const %c: f32[1] = [1e] return %c }", "IR text line 1, column 35: expected the digits of an exponent, found ']'"},
      {"graph g() { const %c: f32[1] = [12abc] return %c }", "IR text line 1, column 35: expected a separator after the number, found 'abc'"},
      {"graph g() { const %c: f32[1] = [x] return %c }", "IR text line 1, column 33: expected a number (an element of f32), found 'x'"},
      {"graph g() { const %c: bool[1] = [1] return %c }", "IR text line 1, column 34: expected true or false, found '1'"},
      {"graph g() { const %c: f32[18] = <18 values> return %c }",
       "IR text line 1, column 33: a summarised constant ('<N values>') has no values to read; state them as [...], fill(v) or random(seed)"},
      {"graph g() { const %c: f32[2] = zeros return %c }",
       "IR text line 1, column 32: expected the values of a constant: [...], fill(v) or random(seed), found 'zeros'"},
      {"graph g() { const %c: f32[n] = fill(0) return %c }", "IR text line 1, column 23: a constant needs a static shape, found f32[n]"},
      {"graph g() { const %c: f32[65536,65536] = fill(0) return %c }",
       "IR text line 1, column 23: constants in IR text may hold 256 MiB in all; f32[65536,65536] would exceed that"},
      {"graph g() { const %c: f32[2] = random(0.5) return %c }",
       "IR text line 1, column 39: expected an integer seed, found the non-integer '0.5'"},
      {"graph g() { const %c: f32[2] = fill(1, 2) return %c }", "IR text line 1, column 38: expected ')' after the fill value, found ','"},
      {"graph g(%x: f32[2]) {\n  %y: f32[2] = Relu(%z)\n  return %y\n}",
       "IR text line 2, column 22: %z is not defined (an input of %y must be an input, constant or node output defined above)"},
      {"graph g(%x: f32[2]) { %y: f32[2] = Relu(%y) return %y }",
       "IR text line 1, column 42: %y is not defined (an input of %y must be an input, constant or node output defined above)"},
      {"graph g(%x: f32[2]) { %x: f32[2] = Relu(%x) return %x }",
       "IR text line 1, column 24: %x is defined twice (first at IR text line 1, column 10)"},
      {"graph g(%x: f32[2]) { %y: f32[2] Relu(%x) return %y }",
       "IR text line 1, column 34: expected ',' or '=' and the node after its outputs, found 'Relu'"},
      {"graph g(%x: f32[2]) { %y: f32[2] = (%x) return %y }", "IR text line 1, column 36: expected an op name, found '('"},
      {"graph g(%x: f32[2]) { %y: f32[2] = Relu %x return %y }",
       "IR text line 1, column 41: expected '(' and the inputs of %y, found '%'"},
      {"graph g(%x: f32[2]) { %y: f32[2] = Relu(%x %x) return %y }",
       "IR text line 1, column 44: expected ',' or ')' after an input, found '%'"},
      {"graph g(%x: f32[2]) { %y: f32[2] = Relu<a=1, a=2>(%x) return %y }",
       "IR text line 1, column 46: attribute 'a' is given twice"},
      {"graph g(%x: f32[2]) { %y: f32[2] = Relu<a 1>(%x) return %y }",
       "IR text line 1, column 43: expected '=' after attribute name 'a', found '1'"},
      {"graph g(%x: f32[2]) { %y: f32[2] = Relu<a=>(%x) return %y }",
       "IR text line 1, column 43: expected the value of attribute 'a' (a number, string, list or tensor), found '>'"},
      {"graph g(%x: f32[2]) { %y: f32[2] = Relu<a=[1 2]>(%x) return %y }",
       "IR text line 1, column 46: expected ',' or ']' in a list, found '2'"},
      {"graph g(%x: f32[2]) { %y: f32[2] = Relu<a=floats[1]>(%x) return %y }",
       "IR text line 1, column 50: expected ']': 'floats[]' is the empty list of floats, found '1'"},
      {"graph g(%x: f32[2]) { %y: f32[2] = Relu<a=1(%x) return %y }",
       "IR text line 1, column 44: expected ',' or '>' after an attribute, found '('"},
      {"graph g(%x: f32[2]) { %y: f32[2] = Relu<s=\"abc>(%x) return %y }",
       "IR text line 1, column 43: a string is not closed on its line (expected '\"')"},
      {"graph g(%x: f32[2]) { %y: f32[2] = Relu<s=\"a\\qb\">(%x) return %y }",
       "IR text line 1, column 45: expected an escape \\\" \\\\ \\n \\t or \\xNN in a string, found '\\'"},
      {"graph g(%x: f32[2]) { %y: f32[2] = Relu(%x) @ }",
       "IR text line 1, column 47: expected a node name after '@', found '}'"},
      {"graph g(%x: f32[2]) {\n  %y: f32[2] = Relu(%x)\n", "IR text line 3, column 1: expected a statement ('const', '%name: type = Op(...)' or 'return'), found the end of the text"},
      {"graph g(%x: f32[2]) { return %x %x }", "IR text line 1, column 33: expected ',' or '}' after the graph's outputs, found '%'"},
      {"graph g(%x: f32[2]) { return y }", "IR text line 1, column 30: expected ',' or '}' after the graph's outputs, found 'y'"},
      {"graph g(%x: f32[2]) { return %q }",
       "IR text line 1, column 31: %q is not defined (a graph output must be an input, constant or node output defined above)"},
      {"graph g(%x: f32[2]) { return %x } graph", "IR text line 1, column 35: expected the end of the text after the graph's '}', found 'graph'"},
      {"graph g(%x: f32[2]) { return %x }\x01", "IR text line 1, column 34: expected the end of the text after the graph's '}', found '\\x01'"},
  };
  for (const BadText& c : cases) {
    try {
      ir::parse_graph(c.text);
      ADD_FAILURE() << "accepted: " << c.text;
    } catch (const InvalidInputError& e) {
      EXPECT_EQ(std::string(e.what()), c.message) << "for: " << c.text;
    }
  }
}

}  // namespace
}  // namespace kiln::test
