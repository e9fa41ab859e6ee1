// Registration of the scalar reference kernels, one function per op family.
#pragma once

namespace kiln::kernels {

void register_elementwise_ref_kernels();
void register_shape_ref_kernels();
void register_reduce_ref_kernels();
void register_nn_ref_kernels();
void register_matmul_ref_kernels();

}  // namespace kiln::kernels
