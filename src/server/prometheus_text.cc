#include "server/prometheus_text.h"

#include <cmath>
#include <cstdlib>
#include <limits>

#include "kiln/error.h"

namespace kiln::server {
namespace {

constexpr size_t kMaxLine = 64 * 1024, kMaxLabels = 64;

bool name_char(char c, bool first) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' || (!first && c >= '0' && c <= '9');
}

double parse_value(std::string_view s, size_t line) {
  if (s == "+Inf" || s == "Inf") return std::numeric_limits<double>::infinity();
  if (s == "-Inf") return -std::numeric_limits<double>::infinity();
  if (s == "NaN") return std::numeric_limits<double>::quiet_NaN();
  const std::string text(s);
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size()) fail("metrics line ", line, ": '", text, "' is not a number");
  return v;
}

}  // namespace

std::vector<MetricSample> parse_prometheus_text(std::string_view text, size_t max_samples) {
  std::vector<MetricSample> out;
  size_t line_no = 0, at = 0;
  while (at < text.size()) {
    size_t end = text.find('\n', at);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(at, end - at);
    at = end + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || line[0] == '#') continue;
    if (line.size() > kMaxLine) fail("metrics line ", line_no, " is longer than ", kMaxLine, " bytes");
    if (out.size() >= max_samples) fail("more than ", max_samples, " metric samples");
    MetricSample s;
    size_t i = 0;
    while (i < line.size() && name_char(line[i], i == 0)) ++i;
    if (i == 0) fail("metrics line ", line_no, ": no metric name");
    s.name = std::string(line.substr(0, i));
    if (i < line.size() && line[i] == '{') {
      ++i;
      while (i < line.size() && line[i] != '}') {
        size_t k = i;
        while (k < line.size() && name_char(line[k], k == i)) ++k;
        if (k == i || k + 1 >= line.size() || line[k] != '=' || line[k + 1] != '"')
          fail("metrics line ", line_no, ": malformed label at byte ", i);
        const std::string key(line.substr(i, k - i));
        std::string value;
        size_t v = k + 2;
        for (; v < line.size() && line[v] != '"'; ++v) {
          if (line[v] == '\\' && v + 1 < line.size()) {
            ++v;
            value += line[v] == 'n' ? '\n' : line[v];
          } else {
            value += line[v];
          }
        }
        if (v >= line.size()) fail("metrics line ", line_no, ": unterminated label value");
        if (s.labels.size() >= kMaxLabels) fail("metrics line ", line_no, ": more than ", kMaxLabels, " labels");
        s.labels[key] = std::move(value);
        i = v + 1;
        if (i < line.size() && line[i] == ',') ++i;
      }
      if (i >= line.size()) fail("metrics line ", line_no, ": unterminated label set");
      ++i;
    }
    while (i < line.size() && line[i] == ' ') ++i;
    size_t j = i;
    while (j < line.size() && line[j] != ' ') ++j;  // the value; an optional timestamp may follow
    s.value = parse_value(line.substr(i, j - i), line_no);
    out.push_back(std::move(s));
  }
  return out;
}

double histogram_quantile(double q, const std::vector<std::pair<double, double>>& buckets) {
  if (buckets.empty()) return 0;
  const double total = buckets.back().second;
  if (!(total > 0)) return 0;
  const double rank = q * total;
  double prev_bound = 0, prev_count = 0;
  for (const auto& [bound, count] : buckets) {
    if (count >= rank) {
      if (std::isinf(bound)) return prev_bound;  // beyond the last finite bound: the best known
      const double in_bucket = count - prev_count;
      return in_bucket > 0 ? prev_bound + (bound - prev_bound) * (rank - prev_count) / in_bucket : bound;
    }
    prev_bound = std::isinf(bound) ? prev_bound : bound;
    prev_count = count;
  }
  return prev_bound;
}

}  // namespace kiln::server
