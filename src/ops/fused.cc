// Kiln's own fused ops, created by the fusion passes (src/passes/fuse_*.cc), never by exporters:
//   FusedMatMul         y = act(A x W + bias) + residual       (one GEMM with its epilogue)
//                       Precision follows W (the registry key): f32 W with f32 A; bf16 or f16 W with A
//                       of the same type (auto-cast); i8 W (symmetric, per output column, scales in
//                       input #4) with f32 A (or bf16 A, written so by its producer under auto-cast
//                       matmult) that the kernel quantises to i8 itself: per call from
//                       A's absolute maximum (quant = "dynamic") or with the calibrated act_scale
//                       (quant = "static"). Bias and scales stay f32; the output is f32 unless
//                       out_dtype names the low type (auto-cast all; or bf16 for an int8 or bf16 GEMM
//                       whose only reader is a bf16 attention).
//   MultiHeadAttention  softmax(scale * Q K^T + mask) V per head, in the [batch, seq, heads*dim] layout;
//                       with packed_qkv=1 Q, K, V come as one [batch, seq, 3*heads*dim] input. Q, K, V
//                       share one type (f32, or bf16/f16 under auto-cast); the mask is f32; the output
//                       is out_dtype when given, else Q's type.
#include "kiln/error.h"
#include "ops/op_schema.h"

