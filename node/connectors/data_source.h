#pragma once
// Provider-side data connectors: a product binds to a table or query of a CSV file, a SQLite
// database or a PostgreSQL server. The data never leaves the provider's node except through
// the metered gateway.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "proto/catalog.pb.h"
#include "proto/config.pb.h"

namespace tds::node {

struct SourceColumn {
  std::string name;
  // The catalog's type vocabulary: int64, double, string, bool, date, timestamp, bytes.
  std::string type;
};

// Values as text (NULL = nullopt); numbers in their canonical decimal form.
// value_text.h gives the exact form of each type (bytes: the raw bytes, not hex).
using Row = std::vector<std::optional<std::string>>;

// Implementations are thread-safe: each Scan reads on its own (file, connection).
class DataSource {
 public:
  virtual ~DataSource() = default;
  // Columns of the bound table or query, in order, with their catalog types.
  virtual absl::StatusOr<std::vector<SourceColumn>> Schema() = 0;
  // Streams the named columns (in that order) of every row, `chunk_rows` at a time, until fn
  // returns false. Unknown column → InvalidArgument naming it. Memory stays bounded by the
  // chunk size whatever the table's size.
  virtual absl::Status Scan(const std::vector<std::string>& columns, size_t chunk_rows,
                            const std::function<bool(const std::vector<Row>&)>& fn) = 0;
  // Row count (may scan).
  virtual absl::StatusOr<uint64_t> CountRows() = 0;
};

// Opens the source a config entry describes (kind csv | sqlite | postgres). Errors name the
// source and what failed (missing file, bad DSN, unknown table, query error).
absl::StatusOr<std::unique_ptr<DataSource>> OpenDataSource(const tds::DataSourceConfig& config);

// At publish: every column of the product's schema must exist in the source with a compatible
// type (the error names the column, the catalog type and the source type).
// Compatible: the same type; an int64 source for a double column (exact up to 2^53); any
// source type but bytes for a string column (its canonical text, e.g. CSV zip codes inferred
// as int64). Nothing else: a string source never serves a date, int64 or bool column.
// Extra source columns are fine (they are simply not exposed). All mismatches are reported at
// once, as FailedPrecondition.
absl::Status CheckSchema(const std::vector<SourceColumn>& source, const tds::Product& product);

}  // namespace tds::node
