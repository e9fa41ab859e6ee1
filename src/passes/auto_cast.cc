// Auto-cast: runs ops in bf16 or fp16 where the user asked for it, from each op's declared precision
// policy (ops/op_schema.h), and inserts the casts the change needs, one per (value, type).
//
//   matmult  ops declared `always` (the GEMMs, and attention with its two batched GEMMs) take
//            low-precision inputs and still produce fp32 (fp32 accumulation; everything else stays
//            fp32), except that a GEMM output whose only reader is another such op is written in the low
//            type directly (the cast it would get anyway). Combined with --quantize int8, the int8 GEMMs
//            stay int8 (their weights are typed already), attention runs in bf16, and a GEMM or
//            attention output read only by an int8 GEMM is written in bf16, which that GEMM quantises
//            exactly as its f32 copy (OpSchema::quantized_input).
//   all      `always` ops take low-precision inputs and produce low-precision outputs; `follow` ops
//            whose activations arrive in the low type run in it too (their kernels keep fp32
//            statistics and sums); `never` ops stay fp32
//
// An op is only lowered when a kernel for it exists in the low type; an `always` op only when that
// kernel computes in the low type (kernels::computes_in): a widened one would only add conversions (fp16
// attention, for instance, stays fp32 under matmult). Inputs an op declares fp32 (a
// GEMM's bias, quantisation scales) are never cast; constants cast here are folded into low-precision
// weights by the next fold_constants. Graph outputs keep their fp32 type and name.
#include <map>
#include <set>

#include "kernels/kernel.h"
#include "kiln/error.h"
#include "ops/op_schema.h"
#include "passes/passes.h"

namespace kiln::passes {
namespace {

// Node input `k` (a schema's weight_input / residual_input), or -1 when the role or the input is absent.
int input_of(const ir::Node& n, int k) { return k >= 0 && static_cast<size_t>(k) < n.inputs.size() ? n.inputs[k] : -1; }

bool is_low(DType t) { return t == DType::bf16 || t == DType::f16; }

class Caster {
 public:
  Caster(ir::Graph& g, std::vector<ir::Node>& out, size_t& count)
      : g_(g), out_(out), count_(count), readers_(g.values.size(), 0) {
    for (const ir::Node& n : g.nodes)
      for (int in : n.inputs)
        if (in >= 0) ++readers_[in];
    for (int o : g.outputs) ++readers_[o];
  }
  // The value `v` in dtype `to`, emitting a Cast the first time it is asked for.
  int operator()(int v, DType to) {
    auto key = std::make_pair(v, to);
    auto it = cache_.find(key);
    if (it != cache_.end()) return it->second;
    if (narrow_producer(v, to)) return cache_[key] = v;
    ir::Value nv;
    nv.name = g_.values[v].name + "." + dtype_name(to);
    nv.dtype = to;
    nv.shape = g_.values[v].shape;
    const int id = g_.add_value(nv);
    ir::Node n;
    n.op = "Cast";
    n.name = nv.name;
    n.inputs = {v};
    n.outputs = {id};
    n.attrs.set_string("to", dtype_name(to));
    out_.push_back(std::move(n));
    if (!g_.values[v].is_constant()) ++count_;  // casts of constants fold into the weights
    return cache_[key] = id;
  }
  // Whether `v`'s producer now writes it in `to` itself (see narrow_producer); never adds a Cast.
  bool narrow(int v, DType to) {
    auto it = cache_.find(std::make_pair(v, to));
    if (it != cache_.end()) return it->second == v;
    if (!narrow_producer(v, to)) return false;
    cache_[std::make_pair(v, to)] = v;
    return true;
  }

 private:
  // The fp32 output of an op with a typed output (a GEMM, attention) read only by this cast is written
  // in the low type by the op itself: the same rounding (oneDNN narrows with round-to-nearest-even)
  // without a step that reads and writes it again. Only without a residual, which would have to change
  // type too, and only when the op computes in that type already (its registry key: a GEMM's weights,
  // attention's Q/K/V), or is an int8 GEMM narrowing to bf16 (oneDNN's int8 matmul writes bf16 but not
  // fp16).
  bool narrow_producer(int v, DType to) {
    if (!is_low(to) || v >= static_cast<int>(readers_.size()) || readers_[v] != 1) return false;
    for (ir::Node& n : out_) {
      if (n.outputs.size() != 1 || n.outputs[0] != v) continue;
      const ops::OpSchema* s = ops::find_schema(n.op);
      if (!s || s->out_dtype_attr.empty() || g_.values[v].dtype != DType::f32 ||
          input_of(n, s->key_input) < 0 || input_of(n, s->residual_input) >= 0)
        return false;
      const DType key = g_.values[input_of(n, s->key_input)].dtype;
      if (key != to && !(key == DType::i8 && to == DType::bf16)) return false;
      n.attrs.set_string(s->out_dtype_attr, dtype_name(to));
      g_.values[v].dtype = to;
      return true;
    }
    return false;
  }

