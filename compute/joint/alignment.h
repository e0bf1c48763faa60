#pragma once
// The row order of a joint operation (joint_stats, lr_train, lr_score): after PSI with output
// "both", each side holds the identifiers of the matched rows among its own. Sorting them (byte
// order) gives both sides the same order without a further message and without revealing
// anything PSI did not.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "compute/stats/stats.h"

namespace tds::compute::joint {

// The positions `matched` (into `ids`) ordered by their identifier. FailedPrecondition when two
// matched positions hold the same identifier: such rows cannot be paired with the other side's
// (the message names no identifier, since it may travel to the other party).
absl::StatusOr<std::vector<uint64_t>> AlignedOrder(const std::vector<std::string>& ids,
                                                   const std::vector<uint64_t>& matched);

// The values of `column` (text, as a source yields them) in `order`, as numbers.
// InvalidArgument naming the column when an aligned row's value is NULL or not a finite number
// (joint operations need a value in every aligned row).
absl::StatusOr<std::vector<double>> AlignedNumbers(const stats::ColumnValues& values,
                                                   const std::vector<uint64_t>& order,
                                                   const std::string& column);

}  // namespace tds::compute::joint
