// Shape and data-movement ops: Shape, Size, Reshape, Flatten, Squeeze, Unsqueeze, Transpose, Concat,
// Slice, Gather, Expand, Tile, ConstantOfShape, Range, CumSum, Identity, Dropout.
// After shape specialisation the Shape/Gather/Concat chains exporters emit are all constants and fold.
#include <algorithm>
#include <cmath>
#include <limits>

#include "kiln/error.h"
#include "ops/op_schema.h"
#include "ops/shape_rules.h"

namespace kiln::ops {

std::vector<int64_t> axes_argument(const InferContext& c, size_t input_index) {
  if (c.has_input(input_index)) return c.constant_ints(input_index);
  if (c.attrs().has("axes")) return c.attrs().get_ints("axes");
  return {};
}

Dims reshape_dims(const Dims& in, const std::vector<int64_t>& target, bool allow_zero) {
  Dims out(target.begin(), target.end());
  int64_t known = 1, infer_at = -1;
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i] == 0 && !allow_zero) {
      if (i >= in.size()) fail("target shape ", dims_to_string(target), " copies dim ", i, " of a rank-", in.size(), " input");
      out[i] = in[i];
    }
    if (out[i] == -1) {
      if (infer_at >= 0) fail("target shape ", dims_to_string(target), " has more than one -1");
      infer_at = static_cast<int64_t>(i);
    } else if (out[i] < 0) {
      fail("target shape ", dims_to_string(target), " has a negative dim");
    } else {
      known *= out[i];
    }
  }
  int64_t total = num_elements(in);
  if (infer_at >= 0) {
    if (known == 0 || total % known != 0)
      fail("cannot reshape ", dims_to_string(in), " to ", dims_to_string(target));
    out[infer_at] = total / known;
  }
  if (num_elements(out) != total) fail("cannot reshape ", dims_to_string(in), " (", total, " elements) to ", dims_to_string(target));
  return out;
}

SliceParams slice_params(const Dims& in, const std::vector<int64_t>& starts, const std::vector<int64_t>& ends,
                         const std::vector<int64_t>& axes_in, const std::vector<int64_t>& steps_in) {
  const int64_t rank = static_cast<int64_t>(in.size());
  if (starts.size() != ends.size()) fail("starts and ends have different lengths");
  std::vector<int64_t> axes = axes_in, steps = steps_in;
  if (axes.empty())
    for (size_t i = 0; i < starts.size(); ++i) axes.push_back(static_cast<int64_t>(i));
  if (steps.empty()) steps.assign(starts.size(), 1);
  if (axes.size() != starts.size() || steps.size() != starts.size())
    fail("starts, ends, axes and steps must have the same length");
  SliceParams p;
  p.starts.assign(rank, 0);
  p.steps.assign(rank, 1);
  p.out = in;
  for (size_t k = 0; k < starts.size(); ++k) {
    int64_t ax = normalize_axis(axes[k], rank, "Slice axis");
    int64_t dim = in[ax], step = steps[k];
    if (step == 0) fail("Slice step must not be 0");
    auto clampi = [](int64_t v, int64_t lo, int64_t hi) { return std::max(lo, std::min(hi, v)); };
    int64_t s = starts[k], e = ends[k];
    // Clamp before adding dim so INT64_MIN/MAX sentinels cannot overflow.
    s = clampi(s, -dim - 1, dim + 1);
    e = clampi(e, -dim - 1, dim + 1);
    if (s < 0) s += dim;
    if (e < 0) e += dim;
    int64_t len;
    if (step > 0) {
      s = clampi(s, 0, dim);
      e = clampi(e, 0, dim);
      len = e > s ? (e - s + step - 1) / step : 0;
    } else {
      s = clampi(s, 0, dim - 1);
      e = clampi(e, -1, dim - 1);
      len = dim > 0 && s > e ? (s - e + (-step) - 1) / (-step) : 0;  // clamps above give s=0 > e=-1 on an empty axis
    }
    p.starts[ax] = s;
    p.steps[ax] = step;
    p.out[ax] = len;
  }
  return p;
}

std::vector<int64_t> split_sizes(int64_t dim, size_t outputs, const std::vector<int64_t>& split, bool have_split) {
  if (outputs == 0) fail("Split has no outputs");
  if (have_split) {
    if (split.size() != outputs)
      fail("split has ", split.size(), " sizes for ", outputs, " outputs");
    int64_t total = 0;
    for (int64_t v : split) {
      if (v < 0) fail("split size ", v, " is negative");
      total += v;
    }
    if (total != dim) fail("split sizes add up to ", total, ", but the axis has length ", dim);
    return split;
  }
  // Equal parts of ceil(dim / outputs), the last one smaller when dim does not divide evenly.
  const int64_t n = static_cast<int64_t>(outputs), part = (dim + n - 1) / n;
  std::vector<int64_t> sizes(outputs);
  int64_t left = dim;
  for (size_t i = 0; i < outputs; ++i) {
    sizes[i] = std::min(part, left);
    left -= sizes[i];
  }
  if (left != 0 || (dim % n != 0 && sizes.back() <= 0))
    fail("an axis of length ", dim, " cannot be split into ", n, " parts");
  return sizes;
}

