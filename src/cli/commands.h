// `kiln` subcommands. Each registers its flags on the CLI11 app and returns the function that runs
// it; main.cc is the single error boundary (kiln::Error -> "kiln: error: ..." and exit 1).
#pragma once

#include <functional>
#include <string>

#include <CLI/CLI.hpp>

#include "cli/args.h"

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
Command add_serve(CLI::App& app);
Command add_top(CLI::App& app);
Command add_tune(CLI::App& app);

// "1.5 MiB"
std::string human_bytes(double bytes);

}  // namespace kiln::cli
