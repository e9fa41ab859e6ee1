// Normalisation and activation ops over an axis: Softmax, LogSoftmax, LayerNormalization.
#include "kiln/error.h"
#include "ops/op_schema.h"

namespace kiln::ops {

void register_nn_schemas() {
  for (const char* op : {"Softmax", "LogSoftmax"}) {
    OpSchema s;
    s.name = op;
    s.fusion = FusionKind::opaque;
    s.precision = PrecisionPolicy::never;
    s.infer = [](InferContext& c) {
      if (c.dtype(0) != DType::f32) fail("expects f32, got ", dtype_name(c.dtype(0)));
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
  ln.precision = PrecisionPolicy::never;
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
}

}  // namespace kiln::ops
