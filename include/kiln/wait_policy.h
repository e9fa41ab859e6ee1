// How idle OpenMP worker threads wait between parallel regions, chosen by the program that embeds Kiln.
//
//   active   spin: the lowest latency for back-to-back kernel calls, but an idle team keeps its cores busy
//            (benchmarks, batch jobs that own the machine);
//   passive  sleep at once: no CPU when idle, a few microseconds more to wake (servers, embedders whose
//            model is idle most of the time, machines shared with other work);
//   runtime_default  leave OpenMP's default (libgomp: spin about 300k iterations, then sleep).
//
// The OpenMP runtime (libgomp) reads OMP_WAIT_POLICY once, when it is loaded, which for a program linked
// with Kiln is before main(); setting the variable later changes nothing. So the policy belongs to the
// process: ensure_wait_policy() re-executes the program with the variable set when it must.
//
//   int main(int argc, char** argv) {
//     kiln::ensure_wait_policy(kiln::WaitPolicy::passive, argv);  // first thing, before any thread starts
//     ...
//   }
//
// Python: set os.environ["OMP_WAIT_POLICY"] before the extension (or anything else using libgomp) loads.
#pragma once

#include <string>

namespace kiln {

enum class WaitPolicy { runtime_default, active, passive };

const char* wait_policy_name(WaitPolicy policy);  // "default", "active", "passive"
// "default", "active" or "passive" (any case); throws InvalidInputError listing them.
WaitPolicy parse_wait_policy(const std::string& name);

// The policy this process's OpenMP runtime started with (OMP_WAIT_POLICY as it was at load time).
WaitPolicy current_wait_policy();

// Makes this process run with `policy`. Returns at once when it already does, or for runtime_default
// (which keeps whatever the environment chose). Otherwise sets OMP_WAIT_POLICY and re-executes the
// program (/proc/self/exe with `argv` and the environment), so it does not return. Call it first in
// main(), before threads exist and before output is written. An explicit OMP_WAIT_POLICY in the
// environment that names another policy is a conflict: throws InvalidInputError. Throws InternalError
// when the program cannot be re-executed.
void ensure_wait_policy(WaitPolicy policy, char** argv);

}  // namespace kiln
