// Registration of the scalar reference kernels, one function per op family.
#pragma once

#include <string>

namespace kiln::kernels {

// The activation of a FusedMatMul epilogue ("none", "gelu_erf", "gelu_tanh", "relu"), in double.
double apply_activation(double x, const std::string& act);

void register_elementwise_ref_kernels();
void register_shape_ref_kernels();
void register_reduce_ref_kernels();
void register_nn_ref_kernels();
void register_matmul_ref_kernels();

// Reference kernels that faster tiers call for the cases their fast paths do not cover.
struct KernelContext;
void softmax_ref_f32(const KernelContext& c);
void layer_norm_ref_f32(const KernelContext& c);
void add_ref_f32(const KernelContext& c);
void mul_ref_f32(const KernelContext& c);
void register_fused_ref_kernels();

}  // namespace kiln::kernels
