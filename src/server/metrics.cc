#include "server/metrics.h"

#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

namespace kiln::server {
namespace {

std::string labels(const std::string& model, const std::string& version) {
  return "model=\"" + prometheus_label(model) + "\",version=\"" + prometheus_label(version) + "\"";
}

std::string number(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

void header(std::string& out, const char* name, const char* type, const char* help) {
  out += "# HELP ";
  out += name;
  out += ' ';
  out += help;
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
}

void histogram(std::string& out, const char* name, const std::string& lbl, const Histogram& h) {
  const std::vector<uint64_t> c = h.cumulative();
  for (size_t i = 0; i < h.bounds.size(); ++i)
    out += std::string(name) + "_bucket{" + lbl + ",le=\"" + number(h.bounds[i]) + "\"} " + std::to_string(c[i]) + "\n";
  out += std::string(name) + "_bucket{" + lbl + ",le=\"+Inf\"} " + std::to_string(h.count) + "\n";
  out += std::string(name) + "_sum{" + lbl + "} " + number(h.sum) + "\n";
  out += std::string(name) + "_count{" + lbl + "} " + std::to_string(h.count) + "\n";
}

double resident_bytes() {
  std::ifstream f("/proc/self/statm");
  long pages = 0, resident = 0;
  f >> pages >> resident;
  return static_cast<double>(resident) * static_cast<double>(sysconf(_SC_PAGESIZE));
}

}  // namespace

std::string prometheus_label(const std::string& value) {
  std::string s;
  for (char c : value) {
    if (c == '\\') s += "\\\\";
    else if (c == '"') s += "\\\"";
    else if (c == '\n') s += "\\n";
    else s += c;
  }
  return s;
}

void Metrics::record(const std::string& model, const std::string& version, bool success, double seconds) {
  std::lock_guard<std::mutex> lock(mu_);
  PerModel& m = models_[{model, version}];
  ++(success ? m.success : m.failure);
  m.duration.observe(seconds);
}

void Metrics::record_status(int status) {
  std::lock_guard<std::mutex> lock(mu_);
  ++statuses_[status];
}

std::string Metrics::render(const ModelRepository& repo) const {
  std::string out;
  std::map<std::pair<std::string, std::string>, PerModel> models;
  std::map<int, uint64_t> statuses;
  {
    std::lock_guard<std::mutex> lock(mu_);
    models = models_;
    statuses = statuses_;
  }
  // One snapshot of every Engine's counters, so all series of a scrape agree.
  std::vector<std::pair<std::string, Engine::Stats>> stats;
  for (const auto& m : repo.models()) stats.emplace_back(labels(m->name, m->version), m->engine->stats());
  const PerModel empty;
  auto per_model = [&](const char* name, const char* type, const char* help, auto value) {
    header(out, name, type, help);
    for (size_t i = 0; i < repo.models().size(); ++i) {
      const auto& m = repo.models()[i];
      auto it = models.find({m->name, m->version});
      out += std::string(name) + "{" + stats[i].first + "} " + number(value(it == models.end() ? empty : it->second, stats[i].second)) + "\n";
    }
  };
  per_model("kiln_request_success_total", "counter", "Inference requests answered with outputs.",
            [](const PerModel& p, const Engine::Stats&) { return static_cast<double>(p.success); });
  per_model("kiln_request_failure_total", "counter", "Inference requests answered with an error (bad request, queue full, timeout, failure).",
            [](const PerModel& p, const Engine::Stats&) { return static_cast<double>(p.failure); });
  per_model("kiln_inference_count_total", "counter", "Rows (sequences) computed.",
            [](const PerModel&, const Engine::Stats& s) { return static_cast<double>(s.rows); });
  per_model("kiln_execution_count_total", "counter", "Model calls (batches) executed.",
            [](const PerModel&, const Engine::Stats& s) { return static_cast<double>(s.calls); });
  per_model("kiln_queue_rejected_total", "counter", "Requests refused because the queue was full.",
            [](const PerModel&, const Engine::Stats& s) { return static_cast<double>(s.rejected); });
  per_model("kiln_queue_depth", "gauge", "Requests waiting in the queue now.",
            [](const PerModel&, const Engine::Stats& s) { return static_cast<double>(s.queue_depth); });
  per_model("kiln_requests_in_flight", "gauge", "Requests accepted and not yet answered now.",
            [](const PerModel&, const Engine::Stats& s) { return static_cast<double>(s.in_flight); });

  header(out, "kiln_request_duration_seconds", "histogram", "Inference request time in the server: decode, queue, compute, encode.");
  for (const auto& m : repo.models()) {
    auto it = models.find({m->name, m->version});
    histogram(out, "kiln_request_duration_seconds", labels(m->name, m->version), it == models.end() ? empty.duration : it->second.duration);
  }
  header(out, "kiln_queue_duration_seconds", "histogram", "Time from submission until a request's first model call starts.");
  for (const auto& [lbl, s] : stats) histogram(out, "kiln_queue_duration_seconds", lbl, s.queue_time);
  header(out, "kiln_compute_duration_seconds", "histogram", "Time per model call: loading inputs, every step, copying outputs.");
  for (const auto& [lbl, s] : stats) histogram(out, "kiln_compute_duration_seconds", lbl, s.compute_time);
  header(out, "kiln_batch_size", "histogram", "Request rows per model call.");
  for (const auto& [lbl, s] : stats) histogram(out, "kiln_batch_size", lbl, s.call_rows);

  header(out, "kiln_http_responses_total", "counter", "HTTP responses by status code.");
  for (const auto& [code, n] : statuses) out += "kiln_http_responses_total{code=\"" + std::to_string(code) + "\"} " + std::to_string(n) + "\n";

  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  const double cpu = static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
                     static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
  header(out, "process_cpu_seconds_total", "counter", "User and system CPU time of the server process.");
  out += "process_cpu_seconds_total " + number(cpu) + "\n";
  header(out, "process_resident_memory_bytes", "gauge", "Resident memory of the server process.");
  out += "process_resident_memory_bytes " + number(resident_bytes()) + "\n";
  return out;
}

}  // namespace kiln::server
