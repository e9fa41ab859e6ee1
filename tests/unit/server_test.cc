// The server's pure pieces: the Prometheus text reader and histogram quantiles behind `kiln top`, the
// top view's rates, and the metrics the server writes read back by that reader.
#include <gtest/gtest.h>

#include <cmath>

#include "kiln/error.h"
#include "kiln/stats.h"
#include "server/prometheus_text.h"
#include "server/top_view.h"

namespace kiln::server {
namespace {

TEST(PrometheusText, ReadsSamplesLabelsAndEscapes) {
  const auto s = parse_prometheus_text(
      "# HELP x A thing.\n# TYPE x counter\nx 3\n\ny{model=\"a\\\"b\",le=\"+Inf\"} 2.5e3 1700000000\r\nz{} NaN\n");
  ASSERT_EQ(s.size(), 3u);
  EXPECT_EQ(s[0].name, "x");
  EXPECT_EQ(s[0].value, 3);
  EXPECT_EQ(s[1].labels.at("model"), "a\"b");
  EXPECT_EQ(s[1].labels.at("le"), "+Inf");
  EXPECT_EQ(s[1].value, 2500);
  EXPECT_TRUE(std::isnan(s[2].value));
}

TEST(PrometheusText, RefusesMalformedLinesNamingThem) {
  for (const char* bad : {"{a=\"1\"} 2\n", "x{a=1} 2\n", "x{a=\"1\" 2\n", "x 1\nx two\n", "x{a=\"1} 2\n"}) {
    try {
      parse_prometheus_text(bad);
      ADD_FAILURE() << "accepted: " << bad;
    } catch (const InvalidInputError& e) {
      EXPECT_NE(std::string(e.what()).find("metrics line"), std::string::npos) << e.what();
    }
  }
  EXPECT_THROW(parse_prometheus_text("a 1\nb 2\n", 1), InvalidInputError);
}

TEST(PrometheusText, HistogramQuantileInterpolatesWithinTheBucket) {
  // 10 observations <= 1, 30 more <= 2, none beyond.
  const std::vector<std::pair<double, double>> b = {{1, 10}, {2, 40}, {INFINITY, 40}};
  EXPECT_DOUBLE_EQ(histogram_quantile(0.25, b), 1.0);
  EXPECT_DOUBLE_EQ(histogram_quantile(0.5, b), 1 + (20.0 - 10) / 30);
  EXPECT_DOUBLE_EQ(histogram_quantile(0.125, b), 0.5);
  EXPECT_EQ(histogram_quantile(0.5, {{1, 0}, {INFINITY, 0}}), 0);
  EXPECT_EQ(histogram_quantile(0.99, {{1, 0}, {INFINITY, 5}}), 1);  // all beyond the last bound
}

TEST(TopView, RatesAndPercentilesOverTheInterval) {
  Histogram h(latency_buckets_seconds());
  const auto text = [&](double ok, double bad, double rows, double calls) {
    std::string t = "kiln_request_success_total{model=\"m\",version=\"1\"} " + std::to_string(ok) + "\n";
    t += "kiln_request_failure_total{model=\"m\",version=\"1\"} " + std::to_string(bad) + "\n";
    t += "kiln_inference_count_total{model=\"m\",version=\"1\"} " + std::to_string(rows) + "\n";
    t += "kiln_batch_size_sum{model=\"m\",version=\"1\"} " + std::to_string(rows) + "\n";
    t += "kiln_batch_size_count{model=\"m\",version=\"1\"} " + std::to_string(calls) + "\n";
    t += "kiln_queue_depth{model=\"m\",version=\"1\"} 3\n";
    const auto c = h.cumulative();
    for (size_t i = 0; i < h.bounds.size(); ++i)
      t += "kiln_request_duration_seconds_bucket{model=\"m\",version=\"1\",le=\"" + std::to_string(h.bounds[i]) + "\"} " + std::to_string(c[i]) + "\n";
    t += "kiln_request_duration_seconds_bucket{model=\"m\",version=\"1\",le=\"+Inf\"} " + std::to_string(h.count) + "\n";
    t += "process_cpu_seconds_total " + std::to_string(ok / 100) + "\nprocess_resident_memory_bytes 104857600\n";
    return parse_prometheus_text(t);
  };
  for (int i = 0; i < 5; ++i) h.observe(0.2);  // before the interval: slow
  const auto before = text(5, 0, 5, 5);
  for (int i = 0; i < 95; ++i) h.observe(0.003);  // in it: fast
  for (int i = 0; i < 5; ++i) h.observe(0.04);
  const TopFrame f = top_frame(before, text(100, 10, 105, 30), 2.0);
  ASSERT_EQ(f.models.size(), 1u);
  const ModelTop& t = f.models[0];
  EXPECT_EQ(t.model, "m");
  EXPECT_DOUBLE_EQ(t.requests_per_s, (95 + 10) / 2.0);
  EXPECT_DOUBLE_EQ(t.failures_per_s, 5);
  EXPECT_DOUBLE_EQ(t.batch_rows, 100.0 / 25);
  EXPECT_GT(t.p50_ms, 2.5);  // inside the (2.5, 5] ms bucket: the old slow ones are not in the interval
  EXPECT_LE(t.p50_ms, 5);
  EXPECT_GT(t.p99_ms, 25);  // the 40 ms ones
  EXPECT_LE(t.p99_ms, 50);
  EXPECT_EQ(t.queue_depth, 3);
  EXPECT_NEAR(f.cpu_percent, 100 * 0.95 / 2, 1e-6);
  EXPECT_EQ(f.rss_mib, 100);
  EXPECT_NE(render_top(f, "http://x", 2).find("m/1"), std::string::npos);
}

}  // namespace
}  // namespace kiln::server
