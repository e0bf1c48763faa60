#include "node/connectors/value_text.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace tds::node {
namespace {

using ::testing::Optional;

TEST(ValueTextTest, Int64TextIsCanonicalAndInRange) {
  for (const char* ok : {"0", "7", "-7", "9223372036854775807", "-9223372036854775808"}) {
    EXPECT_TRUE(IsInt64Text(ok)) << ok;
  }
  for (const char* bad : {"", "-", "-0", "007", "+7", "1.0", "1e3", " 1", "1 ",
                          "9223372036854775808", "-9223372036854775809", "12a"}) {
    EXPECT_FALSE(IsInt64Text(bad)) << bad;
  }
}

TEST(ValueTextTest, DoublesFollowTheJsonNumberGrammar) {
  EXPECT_THAT(ParseDoubleText("1.5"), Optional(1.5));
  EXPECT_THAT(ParseDoubleText("-0.25e2"), Optional(-25.0));
  EXPECT_THAT(ParseDoubleText("3E+2"), Optional(300.0));
  EXPECT_THAT(ParseDoubleText("0"), Optional(0.0));
  for (const char* bad :
       {"", "-", "1.", ".5", "+1", "01", "0x10", "1e", "1e+", "NaN", "inf", "1e999", "1,5", " 1"}) {
    EXPECT_EQ(ParseDoubleText(bad), std::nullopt) << bad;
  }
}

TEST(ValueTextTest, CanonicalDoubleIsShortestRoundTrip) {
  EXPECT_EQ(CanonicalDouble(1.5), "1.5");
  EXPECT_EQ(CanonicalDouble(2.0), "2");
  EXPECT_EQ(CanonicalDouble(0.1), "0.1");
  EXPECT_EQ(CanonicalDouble(1e20), "1e+20");
  EXPECT_EQ(CanonicalDouble(std::nan("")), "NaN");
  EXPECT_EQ(CanonicalDouble(-std::numeric_limits<double>::infinity()), "-Infinity");
  EXPECT_THAT(ParseDoubleText(CanonicalDouble(0.1 + 0.2)), Optional(0.1 + 0.2));
}

TEST(ValueTextTest, BoolsAreTrueOrFalseInAnyCase) {
  EXPECT_THAT(ParseBoolText("TRUE"), Optional(true));
  EXPECT_THAT(ParseBoolText("False"), Optional(false));
  for (const char* bad : {"", "t", "1", "yes", "truee"})
    EXPECT_EQ(ParseBoolText(bad), std::nullopt);
}

TEST(ValueTextTest, DatesAreRealCalendarDays) {
  EXPECT_TRUE(IsDateText("2024-02-29"));
  EXPECT_TRUE(IsDateText("2000-02-29"));
  EXPECT_FALSE(IsDateText("2023-02-29"));
  EXPECT_FALSE(IsDateText("1900-02-29"));
  EXPECT_FALSE(IsDateText("2024-13-01"));
  EXPECT_FALSE(IsDateText("2024-04-31"));
  EXPECT_FALSE(IsDateText("2024-4-01"));
  EXPECT_FALSE(IsDateText("2024-04-01T00:00"));
}

TEST(ValueTextTest, TimestampsAreIso8601) {
  for (const char* ok : {"2024-01-02T03:04", "2024-01-02T03:04:05", "2024-01-02 03:04:05.123456",
                         "2024-01-02T03:04:05Z", "2024-01-02T03:04:05+08:00",
                         "2024-01-02T03:04:05-0530", "2024-01-02T03:04:05.5+00"}) {
    EXPECT_TRUE(IsTimestampText(ok)) << ok;
  }
  for (const char* bad :
       {"2024-01-02", "2024-01-02T24:00", "2024-01-02T03:60", "2024-01-02T03:04:05.",
        "2024-01-02T03:04:05+8", "2024-01-02T03:04:05ZZ", "2024-02-30T00:00", "2024-01-02X03:04"}) {
    EXPECT_FALSE(IsTimestampText(bad)) << bad;
  }
}

}  // namespace
}  // namespace tds::node
