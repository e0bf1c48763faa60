#include "common/metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <thread>
#include <vector>

#include "common/metrics_testing.h"

namespace tds::metrics {
namespace {

using ::testing::HasSubstr;
using testing::ParseExposition;

TEST(MetricsTest, RendersEveryKindAsParseableExposition) {
  Registry r;
  r.AddCounter("tds_things_total", "Things \\ counted\nso far").Add(3);
  r.AddGauge("tds_level", "A level").Set(-2.5);
  Histogram& h = r.AddHistogram("tds_wait_seconds", "Waits", {0.1, 1, 10});
  for (double v : {0.05, 0.1, 0.5, 5.0, 50.0}) h.Observe(v);
  Family<Counter>& calls = r.AddCounterFamily("tds_calls_total", "Calls", {"op", "outcome"});
  calls.With({"psi", "released"}).Add(2);
  calls.With({"we\"ird\\op\n", "refused"}).Add();
  r.AddHistogramFamily("tds_run_seconds", "Runs", {"op"}, {1, 2}).With({"psi"}).Observe(1.5);
  r.AddCallback("tds_height", "Height", false, [] { return 42.0; });

  std::string text;
  r.Render(&text);
  absl::StatusOr<testing::Exposition> e = ParseExposition(text);
  ASSERT_TRUE(e.ok()) << e.status() << "\n" << text;
  EXPECT_EQ(e->types.at("tds_things_total"), "counter");
  EXPECT_EQ(e->types.at("tds_level"), "gauge");
  EXPECT_EQ(e->types.at("tds_wait_seconds"), "histogram");
  EXPECT_EQ(e->types.at("tds_height"), "gauge");
  EXPECT_EQ(e->help.at("tds_things_total"), "Things \\\\ counted\\nso far");
  EXPECT_EQ(e->Value("tds_things_total"), 3);
  EXPECT_EQ(e->Value("tds_level"), -2.5);
  // Buckets are cumulative and inclusive of their bound.
  EXPECT_EQ(e->Value("tds_wait_seconds_bucket", {{"le", "0.1"}}), 2);
  EXPECT_EQ(e->Value("tds_wait_seconds_bucket", {{"le", "1"}}), 3);
  EXPECT_EQ(e->Value("tds_wait_seconds_bucket", {{"le", "10"}}), 4);
  EXPECT_EQ(e->Value("tds_wait_seconds_bucket", {{"le", "+Inf"}}), 5);
  EXPECT_EQ(e->Value("tds_wait_seconds_count"), 5);
  EXPECT_DOUBLE_EQ(e->Value("tds_wait_seconds_sum"), 55.65);
  EXPECT_EQ(e->Value("tds_calls_total", {{"op", "psi"}, {"outcome", "released"}}), 2);
  EXPECT_EQ(e->Value("tds_calls_total", {{"op", "we\"ird\\op\n"}, {"outcome", "refused"}}), 1);
  EXPECT_EQ(e->Value("tds_run_seconds_bucket", {{"op", "psi"}, {"le", "2"}}), 1);
  EXPECT_EQ(e->Value("tds_run_seconds_bucket", {{"op", "psi"}, {"le", "1"}}), 0);
  EXPECT_EQ(e->Value("tds_height"), 42);
}

TEST(MetricsTest, ParserRejectsBrokenExpositions) {
  // The parser must be able to fail, or the test above proves nothing.
  for (const char* bad : {
           "tds_x 1\n",                                     // no TYPE
           "# TYPE tds_x counter\ntds_x one\n",             // value not a number
           "# TYPE tds_x counter\ntds_x{a=\"1} 1\n",        // unterminated label
           "# TYPE tds_x counter\ntds_x{a=1} 1\n",          // unquoted label
           "# TYPE tds_x counter\n# TYPE tds_x counter\n",  // TYPE twice
           "# TYPE tds_x counter\ntds_x 1",                 // no final newline
           "# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_count 1\n",
           "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_count 3\n",
       }) {
    EXPECT_FALSE(ParseExposition(bad).ok()) << bad;
  }
}

TEST(MetricsTest, FamiliesCapTheirLabelValues) {
  Registry r;
  Family<Counter>& f = r.AddCounterFamily("tds_ops_total", "Ops", {"op"});
  for (size_t i = 0; i < Family<Counter>::kMaxChildren + 10; ++i) {
    f.With({"op" + std::to_string(i)}).Add();
  }
  size_t children = 0;
  uint64_t overflow = 0;
  f.ForEach([&](const std::vector<std::string>& values, const Counter& c) {
    ++children;
    if (values[0] == Family<Counter>::kOverflow) overflow = c.value();
  });
  EXPECT_EQ(children, Family<Counter>::kMaxChildren + 1);
  EXPECT_EQ(overflow, 10u);
  // Values seen before the cap keep their own child.
  f.With({"op0"}).Add();
  std::string text;
  r.Render(&text);
  EXPECT_THAT(text, HasSubstr("tds_ops_total{op=\"op0\"} 2\n"));
}

TEST(MetricsTest, ConcurrentUpdatesAreAllCounted) {
  Registry r;
  Counter& c = r.AddCounter("tds_n_total", "N");
  Histogram& h = r.AddHistogram("tds_v", "V", {1});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) {
        c.Add();
        h.Observe(i % 2 == 0 ? 0.5 : 2);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(c.value(), 40000u);
  EXPECT_EQ(h.counts(), (std::vector<uint64_t>{20000, 20000}));
  EXPECT_EQ(h.sum(), 50000);
}

TEST(MetricsTest, FormatsValuesAsPrometheusDoes) {
  EXPECT_EQ(FormatValue(3), "3");
  EXPECT_EQ(FormatValue(-0.25), "-0.25");
  EXPECT_EQ(FormatValue(0.1), "0.1");
  EXPECT_EQ(FormatValue(INFINITY), "+Inf");
  EXPECT_EQ(FormatValue(-INFINITY), "-Inf");
  EXPECT_EQ(FormatValue(NAN), "NaN");
  EXPECT_EQ(EscapeLabelValue("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
}

TEST(MetricsDeathTest, InvalidRegistrationsAbort) {
  Registry r;
  r.AddCounter("tds_once_total", "Once");
  EXPECT_DEATH(r.AddCounter("tds_once_total", "Twice"), "registered twice");
  EXPECT_DEATH(r.AddGauge("0bad", "Bad"), "invalid metric name");
  EXPECT_DEATH(r.AddCounterFamily("tds_l_total", "L", {"le"}), "invalid label name");
  EXPECT_DEATH(r.AddHistogram("tds_h", "H", {1, 1}), "strictly increasing");
  Family<Counter>& f = r.AddCounterFamily("tds_f_total", "F", {"a", "b"});
  EXPECT_DEATH(f.With({"x"}), "label values");
}

}  // namespace
}  // namespace tds::metrics
