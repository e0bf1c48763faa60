#pragma once
// The output policy a job's result must pass before anything leaves the enclave
// (job_spec.h OutputPolicy; README.md "Output policy"). Every refusal is PermissionDenied
// "output policy: ..." naming the rule and the column or row that broke it; a refused result is
// withheld whole.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "compute/enclave/job_spec.h"
#include "compute/enclave/sql_result.h"

namespace tds::compute::enclave {

// A result column and, when it is a plain column reference, the input column it comes from
// (SQLite's column metadata; empty for expressions such as COUNT(*) or a || b).
struct ResultColumn {
  std::string name;
  std::string origin_table;
  std::string origin_column;
};

class OutputPolicyChecker {
 public:
  // Checks the columns before any row is read: every name is allowed, none is (or comes
  // straight from) an identifier column, and the count column is present when k > 0.
  // `spec` must outlive the checker.
  static absl::StatusOr<OutputPolicyChecker> ForColumns(const JobSpec& spec,
                                                        const std::vector<ResultColumn>& columns);
  // Row `row_number` (1-based): refused beyond max_rows, or when its group size is below k.
  absl::Status CheckRow(uint64_t row_number, const std::vector<Cell>& row) const;

 private:
  OutputPolicyChecker(const JobSpec& spec, int count_index)
      : spec_(&spec), count_index_(count_index) {}
  const JobSpec* spec_;
  int count_index_;  // -1 when there is no group-size rule
};

}  // namespace tds::compute::enclave
