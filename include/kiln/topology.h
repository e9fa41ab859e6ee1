// The machine as Kiln's runtime sees it, and core groups: Kiln's unit of placement (what a NeuronCore is
// to Neuron). A core group is a set of CPUs that one model replica or one pipeline stage runs on, with
// its own pinned threads.
//
//   kiln::Topology t = kiln::read_topology();
//   kiln::CoreGroups g = kiln::parse_core_groups("0,1");   // two groups of one CPU each
//   kiln::CoreGroups h = kiln::split_core_groups(2);       // the allowed CPUs split into 2 equal groups
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace kiln {

using CoreGroup = std::vector<int>;  // CPU ids
using CoreGroups = std::vector<CoreGroup>;

struct Topology {
  std::string cpu_model;          // /proc/cpuinfo "model name"
  std::string isa_tier;           // the kernel tier Kiln runs: ref, avx2, avx512
  std::string features;           // the CPU features Kiln uses, e.g. "avx2 fma avx512f ... avx512_vnni"
  std::vector<int> cpus;          // CPUs this process may run on (its affinity mask), ascending
  int physical_cores = 0;         // of those, distinct cores (SMT siblings counted once)
  int64_t l1d_bytes = 0, l2_bytes = 0, l3_bytes = 0;  // per the C library (0 when unknown)
  std::vector<CoreGroup> numa_nodes;  // CPUs of each NUMA node (one node when the kernel shows none)
};
Topology read_topology();

// CPUs this process may run on, in order (read once, before any thread is pinned).
const std::vector<int>& allowed_cpus();

// "0-3,4-7": comma-separated groups, each a CPU id or an inclusive range. Throws kiln::Error naming the
// item for malformed text, an empty or overlapping group, or a CPU the process may not run on.
CoreGroups parse_core_groups(const std::string& spec);
// The allowed CPUs split into `n` contiguous groups of equal size (the first ones one larger when the
// count does not divide). Throws when n < 1 or n exceeds the CPUs.
CoreGroups split_core_groups(int n);
// "0-1" / "0,2": a group as text.
std::string core_group_text(const CoreGroup& g);
// The placement of a `--threads N` flag: one group of the first N allowed CPUs (all of them when N exceeds
// the count); empty for N <= 0, which means the default placement (EngineOptions::core_groups).
CoreGroups threads_core_groups(int threads);

}  // namespace kiln
