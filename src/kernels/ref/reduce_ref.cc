// Reference reductions. Accumulate in double so the oracle is more accurate than any fast kernel.
#include <cmath>
#include <limits>

#include "kernels/kernel.h"
#include "kernels/ref/ref_kernels.h"
#include "kiln/error.h"
#include "ops/reduce_rules.h"

namespace kiln::kernels {
namespace {

enum class Reduce { sum, mean, max, min, l2, prod, l1, sum_square, log_sum, log_sum_exp };

std::vector<int64_t> axes_of(const KernelContext& c) {
  if (c.inputs.size() > 1 && c.inputs[1].present()) {
    const TensorArg& a = c.inputs[1];
    std::vector<int64_t> v(a.numel());
    for (int64_t i = 0; i < a.numel(); ++i) v[i] = a.dtype == DType::i32 ? a.as<int32_t>()[i] : a.as<int64_t>()[i];
    return v;
  }
  if (c.attrs.has("axes")) return c.attrs.get_ints("axes");
  return {};
}

template <typename T, Reduce kind> void reduce_ref(const KernelContext& c) {
  const TensorArg &in = c.inputs[0], &out = c.outputs[0];
  ops::ReduceParams p = ops::reduce_params(in.dims, axes_of(c), c.attrs.get_int("keepdims", 1) != 0,
                                           c.attrs.get_int("noop_with_empty_axes", 0) != 0);
  const size_t rank = in.dims.size();
  // Output stride of each input axis (0 on reduced axes).
  std::vector<int64_t> ostride(rank, 0);
  int64_t s = 1;
  for (int64_t a = static_cast<int64_t>(rank) - 1; a >= 0; --a)
    if (!p.reduced[a]) {
      ostride[a] = s;
      s *= in.dims[a];
    }
  const int64_t n_out = out.numel();
  double init = 0;
  if (kind == Reduce::max) init = -std::numeric_limits<double>::infinity();
  if (kind == Reduce::min) init = std::numeric_limits<double>::infinity();
  if (kind == Reduce::prod) init = 1;
  std::vector<double> acc(n_out, init);
  // log_sum_exp: a running maximum per output, the sum of exp(x - max) rescaled when the maximum grows.
  std::vector<double> run_max(kind == Reduce::log_sum_exp ? n_out : 0, -std::numeric_limits<double>::infinity());
  std::vector<int64_t> idx(rank, 0);
  int64_t off = 0;
  for (int64_t k = 0; k < in.numel(); ++k) {
    double x = static_cast<double>(in.as<T>()[k]);
    double& a = acc[off];
    switch (kind) {
      case Reduce::sum: case Reduce::mean: a += x; break;
      case Reduce::max: a = x > a ? x : a; break;
      case Reduce::min: a = x < a ? x : a; break;
      case Reduce::l2: a += x * x; break;
      case Reduce::prod: a *= x; break;
      case Reduce::l1: a += std::fabs(x); break;
      case Reduce::sum_square: a += x * x; break;
      case Reduce::log_sum: a += x; break;
      case Reduce::log_sum_exp: {
        double& m = run_max[off];
        if (x > m) {
          a = a * std::exp(m - x) + 1;  // exp(-inf) = 0 on the first element
          m = x;
        } else {
          a += std::exp(x - m);
        }
        break;
      }
    }
    for (int64_t ax = static_cast<int64_t>(rank) - 1; ax >= 0; --ax) {
      if (++idx[ax] < in.dims[ax]) {
        off += ostride[ax];
        break;
      }
      off -= ostride[ax] * (idx[ax] - 1);
      idx[ax] = 0;
    }
  }
  const double count = n_out ? static_cast<double>(in.numel()) / static_cast<double>(n_out) : 1;
  for (int64_t i = 0; i < n_out; ++i) {
    double v = acc[i];
    if (kind == Reduce::mean) v /= count;
    if (kind == Reduce::l2) v = std::sqrt(v);
    if (kind == Reduce::log_sum) v = std::log(v);
    if (kind == Reduce::log_sum_exp) v = run_max[i] + std::log(v);
    out.as<T>()[i] = static_cast<T>(v);
  }
}

template <typename T, bool is_max> void arg_ref(const KernelContext& c) {
  const TensorArg &in = c.inputs[0], &out = c.outputs[0];
  const int64_t rank = static_cast<int64_t>(in.dims.size());
  int64_t axis = c.attrs.get_int("axis", 0);
  if (axis < 0) axis += rank;
  const bool last = c.attrs.get_int("select_last_index", 0) != 0;
  int64_t outer = 1, inner = 1;
  for (int64_t i = 0; i < axis; ++i) outer *= in.dims[i];
  for (int64_t i = axis + 1; i < rank; ++i) inner *= in.dims[i];
  const int64_t dim = in.dims[axis];
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      int64_t best = 0;
      T bv = in.as<T>()[o * dim * inner + i];
      for (int64_t d = 1; d < dim; ++d) {
        T v = in.as<T>()[(o * dim + d) * inner + i];
        bool better = is_max ? (v > bv || (last && v == bv)) : (v < bv || (last && v == bv));
        if (better) {
          bv = v;
          best = d;
        }
      }
      out.as<int64_t>()[o * inner + i] = best;
    }
}

}  // namespace

