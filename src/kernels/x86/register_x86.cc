// The list of x86 kernel families (see register_x86.h).
#include "kernels/kernel.h"
#include "kernels/x86/register_x86.h"

namespace kiln::kernels {

void register_x86_kernels() {
  register_layer_norm_x86();
  register_softmax_x86();
  register_gelu_x86();
  register_elementwise_x86();
  register_convert_x86();
}

}  // namespace kiln::kernels
