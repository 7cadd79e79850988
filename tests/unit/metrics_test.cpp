#include <gtest/gtest.h>

#include "sb/metrics/metrics.h"

namespace sb {
namespace {

TEST(Metrics, RendersPrometheusText) {
  MetricsRegistry m;
  m.counter("sb_requests_total", "Requests", {{"service", "echo"}}).inc(3);
  m.gauge("sb_queue_depth", "Queued", {{"service", "a\"b\\c\nd"}}).set(2);
  auto& h = m.histogram("sb_latency_seconds", "Latency", {0.1, 1}, {{"service", "echo"}});
  h.observe(0.05);
  h.observe(0.5);
  h.observe(5);
  std::string text = m.render();
  EXPECT_NE(text.find("# HELP sb_requests_total Requests\n# TYPE sb_requests_total counter\n"
                      "sb_requests_total{service=\"echo\"} 3\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("sb_queue_depth{service=\"a\\\"b\\\\c\\nd\"} 2\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("sb_latency_seconds_bucket{service=\"echo\",le=\"0.1\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("sb_latency_seconds_bucket{service=\"echo\",le=\"1\"} 2\n"),
            std::string::npos);
  EXPECT_NE(text.find("sb_latency_seconds_bucket{service=\"echo\",le=\"+Inf\"} 3\n"),
            std::string::npos);
  EXPECT_NE(text.find("sb_latency_seconds_sum{service=\"echo\"} 5.55\n"), std::string::npos);
  EXPECT_NE(text.find("sb_latency_seconds_count{service=\"echo\"} 3\n"), std::string::npos);
}

TEST(Metrics, SameSeriesIsTheSameObjectAndCanBeRemoved) {
  MetricsRegistry m;
  Counter& a = m.counter("c_total", "c", {{"worker", "w1"}});
  Counter& b = m.counter("c_total", "c", {{"worker", "w1"}});
  EXPECT_EQ(&a, &b);
  m.counter("c_total", "c", {{"worker", "w2"}}).inc();
  m.removeSeriesWith("worker", "w1");
  std::string text = m.render();
  EXPECT_EQ(text.find("w1"), std::string::npos);
  EXPECT_NE(text.find("c_total{worker=\"w2\"} 1"), std::string::npos);
}

// HELP text is escaped too (backslash, newline): the hand-written exposition did not.
TEST(Metrics, HelpTextIsEscaped) {
  MetricsRegistry m;
  m.counter("h_total", "a \\ b\nsecond line").inc();
  std::string text = m.render();
  EXPECT_NE(text.find("# HELP h_total a \\\\ b\\nsecond line\n"), std::string::npos) << text;
}

TEST(Metrics, OneNameOneType) {
  MetricsRegistry m;
  m.counter("x", "x");
  EXPECT_THROW(m.gauge("x", "x"), std::logic_error);
}

}  // namespace
}  // namespace sb
