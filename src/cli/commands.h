// `kiln` subcommands. Each registers its flags on the CLI11 app and returns the function that runs
// it; main.cc is the single error boundary (kiln::Error -> "kiln: error: ..." and exit 1).
#pragma once

#include <functional>
#include <string>

#include <CLI/CLI.hpp>

#include "kiln/topology.h"

namespace kiln::cli {

using Command = std::function<int()>;

Command add_analyze(CLI::App& app);
Command add_compile(CLI::App& app);
Command add_inspect(CLI::App& app);
Command add_run(CLI::App& app);
Command add_bench(CLI::App& app);
Command add_profile(CLI::App& app);
Command add_ls(CLI::App& app);
Command add_tokenize(CLI::App& app);
Command add_eval(CLI::App& app);

// Options several commands share, declared once so flags, help and checks stay the same everywhere.
// A repeatable option taking one value per occurrence (--input A=a.npy --input B=b.npy).
CLI::Option* add_repeated_option(CLI::App* cmd, const std::string& flags, std::vector<std::string>& values,
                                 const std::string& help);
// --threads N (0 = one per available CPU).
void add_threads_option(CLI::App* cmd, int& threads);
// Throws kiln::Error for a negative --threads.
void check_threads(int threads);

// "1.5 MiB"
std::string human_bytes(double bytes);
// Nearest-rank percentile (q in [0, 1]) of unsorted samples; 0 for none. Every latency report uses it.
double percentile(std::vector<double> samples, double q);
// The core group of --threads N: the first N CPUs this process may use (empty for 0: the default).
std::vector<CoreGroup> threads_core_groups(int threads);
// "kiln 0.1.0 (artifact format 1, oneDNN 2.6.3, CPU tier avx512)"
std::string version_line();

}  // namespace kiln::cli
