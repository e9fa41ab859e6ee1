// Small statistics every latency report uses (kiln bench, kiln eval, the bench sweep, a server's metrics),
// so all of them agree on what "p99" means.
#pragma once

#include <vector>

namespace kiln {

// Nearest-rank percentile (q in [0, 1]) of unsorted samples: the smallest sample with at least q of the
// samples at or below it (q = 0 gives the minimum, 1 the maximum); 0 for no samples.
double percentile(std::vector<double> samples, double q);

}  // namespace kiln
