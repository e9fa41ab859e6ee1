#include "kiln/wait_policy.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "kiln/error.h"

namespace kiln {
namespace {

WaitPolicy from_env(const char* value) {
  if (!value) return WaitPolicy::runtime_default;
  std::string v(value);
  std::transform(v.begin(), v.end(), v.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (v == "active") return WaitPolicy::active;
  if (v == "passive") return WaitPolicy::passive;
  return WaitPolicy::runtime_default;  // libgomp ignores other values too
}

// OMP_WAIT_POLICY as the process started: read in a static initialiser, like libgomp's own (both run
// before main, before anyone could call setenv).
const char* const g_env_at_start = std::getenv("OMP_WAIT_POLICY");
const WaitPolicy g_started_with = from_env(g_env_at_start);

}  // namespace

const char* wait_policy_name(WaitPolicy policy) {
  switch (policy) {
    case WaitPolicy::active: return "active";
    case WaitPolicy::passive: return "passive";
    default: return "default";
  }
}

WaitPolicy parse_wait_policy(const std::string& name) {
  std::string v(name);
  std::transform(v.begin(), v.end(), v.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (v == "default") return WaitPolicy::runtime_default;
  if (v == "active") return WaitPolicy::active;
  if (v == "passive") return WaitPolicy::passive;
  fail("wait policy '", name, "' is not one of default, active, passive");
}

WaitPolicy current_wait_policy() { return g_started_with; }

void ensure_wait_policy(WaitPolicy policy, char** argv) {
  if (policy == WaitPolicy::runtime_default || policy == g_started_with) {
    unsetenv("KILN_WAIT_POLICY_REEXEC");  // not inherited by the program's own children
    return;
  }
  if (g_env_at_start && from_env(g_env_at_start) != WaitPolicy::runtime_default)
    fail("OMP_WAIT_POLICY=", g_env_at_start, " in the environment conflicts with the wait policy ", wait_policy_name(policy),
         " (unset one of them)");
  // A re-executed process that still does not see the policy would loop: refuse instead.
  if (std::getenv("KILN_WAIT_POLICY_REEXEC")) fail_internal("re-executed with OMP_WAIT_POLICY set, but the OpenMP runtime did not take it");
  setenv("OMP_WAIT_POLICY", policy == WaitPolicy::active ? "ACTIVE" : "PASSIVE", 1);
  setenv("KILN_WAIT_POLICY_REEXEC", "1", 1);
  std::fflush(nullptr);
  execv("/proc/self/exe", argv);
  fail_internal("cannot re-execute the program to apply the wait policy: ", std::strerror(errno));
}

}  // namespace kiln
