#include "compute/enclave/output_policy.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace tds::compute::enclave {
namespace {

absl::Status Refuse(const std::string& text) {
  return absl::PermissionDeniedError(absl::StrCat("output policy: ", text));
}

}  // namespace

absl::StatusOr<OutputPolicyChecker> OutputPolicyChecker::ForColumns(
    const JobSpec& spec, const std::vector<ResultColumn>& columns) {
  const OutputPolicy& p = spec.policy;
  int count_index = -1;
  for (size_t i = 0; i < columns.size(); ++i) {
    const ResultColumn& c = columns[i];
    for (const InputSchema& in : spec.inputs) {
      for (const Column& col : in.columns) {
        if (!col.identifier) continue;
        const bool from_it = c.origin_table == in.name && c.origin_column == col.name;
        if (from_it || c.name == col.name) {
          return Refuse(absl::StrCat("no identifier columns: result column '", c.name, "' ",
                                     from_it ? "is" : "is named like", " identifier column ",
                                     in.name, ".", col.name));
        }
      }
    }
    if (std::find(p.allowed_columns.begin(), p.allowed_columns.end(), c.name) ==
        p.allowed_columns.end()) {
      return Refuse(absl::StrCat("allowed columns: result column '", c.name,
                                 "' is not an allowed output column (allowed: ",
                                 absl::StrJoin(p.allowed_columns, ", "), ")"));
    }
    if (p.min_group_size > 0 && c.name == p.count_column) count_index = static_cast<int>(i);
  }
  if (p.min_group_size > 0 && count_index < 0) {
    return Refuse(absl::StrCat("minimum group size: the result has no count column '",
                               p.count_column, "' (required for k=", p.min_group_size, ")"));
  }
  return OutputPolicyChecker(spec, count_index);
}

absl::Status OutputPolicyChecker::CheckRow(uint64_t row_number,
                                           const std::vector<Cell>& row) const {
  const OutputPolicy& p = spec_->policy;
  if (row_number > p.max_rows) {
    return Refuse(
        absl::StrCat("maximum rows: the result has more than max_rows=", p.max_rows, " rows"));
  }
  if (count_index_ < 0) return absl::OkStatus();
  const Cell& c = row[count_index_];
  if (!std::holds_alternative<int64_t>(c)) {
    return Refuse(absl::StrCat("minimum group size: row ", row_number, " column '", p.count_column,
                               "' is not an integer group size"));
  }
  const int64_t n = std::get<int64_t>(c);
  if (n < 0 || static_cast<uint64_t>(n) < p.min_group_size) {
    return Refuse(absl::StrCat("minimum group size: row ", row_number, " has group size ", n,
                               " in column '", p.count_column, "', below k=", p.min_group_size));
  }
  return absl::OkStatus();
}

}  // namespace tds::compute::enclave
