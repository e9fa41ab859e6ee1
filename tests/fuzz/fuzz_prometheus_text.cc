// The Prometheus text a server's /metrics answers, as `kiln top` reads it (src/server/prometheus_text.cc),
// and the quantiles it computes from the parsed buckets.
#include <cmath>
#include <string>

#include "fuzz_common.h"
#include "server/prometheus_text.h"

KILN_FUZZ_TARGET({
  const auto samples = kiln::server::parse_prometheus_text(input, 10000);
  std::vector<std::pair<double, double>> buckets;
  for (const auto& s : samples)
    if (!std::isnan(s.value)) buckets.emplace_back(static_cast<double>(buckets.size()), s.value);
  kiln::server::histogram_quantile(0.99, buckets);
})
