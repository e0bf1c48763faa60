#include "common/period.h"

#include <cstdio>

#include "absl/strings/str_cat.h"

namespace tds {
namespace {

constexpr int64_t kMsPerDay = 86'400'000;

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

// Days since the epoch of y-m-1 (proleptic Gregorian), by era arithmetic.
int64_t DaysFromCivil(int64_t y, int64_t m) {
  y -= m <= 2;
  const int64_t era = FloorDiv(y, 400);
  const int64_t yoe = y - era * 400;
  const int64_t mp = (m + 9) % 12;
  const int64_t doy = (153 * mp + 2) / 5;  // day 1 of the month
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

void CivilFromDays(int64_t z, int64_t* y, int64_t* m) {
  z += 719468;
  const int64_t era = FloorDiv(z, 146097);
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = yoe + era * 400 + (*m <= 2);
}

std::string Format(int64_t y, int64_t m) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%04lld-%02lld", static_cast<long long>(y),
                static_cast<long long>(m));
  return buf;
}

bool Parse(const std::string& p, int64_t* y, int64_t* m) {
  if (p.size() != 7 || p[4] != '-') return false;
  for (int i : {0, 1, 2, 3, 5, 6}) {
    if (p[i] < '0' || p[i] > '9') return false;
  }
  *y = std::stoll(p.substr(0, 4));
  *m = std::stoll(p.substr(5, 2));
  return *m >= 1 && *m <= 12;
}

}  // namespace

int64_t DayNumber(int64_t ms) { return FloorDiv(ms, kMsPerDay); }

std::string PeriodOf(int64_t ms) {
  int64_t y, m;
  CivilFromDays(DayNumber(ms), &y, &m);
  return Format(y, m);
}

absl::StatusOr<std::pair<int64_t, int64_t>> PeriodBounds(const std::string& period) {
  int64_t y, m;
  if (!Parse(period, &y, &m)) {
    return absl::InvalidArgumentError(
        absl::StrCat("period '", period, "' is not of the form YYYY-MM"));
  }
  const int64_t start = DaysFromCivil(y, m) * kMsPerDay;
  const int64_t end = (m == 12 ? DaysFromCivil(y + 1, 1) : DaysFromCivil(y, m + 1)) * kMsPerDay;
  return std::make_pair(start, end);
}

std::string AddMonths(const std::string& period, int n) {
  int64_t y, m;
  if (!Parse(period, &y, &m)) return period;
  const int64_t total = y * 12 + (m - 1) + n;
  return Format(FloorDiv(total, 12), total - FloorDiv(total, 12) * 12 + 1);
}

}  // namespace tds
