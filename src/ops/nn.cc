// Normalisation and activation ops over an axis: Softmax, LogSoftmax, LayerNormalization, and Kiln's
// fused SkipLayerNormalization.
#include "kiln/error.h"
#include "ops/op_schema.h"

namespace kiln::ops {

void register_nn_schemas() {
  for (const char* op : {"Softmax", "LogSoftmax"}) {
    OpSchema s;
    s.name = op;
    s.fusion = FusionKind::opaque;
    s.precision = PrecisionPolicy::follow;  // low-precision kernels keep fp32 statistics
    s.infer = [](InferContext& c) {
      if (!is_float_type(c.dtype(0))) fail("expects f32, bf16 or f16, got ", dtype_name(c.dtype(0)));
      Dims in = c.dims(0);
      normalize_axis(c.attrs().get_int("axis", -1), static_cast<int64_t>(in.size()), "axis");
      c.set_output(0, c.dtype(0), in);
    };
    register_schema(s);
  }

  OpSchema ln;
  ln.name = "LayerNormalization";
  ln.min_inputs = 2;
  ln.max_inputs = 3;
  ln.max_outputs = 3;
  ln.fusion = FusionKind::opaque;
  ln.precision = PrecisionPolicy::follow;  // low-precision kernels keep fp32 statistics
  ln.fp32_inputs = {1, 2};
  ln.infer = [](InferContext& c) {
    Dims in = c.dims(0);
    int64_t rank = static_cast<int64_t>(in.size());
    int64_t axis = normalize_axis(c.attrs().get_int("axis", -1), rank, "axis");
    int64_t inner = 1;
    for (int64_t i = axis; i < rank; ++i) inner *= in[i];
    for (size_t i = 1; i < 3; ++i)
      if (c.has_input(i) && num_elements(c.dims(i)) != inner)
        fail(i == 1 ? "scale" : "bias", " has ", num_elements(c.dims(i)), " elements, expected ", inner);
    c.set_output(0, c.dtype(0), in);
    Dims stat = in;
    for (int64_t i = axis; i < rank; ++i) stat[i] = 1;
    for (size_t o = 1; o < c.num_outputs(); ++o) c.set_output(o, DType::f32, stat);
  };
  register_schema(ln);

  // Kiln's own fused op (default domain in Kiln's registry), made by the fusion pass from
  // Add + LayerNormalization over the last axis:
  //   inputs  x [.., H], skip (x's shape), gamma [H], beta [H] (optional), bias [H] (optional)
  //   outputs y = LayerNorm((x + skip) + bias) * gamma + beta, over the last axis;
  //           sum = (x + skip) + bias (optional, same shape as x), the fp32 sum y is computed from
  //   attribute epsilon (default 1e-12, BERT's)
  OpSchema sln;
  sln.name = "SkipLayerNormalization";
  sln.min_inputs = 3;
  sln.max_inputs = 5;
  sln.max_outputs = 2;
  sln.fusion = FusionKind::opaque;
  sln.precision = PrecisionPolicy::follow;  // low-precision kernels keep fp32 statistics
  sln.fp32_inputs = {2, 3, 4};
  sln.infer = [](InferContext& c) {
    static const char* const names[] = {"x", "skip", "gamma", "beta", "bias"};
    // x and skip: f32, or both bf16/f16 under auto-cast; the per-channel vectors stay f32.
    for (size_t i = 0; i < c.num_inputs(); ++i)
      if (c.has_input(i) && c.dtype(i) != (i < 2 ? c.dtype(0) : DType::f32))
        fail(names[i], " expects ", dtype_name(i < 2 ? c.dtype(0) : DType::f32), ", got ", dtype_name(c.dtype(i)));
    if (!is_float_type(c.dtype(0))) fail("x expects f32, bf16 or f16, got ", dtype_name(c.dtype(0)));
    for (size_t i = 0; i < 3; ++i)
      if (!c.has_input(i)) fail(names[i], " is required");
    const Dims in = c.dims(0);
    if (in.empty()) fail("x must have rank >= 1, got a scalar");
    if (c.dims(1) != in) fail("skip has shape ", dims_to_string(c.dims(1)), ", expected x's shape ", dims_to_string(in));
    const int64_t hidden = in.back();
    // Per-channel vectors: [H] (or any shape of H elements, as LayerNormalization's scale accepts).
    for (size_t i = 2; i < c.num_inputs(); ++i)
      if (c.has_input(i) && num_elements(c.dims(i)) != hidden)
        fail(names[i], " has shape ", dims_to_string(c.dims(i)), ", expected [", hidden, "]");
    c.set_output(0, c.dtype(0), in);
    if (c.num_outputs() > 1) c.set_output(1, c.dtype(0), in);
  };
  register_schema(sln);
}

}  // namespace kiln::ops
