// Reading the Prometheus text exposition format (what GET /metrics serves) back into samples: for
// `kiln top`, which watches a running server, and for tests. The bytes come from the network, so the
// parser bounds everything (line length, labels per sample, samples) and refuses malformed lines with a
// kiln::InvalidInputError naming the line.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace kiln::server {

struct MetricSample {
  std::string name;                          // e.g. kiln_request_duration_seconds_bucket
  std::map<std::string, std::string> labels;  // unescaped values
  double value = 0;
};

// Every sample line (comments and blank lines skipped). At most `max_samples`.
std::vector<MetricSample> parse_prometheus_text(std::string_view text, size_t max_samples = 1000000);

// A quantile (0..1) from a histogram's cumulative bucket counts (upper bounds ascending, the last +Inf):
// linear within the bucket it falls in, as Prometheus' histogram_quantile does; 0 without observations.
double histogram_quantile(double q, const std::vector<std::pair<double, double>>& buckets);

}  // namespace kiln::server
