// The accuracy measure shared by `kiln compile --verify` and `kiln bench a.kiln b.kiln` (kiln/compiler.h).
#include <algorithm>
#include <cmath>

#include "kiln/compiler.h"
#include "kiln/session.h"

namespace kiln {

CompileReport::Verification compare_sessions(Session& candidate, Session& reference,
                                             const std::vector<std::vector<NamedTensor>>& batches) {
  CompileReport::Verification v;
  v.ran = true;
  size_t rows = 0, agree = 0;
  for (const auto& batch : batches) {
    std::vector<NamedTensor> got = candidate.run(batch), want = reference.run(batch);
    v.samples += batch.empty() ? 0 : static_cast<size_t>(batch[0].tensor.dims().at(0));
    for (size_t o = 0; o < got.size() && o < want.size(); ++o) {
      const Tensor &a = got[o].tensor, &b = want[o].tensor;
      if (a.dtype() != DType::f32 || b.dtype() != DType::f32 || a.numel() != b.numel()) continue;
      const float* x = a.data_as<float>();
      const float* y = b.data_as<float>();
      double max_abs = 0, ref_max = 0, dot = 0, nx = 0, ny = 0;
      for (int64_t i = 0; i < a.numel(); ++i) {
        max_abs = std::max(max_abs, std::fabs(static_cast<double>(x[i]) - y[i]));
        ref_max = std::max(ref_max, std::fabs(static_cast<double>(y[i])));
        dot += static_cast<double>(x[i]) * y[i];
        nx += static_cast<double>(x[i]) * x[i];
        ny += static_cast<double>(y[i]) * y[i];
      }
      if (!std::isfinite(max_abs)) max_abs = INFINITY;
      v.max_abs_error = std::max(v.max_abs_error, max_abs);
      v.max_rel_error = std::max(v.max_rel_error, ref_max > 0 ? max_abs / ref_max : max_abs);
      const double cosine = nx > 0 && ny > 0 ? dot / std::sqrt(nx * ny) : (nx == ny ? 1.0 : 0.0);
      v.min_cosine = std::min(v.min_cosine, cosine);
      const int64_t last = a.dims().empty() ? 1 : a.dims().back();
      if (last < 2) continue;
      for (int64_t r = 0; r < a.numel() / last; ++r) {
        const float* xr = x + r * last;
        const float* yr = y + r * last;
        ++rows;
        agree += std::max_element(xr, xr + last) - xr == std::max_element(yr, yr + last) - yr;
      }
    }
  }
  v.argmax_agreement = rows ? static_cast<double>(agree) / rows : 1.0;
  return v;
}

}  // namespace kiln
