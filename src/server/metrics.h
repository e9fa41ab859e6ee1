// Prometheus metrics for GET /metrics (text exposition format 0.0.4): per model and version, the
// request outcomes and durations the router records, and the Engine's own counters and histograms
// (inference rows, executions, queue / compute time, batch size, queue depth, in flight); per process,
// CPU seconds and resident memory.
//
// Thread safety: record() and render() may be called from any number of threads.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <utility>

#include "kiln/stats.h"
#include "server/model_repository.h"

namespace kiln::server {

class Metrics {
 public:
  // One answered request for a model version: its outcome and its duration in the server (decoding,
  // queue, compute and encoding).
  void record(const std::string& model, const std::string& version, bool success, double seconds);
  // One HTTP answer by status code (every route, models or not).
  void record_status(int status);
  std::string render(const ModelRepository& repo) const;

 private:
  struct PerModel {
    uint64_t success = 0, failure = 0;
    Histogram duration{latency_buckets_seconds()};
  };
  mutable std::mutex mu_;
  std::map<std::pair<std::string, std::string>, PerModel> models_;
  std::map<int, uint64_t> statuses_;
};

// The label value escaped for the exposition format (backslash, double quote, newline).
std::string prometheus_label(const std::string& value);

}  // namespace kiln::server
