#include "compute/stats/stats.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <random>

#include "absl/strings/str_cat.h"

namespace tds::compute::stats {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

tds::StatSpec Spec(const std::string& kind, const std::string& column,
                   std::vector<std::string> bounds = {}) {
  tds::StatSpec s;
  s.set_kind(kind);
  s.set_column(column);
  for (std::string& b : bounds) s.add_bounds(std::move(b));
  return s;
}

ColumnValues Values(std::initializer_list<const char*> texts) {
  ColumnValues out;
  for (const char* t : texts) {
    if (t == nullptr) {
      out.push_back(std::nullopt);
    } else {
      out.emplace_back(t);
    }
  }
  return out;
}

StatsOutput MustCompute(const std::vector<tds::StatSpec>& specs, const Columns& columns,
                        uint32_t k = 0) {
  absl::StatusOr<StatsOutput> out = ComputeStats(specs, columns, k);
  EXPECT_TRUE(out.ok()) << out.status();
  return out.value_or(StatsOutput());
}

// --- The plaintext reference: cents in int64, nothing shared with the implementation. ---

std::string CentsText(int64_t cents) {
  const bool negative = cents < 0;
  const int64_t mag = negative ? -cents : cents;
  const int64_t frac = mag % 100;
  return absl::StrCat(negative ? "-" : "", mag / 100, frac < 10 ? ".0" : ".", frac);
}

// Exact decimal text of cents with trailing zeros dropped.
std::string TrimmedCents(int64_t cents) {
  std::string s = CentsText(cents);
  while (s.back() == '0') s.pop_back();
  if (s.back() == '.') s.pop_back();
  return s == "-0" ? "0" : s;
}

// The mean of `cents` in millionths, rounded half to even.
std::string ReferenceMean(int64_t sum_cents, int64_t n) {
  const int64_t num = sum_cents * 10'000;  // cents → millionths
  int64_t q = num / n;
  int64_t r = num % n;
  const int64_t twice = 2 * (r < 0 ? -r : r);
  if (twice > n || (twice == n && q % 2 != 0)) q += num < 0 ? -1 : 1;
  const bool negative = q < 0;
  const int64_t mag = negative ? -q : q;
  std::string frac = std::to_string(mag % 1'000'000);
  frac.insert(0, 6 - frac.size(), '0');
  return absl::StrCat(negative ? "-" : "", mag / 1'000'000, ".", frac);
}

TEST(StatsTest, MatchesAPlaintextReferenceOnRandomData) {
  std::mt19937_64 rng(20250310);
  for (int round = 0; round < 20; ++round) {
    const size_t n = 1 + rng() % 2000;
    std::vector<std::optional<int64_t>> cents(n);
    ColumnValues texts(n);
    for (size_t i = 0; i < n; ++i) {
      if (rng() % 10 == 0) continue;  // NULL
      cents[i] = static_cast<int64_t>(rng() % 2'000'000'001) - 1'000'000'000;
      texts[i] = CentsText(*cents[i]);
    }
    const std::vector<int64_t> bounds_cents = {-500'000'000, 0, 1, 250'000'000};
    std::vector<std::string> bounds;
    for (int64_t b : bounds_cents) bounds.push_back(TrimmedCents(b));

    StatsOutput out = MustCompute({Spec("count", "income"), Spec("sum", "income"),
                                   Spec("mean", "income"), Spec("histogram", "income", bounds)},
                                  {{"income", texts}});

    int64_t count = 0, sum = 0;
    std::vector<uint64_t> buckets(bounds_cents.size() + 1, 0);
    for (const auto& c : cents) {
      if (!c.has_value()) continue;
      ++count;
      sum += *c;
      size_t b = 0;
      while (b < bounds_cents.size() && *c > bounds_cents[b]) ++b;
      ++buckets[b];
    }
    ASSERT_EQ(out.values.size(), 4u);
    EXPECT_EQ(out.values[0].value(), absl::StrCat(count));
    EXPECT_EQ(out.values[1].value(), TrimmedCents(sum));
    EXPECT_EQ(out.values[2].value(), count == 0 ? "" : ReferenceMean(sum, count));
    EXPECT_EQ(std::vector<uint64_t>(out.values[3].buckets().begin(), out.values[3].buckets().end()),
              buckets);
    for (const tds::StatValue& v : out.values) EXPECT_EQ(v.rows(), static_cast<uint64_t>(count));
  }
}

TEST(StatsTest, SumsDecimalsExactlyWhereFloatingPointWouldNot) {
  StatsOutput out = MustCompute({Spec("sum", "x"), Spec("mean", "x")},
                                {{"x", Values({"0.1", "0.2", "1e-07", "-0.3"})}});
  EXPECT_EQ(out.values[0].value(), "0.0000001");
  EXPECT_EQ(out.values[1].value(), "0.000000");  // 0.000000025 rounds to even 0
  out = MustCompute({Spec("sum", "x")}, {{"x", Values({"9007199254740993", "1"})}});
  EXPECT_EQ(out.values[0].value(), "9007199254740994");  // beyond a double's 2^53
}

TEST(StatsTest, MixesIntegerAndExponentText) {
  StatsOutput out =
      MustCompute({Spec("sum", "x"), Spec("mean", "x"), Spec("count", "x")},
                  {{"x", Values({"1e+21", "-1000000000000000000000", "2.5", nullptr})}});
  EXPECT_EQ(out.values[0].value(), "2.5");
  EXPECT_EQ(out.values[1].value(), "0.833333");
  EXPECT_EQ(out.values[2].value(), "3");
  EXPECT_EQ(out.values[2].rows(), 3u);
}

TEST(StatsTest, HistogramBucketsAreUpperInclusive) {
  StatsOutput out =
      MustCompute({Spec("histogram", "income", {"10000", "20000"})},
                  {{"income", Values({"10000", "10000.01", "20000", "20001", "-5", nullptr})}});
  EXPECT_THAT(out.values[0].buckets(), ElementsAre(2, 2, 1));
  EXPECT_EQ(out.values[0].rows(), 5u);
}

TEST(StatsTest, EnforcesTheMinimumGroupSizeOnEveryBucket) {
  ColumnValues income;
  for (int i = 0; i < 12; ++i) income.emplace_back("5000");
  for (int i = 0; i < 3; ++i) income.emplace_back("15000");
  for (int i = 0; i < 10; ++i) income.emplace_back("30000");
  auto out =
      ComputeStats({Spec("count", "income"), Spec("histogram", "income", {"10000", "20000"})},
                   {{"income", income}}, 10);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(std::string(out.status().message()),
            "histogram of income: bucket (10000, 20000] has fewer than 10 rows; the contract "
            "requires at least 10");
  // The refusal never tells the small group's size.
  EXPECT_THAT(std::string(out.status().message()), ::testing::Not(HasSubstr("3")));

  // With k = 3 every bucket passes; the smallest group is reported for the measurement.
  StatsOutput ok =
      MustCompute({Spec("count", "income"), Spec("histogram", "income", {"10000", "20000"})},
                  {{"income", income}}, 3);
  EXPECT_EQ(ok.min_group_rows, 3u);
  EXPECT_THAT(ok.values[1].buckets(), ElementsAre(12, 3, 10));
}

TEST(StatsTest, EnforcesTheMinimumGroupSizeOnWholeSetAggregates) {
  auto out = ComputeStats({Spec("mean", "income")},
                          {{"income", Values({"1", "2", nullptr, nullptr, nullptr})}}, 3);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(std::string(out.status().message()),
            "mean of income: covers fewer than 3 rows; the contract requires at least 3");
  // First and last buckets are named with open ends.
  auto low = ComputeStats({Spec("histogram", "income", {"0", "10"})},
                          {{"income", Values({"-1", "5", "5", "11", "11"})}}, 2);
  ASSERT_FALSE(low.ok());
  EXPECT_THAT(std::string(low.status().message()), HasSubstr("bucket (-inf, 0] has fewer than 2"));
  auto high = ComputeStats({Spec("histogram", "income", {"0", "10"})},
                           {{"income", Values({"-1", "-1", "5", "5", "11"})}}, 2);
  ASSERT_FALSE(high.ok());
  EXPECT_THAT(std::string(high.status().message()),
              HasSubstr("bucket (10, +inf) has fewer than 2"));
}

TEST(StatsTest, EmptyGroupsDescribeNobodyAndPass) {
  StatsOutput out = MustCompute(
      {Spec("count", "x"), Spec("sum", "x"), Spec("mean", "x"), Spec("histogram", "x", {"1"})},
      {{"x", Values({nullptr, nullptr})}}, 10);
  EXPECT_EQ(out.values[0].value(), "0");
  EXPECT_EQ(out.values[1].value(), "0");
  EXPECT_EQ(out.values[2].value(), "");
  EXPECT_THAT(out.values[3].buckets(), ElementsAre(0, 0));
  EXPECT_EQ(out.min_group_rows, 0u);
}

TEST(StatsTest, RefusesValuesThatAreNotNumbersWithoutQuotingThem) {
  auto out = ComputeStats({Spec("sum", "region")}, {{"region", Values({"1", "shanghai-east"})}}, 0);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(out.status().message()), HasSubstr("column region"));
  EXPECT_THAT(std::string(out.status().message()), ::testing::Not(HasSubstr("shanghai")));
  auto nan = ComputeStats({Spec("sum", "x")}, {{"x", Values({"NaN"})}}, 0);
  EXPECT_FALSE(nan.ok());
}

TEST(StatsTest, RefusesAColumnThatWasNotRead) {
  auto out = ComputeStats({Spec("sum", "income")}, {{"other", Values({"1"})}}, 0);
  ASSERT_FALSE(out.ok());
  EXPECT_THAT(std::string(out.status().message()), HasSubstr("column income was not read"));
}

TEST(StatsTest, ValidatesSpecsBeforeAnyData) {
  auto message = [](std::vector<tds::StatSpec> specs) {
    return std::string(ValidateStatSpecs(specs).message());
  };
  EXPECT_EQ(message({}), "stats: no statistic requested");
  EXPECT_EQ(message({Spec("median", "income")}),
            "stats[0]: kind 'median' is not one of count, sum, mean, histogram");
  EXPECT_EQ(message({Spec("sum", "")}), "stats[0]: column is empty");
  EXPECT_EQ(message({Spec("sum", "income", {"1"})}),
            "stats[0] (sum of income): bounds are for histograms only");
  EXPECT_EQ(message({Spec("histogram", "income")}),
            "stats[0] (histogram of income): 0 bounds; expected 1..256");
  EXPECT_EQ(
      message({Spec("count", "income"), Spec("histogram", "income", {"10000", "20000", "20000"})}),
      "stats[1] (histogram of income): bounds[2] '20000' is not above bounds[1] '20000'");
  EXPECT_THAT(message({Spec("histogram", "income", {"ten"})}),
              HasSubstr("stats[0] (histogram of income): bounds[0] 'ten': not a decimal number"));
  std::vector<tds::StatSpec> many(kMaxSpecs + 1, Spec("count", "income"));
  EXPECT_THAT(message(many), HasSubstr("65 statistics exceed the limit of 64"));
  EXPECT_TRUE(ValidateStatSpecs({Spec("histogram", "x", {"-1.5", "0", "1e3"})}).ok());
}

}  // namespace
}  // namespace tds::compute::stats
