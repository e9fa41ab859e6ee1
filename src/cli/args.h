// The CLI's argument parsing, in one place so that every command accepts the same forms and says the same
// thing about a bad one. Each parser throws kiln::Error (exit status 1) with a message naming the flag and
// the text given; tests/e2e/test_bad_input.py checks these messages.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace kiln::cli {

// Options several commands share, declared once so flags, help and checks stay the same everywhere.
// A repeatable option taking one value per occurrence (--input A=a.npy --input B=b.npy).
CLI::Option* add_repeated_option(CLI::App* cmd, const std::string& flags, std::vector<std::string>& values,
                                 const std::string& help);
// --threads N (0 = one per available CPU).
void add_threads_option(CLI::App* cmd, int& threads);
// --wait-policy default|active|passive: how idle OpenMP threads wait (kiln/wait_policy.h). main() applies
// it before the command runs (re-executing kiln when the policy must change).
void add_wait_policy_option(CLI::App* cmd);
// Throws for a negative --threads: "--threads must be >= 0, got -1".
void check_threads(int threads);
// Throws "<what> must be a positive integer, got <v>" unless v > 0 (what: "--batch", "--dim seq").
void require_positive(const std::string& what, int64_t v);

// "1,4,8" -> {1, 4, 8}; "" -> {}. Each item is a whole integer that fits `Int` (leading spaces and a sign
// allowed), else: "--seq '16,x': 'x' is not an integer". Instantiated for int and int64_t.
template <typename Int>
std::vector<Int> parse_int_list(const std::string& flag, const std::string& text);

// "negative,positive" -> {"negative", "positive"}; "" -> {}. An empty item: "--labels 'a,,b' has an empty name".
std::vector<std::string> parse_name_list(const std::string& flag, const std::string& text);

struct NameValue {
  std::string name, value;
};
// "NAME=VALUE", split at the first '=' (the value may hold more). NAME and VALUE must be non-empty, else:
// "<flag> '<spec>' must be <form>", e.g. "--input 'ids.npy' must be NAME=FILE.npy".
NameValue parse_name_value(const std::string& flag, const std::string& spec, const std::string& form);

struct NameInt {
  std::string name;
  int64_t value = 0;
};
// "NAME=123" (--dim): "--dim 'seqlen' must be NAME=VALUE" without a name and '=', "--dim 'seq=x': 'x' is not
// an integer" for a value that is not one (an empty one included).
NameInt parse_name_int(const std::string& flag, const std::string& spec);

}  // namespace kiln::cli
