#include "kiln/stats.h"

#include <algorithm>
#include <cmath>

namespace kiln {

double percentile(std::vector<double> samples, double q) {
  if (samples.empty()) return 0;
  std::sort(samples.begin(), samples.end());
  const size_t idx = static_cast<size_t>(std::ceil(q * static_cast<double>(samples.size())));
  return samples[std::min(samples.size() - 1, idx == 0 ? 0 : idx - 1)];
}

}  // namespace kiln
