// FusedMatMul in f32, and in bf16 (bf16 A and W, f32 accumulation: avx512_bf16's vdpbf16ps; f32 or bf16
// output): oneDNN computes in the weight's dtype, so the step's tensors are bound as they are and a run
// is one primitive execution. These are the precisions whose weights the compiler packs into the
// primitive's blocked layout (f16 is widened and i8 laid out at load instead).
#include "kernels/onednn/fused_matmul_onednn.h"
#include "kernels/onednn/weight_packing.h"
#include "kiln/error.h"

namespace kiln::kernels {
namespace {

using dnnl::memory;

FusedMatMulPrimitive make_primitive(const KernelContext& c) {
  return make_fused_matmul_primitive(c, FusedMatMulPrecision{onednn_dtype(c.inputs[1].dtype)});
}

bool pack_fused_matmul(const KernelContext& c, Tensor& packed, ir::Attrs& attrs) {
  try {
    const DType wt = c.inputs[1].dtype;
    if (has_packed_layout(c.attrs) || !c.inputs[1].present()) return false;
    FusedMatMulPrimitive s = make_primitive(c);
    const memory::desc want = s.pd.weights_desc();
    if (want == s.w_plain || want.data.format_kind != dnnl_blocked || want.data.extra.flags != 0) return false;
    // Blocked layouts pad K and N up to their block sizes: not worth it for small or skinny weights
    // (a [768, 2] classifier would grow 32x), which are then laid out at load instead.
    if (want.get_size() > s.w_plain.get_size() * 3 / 2) return false;
    const size_t esz = dtype_size(wt);
    packed = Tensor(wt, {static_cast<int64_t>((want.get_size() + esz - 1) / esz)});
    dnnl::engine& eng = onednn_engine();
    memory src(s.w_plain, eng, c.inputs[1].data), dst(want, eng, packed.data());
    dnnl::stream st(eng);
    dnnl::reorder(src, dst).execute(st, src, dst);
    st.wait();
    attrs.set_ints("weight_dims", c.inputs[1].dims);
    set_packed_layout(attrs, want);
    return true;
  } catch (const dnnl::error& e) {
    fail("oneDNN could not pack the weights: ", e.what());
  }
}

std::shared_ptr<void> prepare_fused_matmul(const KernelContext& c) {
  try {
    const FusedMatMulPrimitive s = make_primitive(c);
    const TensorArg& W = c.inputs[1];
    auto st = std::make_shared<FusedMatMulState>();
    bind_fused_matmul(*st, s, c, StoredWeights{W.data, static_cast<size_t>(W.numel()) * dtype_size(W.dtype), W.dtype},
                      c.inputs[0].data, c.outputs[0].data, s.has_res ? c.inputs[3].data : nullptr);
    return st;
  } catch (const dnnl::error& e) {
    fail("oneDNN could not create the matmul: ", e.what());
  }
}

}  // namespace

void register_fused_matmul_f32_bf16_onednn() {
  register_kernel("FusedMatMul", DType::f32, Isa::avx2, "fused_matmul_f32_onednn", run_fused_matmul,
                  prepare_fused_matmul, pack_fused_matmul);
  // oneDNN runs bf16 natively with avx512_bf16 and emulates it on other AVX-512 CPUs.
  register_kernel("FusedMatMul", DType::bf16, Isa::avx512, "fused_matmul_bf16_onednn", run_fused_matmul,
                  prepare_fused_matmul, pack_fused_matmul);
}

}  // namespace kiln::kernels
