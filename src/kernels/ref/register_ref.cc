#include "kernels/kernel.h"
#include "kernels/ref/ref_kernels.h"

namespace kiln::kernels {

void register_ref_kernels() {
  register_elementwise_ref_kernels();
  register_shape_ref_kernels();
  register_reduce_ref_kernels();
  register_nn_ref_kernels();
  register_matmul_ref_kernels();
  register_fused_ref_kernels();
}

}  // namespace kiln::kernels