namespace {

OpSchema schema(const std::string& name, int min_in, int max_in, std::function<void(InferContext&)> f) {
  OpSchema s;
  s.name = name;
  s.min_inputs = min_in;
  s.max_inputs = max_in;
  s.fusion = FusionKind::injective;
  s.infer = std::move(f);
  return s;
}

}  // namespace

void register_shape_schemas() {
  register_schema(schema("Shape", 1, 1, [](InferContext& c) {
    int64_t rank = static_cast<int64_t>(c.dims(0).size());
    int64_t start = c.attrs().get_int("start", 0), end = c.attrs().get_int("end", rank);
    start = std::clamp(start < 0 ? start + rank : start, int64_t{0}, rank);
    end = std::clamp(end < 0 ? end + rank : end, int64_t{0}, rank);
    c.set_output(0, DType::i64, {std::max<int64_t>(0, end - start)});
  }));
  register_schema(schema("Size", 1, 1, [](InferContext& c) { c.set_output(0, DType::i64, {}); }));

  register_schema(schema("Reshape", 2, 2, [](InferContext& c) {
    c.set_output(0, c.dtype(0), reshape_dims(c.dims(0), c.constant_ints(1), c.attrs().get_int("allowzero", 0) != 0));
  }));

  register_schema(schema("Flatten", 1, 1, [](InferContext& c) {
    Dims in = c.dims(0);
    int64_t rank = static_cast<int64_t>(in.size());
    int64_t axis = c.attrs().get_int("axis", 1);
    if (axis < 0) axis += rank;
    if (axis < 0 || axis > rank) fail("Flatten axis out of range for rank ", rank);
    int64_t outer = 1, inner = 1;
    for (int64_t i = 0; i < rank; ++i) (i < axis ? outer : inner) *= in[i];
    c.set_output(0, c.dtype(0), {outer, inner});
  }));

  register_schema(schema("Squeeze", 1, 2, [](InferContext& c) {
    Dims in = c.dims(0);
    std::vector<int64_t> axes = axes_argument(c, 1);
    std::vector<char> drop(in.size(), 0);
    if (axes.empty()) {
      for (size_t i = 0; i < in.size(); ++i) drop[i] = in[i] == 1;
    } else {
      for (int64_t a : axes) {
        int64_t ax = normalize_axis(a, static_cast<int64_t>(in.size()), "Squeeze axis");
        if (in[ax] != 1) fail("cannot squeeze axis ", a, " of size ", in[ax]);
        drop[ax] = 1;
      }
    }
    Dims out;
    for (size_t i = 0; i < in.size(); ++i)
      if (!drop[i]) out.push_back(in[i]);
    c.set_output(0, c.dtype(0), out);
  }));

  register_schema(schema("Unsqueeze", 1, 2, [](InferContext& c) {
    Dims in = c.dims(0);
    std::vector<int64_t> axes = axes_argument(c, 1);
    int64_t out_rank = static_cast<int64_t>(in.size() + axes.size());
    std::vector<char> is_new(out_rank, 0);
    for (int64_t a : axes) {
      int64_t ax = normalize_axis(a, out_rank, "Unsqueeze axis");
      if (is_new[ax]) fail("Unsqueeze axis ", a, " repeated");
      is_new[ax] = 1;
    }
    Dims out;
    size_t k = 0;
    for (int64_t i = 0; i < out_rank; ++i) out.push_back(is_new[i] ? 1 : in[k++]);
    c.set_output(0, c.dtype(0), out);
  }));

  register_schema(schema("Transpose", 1, 1, [](InferContext& c) {
    Dims in = c.dims(0);
    std::vector<int64_t> perm;
    if (c.attrs().has("perm")) perm = c.attrs().get_ints("perm");
    else
      for (int64_t i = static_cast<int64_t>(in.size()) - 1; i >= 0; --i) perm.push_back(i);
    if (perm.size() != in.size()) fail("perm ", dims_to_string(perm), " does not match rank ", in.size());
    std::vector<char> seen(in.size(), 0);
    Dims out;
    for (int64_t p : perm) {
      int64_t ax = normalize_axis(p, static_cast<int64_t>(in.size()), "Transpose perm entry");
      if (seen[ax]) fail("perm ", dims_to_string(perm), " is not a permutation");
      seen[ax] = 1;
      out.push_back(in[ax]);
    }
    c.set_output(0, c.dtype(0), out);
  }));

  {
    // Split (opset 13: sizes from input #1; older: the `split` attribute; 18: num_outputs = the output count).
    OpSchema split = schema("Split", 1, 2, [](InferContext& c) {
      const Dims in = c.dims(0);
      const int64_t axis = normalize_axis(c.attrs().get_int("axis", 0), static_cast<int64_t>(in.size()), "Split axis");
      const bool from_input = c.has_input(1);
      const bool have_split = from_input || c.attrs().has("split");
      const std::vector<int64_t> sizes = split_sizes(
          in[axis], c.num_outputs(), from_input ? c.constant_ints(1) : have_split ? c.attrs().get_ints("split") : std::vector<int64_t>{},
          have_split);
      for (size_t i = 0; i < c.num_outputs(); ++i) {
        Dims out = in;
        out[axis] = sizes[i];
        c.set_output(i, c.dtype(0), out);
      }
    });
    split.max_outputs = 1024;
    register_schema(split);
  }
  register_schema(schema("Concat", 1, 1024, [](InferContext& c) {
    Dims out = c.dims(0);
    int64_t axis = normalize_axis(c.attrs().get_int("axis"), static_cast<int64_t>(out.size()), "Concat axis");
    for (size_t i = 1; i < c.num_inputs(); ++i) {
      Dims d = c.dims(i);
      if (c.dtype(i) != c.dtype(0)) fail("inputs have different dtypes");
      if (d.size() != out.size()) fail("input #", i, " has rank ", d.size(), ", expected ", out.size());
      for (size_t k = 0; k < d.size(); ++k)
        if (static_cast<int64_t>(k) != axis && d[k] != out[k])
          fail("input #", i, " has shape ", dims_to_string(d), ", incompatible with ", dims_to_string(c.dims(0)));
      out[axis] += d[axis];
    }
    c.set_output(0, c.dtype(0), out);
  }));

  register_schema(schema("Slice", 3, 5, [](InferContext& c) {
    std::vector<int64_t> axes = c.has_input(3) ? c.constant_ints(3) : std::vector<int64_t>{};
    std::vector<int64_t> steps = c.has_input(4) ? c.constant_ints(4) : std::vector<int64_t>{};
    SliceParams p = slice_params(c.dims(0), c.constant_ints(1), c.constant_ints(2), axes, steps);
    c.set_output(0, c.dtype(0), p.out);
  }));

  register_schema(schema("Gather", 2, 2, [](InferContext& c) {
    Dims data = c.dims(0), idx = c.dims(1);
    if (c.dtype(1) != DType::i64 && c.dtype(1) != DType::i32) fail("indices must be i64 or i32");
    int64_t axis = normalize_axis(c.attrs().get_int("axis", 0), static_cast<int64_t>(data.size()), "Gather axis");
    Dims out(data.begin(), data.begin() + axis);
    out.insert(out.end(), idx.begin(), idx.end());
    out.insert(out.end(), data.begin() + axis + 1, data.end());
    c.set_output(0, c.dtype(0), out);
  }));

  register_schema(schema("Expand", 2, 2, [](InferContext& c) {
    c.set_output(0, c.dtype(0), broadcast_dims(c.dims(0), c.constant_ints(1)));
  }));

  register_schema(schema("Tile", 2, 2, [](InferContext& c) {
    Dims in = c.dims(0);
    std::vector<int64_t> rep = c.constant_ints(1);
    if (rep.size() != in.size()) fail("repeats has ", rep.size(), " entries for rank ", in.size());
    for (size_t i = 0; i < in.size(); ++i) in[i] *= rep[i];
    c.set_output(0, c.dtype(0), in);
  }));

  OpSchema cos = schema("ConstantOfShape", 1, 1, [](InferContext& c) {
    DType t = DType::f32;
    if (const ir::Attribute* v = c.attrs().find("value")) t = v->t->dtype();
    c.set_output(0, t, c.constant_ints(0));
  });
  cos.key_input = -1;
  register_schema(cos);

  register_schema(schema("Range", 3, 3, [](InferContext& c) {
    auto scalar = [&](size_t i) -> double {
      const Tensor& t = c.constant(i);
      switch (t.dtype()) {
        case DType::f32: return t.data_as<float>()[0];
        case DType::i64: return static_cast<double>(t.data_as<int64_t>()[0]);
        case DType::i32: return t.data_as<int32_t>()[0];
        default: fail("unsupported Range dtype ", dtype_name(t.dtype()));
      }
    };
    double start = scalar(0), limit = scalar(1), delta = scalar(2);
    if (delta == 0) fail("Range delta must not be 0");
    int64_t n = std::max<int64_t>(0, static_cast<int64_t>(std::ceil((limit - start) / delta)));
    c.set_output(0, c.dtype(0), {n});
  }));

  OpSchema cumsum = schema("CumSum", 2, 2, [](InferContext& c) {
    normalize_axis(c.constant_ints(1).at(0), static_cast<int64_t>(c.dims(0).size()), "CumSum axis");
    c.set_output(0, c.dtype(0), c.dims(0));
  });
  register_schema(cumsum);

  OpSchema identity = schema("Identity", 1, 1, [](InferContext& c) { c.set_output(0, c.dtype(0), c.dims(0)); });
  identity.fusion = FusionKind::elementwise;
  register_schema(identity);

  // Inference-mode Dropout is the identity; the optional mask output is all true.
  OpSchema dropout = schema("Dropout", 1, 3, [](InferContext& c) {
    c.set_output(0, c.dtype(0), c.dims(0));
    if (c.num_outputs() > 1) c.set_output(1, DType::boolean, c.dims(0));
  });
  dropout.max_outputs = 2;
  dropout.fusion = FusionKind::elementwise;
  register_schema(dropout);
}

}  // namespace kiln::ops
