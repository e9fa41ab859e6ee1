// kiln/bench.h: sessions back to back (bench) and the Engine under concurrent clients (bench_sweep).
#include "kiln/bench.h"

#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <fstream>
#include <memory>
#include <thread>

#include <nlohmann/json.hpp>

#include "kiln/engine.h"
#include "kiln/error.h"
#include "kiln/model.h"
#include "kiln/sample_inputs.h"
#include "kiln/session.h"
#include "kiln/stats.h"
#include "kiln/topology.h"
#include "kiln/version.h"
#include "kiln/wait_policy.h"

namespace kiln {
namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t0, Clock::time_point t1) { return std::chrono::duration<double, std::milli>(t1 - t0).count(); }

LatencyStats latency_of(std::vector<double> ms) {
  LatencyStats s;
  if (ms.empty()) return s;
  std::sort(ms.begin(), ms.end());
  double sum = 0;
  for (double v : ms) sum += v;
  s.p50 = percentile(ms, 0.50);
  s.p90 = percentile(ms, 0.90);
  s.p99 = percentile(ms, 0.99);
  s.max = ms.back();
  s.min = ms.front();
  s.mean = sum / static_cast<double>(ms.size());
  return s;
}

nlohmann::json latency_json(const LatencyStats& l, bool full) {
  nlohmann::json j = {{"p50", l.p50}, {"p90", l.p90}, {"p99", l.p99}};
  if (full) j.update({{"max", l.max}, {"min", l.min}, {"mean", l.mean}});
  return j;
}

double peak_rss_mb() {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_maxrss) / 1024.0;
}

