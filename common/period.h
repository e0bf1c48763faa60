#pragma once
// Calendar arithmetic on block time (ms since the Unix epoch, UTC), in integers only, so every
// validator derives the same day and billing period.

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"

namespace tds {

// Days since 1970-01-01 (floor division; negative before 1970).
int64_t DayNumber(int64_t ms);
// "YYYY-MM" of the UTC calendar month containing `ms`.
std::string PeriodOf(int64_t ms);
// [start, end) of a "YYYY-MM" period in ms; InvalidArgument naming the text if malformed.
absl::StatusOr<std::pair<int64_t, int64_t>> PeriodBounds(const std::string& period);
// The period `n` months after `period` (n may be negative). REQUIRES: period well formed.
std::string AddMonths(const std::string& period, int n);

}  // namespace tds
