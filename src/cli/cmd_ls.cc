// kiln ls: the machine as the runtime sees it, and how it would be split into core groups.
#include <cstdio>

#include "cli/commands.h"
#include "kiln/error.h"
#include "kiln/topology.h"

namespace kiln::cli {

Command add_ls(CLI::App& app) {
  auto* cmd = app.add_subcommand("ls", "Show the CPU, the ISA features Kiln uses, cores, caches, NUMA nodes and core groups");
  struct Args {
    int groups = 1;
    std::string cores;
  };
  auto args = std::make_shared<Args>();
  cmd->add_option("--core-groups", args->groups, "Show the allowed CPUs split into this many groups (default 1)");
  cmd->add_option("--cores", args->cores, "Show explicit core groups instead, e.g. 0-3,4-7");
  return [args]() {
    const Topology t = read_topology();
    const CoreGroups groups = args->cores.empty() ? split_core_groups(args->groups) : parse_core_groups(args->cores);
    std::printf("cpu:        %s\n", t.cpu_model.empty() ? "(unknown)" : t.cpu_model.c_str());
    std::printf("isa tier:   %s (features Kiln uses: %s)\n", t.isa_tier.c_str(), t.features.c_str());
    std::printf("cores:      %zu CPUs available to this process (%s), %d physical\n", t.cpus.size(),
                core_group_text(t.cpus).c_str(), t.physical_cores);
    auto kib = [](int64_t b) { return b ? human_bytes(static_cast<double>(b)) : std::string("unknown"); };
    std::printf("caches:     L1d %s, L2 %s, L3 %s\n", kib(t.l1d_bytes).c_str(), kib(t.l2_bytes).c_str(), kib(t.l3_bytes).c_str());
    std::printf("numa nodes: %zu", t.numa_nodes.size());
    for (size_t i = 0; i < t.numa_nodes.size(); ++i) std::printf("%s node %zu: %s", i ? "," : "", i, core_group_text(t.numa_nodes[i]).c_str());
    std::printf("\ncore groups (%s):\n", args->cores.empty() ? "--core-groups" : "--cores");
    for (size_t i = 0; i < groups.size(); ++i)
      std::printf("  group %zu: cores %s (%zu thread%s)\n", i, core_group_text(groups[i]).c_str(), groups[i].size(),
                  groups[i].size() == 1 ? "" : "s");
    return 0;
  };
}

}  // namespace kiln::cli
