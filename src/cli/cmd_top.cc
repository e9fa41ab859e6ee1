// kiln top: a live view of a running `kiln serve`, read from its /metrics: per model version the request
// rate, p50/p99 latency, queue, batch size and failures over each interval, and the server's CPU and
// memory, redrawn in place. The computing is server/top_view.h; this file fetches and prints.
#include <chrono>
#include <cstdio>
#include <thread>

#include "cli/commands.h"
#include "kiln/error.h"
#include "server/http_client.h"
#include "server/prometheus_text.h"
#include "server/top_view.h"

namespace kiln::cli {
namespace {

struct TopArgs {
  std::string url = "http://127.0.0.1:8000";
  double interval_s = 2;
  int frames = 0;  // 0: until interrupted
  bool once = false;
};

int top(const TopArgs& a) {
  if (!(a.interval_s > 0)) fail("--interval-s must be > 0, got ", a.interval_s);
  if (a.frames < 0) fail("--frames must be >= 0, got ", a.frames);
  const std::string metrics = a.url + (a.url.size() && a.url.back() == '/' ? "metrics" : "/metrics");
  auto scrape = [&] { return server::parse_prometheus_text(server::http_get(metrics)); };
  std::vector<server::MetricSample> before = scrape();
  auto t0 = std::chrono::steady_clock::now();
  const int frames = a.once ? 1 : a.frames;
  for (int n = 0; frames == 0 || n < frames; ++n) {
    std::this_thread::sleep_for(std::chrono::duration<double>(a.interval_s));
    std::vector<server::MetricSample> after = scrape();
    const auto t1 = std::chrono::steady_clock::now();
    const double dt = std::chrono::duration<double>(t1 - t0).count();
    const std::string view = server::render_top(server::top_frame(before, after, dt), a.url, a.interval_s);
    // Redraw in place on a terminal (cursor home, clear); plain frames one after another otherwise.
    if (!a.once && frames != 1) std::fputs("\033[H\033[2J", stdout);
    std::fputs(view.c_str(), stdout);
    std::fflush(stdout);
    before = std::move(after);
    t0 = t1;
  }
  return 0;
}

}  // namespace

Command add_top(CLI::App& app) {
  auto args = std::make_shared<TopArgs>();
  CLI::App* cmd = app.add_subcommand("top", "Live view of a running kiln serve: requests/s, p50/p99, queue, batch size, CPU and memory per model");
  cmd->add_option("--url", args->url, "The server (default http://127.0.0.1:8000); reads its /metrics");
  cmd->add_option("--interval-s", args->interval_s, "Seconds between refreshes (default 2)");
  cmd->add_option("--frames", args->frames, "Stop after this many refreshes (default: until Ctrl-C)");
  cmd->add_flag("--once", args->once, "Print one frame (one interval) without redrawing, and exit");
  return [args]() { return top(*args); };
}

}  // namespace kiln::cli
