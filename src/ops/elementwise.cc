// Elementwise ops: numpy-broadcasting binary arithmetic, comparisons and logic, unary math, Cast,
// Where and Clip. Shape rule: broadcast of the inputs.
#include "kiln/error.h"
#include "ops/op_schema.h"

namespace kiln::ops {
namespace {

bool is_float(DType t) { return is_float_type(t) || t == DType::f64; }

void require_same_dtype(const InferContext& c, size_t a, size_t b) {
  if (c.dtype(a) != c.dtype(b))
    fail("inputs #", a, " and #", b, " have different dtypes (", dtype_name(c.dtype(a)), " vs ",
         dtype_name(c.dtype(b)), ")");
}

Dims broadcast_all(const InferContext& c) {
  Dims out = c.dims(0);
  for (size_t i = 1; i < c.num_inputs(); ++i)
    if (c.has_input(i)) out = broadcast_dims(out, c.dims(i));
  return out;
}

OpSchema binary(const std::string& name, bool to_bool) {
  OpSchema s;
  s.name = name;
  s.min_inputs = s.max_inputs = 2;
  s.fusion = FusionKind::broadcast;
  s.infer = [to_bool, name](InferContext& c) {
    if (name != "Pow") require_same_dtype(c, 0, 1);
    c.set_output(0, to_bool ? DType::boolean : c.dtype(0), broadcast_all(c));
  };
  return s;
}

OpSchema variadic(const std::string& name) {
  OpSchema s;
  s.name = name;
  s.min_inputs = 1;
  s.max_inputs = 64;
  s.fusion = FusionKind::broadcast;
  s.infer = [](InferContext& c) {
    for (size_t i = 1; i < c.num_inputs(); ++i) require_same_dtype(c, 0, i);
    c.set_output(0, c.dtype(0), broadcast_all(c));
  };
  return s;
}

OpSchema unary(const std::string& name, bool float_only, bool to_bool = false) {
  OpSchema s;
  s.name = name;
  s.fusion = FusionKind::elementwise;
  s.infer = [float_only, to_bool](InferContext& c) {
    if (float_only && !is_float(c.dtype(0)))
      fail("expects a float input, got ", dtype_name(c.dtype(0)));
    c.set_output(0, to_bool ? DType::boolean : c.dtype(0), c.dims(0));
  };
  return s;
}

}  // namespace

void register_elementwise_schemas() {
  for (const char* op : {"Add", "Sub", "Mul", "Div", "Pow", "Mod"}) register_schema(binary(op, false));
  for (const char* op : {"Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual", "And", "Or", "Xor"})
    register_schema(binary(op, true));
  for (const char* op : {"Max", "Min", "Sum", "Mean"}) register_schema(variadic(op));
  for (const char* op : {"Sqrt", "Erf", "Tanh", "Exp", "Log", "Reciprocal", "Relu", "Sigmoid", "Floor",
                         "Ceil", "Sin", "Cos", "Softplus", "Gelu", "Tan", "Asin", "Acos", "Atan", "Sinh", "Cosh", "Asinh",
                         "Acosh", "Atanh", "Round", "Softsign", "LeakyRelu", "ThresholdedRelu", "Elu", "Celu",
                         "HardSigmoid", "HardSwish", "Shrink"})
    register_schema(unary(op, true));
  register_schema(unary("IsNaN", true, true));
  register_schema(unary("IsInf", true, true));
  register_schema(unary("Neg", false));
  register_schema(unary("Abs", false));
  register_schema(unary("Sign", false));
  register_schema(unary("Not", false, true));

  OpSchema cast;
  cast.name = "Cast";
  cast.fusion = FusionKind::elementwise;
  cast.infer = [](InferContext& c) {
    // The frontend rewrites ONNX's numeric `to` into a Kiln dtype name.
    c.set_output(0, dtype_from_name(c.attrs().get_string("to", "")), c.dims(0));
  };
  register_schema(cast);

  OpSchema where;
  where.name = "Where";
  where.min_inputs = where.max_inputs = 3;
  where.fusion = FusionKind::broadcast;
  where.key_input = 1;
  where.infer = [](InferContext& c) {
    if (c.dtype(0) != DType::boolean) fail("condition must be bool, got ", dtype_name(c.dtype(0)));
    require_same_dtype(c, 1, 2);
    c.set_output(0, c.dtype(1), broadcast_all(c));
  };
  register_schema(where);

  OpSchema clip;
  clip.name = "Clip";
  clip.min_inputs = 1;
  clip.max_inputs = 3;
  clip.fusion = FusionKind::elementwise;
  clip.infer = [](InferContext& c) {
    for (size_t i = 1; i < 3; ++i)
      if (c.has_input(i) && c.dims(i).size() != 0 && num_elements(c.dims(i)) != 1)
        fail("min/max must be scalars, got ", dims_to_string(c.dims(i)));
    c.set_output(0, c.dtype(0), c.dims(0));
  };
  register_schema(clip);
}

}  // namespace kiln::ops