namespace kiln::ops {

void register_fused_schemas() {
  OpSchema mm;
  mm.name = "FusedMatMul";
  mm.min_inputs = 2;
  mm.max_inputs = 5;  // A, W, bias?, residual?, weight scales (i8 W only)
  mm.precision = PrecisionPolicy::always;
  mm.fp32_inputs = {2, 4};
  mm.key_input = 1;
  mm.weight_input = 1;
  mm.residual_input = 3;
  mm.quantized_input = 0;
  mm.out_dtype_attr = "out_dtype";
  mm.compute = ComputeKind::gemm;
  mm.flops = [](const CostContext& c) {  // 2 * outputs * k, k = A's last dim
    return 2.0 * static_cast<double>(num_elements(*c.outputs[0])) * static_cast<double>(c.inputs[0]->back());
  };
  mm.foldable = false;
  mm.infer = [](InferContext& c) {
    Dims a = c.dims(0), w = c.dims(1);
    // Weights pre-packed at compile time are a flat blob; their logical dims are kept in an attribute.
    if (c.attrs().has("weight_dims")) w = c.attrs().get_ints("weight_dims");
    if (a.empty() || w.size() != 2) fail("expects A of rank >= 1 and a 2-D W, got ", dims_to_string(a), " and ", dims_to_string(w));
    const bool tb = c.attrs().get_int("trans_b", 0) != 0;
    const int64_t k = tb ? w[1] : w[0], n = tb ? w[0] : w[1];
    if (a.back() != k) fail("inner dims differ: A ", dims_to_string(a), ", W ", dims_to_string(w), tb ? " (transposed)" : "");
    Dims out = a;
    out.back() = n;
    if (c.has_input(2)) {
      // A per-column bias: [n], [1, n], ... (every dim but the last is 1).
      Dims b = c.dims(2);
      bool ok = !b.empty() && b.back() == n && b.size() <= out.size();
      for (size_t i = 0; ok && i + 1 < b.size(); ++i) ok = b[i] == 1;
      if (!ok) fail("bias ", dims_to_string(b), " must have ", n, " elements, as [", n, "] or [1, ", n, "]");
    }
    if (c.has_input(3) && c.dims(3) != out) fail("residual ", dims_to_string(c.dims(3)), " must have the output shape ", dims_to_string(out));
    const std::string act = c.attrs().get_string("activation", "none");
    if (act != "none" && act != "gelu_erf" && act != "gelu_tanh" && act != "relu") fail("unknown activation '", act, "'");
    const DType wt = c.dtype(1), at = c.dtype(0);
    if (wt == DType::i8) {
      if (at != DType::f32 && at != DType::bf16)
        fail("an i8 weight needs an f32 or bf16 A (quantised by the kernel), got ", dtype_name(at));
      if (!c.has_input(4) || c.dtype(4) != DType::f32 || c.dims(4) != Dims{n})
        fail("an i8 weight needs f32 scales [", n, "] as input #4");
      const std::string q = c.attrs().get_string("quant", "dynamic");
      if (q != "dynamic" && q != "static") fail("quant must be dynamic or static, got '", q, "'");
      if (q == "static" && !(c.attrs().get_float("act_scale", 0) > 0)) fail("quant static needs a positive act_scale");
    } else {
      if (wt != at) fail("A (", dtype_name(at), ") and W (", dtype_name(wt), ") must have the same dtype");
      if (c.has_input(4)) fail("input #4 (weight scales) is only for an i8 weight");
    }
    for (int i : {2, 4})
      if (c.has_input(i) && c.dtype(i) != DType::f32) fail("input #", i, " must be f32, got ", dtype_name(c.dtype(i)));
    const DType ot = c.attrs().has("out_dtype") ? dtype_from_name(c.attrs().get_string("out_dtype", "")) : (wt == DType::i8 ? DType::f32 : at);
    if (c.has_input(3) && c.dtype(3) != ot) fail("residual must have the output dtype ", dtype_name(ot), ", got ", dtype_name(c.dtype(3)));
    c.set_output(0, ot, out);
  };
  register_schema(mm);

  OpSchema mha;
  mha.name = "MultiHeadAttention";
  mha.min_inputs = 3;
  mha.max_inputs = 4;  // Q, K, V, additive mask?
  // Its two batched GEMMs make it a GEMM for auto-cast: bf16 Q/K/V under matmult, fp32 output unless
  // out_dtype says otherwise (softmax and its sums stay fp32 in every kernel).
  mha.precision = PrecisionPolicy::always;
  mha.out_dtype_attr = "out_dtype";
  mha.fp32_inputs = {3};  // the additive mask
  mha.compute = ComputeKind::attention;
  mha.flops = [](const CostContext& c) {
    // QK^T and PV: 2 * B*Sq*Sk*H*D each (output [B, Sq, H*D]; Sk from K, or = Sq when packed).
    const Dims& o = *c.outputs[0];
    const int64_t sk = c.inputs.size() > 1 && c.inputs[1] ? (*c.inputs[1])[1] : o[1];
    return 4.0 * static_cast<double>(o[0]) * static_cast<double>(o[1]) * static_cast<double>(sk) * static_cast<double>(o[2]);
  };
  mha.foldable = false;
  mha.infer = [](InferContext& c) {
    const int64_t heads = c.attrs().get_int("num_heads");
    Dims q = c.dims(0), k, v;
    if (c.attrs().get_int("packed_qkv", 0)) {
      // One [B, S, 3*H*D] input from the merged Q/K/V projection.
      if (q.size() != 3 || q[2] % 3 != 0) fail("packed QKV must be [batch, seq, 3*hidden], got ", dims_to_string(q));
      if (c.has_input(1) || c.has_input(2)) fail("with packed_qkv, inputs 1 and 2 must be omitted");
      q[2] /= 3;
      k = v = q;
    } else {
      k = c.dims(1);
      v = c.dims(2);
    }
    if (q.size() != 3 || k.size() != 3 || v.size() != 3)
      fail("Q, K, V must be [batch, seq, heads*dim], got ", dims_to_string(q), ", ", dims_to_string(k), ", ", dims_to_string(v));
    if (heads <= 0 || q[2] % heads != 0) fail("num_heads ", heads, " does not divide the hidden size ", q[2]);
    if (k != v || k[0] != q[0] || k[2] != q[2]) fail("K and V must be [", q[0], ", seq, ", q[2], "]");
    if (c.has_input(3)) {
      Dims m = c.dims(3);
      if (m.size() > 4) fail("mask must have rank <= 4, got ", dims_to_string(m));
      Dims full = broadcast_dims(m, {q[0], heads, q[1], k[1]});
      if (full != Dims{q[0], heads, q[1], k[1]}) fail("mask ", dims_to_string(m), " does not broadcast to the scores");
    }
    if (!c.attrs().get_int("packed_qkv", 0) && (c.dtype(1) != c.dtype(0) || c.dtype(2) != c.dtype(0)))
      fail("Q, K, V must share one dtype, got ", dtype_name(c.dtype(0)), ", ", dtype_name(c.dtype(1)), ", ",
           dtype_name(c.dtype(2)));
    if (c.has_input(3) && c.dtype(3) != DType::f32) fail("mask must be f32, got ", dtype_name(c.dtype(3)));
    const DType ot = c.attrs().has("out_dtype") ? dtype_from_name(c.attrs().get_string("out_dtype", "")) : c.dtype(0);
    c.set_output(0, ot, q);
  };
  mha.min_inputs = 1;
  register_schema(mha);
}

}  // namespace kiln::ops
