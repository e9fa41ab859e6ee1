// Reference kernels for elementwise ops. Plain loops, one functor per op; the oracle for faster tiers.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>

#include "kernels/broadcast.h"
#include "kernels/kernel.h"
#include "kernels/ref/ref_kernels.h"
#include "kiln/error.h"
#include "util/half.h"

namespace kiln::kernels {
namespace {

// ---- binary ops -------------------------------------------------------------------------------------
template <typename T, typename R, typename Op>
void binary_loop(const KernelContext& c, Op op) {
  const TensorArg &a = c.inputs[0], &b = c.inputs[1], &o = c.outputs[0];
  Broadcaster bc(o.dims, {a.dims, b.dims});
  const T* pa = a.as<T>();
  const T* pb = b.as<T>();
  R* po = o.as<R>();
  const int64_t sa = bc.inner_stride(0), sb = bc.inner_stride(1), n = bc.inner();
  int64_t off[2];
  for (int64_t r = 0; r < bc.rows(); ++r) {
    bc.offsets(r, off);
    const T* x = pa + off[0];
    const T* y = pb + off[1];
    R* z = po + r * n;
    for (int64_t j = 0; j < n; ++j) z[j] = op(x[j * sa], y[j * sb]);
  }
}

template <typename T> T checked_div(T x, T y) {
  if constexpr (std::is_integral_v<T>) {
    if (y == 0) fail("integer division by zero");
  }
  return x / y;
}

template <typename T> T onnx_mod(T x, T y, bool fmod_mode) {
  if constexpr (std::is_integral_v<T>) {
    if (y == 0) fail("integer modulo by zero");
    T r = static_cast<T>(x % y);
    if constexpr (std::is_signed_v<T>) {
      if (!fmod_mode && r != 0 && ((r < 0) != (y < 0))) r = static_cast<T>(r + y);  // sign follows the divisor
    }
    return r;
  } else {
    T r = std::fmod(x, y);
    if (!fmod_mode && r != 0 && ((r < 0) != (y < 0))) r += y;
    return r;
  }
}

#define KILN_BINARY(NAME, EXPR)                                              \
  template <typename T> void NAME(const KernelContext& c) {                 \
    binary_loop<T, T>(c, [&](T x, T y) -> T { return EXPR; });              \
  }
KILN_BINARY(add_ref, x + y)
KILN_BINARY(sub_ref, x - y)
KILN_BINARY(mul_ref, x * y)
KILN_BINARY(div_ref, checked_div(x, y))
#undef KILN_BINARY

template <typename T> void mod_ref(const KernelContext& c) {
  bool fmod_mode = c.attrs.get_int("fmod", 0) != 0;
  binary_loop<T, T>(c, [&](T x, T y) { return onnx_mod(x, y, fmod_mode); });
}

#define KILN_COMPARE(NAME, EXPR)                                             \
  template <typename T> void NAME(const KernelContext& c) {                 \
    binary_loop<T, bool>(c, [](T x, T y) -> bool { return EXPR; });         \
  }
KILN_COMPARE(equal_ref, x == y)
KILN_COMPARE(less_ref, x < y)
KILN_COMPARE(greater_ref, x > y)
KILN_COMPARE(less_equal_ref, x <= y)
KILN_COMPARE(greater_equal_ref, x >= y)
KILN_COMPARE(and_ref, x && y)
KILN_COMPARE(or_ref, x || y)
KILN_COMPARE(xor_ref, x != y)
#undef KILN_COMPARE

// Pow: the exponent may have its own dtype; x^2 and x^3 are exact products as in PyTorch.
template <typename T> void pow_ref(const KernelContext& c) {
  const TensorArg& e = c.inputs[1];
  TensorArg ef = e;
  std::vector<T> converted(e.numel());
  for (int64_t i = 0; i < e.numel(); ++i) {
    switch (e.dtype) {
      case DType::f32: converted[i] = static_cast<T>(e.as<float>()[i]); break;
      case DType::f64: converted[i] = static_cast<T>(e.as<double>()[i]); break;
      case DType::i64: converted[i] = static_cast<T>(e.as<int64_t>()[i]); break;
      case DType::i32: converted[i] = static_cast<T>(e.as<int32_t>()[i]); break;
      default: fail("unsupported Pow exponent dtype ", dtype_name(e.dtype));
    }
  }
  ef.dtype = dtype_of<T>();
  ef.data = converted.data();
  KernelContext c2{c.attrs, {c.inputs[0], ef}, c.outputs};
  binary_loop<T, T>(c2, [](T x, T y) -> T {
    if (y == T(2)) return x * x;
    if (y == T(3)) return x * x * x;
    if (y == T(1)) return x;
    if (y == T(0.5)) return static_cast<T>(std::sqrt(x));
    return static_cast<T>(std::pow(x, y));
  });
}

// Pow on an integer base (ONNX: the result has the base's type; numpy's `power(x, y).astype(x.dtype)`).
// An integer exponent is exact repeated multiplication (wrapping like numpy's integer power); a float
// exponent goes through double and truncates toward zero, saturating at the type's range.
template <typename T> T int_pow(T x, int64_t y) {
  if (y < 0) {  // only 1 and -1 have integer reciprocals; numpy refuses these, truncation gives 0
    if (x == T(1)) return T(1);
    if (x == T(-1)) return (y % 2) ? T(-1) : T(1);
    if (x == T(0)) fail("Pow: 0 to the negative power ", y);
    return T(0);
  }
  using U = std::make_unsigned_t<T>;
  U result = 1, base = static_cast<U>(x);
  for (uint64_t e = static_cast<uint64_t>(y); e; e >>= 1) {
    if (e & 1) result = static_cast<U>(result * base);
    base = static_cast<U>(base * base);
  }
  return static_cast<T>(result);
}
template <typename T> T saturate_to(double v) {
  if (std::isnan(v)) fail("Pow: the result is not a number, which ", dtype_name(dtype_of<T>()), " cannot hold");
  if (v <= static_cast<double>(std::numeric_limits<T>::lowest())) return std::numeric_limits<T>::lowest();
  if (v >= static_cast<double>(std::numeric_limits<T>::max())) return std::numeric_limits<T>::max();
  return static_cast<T>(v);
}
template <typename T> void pow_int_ref(const KernelContext& c) {
  const TensorArg &a = c.inputs[0], &e = c.inputs[1], &o = c.outputs[0];
  Broadcaster bc(o.dims, {a.dims, e.dims});
  const int64_t sa = bc.inner_stride(0), se = bc.inner_stride(1), n = bc.inner();
  int64_t off[2];
  for (int64_t r = 0; r < bc.rows(); ++r) {
    bc.offsets(r, off);
    const T* x = a.as<T>() + off[0];
    T* z = o.as<T>() + r * n;
    for (int64_t j = 0; j < n; ++j) {
      const int64_t k = off[1] + j * se;
      switch (e.dtype) {
        case DType::i64: z[j] = int_pow<T>(x[j * sa], e.as<int64_t>()[k]); break;
        case DType::i32: z[j] = int_pow<T>(x[j * sa], e.as<int32_t>()[k]); break;
        case DType::i8: z[j] = int_pow<T>(x[j * sa], e.as<int8_t>()[k]); break;
        case DType::u8: z[j] = int_pow<T>(x[j * sa], e.as<uint8_t>()[k]); break;
        case DType::f32: z[j] = saturate_to<T>(std::pow(static_cast<double>(x[j * sa]), static_cast<double>(e.as<float>()[k]))); break;
        case DType::f64: z[j] = saturate_to<T>(std::pow(static_cast<double>(x[j * sa]), e.as<double>()[k])); break;
        default: fail("unsupported Pow exponent dtype ", dtype_name(e.dtype));
      }
    }
  }
}

// Max/Min/Sum/Mean over 1..N broadcast inputs: out = in0, then combined with each further input.
template <typename T, typename Op> void variadic_loop(const KernelContext& c, Op op, bool mean) {
  const TensorArg& o = c.outputs[0];
  {
    Broadcaster bc(o.dims, {c.inputs[0].dims});
    int64_t off[1];
    for (int64_t r = 0; r < bc.rows(); ++r) {
      bc.offsets(r, off);
      for (int64_t j = 0; j < bc.inner(); ++j)
        o.as<T>()[r * bc.inner() + j] = c.inputs[0].as<T>()[off[0] + j * bc.inner_stride(0)];
    }
  }
  for (size_t i = 1; i < c.inputs.size(); ++i) {
    KernelContext step{c.attrs, {o, c.inputs[i]}, {o}};
    binary_loop<T, T>(step, op);
  }
  if (mean)
    for (int64_t k = 0; k < o.numel(); ++k) o.as<T>()[k] /= static_cast<T>(c.inputs.size());
}
template <typename T> void max_ref(const KernelContext& c) {
  variadic_loop<T>(c, [](T x, T y) { return x > y || std::isnan(static_cast<double>(x)) ? x : y; }, false);
}
template <typename T> void min_ref(const KernelContext& c) {
  variadic_loop<T>(c, [](T x, T y) { return x < y || std::isnan(static_cast<double>(x)) ? x : y; }, false);
}
template <typename T> void sum_ref(const KernelContext& c) {
  variadic_loop<T>(c, [](T x, T y) { return x + y; }, false);
}
template <typename T> void mean_ref(const KernelContext& c) {
  variadic_loop<T>(c, [](T x, T y) { return x + y; }, true);
}

// ---- unary ops ----------------------------------------------------------------------------------------
template <typename T, typename R, typename Op> void unary_loop(const KernelContext& c, Op op) {
  const T* x = c.inputs[0].as<T>();
  R* y = c.outputs[0].as<R>();
  const int64_t n = c.inputs[0].numel();
  for (int64_t i = 0; i < n; ++i) y[i] = op(x[i]);
}

#define KILN_UNARY(NAME, EXPR)                                         \
  template <typename T> void NAME(const KernelContext& c) {           \
    unary_loop<T, T>(c, [](T x) -> T { return EXPR; });               \
  }
KILN_UNARY(sqrt_ref, std::sqrt(x))
KILN_UNARY(erf_ref, std::erf(x))
KILN_UNARY(tanh_ref, std::tanh(x))
KILN_UNARY(exp_ref, std::exp(x))
KILN_UNARY(log_ref, std::log(x))
KILN_UNARY(reciprocal_ref, T(1) / x)
KILN_UNARY(relu_ref, x > T(0) ? x : T(0))
KILN_UNARY(sigmoid_ref, T(1) / (T(1) + std::exp(-x)))
KILN_UNARY(floor_ref, std::floor(x))
KILN_UNARY(ceil_ref, std::ceil(x))
KILN_UNARY(sin_ref, std::sin(x))
KILN_UNARY(cos_ref, std::cos(x))
KILN_UNARY(softplus_ref, x > T(20) ? x : std::log1p(std::exp(x)))
KILN_UNARY(neg_ref, -x)
KILN_UNARY(abs_ref, x < T(0) ? -x : x)
KILN_UNARY(sign_ref, x > T(0) ? T(1) : (x < T(0) ? T(-1) : T(0)))
KILN_UNARY(tan_ref, std::tan(x))
KILN_UNARY(asin_ref, std::asin(x))
KILN_UNARY(acos_ref, std::acos(x))
KILN_UNARY(atan_ref, std::atan(x))
KILN_UNARY(sinh_ref, std::sinh(x))
KILN_UNARY(cosh_ref, std::cosh(x))
KILN_UNARY(asinh_ref, std::asinh(x))
KILN_UNARY(acosh_ref, std::acosh(x))
KILN_UNARY(atanh_ref, std::atanh(x))
KILN_UNARY(round_ref, std::nearbyint(x))  // halves to even under the default rounding mode, as ONNX specifies
KILN_UNARY(softsign_ref, x / (T(1) + (x < T(0) ? -x : x)))
KILN_UNARY(hard_swish_ref, x * std::max(T(0), std::min(T(1), x / T(6) + T(0.5))))
#undef KILN_UNARY

// Activations with attributes (ONNX defaults).
template <typename T> void leaky_relu_ref(const KernelContext& c) {
  const T alpha = static_cast<T>(c.attrs.get_float("alpha", 0.01));
  unary_loop<T, T>(c, [alpha](T x) { return x < T(0) ? alpha * x : x; });
}
template <typename T> void thresholded_relu_ref(const KernelContext& c) {
  const T alpha = static_cast<T>(c.attrs.get_float("alpha", 1.0));
  unary_loop<T, T>(c, [alpha](T x) { return x > alpha ? x : T(0); });
}
template <typename T> void elu_ref(const KernelContext& c) {
  const T alpha = static_cast<T>(c.attrs.get_float("alpha", 1.0));
  unary_loop<T, T>(c, [alpha](T x) { return x < T(0) ? alpha * std::expm1(x) : x; });
}
template <typename T> void celu_ref(const KernelContext& c) {
  const T alpha = static_cast<T>(c.attrs.get_float("alpha", 1.0));
  unary_loop<T, T>(c, [alpha](T x) { return std::max(T(0), x) + std::min(T(0), alpha * std::expm1(x / alpha)); });
}
template <typename T> void hard_sigmoid_ref(const KernelContext& c) {
  const T alpha = static_cast<T>(c.attrs.get_float("alpha", 0.2)), beta = static_cast<T>(c.attrs.get_float("beta", 0.5));
  unary_loop<T, T>(c, [=](T x) { return std::max(T(0), std::min(T(1), alpha * x + beta)); });
}
template <typename T> void shrink_ref(const KernelContext& c) {
  const T lambd = static_cast<T>(c.attrs.get_float("lambd", 0.5)), bias = static_cast<T>(c.attrs.get_float("bias", 0.0));
  unary_loop<T, T>(c, [=](T x) { return x < -lambd ? x + bias : x > lambd ? x - bias : T(0); });
}
template <typename T> void is_nan_ref(const KernelContext& c) {
  unary_loop<T, bool>(c, [](T x) { return std::isnan(x); });
}
template <typename T> void is_inf_ref(const KernelContext& c) {
  const bool pos = c.attrs.get_int("detect_positive", 1) != 0, neg = c.attrs.get_int("detect_negative", 1) != 0;
  unary_loop<T, bool>(c, [=](T x) { return std::isinf(x) && ((x > 0 && pos) || (x < 0 && neg)); });
}

void not_ref(const KernelContext& c) { unary_loop<bool, bool>(c, [](bool x) { return !x; }); }

template <typename T> void gelu_ref(const KernelContext& c) {
  const bool tanh_form = c.attrs.get_string("approximate", "none") == "tanh";
  unary_loop<T, T>(c, [tanh_form](T x) -> T {
    double v = x;
    if (tanh_form) return T(0.5 * v * (1.0 + std::tanh(0.7978845608028654 * (v + 0.044715 * v * v * v))));
    return T(0.5 * v * (1.0 + std::erf(v * 0.7071067811865476)));
  });
}

// ---- Cast, Where, Clip ------------------------------------------------------------------------------------
template <typename From> void cast_from(const KernelContext& c) {
  const TensorArg& o = c.outputs[0];
  switch (o.dtype) {
    case DType::f32: unary_loop<From, float>(c, [](From x) { return static_cast<float>(x); }); break;
    case DType::f64: unary_loop<From, double>(c, [](From x) { return static_cast<double>(x); }); break;
    case DType::i64: unary_loop<From, int64_t>(c, [](From x) { return static_cast<int64_t>(x); }); break;
    case DType::i32: unary_loop<From, int32_t>(c, [](From x) { return static_cast<int32_t>(x); }); break;
    case DType::i8: unary_loop<From, int8_t>(c, [](From x) { return static_cast<int8_t>(x); }); break;
    case DType::u8: unary_loop<From, uint8_t>(c, [](From x) { return static_cast<uint8_t>(x); }); break;
    case DType::boolean: unary_loop<From, bool>(c, [](From x) { return x != From(0); }); break;
    case DType::bf16: unary_loop<From, uint16_t>(c, [](From x) { return f32_to_bf16(static_cast<float>(x)); }); break;
    case DType::f16: unary_loop<From, uint16_t>(c, [](From x) { return f32_to_f16(static_cast<float>(x)); }); break;
    default: fail("Cast to ", dtype_name(o.dtype), " is not supported");
  }
}

// Casts from a 16-bit float go through fp32, which holds every bf16 and fp16 value exactly.
template <float (*ToF32)(uint16_t)> void cast_from_half(const KernelContext& c) {
  const TensorArg &x = c.inputs[0], &o = c.outputs[0];
  const uint16_t* px = x.as<uint16_t>();
  const int64_t n = x.numel();
  switch (o.dtype) {
    case DType::f32:
      for (int64_t i = 0; i < n; ++i) o.as<float>()[i] = ToF32(px[i]);
      break;
    case DType::bf16:
      for (int64_t i = 0; i < n; ++i) o.as<uint16_t>()[i] = f32_to_bf16(ToF32(px[i]));
      break;
    case DType::f16:
      for (int64_t i = 0; i < n; ++i) o.as<uint16_t>()[i] = f32_to_f16(ToF32(px[i]));
      break;
    case DType::f64:
      for (int64_t i = 0; i < n; ++i) o.as<double>()[i] = ToF32(px[i]);
      break;
    default: fail("Cast from ", dtype_name(x.dtype), " to ", dtype_name(o.dtype), " is not supported");
  }
}

template <typename T> void where_ref(const KernelContext& c) {
  const TensorArg &cond = c.inputs[0], &x = c.inputs[1], &y = c.inputs[2], &o = c.outputs[0];
  Broadcaster bc(o.dims, {cond.dims, x.dims, y.dims});
  int64_t off[3];
  const int64_t s0 = bc.inner_stride(0), s1 = bc.inner_stride(1), s2 = bc.inner_stride(2), n = bc.inner();
  for (int64_t r = 0; r < bc.rows(); ++r) {
    bc.offsets(r, off);
    const bool* pc = cond.as<bool>() + off[0];
    const T* px = x.as<T>() + off[1];
    const T* py = y.as<T>() + off[2];
    T* po = o.as<T>() + r * n;
    for (int64_t j = 0; j < n; ++j) po[j] = pc[j * s0] ? px[j * s1] : py[j * s2];
  }
}

template <typename T> void clip_ref(const KernelContext& c) {
  T lo = std::numeric_limits<T>::lowest(), hi = std::numeric_limits<T>::max();
  if (c.inputs.size() > 1 && c.inputs[1].present()) lo = c.inputs[1].as<T>()[0];
  if (c.inputs.size() > 2 && c.inputs[2].present()) hi = c.inputs[2].as<T>()[0];
  // Min(max, Max(x, min)) as ONNX specifies: all values become `max` when min > max; NaN passes through.
  unary_loop<T, T>(c, [lo, hi](T x) {
    T y = x < lo ? lo : x;
    return y > hi ? hi : y;
  });
}

}  // namespace

void add_ref_f32(const KernelContext& c) { add_ref<float>(c); }
void mul_ref_f32(const KernelContext& c) { mul_ref<float>(c); }

void register_elementwise_ref_kernels() {
  const Isa R = Isa::ref;
#define KILN_REG_NUM(OP, FN)                                              \
  register_kernel(OP, DType::f32, R, #FN "_f32", FN<float>);             \
  register_kernel(OP, DType::f64, R, #FN "_f64", FN<double>);            \
  register_kernel(OP, DType::i64, R, #FN "_i64", FN<int64_t>);           \
  register_kernel(OP, DType::i32, R, #FN "_i32", FN<int32_t>);
#define KILN_REG_FLOAT(OP, FN)                                            \
  register_kernel(OP, DType::f32, R, #FN "_f32", FN<float>);             \
  register_kernel(OP, DType::f64, R, #FN "_f64", FN<double>);
// 8-bit integers (ONNX tests and quantised models' index math): the plain arithmetic ops only.
#define KILN_REG_8BIT(OP, FN)                                             \
  register_kernel(OP, DType::i8, R, #FN "_i8", FN<int8_t>);              \
  register_kernel(OP, DType::u8, R, #FN "_u8", FN<uint8_t>);
  KILN_REG_NUM("Add", add_ref)
  KILN_REG_NUM("Sub", sub_ref)
  KILN_REG_NUM("Mul", mul_ref)
  KILN_REG_NUM("Div", div_ref)
  KILN_REG_NUM("Mod", mod_ref)
  KILN_REG_8BIT("Add", add_ref)
  KILN_REG_8BIT("Sub", sub_ref)
  KILN_REG_8BIT("Mul", mul_ref)
  KILN_REG_8BIT("Div", div_ref)
  KILN_REG_8BIT("Mod", mod_ref)
  KILN_REG_8BIT("Max", max_ref)
  KILN_REG_8BIT("Min", min_ref)
  KILN_REG_8BIT("Clip", clip_ref)
  register_kernel("Pow", DType::i64, R, "pow_int_ref_i64", pow_int_ref<int64_t>);
  register_kernel("Pow", DType::i32, R, "pow_int_ref_i32", pow_int_ref<int32_t>);
  KILN_REG_NUM("Equal", equal_ref)
  register_kernel("Equal", DType::boolean, R, "equal_ref_bool", equal_ref<bool>);
  KILN_REG_NUM("Less", less_ref)
  KILN_REG_NUM("Greater", greater_ref)
  KILN_REG_NUM("LessOrEqual", less_equal_ref)
  KILN_REG_NUM("GreaterOrEqual", greater_equal_ref)
  register_kernel("And", DType::boolean, R, "and_ref_bool", and_ref<bool>);
  register_kernel("Or", DType::boolean, R, "or_ref_bool", or_ref<bool>);
  register_kernel("Xor", DType::boolean, R, "xor_ref_bool", xor_ref<bool>);
  register_kernel("Not", DType::boolean, R, "not_ref_bool", not_ref);
  KILN_REG_FLOAT("Pow", pow_ref)
  KILN_REG_NUM("Max", max_ref)
  KILN_REG_NUM("Min", min_ref)
  KILN_REG_NUM("Sum", sum_ref)
  KILN_REG_FLOAT("Mean", mean_ref)
  KILN_REG_FLOAT("Sqrt", sqrt_ref)
  KILN_REG_FLOAT("Erf", erf_ref)
  KILN_REG_FLOAT("Tanh", tanh_ref)
  KILN_REG_FLOAT("Exp", exp_ref)
  KILN_REG_FLOAT("Log", log_ref)
  KILN_REG_FLOAT("Reciprocal", reciprocal_ref)
  KILN_REG_FLOAT("Relu", relu_ref)
  KILN_REG_FLOAT("Sigmoid", sigmoid_ref)
  KILN_REG_FLOAT("Floor", floor_ref)
  KILN_REG_FLOAT("Ceil", ceil_ref)
  KILN_REG_FLOAT("Sin", sin_ref)
  KILN_REG_FLOAT("Cos", cos_ref)
  KILN_REG_FLOAT("Softplus", softplus_ref)
  KILN_REG_FLOAT("Gelu", gelu_ref)
  KILN_REG_FLOAT("Tan", tan_ref)
  KILN_REG_FLOAT("Asin", asin_ref)
  KILN_REG_FLOAT("Acos", acos_ref)
  KILN_REG_FLOAT("Atan", atan_ref)
  KILN_REG_FLOAT("Sinh", sinh_ref)
  KILN_REG_FLOAT("Cosh", cosh_ref)
  KILN_REG_FLOAT("Asinh", asinh_ref)
  KILN_REG_FLOAT("Acosh", acosh_ref)
  KILN_REG_FLOAT("Atanh", atanh_ref)
  KILN_REG_FLOAT("Round", round_ref)
  KILN_REG_FLOAT("Softsign", softsign_ref)
  KILN_REG_FLOAT("HardSwish", hard_swish_ref)
  KILN_REG_FLOAT("LeakyRelu", leaky_relu_ref)
  KILN_REG_FLOAT("ThresholdedRelu", thresholded_relu_ref)
  KILN_REG_FLOAT("Elu", elu_ref)
  KILN_REG_FLOAT("Celu", celu_ref)
  KILN_REG_FLOAT("HardSigmoid", hard_sigmoid_ref)
  KILN_REG_FLOAT("Shrink", shrink_ref)
  KILN_REG_FLOAT("IsNaN", is_nan_ref)
  KILN_REG_FLOAT("IsInf", is_inf_ref)
  KILN_REG_NUM("Neg", neg_ref)
  KILN_REG_NUM("Abs", abs_ref)
  KILN_REG_NUM("Sign", sign_ref)
  KILN_REG_NUM("Where", where_ref)
  register_kernel("Where", DType::boolean, R, "where_ref_bool", where_ref<bool>);
  KILN_REG_NUM("Clip", clip_ref)
  register_kernel("Cast", DType::f32, R, "cast_ref_f32", cast_from<float>);
  register_kernel("Cast", DType::f64, R, "cast_ref_f64", cast_from<double>);
  register_kernel("Cast", DType::i64, R, "cast_ref_i64", cast_from<int64_t>);
  register_kernel("Cast", DType::i32, R, "cast_ref_i32", cast_from<int32_t>);
  register_kernel("Cast", DType::i8, R, "cast_ref_i8", cast_from<int8_t>);
  register_kernel("Cast", DType::u8, R, "cast_ref_u8", cast_from<uint8_t>);
  register_kernel("Cast", DType::boolean, R, "cast_ref_bool", cast_from<bool>);
  register_kernel("Cast", DType::bf16, R, "cast_ref_bf16", cast_from_half<bf16_to_f32>);
  register_kernel("Cast", DType::f16, R, "cast_ref_f16", cast_from_half<f16_to_f32>);
#undef KILN_REG_NUM
#undef KILN_REG_8BIT
#undef KILN_REG_FLOAT
}

}  // namespace kiln::kernels
