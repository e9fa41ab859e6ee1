#include "kiln/topology.h"

#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include "kernels/isa.h"
#include "kiln/error.h"

namespace kiln {
namespace {

std::string read_line(const std::string& path) {
  std::ifstream f(path);
  std::string s;
  std::getline(f, s);
  return s;
}

// "0-3,8,10-11" -> ids (the kernel's cpulist format).
std::vector<int> parse_cpu_list(const std::string& text) {
  std::vector<int> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (item.empty()) continue;
    const size_t dash = item.find('-');
    const int a = std::stoi(item.substr(0, dash)), b = dash == std::string::npos ? a : std::stoi(item.substr(dash + 1));
    for (int i = a; i <= b; ++i) out.push_back(i);
  }
  return out;
}

}  // namespace

const std::vector<int>& allowed_cpus() {
  static const std::vector<int> cpus = [] {
    cpu_set_t set;
    std::vector<int> c;
    if (sched_getaffinity(0, sizeof set, &set) == 0)
      for (int i = 0; i < CPU_SETSIZE; ++i)
        if (CPU_ISSET(i, &set)) c.push_back(i);
    if (c.empty()) c.push_back(0);
    return c;
  }();
  return cpus;
}

Topology read_topology() {
  Topology t;
  std::ifstream info("/proc/cpuinfo");
  for (std::string line; std::getline(info, line);)
    if (line.rfind("model name", 0) == 0) {
      t.cpu_model = line.substr(line.find(':') + 2);
      break;
    }
  t.isa_tier = kernels::isa_name(kernels::active_isa());
  t.features = kernels::cpu_features();
  t.cpus = allowed_cpus();
  std::set<std::string> cores;
  for (int c : t.cpus) {
    const std::string sib = read_line("/sys/devices/system/cpu/cpu" + std::to_string(c) + "/topology/thread_siblings_list");
    cores.insert(sib.empty() ? std::to_string(c) : sib);
  }
  t.physical_cores = static_cast<int>(cores.size());
  t.l1d_bytes = std::max<long>(0, sysconf(_SC_LEVEL1_DCACHE_SIZE));
  t.l2_bytes = std::max<long>(0, sysconf(_SC_LEVEL2_CACHE_SIZE));
  t.l3_bytes = std::max<long>(0, sysconf(_SC_LEVEL3_CACHE_SIZE));
  for (int node = 0; node < 1024; ++node) {
    const std::string list = read_line("/sys/devices/system/node/node" + std::to_string(node) + "/cpulist");
    if (list.empty()) {
      if (node > 0 || !t.numa_nodes.empty()) break;
      continue;
    }
    CoreGroup g;
    for (int c : parse_cpu_list(list))
      if (std::find(t.cpus.begin(), t.cpus.end(), c) != t.cpus.end()) g.push_back(c);
    t.numa_nodes.push_back(g);
  }
  if (t.numa_nodes.empty()) t.numa_nodes.push_back(t.cpus);
  return t;
}

CoreGroups parse_core_groups(const std::string& spec) {
  const std::vector<int>& allowed = allowed_cpus();
  CoreGroups groups;
  std::set<int> used;
  std::stringstream ss(spec);
  std::string item;
  while (std::getline(ss, item, ',')) {
    const size_t dash = item.find('-');
    int a = -1, b = -1;
    try {
      size_t used_a = 0, used_b = 0;
      a = std::stoi(item.substr(0, dash), &used_a);
      b = dash == std::string::npos ? a : std::stoi(item.substr(dash + 1), &used_b);
      if (used_a != (dash == std::string::npos ? item.size() : dash) ||
          (dash != std::string::npos && used_b != item.size() - dash - 1))
        throw std::invalid_argument("trailing");
    } catch (const std::exception&) {
      fail("core groups '", spec, "': '", item, "' is not a CPU id or a range like 0-3");
    }
    if (a < 0 || b < a) fail("core groups '", spec, "': '", item, "' is not a valid range");
    CoreGroup g;
    for (int c = a; c <= b; ++c) {
      if (std::find(allowed.begin(), allowed.end(), c) == allowed.end())
        fail("core groups '", spec, "': core ", c, " does not exist or is not available (this process may use cores ",
             core_group_text(allowed), ")");
      if (!used.insert(c).second) fail("core groups '", spec, "': core ", c, " is in two groups");
      g.push_back(c);
    }
    groups.push_back(g);
  }
  if (groups.empty()) fail("core groups '", spec, "' names no core group");
  return groups;
}

CoreGroups split_core_groups(int n) {
  const std::vector<int>& cpus = allowed_cpus();
  if (n < 1) fail("the number of core groups must be at least 1, got ", n);
  if (n > static_cast<int>(cpus.size()))
    fail(n, " core groups need at least ", n, " cores, but this process may use ", cpus.size(), " (",
         core_group_text(cpus), ")");
  CoreGroups groups(n);
  size_t next = 0;
  for (int g = 0; g < n; ++g) {
    const size_t size = cpus.size() / n + (static_cast<size_t>(g) < cpus.size() % n ? 1 : 0);
    for (size_t i = 0; i < size; ++i) groups[g].push_back(cpus[next++]);
  }
  return groups;
}

CoreGroups threads_core_groups(int threads) {
  if (threads <= 0) return {};
  const std::vector<int>& cpus = allowed_cpus();
  return {CoreGroup(cpus.begin(), cpus.begin() + std::min<size_t>(threads, cpus.size()))};
}

std::string core_group_text(const CoreGroup& g) {
  std::string s;
  for (size_t i = 0; i < g.size();) {
    size_t j = i;
    while (j + 1 < g.size() && g[j + 1] == g[j] + 1) ++j;
    s += (s.empty() ? "" : ",") + std::to_string(g[i]) + (j > i ? "-" + std::to_string(g[j]) : "");
    i = j + 1;
  }
  return s;
}

}  // namespace kiln
