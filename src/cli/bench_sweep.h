// Printing a `kiln bench` sweep (kiln::bench_sweep): the table of throughput, latency, CPU use, memory and
// cost with the best configuration under the latency budget marked, and its JSON, CSV and PNG files
// (docs/tuning.md).
#pragma once

#include <string>

#include "kiln/bench.h"

namespace kiln::cli {

// Prints the table; writes the files whose paths are not empty.
void print_sweep(const SweepReport& report, const std::string& json, const std::string& csv, const std::string& plot);

}  // namespace kiln::cli
