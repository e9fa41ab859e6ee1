#include "cli/args.h"

#include <limits>
#include <sstream>

#include "kiln/error.h"

namespace kiln::cli {
namespace {

// std::stoll's forms (leading spaces, a sign), the whole text consumed, within Int's range.
template <typename Int>
bool to_integer(const std::string& text, Int* out) {
  try {
    size_t used = 0;
    const long long v = std::stoll(text, &used);
    if (used != text.size() || v < std::numeric_limits<Int>::min() || v > std::numeric_limits<Int>::max()) return false;
    *out = static_cast<Int>(v);
    return true;
  } catch (const std::exception&) {
    return false;
  }
}

std::vector<std::string> split_commas(const std::string& text) {
  std::vector<std::string> items;
  std::stringstream ss(text);
  for (std::string item; std::getline(ss, item, ',');) items.push_back(item);
  return items;
}

}  // namespace

CLI::Option* add_repeated_option(CLI::App* cmd, const std::string& flags, std::vector<std::string>& values,
                                 const std::string& help) {
  return cmd->add_option(flags, values, help)->expected(1)->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
}

void add_threads_option(CLI::App* cmd, int& threads) {
  cmd->add_option("--threads", threads, "Intra-op threads (default: one per available CPU)");
}

void add_wait_policy_option(CLI::App* cmd) {
  cmd->add_option("--wait-policy", "How idle OpenMP threads wait: default, active (spin) or passive (sleep)")
      ->type_name("POLICY");
}

void check_threads(int threads) {
  if (threads < 0) fail("--threads must be >= 0, got ", threads);
}

void require_positive(const std::string& what, int64_t v) {
  if (v <= 0) fail(what, " must be a positive integer, got ", v);
}

template <typename Int>
std::vector<Int> parse_int_list(const std::string& flag, const std::string& text) {
  std::vector<Int> values;
  for (const std::string& item : split_commas(text)) {
    Int v = 0;
    if (!to_integer(item, &v)) fail(flag, " '", text, "': '", item, "' is not an integer");
    values.push_back(v);
  }
  return values;
}
template std::vector<int> parse_int_list<int>(const std::string&, const std::string&);
template std::vector<int64_t> parse_int_list<int64_t>(const std::string&, const std::string&);

std::vector<std::string> parse_name_list(const std::string& flag, const std::string& text) {
  std::vector<std::string> names = split_commas(text);
  for (const std::string& n : names)
    if (n.empty()) fail(flag, " '", text, "' has an empty name");
  return names;
}

NameValue parse_name_value(const std::string& flag, const std::string& spec, const std::string& form) {
  const size_t eq = spec.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == spec.size()) fail(flag, " '", spec, "' must be ", form);
  return {spec.substr(0, eq), spec.substr(eq + 1)};
}

NameInt parse_name_int(const std::string& flag, const std::string& spec) {
  const size_t eq = spec.find('=');
  if (eq == std::string::npos || eq == 0) fail(flag, " '", spec, "' must be NAME=VALUE");
  NameInt r{spec.substr(0, eq), 0};
  if (!to_integer(spec.substr(eq + 1), &r.value)) fail(flag, " '", spec, "': '", spec.substr(eq + 1), "' is not an integer");
  return r;
}

}  // namespace kiln::cli
