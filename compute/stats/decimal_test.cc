#include "compute/stats/decimal.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace tds::compute::stats {
namespace {

using ::testing::HasSubstr;

std::string RoundTrip(const std::string& text) {
  absl::StatusOr<Decimal> d = ParseDecimal(text);
  EXPECT_TRUE(d.ok()) << text << ": " << d.status();
  return d.ok() ? FormatDecimal(d->units, d->scale) : "";
}

TEST(DecimalTest, ParsesIntegersFractionsAndExponentsExactly) {
  EXPECT_EQ(RoundTrip("0"), "0");
  EXPECT_EQ(RoundTrip("-0"), "0");
  EXPECT_EQ(RoundTrip("42"), "42");
  EXPECT_EQ(RoundTrip("-9223372036854775808"), "-9223372036854775808");
  EXPECT_EQ(RoundTrip("1.50"), "1.5");
  EXPECT_EQ(RoundTrip("-0.001"), "-0.001");
  EXPECT_EQ(RoundTrip("1e+21"), "1000000000000000000000");
  EXPECT_EQ(RoundTrip("1.5e-07"), "0.00000015");
  EXPECT_EQ(RoundTrip("2.5E3"), "2500");
  EXPECT_EQ(RoundTrip("1000e-3"), "1");
  // Trailing zeros never cost precision or range.
  EXPECT_EQ(RoundTrip("1.000000000000000000000000000000000000000000"), "1");
}

TEST(DecimalTest, KeepsTheSmallestScale) {
  auto d = ParseDecimal("12.3400");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->scale, 2);
  EXPECT_EQ(static_cast<int64_t>(d->units), 1234);
  d = ParseDecimal("1200");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->scale, 0);
}

TEST(DecimalTest, RefusesWhatIsNotADecimalNumberWithoutQuotingIt) {
  for (const char* bad : {"", "-", "abc", "NaN", "Infinity", "-Infinity", "1.", ".5", "+1", "007",
                          "1e", "1e+", "0x10", "1,5", " 1", "1 "}) {
    auto d = ParseDecimal(bad);
    ASSERT_FALSE(d.ok()) << bad;
    EXPECT_EQ(d.status().code(), absl::StatusCode::kInvalidArgument);
    if (std::string(bad).size() > 2) {
      EXPECT_THAT(std::string(d.status().message()), ::testing::Not(HasSubstr(bad)));
    }
  }
}

TEST(DecimalTest, RefusesTooManyFractionalDigitsAndTooLargeMagnitudes) {
  auto fine = ParseDecimal("0.000000000000000001");  // 18 places
  EXPECT_TRUE(fine.ok());
  auto tiny = ParseDecimal("1e-19");
  ASSERT_FALSE(tiny.ok());
  EXPECT_THAT(std::string(tiny.status().message()), HasSubstr("more than 18 fractional digits"));
  auto huge = ParseDecimal("1e37");
  ASSERT_FALSE(huge.ok());
  EXPECT_THAT(std::string(huge.status().message()), HasSubstr("out of the exact range"));
  EXPECT_TRUE(ParseDecimal("9999999999999999999999999999999999999").ok());  // 37 digits
  EXPECT_FALSE(ParseDecimal("1e1000000000000").ok());
}

TEST(DecimalTest, RescalesUpAndReportsOverflow) {
  auto r = Rescale(15, 1, 3);  // 1.5 → 1.500
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(static_cast<int64_t>(*r), 1500);
  EXPECT_EQ(static_cast<int64_t>(*Rescale(-15, 1, 3)), -1500);
  EXPECT_FALSE(Rescale(15, 3, 1).has_value());                 // never down
  auto big = ParseDecimal("1000000000000000000000000000000");  // 10^30
  ASSERT_TRUE(big.ok());
  EXPECT_FALSE(Rescale(big->units, 0, 7).has_value());
  EXPECT_TRUE(Rescale(big->units, 0, 6).has_value());
}

TEST(DecimalTest, FormatsWithoutTrailingZeros) {
  EXPECT_EQ(FormatDecimal(375, 2), "3.75");
  EXPECT_EQ(FormatDecimal(300, 2), "3");
  EXPECT_EQ(FormatDecimal(-5, 3), "-0.005");
  EXPECT_EQ(FormatDecimal(0, 5), "0");
}

std::string Divide(__int128 units, int scale, uint64_t divisor, int places = 6) {
  auto r = DivideRounded(units, scale, divisor, places);
  EXPECT_TRUE(r.ok()) << r.status();
  return r.value_or("");
}

TEST(DecimalTest, DividesRoundingHalfToEven) {
  EXPECT_EQ(Divide(3, 0, 2), "1.500000");
  EXPECT_EQ(Divide(1, 0, 3), "0.333333");
  EXPECT_EQ(Divide(2, 0, 3), "0.666667");
  // Exactly half a unit in the last place goes to the even neighbour.
  EXPECT_EQ(Divide(5, 7, 1), "0.000000");   // 0.0000005
  EXPECT_EQ(Divide(15, 7, 1), "0.000002");  // 0.0000015
  EXPECT_EQ(Divide(25, 7, 1), "0.000002");  // 0.0000025
  EXPECT_EQ(Divide(-25, 7, 1), "-0.000002");
  EXPECT_EQ(Divide(-35, 7, 1), "-0.000004");
  EXPECT_EQ(Divide(-4, 7, 1), "0.000000");  // rounds to zero: no "-0"
  // Just above half rounds up.
  EXPECT_EQ(Divide(251, 8, 1), "0.000003");  // 0.00000251
  EXPECT_EQ(Divide(10, 0, 4, 0), "2");       // 2.5 → 2
  EXPECT_EQ(Divide(14, 0, 4, 0), "4");       // 3.5 → 4
}

TEST(DecimalTest, DividesLargeSumsExactly) {
  // (10^30 - 1) / 3 at 6 places.
  auto d = ParseDecimal("999999999999999999999999999999");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(Divide(d->units, 0, 3), "333333333333333333333333333333.000000");
  // 10^36 × 10^6 does not fit 128 bits: refused, not wrapped.
  auto big = ParseDecimal("1e36");
  ASSERT_TRUE(big.ok());
  auto r = DivideRounded(big->units, 0, 7, 6);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kOutOfRange);
}

}  // namespace
}  // namespace tds::compute::stats
