#pragma once
// Joint statistics over the rows a PSI matched, computed at the provider (operation "stats",
// proto/compute_service.proto): count, sum, mean and histogram of numeric columns, in exact
// decimal arithmetic (decimal.h), with the contract's minimum group size k enforced on every
// group the output reports.
//
// Groups. count, sum and mean report one group: the rows the aggregate covers (the column's
// non-NULL values). A histogram reports one group per bucket. Bucket i of bounds b_0 < ... <
// b_{n-1} holds the values v with b_{i-1} < v <= b_i: "(-inf, b_0]", "(b_0, b_1]", ...,
// "(b_{n-1}, +inf)" — n + 1 buckets.
//
// k. With min_group_size k > 0, every reported group must have 0 or at least k rows; a group
// with 1..k-1 rows refuses the whole computation (FailedPrecondition naming the statistic, the
// column and the bucket: "histogram of income: bucket (10000, 20000] has fewer than 10 rows;
// the contract requires at least 10"), so nothing is released. The refusal does not say how
// many rows the group has: that count is exactly what k protects. An empty group describes
// nobody and is reported as 0.
//
// Values. count is an integer; sum the exact decimal ("1234.5"); mean the sum divided by the
// rows, rounded half-even to kMeanPlaces fractional digits, always printed with all of them
// ("617.250000"), and "" over zero rows. Errors never quote a value (it is the provider's data).

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "proto/compute_service.pb.h"

namespace tds::compute::stats {

inline constexpr size_t kMaxSpecs = 64;
inline constexpr size_t kMaxBounds = 256;
inline constexpr int kMeanPlaces = 6;

// One column's values over the matched rows, as text (the connectors' canonical int64 or
// double text); nullopt is NULL.
using ColumnValues = std::vector<std::optional<std::string>>;
// Column name → its values; every column has one value per matched row.
using Columns = std::map<std::string, ColumnValues, std::less<>>;

struct StatsOutput {
  std::vector<tds::StatValue> values;  // one per spec, in the specs' order
  // The smallest non-empty group reported (Measurement.min_group_rows); 0 when none.
  uint64_t min_group_rows = 0;
};

// Checks the specs before any data is read: 1..kMaxSpecs of them; each names a column and a
// kind (count | sum | mean | histogram); a histogram has 1..kMaxBounds strictly ascending
// decimal bounds, the other kinds none. InvalidArgument naming the spec ("stats[2]
// (histogram of income): bounds[3] '20000' is not above bounds[2] '20000'").
absl::Status ValidateStatSpecs(const std::vector<tds::StatSpec>& specs);

// Computes every spec over `columns`. REQUIRES nothing of the specs: they are validated
// again. InvalidArgument when a spec's column is missing from `columns` or holds a value that
// is not a decimal number (NaN, Infinity, text) or is out of the exact range;
// FailedPrecondition when a group is too small (see above).
absl::StatusOr<StatsOutput> ComputeStats(const std::vector<tds::StatSpec>& specs,
                                         const Columns& columns, uint32_t min_group_size);

}  // namespace tds::compute::stats
