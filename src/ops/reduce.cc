// Reductions (ReduceMean/Sum/Max/Min/L1/L2/Prod/SumSquare/LogSum/LogSumExp, ArgMax/ArgMin). Axes come from the `axes` attribute
// (older opsets) or the second input (ReduceSum from opset 13, the others from 18).
#include "kiln/error.h"
#include "ops/op_schema.h"
#include "ops/reduce_rules.h"
#include "ops/shape_rules.h"

namespace kiln::ops {

ReduceParams reduce_params(const Dims& in, std::vector<int64_t> axes, bool keepdims, bool noop_with_empty_axes) {
  ReduceParams p;
  const int64_t rank = static_cast<int64_t>(in.size());
  p.reduced.assign(rank, 0);
  if (axes.empty()) {
    if (!noop_with_empty_axes) p.reduced.assign(rank, 1);
  } else {
    for (int64_t a : axes) p.reduced[normalize_axis(a, rank, "reduction axis")] = 1;
  }
  for (int64_t i = 0; i < rank; ++i) {
    if (p.reduced[i]) {
      if (keepdims) p.out.push_back(1);
    } else {
      p.out.push_back(in[i]);
    }
  }
  return p;
}

void register_reduce_schemas() {
  for (const char* op : {"ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceL2", "ReduceProd", "ReduceL1",
                         "ReduceSumSquare", "ReduceLogSum", "ReduceLogSumExp"}) {
    OpSchema s;
    s.name = op;
    s.min_inputs = 1;
    s.max_inputs = 2;
    s.fusion = FusionKind::reduce;
    s.infer = [](InferContext& c) {
      ReduceParams p = reduce_params(c.dims(0), axes_argument(c, 1), c.attrs().get_int("keepdims", 1) != 0,
                                     c.attrs().get_int("noop_with_empty_axes", 0) != 0);
      c.set_output(0, c.dtype(0), p.out);
    };
    register_schema(s);
  }
  for (const char* op : {"ArgMax", "ArgMin"}) {
    OpSchema s;
    s.name = op;
    s.fusion = FusionKind::reduce;
    s.infer = [](InferContext& c) {
      Dims in = c.dims(0);
      int64_t axis = normalize_axis(c.attrs().get_int("axis", 0), static_cast<int64_t>(in.size()), "axis");
      ReduceParams p = reduce_params(in, {axis}, c.attrs().get_int("keepdims", 1) != 0, false);
      c.set_output(0, DType::i64, p.out);
    };
    register_schema(s);
  }
}

}  // namespace kiln::ops