  ir::Graph& g_;
  std::vector<ir::Node>& out_;
  size_t& count_;
  std::vector<int> readers_;  // per original value: nodes reading it, +1 for a graph output
  std::map<std::pair<int, DType>, int> cache_;
};

}  // namespace

AutoCastReport auto_cast(ir::Graph& g, const std::string& mode, DType low) {
  AutoCastReport r;
  if (mode == "none") return r;
  if (mode != "matmult" && mode != "all") fail("unknown auto-cast mode '", mode, "' (expected none, matmult or all)");
  if (!is_low(low)) fail("auto-cast type must be bf16 or fp16, got ", dtype_name(low));
  const bool all = mode == "all";
  std::vector<ir::Node> out;
  Caster cast(g, out, r.casts);
  std::set<int> lowered_values;  // values this pass turned low (only these are cast back for fp32 ops)
  const std::vector<ir::Node> nodes = std::move(g.nodes);
  g.nodes.clear();
  for (ir::Node n : nodes) {
    const ops::OpSchema* s = ops::find_schema(n.op);
    bool lower = false;
    if (s && kernels::find_kernel(n.op, low, kernels::Isa::ref)) {
      if (s->precision == ops::PrecisionPolicy::always) lower = kernels::computes_in(n.op, low);
      if (s->precision == ops::PrecisionPolicy::follow && all)
        for (int in : n.inputs) lower = lower || (in >= 0 && lowered_values.count(in));
    }
    // An op whose output type is an attribute (a GEMM with its epilogue) keeps an f32 output under
    // "matmult": only its arithmetic is lowered.
    const bool typed_output = s && !s->out_dtype_attr.empty();
    const int weights = s ? input_of(n, s->weight_input) : -1;
    if (weights >= 0 && g.values[weights].dtype != DType::f32) lower = false;  // already quantised / typed
    const DType out_type = lower && (all || !typed_output) ? low : DType::f32;
    for (size_t i = 0; i < n.inputs.size(); ++i) {
      const int in = n.inputs[i];
      if (in < 0) continue;
      const DType t = g.values[in].dtype;
      bool keep_fp32 = !lower;
      if (lower && s)
        for (int k : s->fp32_inputs) keep_fp32 = keep_fp32 || k == static_cast<int>(i);
      // A residual is added to the output, so it takes the output's type.
      if (lower && s && static_cast<int>(i) == s->residual_input) keep_fp32 = out_type == DType::f32;
      // An input the op quantises itself (an int8 GEMM's A) is read as bf16 as readily as f32: it stays
      // bf16 when it already is, and its producer writes bf16 when it can without a Cast (half the bytes
      // written and read twice by the quantiser).
      if (!lower && s && static_cast<int>(i) == s->quantized_input && low == DType::bf16 && weights >= 0 &&
          g.values[weights].dtype == DType::i8) {
        if (t == DType::bf16 || (t == DType::f32 && cast.narrow(in, DType::bf16))) {
          lowered_values.insert(in);
          continue;
        }
      }
      if (keep_fp32 && lowered_values.count(in)) n.inputs[i] = cast(in, DType::f32);
      else if (!keep_fp32 && t == DType::f32) n.inputs[i] = cast(in, low), lowered_values.insert(n.inputs[i]);
    }
    if (lower) {
      ++r.lowered;
      if (typed_output) n.attrs.set_string(s->out_dtype_attr, dtype_name(out_type));
      // The op's own shape rule says which outputs are now low (LayerNorm's statistics stay fp32).
      g.nodes.push_back(n);
      ops::infer_node(g, static_cast<int>(g.nodes.size() - 1));
      g.nodes.pop_back();
      for (int o : n.outputs)
        if (is_low(g.values[o].dtype)) lowered_values.insert(o);
    }
    out.push_back(std::move(n));
  }
  // Graph outputs keep their name and fp32 type: the producer writes a renamed low value, and a Cast
  // writes the output.
  for (int o : g.outputs) {
    if (!lowered_values.count(o)) continue;
    ir::Value lv = g.values[o];
    lv.name += "." + std::string(dtype_name(low));
    const int low_id = g.add_value(lv);
    for (ir::Node& n : out) {
      for (int& in : n.inputs)
        if (in == o) in = low_id;
      for (int& x : n.outputs)
        if (x == o) x = low_id;
    }
    g.values[o].dtype = DType::f32;
    ir::Node c;
    c.op = "Cast";
    c.name = g.values[o].name + ".f32";
    c.inputs = {low_id};
    c.outputs = {o};
    c.attrs.set_string("to", "f32");
    out.push_back(std::move(c));
    ++r.casts;
  }
  g.nodes = std::move(out);
  g.rebuild_producers();
  for (size_t i = 0; i < g.nodes.size(); ++i) ops::infer_node(g, static_cast<int>(i));  // and check
  return r;
}

}  // namespace kiln::passes
