// int8 quantisation of the GEMM weights: every FusedMatMul with a constant f32 weight gets an i8 weight
// (symmetric, one scale per output column, the rule of kernels/quantize.h) plus its scales as input #4,
// and an activation scale mode: dynamic (the kernel measures A at each call) or static (the absolute
// maximum of A over calibration data, measured by the compiler before this pass, see
// compiler/calibrate.cc). Everything else stays fp32.
#include <cmath>

#include "kernels/quantize.h"
#include "kiln/error.h"
#include "ops/op_schema.h"
#include "passes/passes.h"

namespace kiln::passes {

size_t quantize_int8(ir::Graph& g, const ActivationRanges* ranges) {
  size_t count = 0;
  for (ir::Node& n : g.nodes) {
    if (n.op != "FusedMatMul" || n.inputs.size() < 2) continue;
    const ir::Value& wv = g.values[n.inputs[1]];
    if (!wv.is_constant() || wv.dtype != DType::f32 || n.attrs.has("weight_dims")) continue;
    const Tensor& w = *wv.constant;
    const bool tb = n.attrs.get_int("trans_b", 0) != 0;
    const int64_t rows = w.dims().at(0), cols = w.dims().at(1);
    const int64_t k = tb ? cols : rows, nn = tb ? rows : cols;
    auto at = [&](int64_t p, int64_t j) { return tb ? j * k + p : p * nn + j; };
    Tensor scales(DType::f32, {nn});
    Tensor q(DType::i8, w.dims());
    const float* src = w.data_as<float>();
    for (int64_t j = 0; j < nn; ++j) {
      float absmax = 0;
      for (int64_t p = 0; p < k; ++p) absmax = std::max(absmax, std::fabs(src[at(p, j)]));
      const float s = kernels::quant_scale(absmax);
      scales.data_as<float>()[j] = s;
      for (int64_t p = 0; p < k; ++p) q.data_as<int8_t>()[at(p, j)] = kernels::quantize_s8(src[at(p, j)], 1.f / s);
    }
    const std::string base = wv.name;
    if (ranges) {
      const std::string& a = g.values[n.inputs[0]].name;
      auto it = ranges->find(a);
      if (it == ranges->end()) fail(g.describe(n), ": no calibrated range for its input '", a, "'");
      n.attrs.set_string("quant", "static");
      n.attrs.set_float("act_scale", kernels::quant_scale(it->second));
    } else {
      n.attrs.set_string("quant", "dynamic");
    }
    n.inputs.resize(5, -1);
    n.inputs[1] = g.add_constant(base + ".i8", std::move(q));
    n.inputs[4] = g.add_constant(base + ".scales", std::move(scales));
    ++count;
  }
  for (size_t i = 0; i < g.nodes.size(); ++i) ops::infer_node(g, static_cast<int>(i));
  return count;
}

}  // namespace kiln::passes
