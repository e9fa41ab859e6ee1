#include "kiln/stats.h"

#include <algorithm>
#include <cmath>
#include <utility>

namespace kiln {

double percentile(std::vector<double> samples, double q) {
  if (samples.empty()) return 0;
  std::sort(samples.begin(), samples.end());
  const size_t idx = static_cast<size_t>(std::ceil(q * static_cast<double>(samples.size())));
  return samples[std::min(samples.size() - 1, idx == 0 ? 0 : idx - 1)];
}

Histogram::Histogram(std::vector<double> upper_bounds) : bounds(std::move(upper_bounds)), counts(bounds.size() + 1, 0) {}

void Histogram::observe(double v) {
  const size_t i = static_cast<size_t>(std::lower_bound(bounds.begin(), bounds.end(), v) - bounds.begin());
  ++counts[i];
  sum += v;
  ++count;
}

std::vector<uint64_t> Histogram::cumulative() const {
  std::vector<uint64_t> out(counts.size());
  uint64_t run = 0;
  for (size_t i = 0; i < counts.size(); ++i) out[i] = run += counts[i];
  return out;
}

std::vector<double> latency_buckets_seconds() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
}

}  // namespace kiln
