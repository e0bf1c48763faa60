#pragma once
// What an enclave job is allowed to do, fixed before the enclave starts and measured into its
// attestation report: the SQL text (and the digest the contract approved), the inputs' names
// and typed schemas, and the output policy. A provider that verifies the report has therefore
// verified the whole job, not only the code.
//
// Canonical encoding (compute/enclave/codec.h primitives; README.md "Job specification"):
//   job_spec := "TDSJ" version:u8=1 sql:bytes sql_digest:fixed32 probe:bytes
//               input_count:u32 input*  policy
//   input    := name:bytes column_count:u32 (name:bytes type:u8 identifier:u8)*
//   policy   := allowed_count:u32 column:bytes*  count_column:bytes  min_group_size:u64
//               max_rows:u64
// Names are SQL identifiers ([A-Za-z_][A-Za-z0-9_]*, at most 64 bytes), unique per scope.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/bytes.h"

namespace tds::compute::enclave {

enum class ColumnType : uint8_t { kInteger = 1, kReal = 2, kText = 3 };
const char* ColumnTypeName(ColumnType t);  // "INTEGER", "REAL", "TEXT"

struct Column {
  std::string name;
  ColumnType type = ColumnType::kText;
  // An identifier (customer id, account number ...): may be joined on, never output.
  bool identifier = false;
};

// One input: becomes table `name` in the enclave's database.
struct InputSchema {
  std::string name;
  std::vector<Column> columns;
};

// What may leave the enclave. Rule for group sizes (README.md "Output policy"): when
// min_group_size > 0 the result must have the column `count_column`, an INTEGER holding each
// row's group size (the approved SQL computes it, e.g. COUNT(*) AS n), and every row's value
// must be >= min_group_size. The SQL is fixed by digest, so what that column means is part of
// what the contract approved; the enclave checks the values.
struct OutputPolicy {
  std::vector<std::string> allowed_columns;  // every result column must be one of these
  std::string count_column;                  // required when min_group_size > 0
  uint64_t min_group_size = 0;               // k; 0 = no group-size rule
  uint64_t max_rows = 1000;                  // more rows than this: the whole result is refused
};

struct JobSpec {
  std::string sql;
  Hash sql_digest{};  // SHA-256 of the approved SQL text (from the contract)
  // Test only: a sandbox probe ("socket", "exec", "write:<path>") run instead of the SQL. It is
  // measured like everything else, so no verifier that pins real jobs accepts a probe job.
  std::string probe;
  std::vector<InputSchema> inputs;
  OutputPolicy policy;
};

inline constexpr size_t kMaxSqlBytes = 64 << 10;
inline constexpr uint32_t kMaxInputs = 16;
inline constexpr uint32_t kMaxColumns = 256;
inline constexpr size_t kMaxNameBytes = 64;

// InvalidArgument naming the field: names not SQL identifiers or duplicated, no columns, too
// many inputs/columns, a count column missing while min_group_size > 0 ...
absl::Status ValidateJobSpec(const JobSpec& spec);
// REQUIRES: ValidateJobSpec(spec).ok().
std::string EncodeJobSpec(const JobSpec& spec);
// Decodes and validates (the bytes come from the untrusted host).
absl::StatusOr<JobSpec> DecodeJobSpec(std::string_view bytes);
// SHA-256 of EncodeJobSpec(spec).
Hash JobSpecDigest(const JobSpec& spec);

}  // namespace tds::compute::enclave
