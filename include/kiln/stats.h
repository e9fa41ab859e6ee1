// Small statistics every latency report uses (kiln bench, kiln eval, the bench sweep, a server's metrics),
// so all of them agree on what "p99" means.
#pragma once

#include <cstdint>
#include <vector>

namespace kiln {

// A cumulative-count histogram with fixed bucket bounds, as Prometheus exposes them: counts[i] is the
// number of observations <= bounds[i] (non-cumulative per bucket here; cumulative() sums them), plus
// the +Inf bucket at counts.back(). Not thread-safe: the owner locks.
struct Histogram {
  std::vector<double> bounds;     // ascending upper bounds (+Inf implied)
  std::vector<uint64_t> counts;   // bounds.size() + 1 buckets, the last is (bounds.back(), +Inf)
  double sum = 0;
  uint64_t count = 0;

  Histogram() = default;
  explicit Histogram(std::vector<double> upper_bounds);
  void observe(double v);
  // Observations <= bounds[i] for each i, then the total: what a Prometheus _bucket series reports.
  std::vector<uint64_t> cumulative() const;
};

// Bucket bounds for latencies in seconds: 0.5 ms .. 60 s, about 2.5x apart.
std::vector<double> latency_buckets_seconds();

// Nearest-rank percentile (q in [0, 1]) of unsorted samples: the smallest sample with at least q of the
// samples at or below it (q = 0 gives the minimum, 1 the maximum); 0 for no samples.
double percentile(std::vector<double> samples, double q);

}  // namespace kiln
