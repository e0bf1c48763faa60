#pragma once
// The query engine inside the enclave: checks the SQL against the job's approved digest, loads
// the inputs into an in-memory SQLite database as their rows arrive (nothing else buffers an
// input: a chunk is parsed and inserted, then dropped), runs the one approved SELECT read-only,
// and applies the output policy.
//
// Memory: the database (SQLite's heap, reported as sqlite_peak_bytes) plus one chunk and one
// unfinished row per input. The database holds the data by design — the enclave has no disk.
//
// Not thread-safe; one job per instance.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "compute/enclave/job_spec.h"
#include "compute/enclave/sql_result.h"

struct sqlite3;
struct sqlite3_stmt;

namespace tds::compute::enclave {

struct SqlRun {
  SqlResult result;
  std::vector<InputStats> inputs;
  uint64_t database_bytes = 0;     // page_count * page_size after loading
  uint64_t sqlite_peak_bytes = 0;  // sqlite3_memory_highwater
};

class ConfidentialSql {
 public:
  // PermissionDenied when SHA-256(spec.sql) differs from spec.sql_digest (nothing is loaded);
  // InvalidArgument when the SQL does not compile against the inputs' tables or is not a
  // single read-only statement.
  static absl::StatusOr<std::unique_ptr<ConfidentialSql>> Create(const JobSpec& spec);
  ~ConfidentialSql();
  ConfidentialSql(const ConfidentialSql&) = delete;
  ConfidentialSql& operator=(const ConfidentialSql&) = delete;

  // Appends plaintext row bytes (row_format.h) of input `index`; rows are inserted as soon as
  // they are complete.
  absl::Status AddInput(size_t index, std::string_view bytes);
  // The input is complete (DataLoss if it ended inside a row).
  absl::Status FinishInput(size_t index);
  // REQUIRES: every input finished. Runs the query; PermissionDenied "output policy: ..." when
  // the result breaks the policy.
  absl::StatusOr<SqlRun> Run();

 private:
  struct Input;
  // Input `index`, still open; else InvalidArgument / FailedPrecondition naming it.
  absl::StatusOr<Input*> OpenInput(size_t index);
  explicit ConfidentialSql(const JobSpec& spec);
  absl::Status Exec(const char* sql);

  const JobSpec spec_;
  sqlite3* db_ = nullptr;
  std::vector<std::unique_ptr<Input>> inputs_;
};

// The rule SQL digests are compared by: SHA-256 of the exact SQL bytes.
Hash SqlDigest(std::string_view sql);

// The cells of `stmt`'s current row (sqlite3_step returned SQLITE_ROW): integers, reals, text
// and blobs as bytes, NULL as monostate. Also the tests' and the benchmark's plain-SQLite
// reference reads its rows with it, so both sides convert alike.
std::vector<Cell> RowCells(sqlite3_stmt* stmt);

}  // namespace tds::compute::enclave