void register_reduce_ref_kernels() {
  const Isa R = Isa::ref;
#define KILN_REG_REDUCE(OP, KIND, NAME)                                                                 \
  register_kernel(OP, DType::f32, R, NAME "_f32", reduce_ref<float, Reduce::KIND>);                    \
  register_kernel(OP, DType::f64, R, NAME "_f64", reduce_ref<double, Reduce::KIND>);                   \
  register_kernel(OP, DType::i64, R, NAME "_i64", reduce_ref<int64_t, Reduce::KIND>);                  \
  register_kernel(OP, DType::i32, R, NAME "_i32", reduce_ref<int32_t, Reduce::KIND>);
  KILN_REG_REDUCE("ReduceSum", sum, "reduce_sum_ref")
  KILN_REG_REDUCE("ReduceMean", mean, "reduce_mean_ref")
  KILN_REG_REDUCE("ReduceMax", max, "reduce_max_ref")
  KILN_REG_REDUCE("ReduceMin", min, "reduce_min_ref")
  KILN_REG_REDUCE("ReduceProd", prod, "reduce_prod_ref")
  KILN_REG_REDUCE("ReduceL1", l1, "reduce_l1_ref")
  KILN_REG_REDUCE("ReduceSumSquare", sum_square, "reduce_sum_square_ref")
#undef KILN_REG_REDUCE
  // Reductions with a square root, log or exp: float types only.
  register_kernel("ReduceL2", DType::f32, R, "reduce_l2_ref_f32", reduce_ref<float, Reduce::l2>);
  register_kernel("ReduceL2", DType::f64, R, "reduce_l2_ref_f64", reduce_ref<double, Reduce::l2>);
  register_kernel("ReduceLogSum", DType::f32, R, "reduce_log_sum_ref_f32", reduce_ref<float, Reduce::log_sum>);
  register_kernel("ReduceLogSum", DType::f64, R, "reduce_log_sum_ref_f64", reduce_ref<double, Reduce::log_sum>);
  register_kernel("ReduceLogSumExp", DType::f32, R, "reduce_log_sum_exp_ref_f32", reduce_ref<float, Reduce::log_sum_exp>);
  register_kernel("ReduceLogSumExp", DType::f64, R, "reduce_log_sum_exp_ref_f64", reduce_ref<double, Reduce::log_sum_exp>);
  register_kernel("ArgMax", DType::f32, R, "argmax_ref_f32", arg_ref<float, true>);
  register_kernel("ArgMax", DType::i64, R, "argmax_ref_i64", arg_ref<int64_t, true>);
  register_kernel("ArgMin", DType::f32, R, "argmin_ref_f32", arg_ref<float, false>);
  register_kernel("ArgMin", DType::i64, R, "argmin_ref_i64", arg_ref<int64_t, false>);
}

}  // namespace kiln::kernels
