#include "common/period.h"

#include <gtest/gtest.h>

namespace tds {
namespace {

TEST(Period, DayAndMonthOfKnownInstants) {
  EXPECT_EQ(DayNumber(0), 0);
  EXPECT_EQ(DayNumber(-1), -1);
  EXPECT_EQ(PeriodOf(0), "1970-01");
  EXPECT_EQ(PeriodOf(-1), "1969-12");
  // 2024-02-29T23:59:59.999Z and the next millisecond.
  EXPECT_EQ(PeriodOf(1709251199999), "2024-02");
  EXPECT_EQ(PeriodOf(1709251200000), "2024-03");
  EXPECT_EQ(PeriodOf(1798761600000), "2027-01");  // 2027-01-01T00:00:00Z
}

TEST(Period, BoundsCoverTheMonthExactly) {
  auto feb = PeriodBounds("2024-02");
  ASSERT_TRUE(feb.ok());
  EXPECT_EQ(feb->first, 1706745600000);   // 2024-02-01
  EXPECT_EQ(feb->second, 1709251200000);  // 2024-03-01
  auto dec = PeriodBounds("2025-12");
  ASSERT_TRUE(dec.ok());
  EXPECT_EQ(PeriodOf(dec->first), "2025-12");
  EXPECT_EQ(PeriodOf(dec->second), "2026-01");
  EXPECT_EQ(PeriodOf(dec->second - 1), "2025-12");
}

TEST(Period, MalformedPeriodsRefused) {
  for (const char* bad : {"2025-13", "2025-00", "2025-1", "25-01", "2025/01", "", "2025-01-01"}) {
    EXPECT_FALSE(PeriodBounds(bad).ok()) << bad;
  }
}

TEST(Period, AddMonthsCrossesYears) {
  EXPECT_EQ(AddMonths("2025-11", 2), "2026-01");
  EXPECT_EQ(AddMonths("2025-01", -1), "2024-12");
  EXPECT_EQ(AddMonths("2025-06", -18), "2023-12");
  EXPECT_EQ(AddMonths("2025-06", 0), "2025-06");
}

}  // namespace
}  // namespace tds
