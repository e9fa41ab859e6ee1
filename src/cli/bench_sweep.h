// `kiln bench` sweeps: every combination of request batch, replicas, pipeline stages and client
// concurrency on the Engine, reported as one table of throughput, latency, CPU use, memory and cost,
// with the best configuration under a latency budget marked (docs/tuning.md).
#pragma once

#include <string>
#include <vector>

namespace kiln::cli {

struct SweepSpec {
  std::vector<std::string> artifacts;
  std::vector<int> batch, instances, pipeline, concurrency;
  int64_t max_delay_us = 0;      // dynamic batching: how long a worker waits to merge requests
  double seconds = 10;           // per configuration
  double cost_per_hour = 0;      // of the machine, in dollars
  double latency_budget_ms = 0;  // 0: none
  std::string json, csv, plot;
};

int run_bench_sweep(const SweepSpec& spec);

// Default --cost-per-hour: the on-demand price of a 2-vCPU instance (see docs/tuning.md).
constexpr double kDefaultCostPerHour = 0.0765;

}  // namespace kiln::cli
