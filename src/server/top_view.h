// What `kiln top` shows of a running server: per model version the request rate, latency percentiles,
// queue, batch size and failures over the last interval, and the process's CPU and memory, computed from
// two scrapes of GET /metrics (server/prometheus_text.h) `seconds` apart.
#pragma once

#include <string>
#include <vector>

#include "server/prometheus_text.h"

namespace kiln::server {

struct ModelTop {
  std::string model, version;
  double requests_per_s = 0, failures_per_s = 0;
  double p50_ms = -1, p99_ms = -1;  // -1: no request finished in the interval
  double queue_depth = 0, in_flight = 0;
  double batch_rows = -1;           // mean rows per model call in the interval; -1: no call
  double rows_per_s = 0;
};

struct TopFrame {
  std::vector<ModelTop> models;
  double cpu_percent = 0;  // of one core
  double rss_mib = 0;
};

TopFrame top_frame(const std::vector<MetricSample>& before, const std::vector<MetricSample>& after, double seconds);
// A fixed-width table, one line per model version.
std::string render_top(const TopFrame& frame, const std::string& url, double seconds);

}  // namespace kiln::server
