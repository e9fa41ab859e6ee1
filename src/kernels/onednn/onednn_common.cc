#include "kernels/onednn/onednn_common.h"

namespace kiln::kernels {

dnnl::engine& onednn_engine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

}  // namespace kiln::kernels