double cpu_seconds() {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         1e-6 * static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

double rss_mib() {
  std::ifstream f("/proc/self/status");
  for (std::string line; std::getline(f, line);)
    if (line.rfind("VmRSS:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  return 0;
}

std::string specs_text(const std::vector<TensorSpec>& specs) {
  std::string s;
  for (const TensorSpec& t : specs) s += (s.empty() ? "" : ", ") + t.name + ": " + dtype_name(t.dtype) + dims_to_string(t.dims);
  return s;
}

void check_seconds(double seconds) {
  if (!(seconds > 0) || seconds > 86400) fail("seconds must be in (0, 86400], got ", seconds);
}

// One artifact under measurement.
struct Measured {
  std::unique_ptr<Session> session;
  std::unique_ptr<Engine> engine;  // BenchOptions::engine: the timed calls go through it
  std::vector<double> ms;  // per call, over all rounds
  double seconds = 0;
  std::vector<NamedTensor> outputs;
};

void measure(Measured& m, const std::vector<NamedTensor>& inputs, double seconds) {
  const Clock::time_point start = Clock::now();
  double elapsed = 0;
  size_t calls = 0;
  while (elapsed < seconds || calls < 3) {
    const Clock::time_point t0 = Clock::now();
    if (m.engine) m.outputs = m.engine->run(inputs);
    else m.session->run(inputs, m.outputs);
    const Clock::time_point t1 = Clock::now();
    m.ms.push_back(ms_since(t0, t1));
    elapsed = std::chrono::duration<double>(t1 - start).count();
    ++calls;
  }
  m.seconds += elapsed;
}

// `rows` rows made by cycling the rows of `sample` (tensors with rows on axis 0).
std::vector<NamedTensor> request_of(const std::vector<NamedTensor>& sample, int64_t rows) {
  std::vector<NamedTensor> out;
  for (const NamedTensor& s : sample) {
    Dims d = s.tensor.dims();
    const int64_t have = d.empty() ? 1 : d[0];
    const int64_t row_bytes = have > 0 ? static_cast<int64_t>(s.tensor.nbytes()) / have : 0;
    if (d.empty() || have == 0) {
      out.push_back(s);
      continue;
    }
    d[0] = rows;
    Tensor t(s.tensor.dtype(), d);
    for (int64_t r = 0; r < rows; ++r)
      std::memcpy(static_cast<char*>(t.data()) + r * row_bytes, static_cast<const char*>(s.tensor.data()) + (r % have) * row_bytes,
                  static_cast<size_t>(row_bytes));
    out.push_back({s.name, std::move(t)});
  }
  return out;
}

void check_list(const char* field, const std::vector<int>& v) {
  if (v.empty()) fail(field, " must list at least one value");
  for (int x : v)
    if (x < 1) fail(field, " values must be at least 1, got ", x);
}

}  // namespace

BenchReport bench(const std::vector<std::string>& artifacts, const BenchOptions& o) {
  if (artifacts.empty()) fail("give at least one artifact to benchmark");
  check_seconds(o.seconds);
  if (o.warmup < 0) fail("warmup must be >= 0, got ", o.warmup);
  if (o.rounds < 0) fail("rounds must be >= 0, got ", o.rounds);
  if (o.threads < 0) fail("threads must be >= 0, got ", o.threads);
  // Each engine owns an OpenMP team on its own thread: engines of several artifacts alive at once would
  // make libgomp throttle its spinning for all of them (see the Engine's constructor), biasing the timing.
  if (o.engine && artifacts.size() > 1)
    fail("engine mode times one artifact at a time, got ", artifacts.size(), " (compare precisions on sessions)");
  SessionOptions so;
  so.threads = o.threads;
  std::vector<Measured> m(artifacts.size());
  auto specs_of = [&](const Measured& x) { return x.engine ? x.engine->inputs() : x.session->inputs(); };
  for (size_t i = 0; i < artifacts.size(); ++i) {
    if (o.engine) {
      // No session on this thread: an OpenMP team of its own would compete with the engine's (see the
      // Engine's constructor). The accuracy check makes sessions after the timing.
      EngineOptions eo;
      eo.core_groups = threads_core_groups(o.threads);
      m[i].engine = std::make_unique<Engine>(Model::open(artifacts[i]), eo);
    } else {
      m[i].session = std::make_unique<Session>(artifacts[i], so);
    }
    if (i > 0 && specs_text(specs_of(m[i])) != specs_text(specs_of(m[0])))
      fail("'", artifacts[i], "' takes inputs (", specs_text(specs_of(m[i])), ") that differ from '", artifacts[0], "' (",
           specs_text(specs_of(m[0])), "): compare artifacts of one model compiled for the same shapes");
  }
  // The given inputs, and generated ones for every input not given.
  std::vector<NamedTensor> inputs;
  for (const NamedTensor& in : o.inputs) inputs.push_back(in);  // shares the caller's buffer (inputs are only read)
  for (NamedTensor& made : m[0].engine ? make_sample_inputs(*m[0].engine) : make_sample_inputs(*m[0].session)) {
    bool given = false;
    for (const NamedTensor& in : o.inputs) given |= in.name == made.name;
    if (!given) inputs.push_back(std::move(made));
  }
  BenchReport r;
  r.rounds = o.rounds > 0 ? o.rounds : (artifacts.size() > 1 ? 3 : 1);
  r.warmup = o.warmup;
  for (Measured& x : m)
    for (int i = 0; i < o.warmup; ++i) {
      if (x.engine) x.outputs = x.engine->run(inputs);
      else x.session->run(inputs, x.outputs);
    }
  for (int round = 0; round < r.rounds; ++round)
    for (Measured& x : m) measure(x, inputs, o.seconds / r.rounds);

  for (size_t i = 0; i < m.size(); ++i) {
    const ModelInfo& info = (m[i].engine ? m[i].engine->model() : m[i].session->model())->info();
    BenchRun run;
    run.artifact = artifacts[i];
    run.precision = info.precision;
    const nlohmann::json meta = nlohmann::json::parse(info.metadata_json);
    run.options_json = meta.value("options", nlohmann::json::object()).dump();
    run.batch = info.batch;
    run.seq = meta.value("options", nlohmann::json::object()).value("seq", int64_t{0});
    // An engine's one replica runs on its core group: --threads N CPUs, or every allowed one.
    run.threads = m[i].engine ? (o.threads > 0 ? std::min<int>(o.threads, static_cast<int>(allowed_cpus().size()))
                                               : static_cast<int>(allowed_cpus().size()))
                              : m[i].session->threads();
    run.engine = o.engine;
    run.iterations = m[i].ms.size();
    run.seconds = m[i].seconds;
    run.throughput = static_cast<double>(run.iterations * static_cast<size_t>(std::max<int64_t>(run.batch, 1))) / run.seconds;
    run.latency_ms = latency_of(m[i].ms);
    r.runs.push_back(std::move(run));
  }
  // Accuracy against the baseline, on the measured inputs plus three more generated batches.
  for (size_t i = m.size(); i-- > 0;)
    if (r.runs[i].precision == "fp32") r.baseline = i;
  if (m.size() > 1) {
    Session& first = *m[0].session;
    std::vector<std::vector<NamedTensor>> check;
    check.push_back(std::move(inputs));
    if (o.inputs.empty())
      for (uint64_t seed = 2; seed <= 4; ++seed) check.push_back(make_sample_inputs(first, seed * kDefaultSampleSeed));
    for (size_t i = 0; i < m.size(); ++i) r.runs[i].vs_baseline = compare_sessions(*m[i].session, *m[r.baseline].session, check);
  }
  r.peak_rss_mb = peak_rss_mb();
  r.cpu_tier = kernel_tier();
  r.wait_policy = wait_policy_name(current_wait_policy());
  return r;
}

std::string bench_json(const BenchReport& r) {
  nlohmann::json runs = nlohmann::json::array();
  for (const BenchRun& run : r.runs) {
    nlohmann::json j = {
        {"artifact", run.artifact},
        {"batch", run.batch},
        {"seq", run.seq},
        {"threads", run.threads},
        {"precision", run.precision},
        {"seconds", run.seconds},
        {"iterations", run.iterations},
        {"warmup", r.warmup},
        {"throughput", run.throughput},
        {"latency_ms", latency_json(run.latency_ms, true)},
        {"peak_rss_mb", r.peak_rss_mb},
        {"options", nlohmann::json::parse(run.options_json)},
        {"kiln_version", version()},
        {"cpu_tier", r.cpu_tier},
        {"wait_policy", r.wait_policy},
        {"path", run.engine ? "engine" : "session"},
    };
    if (r.runs.size() > 1) {
      const CompileReport::Verification& v = run.vs_baseline;
      j["vs_baseline"] = {{"baseline", r.runs[r.baseline].artifact}, {"max_abs_error", v.max_abs_error},
                          {"max_rel_error", v.max_rel_error}, {"cosine", v.min_cosine},
                          {"argmax_agreement", v.argmax_agreement}, {"samples", v.samples}};
    }
    runs.push_back(std::move(j));
  }
  if (r.runs.size() == 1) return runs[0].dump(2) + "\n";
  return nlohmann::json({{"runs", runs}, {"baseline", r.runs[r.baseline].artifact}, {"rounds", r.rounds}}).dump(2) + "\n";
}

SweepReport bench_sweep(const SweepOptions& o, const std::function<void(const std::string&)>& progress) {
  if (o.artifacts.empty()) fail("give at least one artifact to sweep");
  check_seconds(o.seconds);
  std::vector<int> batches = o.batch;
  if (batches.empty()) batches = {static_cast<int>(std::max<int64_t>(Model::open(o.artifacts[0])->info().batch, 1))};
  check_list("batch", batches);
  check_list("instances", o.instances);
  check_list("pipeline", o.pipeline);
  check_list("concurrency", o.concurrency);
  if (o.max_delay_us < 0) fail("max_delay_us must be >= 0, got ", o.max_delay_us);
  if (!(o.cost_per_hour >= 0)) fail("cost_per_hour must be >= 0, got ", o.cost_per_hour);
  if (!(o.latency_budget_ms >= 0)) fail("latency_budget_ms must be >= 0, got ", o.latency_budget_ms);
  SweepReport r;
  r.cores = static_cast<int>(allowed_cpus().size());
  r.cost_per_hour = o.cost_per_hour;
  r.latency_budget_ms = o.latency_budget_ms;
  r.seconds = o.seconds;
  // Placements that fit the machine: instances x pipeline core groups of at least one core each.
  std::vector<std::pair<int, int>> placements;
  for (int i : o.instances)
    for (int p : o.pipeline) {
      if (i * p <= r.cores) placements.emplace_back(i, p);
      else r.skipped.push_back(str("instances ", i, " x pipeline ", p, ": needs ", i * p, " core groups, this process may use ", r.cores, " cores"));
    }
  if (placements.empty()) fail("no combination of instances and pipeline fits the ", r.cores, " cores this process may use");
  const size_t total = o.artifacts.size() * batches.size() * placements.size() * o.concurrency.size();
  size_t n = 0;
  for (const std::string& art : o.artifacts)
    for (const auto& [inst, pipe] : placements) {
      EngineOptions eo;
      eo.instances = inst;
      eo.pipeline_stages = pipe;
      eo.max_queue_delay_us = o.max_delay_us;
      Engine engine(art, eo);
      const std::vector<NamedTensor> sample = make_sample_inputs(engine);
      for (int batch : batches)
        for (int conc : o.concurrency) {
          ++n;
          if (progress)
            progress(str("[", n, "/", total, "] ", art, " batch ", batch, ", instances ", inst, ", pipeline ", pipe, ", concurrency ", conc, " ..."));
          const std::vector<NamedTensor> request = request_of(sample, batch);
          for (int w = 0; w < std::max(1, inst); ++w) engine.run(request);  // warm every replica's pages
          std::vector<std::vector<double>> lat(conc);
          std::atomic<bool> stop{false};
          const double cpu0 = cpu_seconds();
          const Clock::time_point t0 = Clock::now();
          std::vector<std::thread> clients;
          for (int c = 0; c < conc; ++c)
            clients.emplace_back([&, c] {
              while (!stop.load()) {
                const Clock::time_point a = Clock::now();
                engine.submit(request_of(request, batch)).get();
                lat[c].push_back(ms_since(a, Clock::now()));
              }
            });
          std::this_thread::sleep_for(std::chrono::duration<double>(o.seconds));
          stop = true;
          for (std::thread& t : clients) t.join();
          const double wall = std::chrono::duration<double>(Clock::now() - t0).count();
          const double cpu = cpu_seconds() - cpu0;
          std::vector<double> all;
          for (auto& l : lat) all.insert(all.end(), l.begin(), l.end());
          SweepRow row;
          row.artifact = art;
          row.batch = batch;
          row.instances = inst;
          row.pipeline = pipe;
          row.concurrency = conc;
          row.max_delay_us = o.max_delay_us;
          row.requests = all.size();
          row.seconds = wall;
          row.throughput = static_cast<double>(all.size()) * batch / wall;
          row.requests_per_s = static_cast<double>(all.size()) / wall;
          row.latency_ms = latency_of(all);
          row.cpu_utilization = cpu / (wall * r.cores);
          row.rss_mb = rss_mib();
          row.model_calls = engine.stats().calls;
          row.cost_per_million = row.throughput > 0 ? o.cost_per_hour / (row.throughput * 3600.0) * 1e6 : 0.0;
          r.rows.push_back(std::move(row));
        }
    }
  // The best row under the budget: the highest throughput whose p99 fits.
  for (size_t i = 0; i < r.rows.size(); ++i) {
    if (o.latency_budget_ms > 0 && r.rows[i].latency_ms.p99 > o.latency_budget_ms) continue;
    if (r.best < 0 || r.rows[i].throughput > r.rows[r.best].throughput) r.best = static_cast<int>(i);
  }
  if (r.best >= 0) r.rows[r.best].best = true;
  return r;
}

std::string sweep_json(const SweepReport& r) {
  nlohmann::json rows = nlohmann::json::array();
  for (const SweepRow& x : r.rows)
    rows.push_back({{"artifact", x.artifact}, {"batch", x.batch}, {"instances", x.instances}, {"pipeline", x.pipeline},
                    {"concurrency", x.concurrency}, {"max_delay_us", x.max_delay_us}, {"requests", x.requests},
                    {"seconds", x.seconds}, {"throughput", x.throughput}, {"requests_per_s", x.requests_per_s},
                    {"latency_ms", latency_json(x.latency_ms, false)}, {"cpu_utilization", x.cpu_utilization},
                    {"rss_mb", x.rss_mb}, {"model_calls", x.model_calls}, {"cost_per_million", x.cost_per_million},
                    {"best", x.best}});
  return nlohmann::json({{"rows", rows}, {"cost_per_hour", r.cost_per_hour}, {"latency_budget_ms", r.latency_budget_ms},
                         {"cores", r.cores}}).dump(2) + "\n";
}

}  // namespace kiln
