// bf16 / fp16 kernels for the ops that are not GEMMs: 16-bit storage, fp32 arithmetic.
//
// Under `--auto-cast all` activations flow between steps in the 16-bit type, but LayerNorm statistics,
// softmax sums, GELU and the attention scores are computed in fp32 (as the issue of numerical range
// demands, and as oneDNN's own bf16 normalisation does). Each kernel here widens its 16-bit inputs into
// fp32 scratch, runs the op's fastest fp32 kernel on them, and narrows its outputs: the conversions are
// the Cast kernels (AVX-512 where available), the scratch is made once at prepare, so a run allocates
// nothing. f32 inputs (LayerNorm's gamma/beta, an additive mask) are passed through untouched.
#include <memory>
#include <vector>

#include "kernels/kernel.h"
#include "kiln/error.h"

namespace kiln::kernels {
namespace {

bool is_half(DType t) { return t == DType::bf16 || t == DType::f16; }

struct Conversion {
  const KernelEntry* cast;
  std::unique_ptr<ir::Attrs> attrs;  // {to: ...}
  std::unique_ptr<KernelContext> ctx;
};

struct WidenedState {
  const KernelEntry* inner = nullptr;
  std::shared_ptr<void> inner_state;
  std::vector<Tensor> scratch;
  std::unique_ptr<KernelContext> ctx;        // the fp32 call
  std::vector<Conversion> widen, narrow;     // before and after it
};

Conversion conversion(const TensorArg& from, const TensorArg& to) {
  Conversion c;
  c.cast = select_kernel("Cast", from.dtype);
  KILN_CHECK(c.cast != nullptr, "no Cast kernel for ", dtype_name(from.dtype));
  c.attrs = std::make_unique<ir::Attrs>();
  c.attrs->set_string("to", dtype_name(to.dtype));
  c.ctx = std::make_unique<KernelContext>(KernelContext{*c.attrs, {from}, {to}});
  return c;
}

template <const char* Op> std::shared_ptr<void> prepare_widened(const KernelContext& c) {
  auto st = std::make_shared<WidenedState>();
  st->inner = select_kernel(Op, DType::f32);
  KILN_CHECK(st->inner != nullptr, "no f32 kernel for ", Op);
  st->scratch.reserve(c.inputs.size() + c.outputs.size());
  std::vector<TensorArg> ins, outs;
  auto staged = [&](const TensorArg& t) {
    st->scratch.push_back(Tensor::uninitialized(DType::f32, t.dims));
    return TensorArg{DType::f32, t.dims, st->scratch.back().data()};
  };
  for (const TensorArg& in : c.inputs) {
    if (!in.present() || !is_half(in.dtype)) {
      ins.push_back(in);
      continue;
    }
    ins.push_back(staged(in));
    st->widen.push_back(conversion(in, ins.back()));
  }
  for (const TensorArg& out : c.outputs) {
    if (!out.present() || !is_half(out.dtype)) {
      outs.push_back(out);
      continue;
    }
    outs.push_back(staged(out));
    st->narrow.push_back(conversion(outs.back(), out));
  }
  st->ctx = std::make_unique<KernelContext>(KernelContext{c.attrs, std::move(ins), std::move(outs)});
  if (st->inner->prepare) {
    st->inner_state = st->inner->prepare(*st->ctx);
    st->ctx->state = st->inner_state.get();
  }
  return st;
}

void run_widened(const KernelContext& c) {
  auto* st = static_cast<WidenedState*>(c.state);
  KILN_CHECK(st != nullptr, "widened kernel run without prepare");
  for (const Conversion& w : st->widen) w.cast->fn(*w.ctx);
  st->inner->fn(*st->ctx);
  for (const Conversion& n : st->narrow) n.cast->fn(*n.ctx);
}

constexpr char kLayerNorm[] = "LayerNormalization", kSkipLayerNorm[] = "SkipLayerNormalization",
               kSoftmax[] = "Softmax", kGelu[] = "Gelu", kAdd[] = "Add", kSub[] = "Sub", kMul[] = "Mul",
               kDiv[] = "Div", kTanh[] = "Tanh", kErf[] = "Erf", kRelu[] = "Relu", kSigmoid[] = "Sigmoid",
               kAttention[] = "MultiHeadAttention";

template <const char* Op> void register_widened() {
  for (DType t : {DType::bf16, DType::f16})
    register_kernel(Op, t, Isa::ref, std::string("widened_") + dtype_name(t) + "_" + Op, run_widened, prepare_widened<Op>,
                    nullptr, /*widens=*/true);
}

}  // namespace

void register_widened_kernels() {
  register_widened<kLayerNorm>();
  register_widened<kSkipLayerNorm>();
  register_widened<kSoftmax>();
  register_widened<kGelu>();
  register_widened<kAdd>();
  register_widened<kSub>();
  register_widened<kMul>();
  register_widened<kDiv>();
  register_widened<kTanh>();
  register_widened<kErf>();
  register_widened<kRelu>();
  register_widened<kSigmoid>();
  register_widened<kAttention>();
}

}  // namespace kiln::kernels
