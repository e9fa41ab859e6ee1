// Shared oneDNN plumbing for Kiln's oneDNN-backed kernels: one CPU engine per process, errors as
// kiln::Error.
#pragma once

#include <dnnl.hpp>

namespace kiln::kernels {

dnnl::engine& onednn_engine();

}  // namespace kiln::kernels
