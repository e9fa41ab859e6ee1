// Matrix products: MatMul (numpy semantics, batch dims broadcast) and Gemm (2-D, optional transposes,
// alpha/beta, broadcast C).
#include "kiln/error.h"
#include "ops/matmul_rules.h"
#include "ops/op_schema.h"

namespace kiln::ops {

MatMulShape matmul_shape(const Dims& a_in, const Dims& b_in) {
  if (a_in.empty() || b_in.empty()) fail("MatMul inputs must have rank >= 1");
  Dims a = a_in, b = b_in;
  bool a_vec = a.size() == 1, b_vec = b.size() == 1;
  if (a_vec) a.insert(a.begin(), 1);
  if (b_vec) b.push_back(1);
  MatMulShape s;
  s.m = a[a.size() - 2];
  s.k = a[a.size() - 1];
  s.n = b[b.size() - 1];
  if (b[b.size() - 2] != s.k)
    fail("inner dims differ: ", dims_to_string(a_in), " x ", dims_to_string(b_in));
  Dims a_batch(a.begin(), a.end() - 2), b_batch(b.begin(), b.end() - 2);
  s.batch = broadcast_dims(a_batch, b_batch);
  s.a_batch = a_batch;
  s.b_batch = b_batch;
  s.out = s.batch;
  if (!a_vec) s.out.push_back(s.m);
  if (!b_vec) s.out.push_back(s.n);
  return s;
}

void register_matmul_schemas() {
  OpSchema mm;
  mm.name = "MatMul";
  mm.min_inputs = mm.max_inputs = 2;
  mm.precision = PrecisionPolicy::always;
  mm.compute = ComputeKind::gemm;
  mm.flops = [](const CostContext& c) {  // 2 * outputs * k (a 1-D A is its own k)
    return 2.0 * static_cast<double>(num_elements(*c.outputs[0])) * static_cast<double>(c.inputs[0]->empty() ? 1 : c.inputs[0]->back());
  };
  mm.infer = [](InferContext& c) {
    if (c.dtype(0) != c.dtype(1)) fail("inputs have different dtypes");
    c.set_output(0, c.dtype(0), matmul_shape(c.dims(0), c.dims(1)).out);
  };
  register_schema(mm);

  OpSchema gemm;
  gemm.name = "Gemm";
  gemm.min_inputs = 2;
  gemm.max_inputs = 3;
  gemm.precision = PrecisionPolicy::always;
  gemm.compute = ComputeKind::gemm;
  gemm.flops = [](const CostContext& c) {
    const Dims& a = *c.inputs[0];
    const int64_t k = c.attrs.get_int("transA", 0) != 0 ? a[0] : a[1];
    return 2.0 * static_cast<double>(num_elements(*c.outputs[0])) * static_cast<double>(k);
  };
  gemm.infer = [](InferContext& c) {
    Dims a = c.dims(0), b = c.dims(1);
    if (a.size() != 2 || b.size() != 2) fail("Gemm inputs must be 2-D");
    bool ta = c.attrs().get_int("transA", 0) != 0, tb = c.attrs().get_int("transB", 0) != 0;
    int64_t m = ta ? a[1] : a[0], k = ta ? a[0] : a[1];
    int64_t kb = tb ? b[1] : b[0], n = tb ? b[0] : b[1];
    if (k != kb) fail("inner dims differ: A ", dims_to_string(a), " B ", dims_to_string(b));
    if (c.has_input(2)) {
      // C must broadcast to [m, n] in one direction (ONNX "unidirectional broadcasting").
      Dims cd = c.dims(2);
      bool ok = cd.size() <= 2;
      for (size_t i = 0; ok && i < cd.size(); ++i) {
        int64_t want = (cd.size() == 2 && i == 0) ? m : n;
        ok = cd[i] == 1 || cd[i] == want;
      }
      if (!ok) fail("C ", dims_to_string(cd), " does not broadcast to [", m, ",", n, "]");
    }
    c.set_output(0, c.dtype(0), {m, n});
  };
  register_schema(gemm);
}

}  // namespace kiln::ops
