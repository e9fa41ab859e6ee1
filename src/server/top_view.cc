#include "server/top_view.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

namespace kiln::server {
namespace {

using Key = std::pair<std::string, std::string>;  // model, version

double value_of(const std::vector<MetricSample>& s, const std::string& name) {
  for (const MetricSample& m : s)
    if (m.name == name && m.labels.empty()) return m.value;
  return 0;
}

// name{model, version} -> value (summed over other labels).
std::map<Key, double> per_model(const std::vector<MetricSample>& s, const std::string& name) {
  std::map<Key, double> out;
  for (const MetricSample& m : s) {
    if (m.name != name) continue;
    auto mi = m.labels.find("model"), vi = m.labels.find("version");
    if (mi == m.labels.end() || vi == m.labels.end()) continue;
    out[{mi->second, vi->second}] += m.value;
  }
  return out;
}

// name_bucket{model, version, le} -> sorted (le, cumulative count).
std::map<Key, std::vector<std::pair<double, double>>> buckets(const std::vector<MetricSample>& s, const std::string& name) {
  std::map<Key, std::vector<std::pair<double, double>>> out;
  for (const MetricSample& m : s) {
    if (m.name != name + "_bucket") continue;
    auto mi = m.labels.find("model"), vi = m.labels.find("version"), le = m.labels.find("le");
    if (mi == m.labels.end() || vi == m.labels.end() || le == m.labels.end()) continue;
    const double bound = le->second == "+Inf" ? INFINITY : std::strtod(le->second.c_str(), nullptr);
    out[{mi->second, vi->second}].emplace_back(bound, m.value);
  }
  for (auto& [k, v] : out) std::sort(v.begin(), v.end());
  return out;
}

double at(const std::map<Key, double>& m, const Key& k) {
  auto it = m.find(k);
  return it == m.end() ? 0 : it->second;
}

}  // namespace

TopFrame top_frame(const std::vector<MetricSample>& before, const std::vector<MetricSample>& after, double seconds) {
  TopFrame f;
  const double dt = seconds > 0 ? seconds : 1;
  const auto ok0 = per_model(before, "kiln_request_success_total"), ok1 = per_model(after, "kiln_request_success_total");
  const auto bad0 = per_model(before, "kiln_request_failure_total"), bad1 = per_model(after, "kiln_request_failure_total");
  const auto rows0 = per_model(before, "kiln_inference_count_total"), rows1 = per_model(after, "kiln_inference_count_total");
  const auto bs0 = per_model(before, "kiln_batch_size_sum"), bs1 = per_model(after, "kiln_batch_size_sum");
  const auto bc0 = per_model(before, "kiln_batch_size_count"), bc1 = per_model(after, "kiln_batch_size_count");
  const auto queue = per_model(after, "kiln_queue_depth"), flight = per_model(after, "kiln_requests_in_flight");
  const auto d0 = buckets(before, "kiln_request_duration_seconds"), d1 = buckets(after, "kiln_request_duration_seconds");
  for (const auto& [key, v] : ok1) {
    ModelTop t;
    t.model = key.first;
    t.version = key.second;
    t.requests_per_s = (v - at(ok0, key) + at(bad1, key) - at(bad0, key)) / dt;
    t.failures_per_s = (at(bad1, key) - at(bad0, key)) / dt;
    t.rows_per_s = (at(rows1, key) - at(rows0, key)) / dt;
    const double calls = at(bc1, key) - at(bc0, key);
    if (calls > 0) t.batch_rows = (at(bs1, key) - at(bs0, key)) / calls;
    t.queue_depth = at(queue, key);
    t.in_flight = at(flight, key);
    auto it1 = d1.find(key);
    if (it1 != d1.end()) {
      std::vector<std::pair<double, double>> delta = it1->second;
      auto it0 = d0.find(key);
      if (it0 != d0.end() && it0->second.size() == delta.size())
        for (size_t i = 0; i < delta.size(); ++i) delta[i].second -= it0->second[i].second;
      if (!delta.empty() && delta.back().second > 0) {
        t.p50_ms = 1000 * histogram_quantile(0.5, delta);
        t.p99_ms = 1000 * histogram_quantile(0.99, delta);
      }
    }
    f.models.push_back(t);
  }
  f.cpu_percent = 100 * (value_of(after, "process_cpu_seconds_total") - value_of(before, "process_cpu_seconds_total")) / dt;
  f.rss_mib = value_of(after, "process_resident_memory_bytes") / (1024.0 * 1024.0);
  return f;
}

std::string render_top(const TopFrame& f, const std::string& url, double seconds) {
  std::string out;
  char buf[256];
  std::snprintf(buf, sizeof buf, "kiln top  %s  every %.1f s  CPU %.0f%%  RSS %.0f MiB\n\n", url.c_str(), seconds, f.cpu_percent, f.rss_mib);
  out += buf;
  std::snprintf(buf, sizeof buf, "%-24s %8s %9s %9s %9s %9s %7s %9s %9s\n", "MODEL/VERSION", "REQ/S", "FAIL/S", "P50 MS",
                "P99 MS", "ROWS/S", "QUEUE", "IN FLIGHT", "BATCH");
  out += buf;
  auto num = [](double v, const char* fmt) {
    char b[32];
    if (v < 0) return std::string("-");
    std::snprintf(b, sizeof b, fmt, v);
    return std::string(b);
  };
  for (const ModelTop& t : f.models) {
    const std::string name = t.model + "/" + t.version;
    std::snprintf(buf, sizeof buf, "%-24s %8s %9s %9s %9s %9s %7s %9s %9s\n", name.c_str(), num(t.requests_per_s, "%.1f").c_str(),
                  num(t.failures_per_s, "%.1f").c_str(), num(t.p50_ms, "%.1f").c_str(), num(t.p99_ms, "%.1f").c_str(),
                  num(t.rows_per_s, "%.1f").c_str(), num(t.queue_depth, "%.0f").c_str(), num(t.in_flight, "%.0f").c_str(),
                  num(t.batch_rows, "%.2f").c_str());
    out += buf;
  }
  if (f.models.empty()) out += "(no models in the metrics)\n";
  return out;
}

}  // namespace kiln::server
