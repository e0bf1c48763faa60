#pragma once
// A SQLite database as a data source (sqlite3 C API).
//
// - The database is opened read-only; each Schema / Scan / CountRows uses its own connection,
//   so the source is thread-safe and a long scan never blocks another.
// - config.table: `SELECT * FROM "table"`. The name must be [A-Za-z_][A-Za-z0-9_]*, optionally
//   qualified once ("main.loans"), and is matched exactly (quoted).
// - config.query: exactly one statement, read-only (sqlite3_stmt_readonly) and made only of
//   reads: an authorizer refuses INSERT, UPDATE, DELETE, PRAGMA, ATTACH and every other action
//   at prepare time. It must return columns.
// - Column types come from the declared type, by SQLite's affinity rules with the catalog's
//   extra names: *BOOL* → bool, *DATETIME* / *TIMESTAMP* → timestamp, *DATE* → date, *INT* →
//   int64, *CHAR* / *CLOB* / *TEXT* → string, *BLOB* → bytes, *REAL* / *FLOA* / *DOUB* and any
//   other (NUMERIC, DECIMAL) → double. A column without a declared type (an expression, or a
//   column declared without one) takes the storage class of its value in the first row
//   (INTEGER → int64, REAL → double, TEXT → string, BLOB → bytes; no row or NULL → string).
// - SQLite does not enforce declared types, so Scan checks each value: an int64 column holds
//   INTEGERs; a double column INTEGERs or REALs; a bool column 0 / 1 or "true" / "false"; a date
//   or timestamp column text in the forms of value_text.h. Anything else is an error naming the
//   column and the row. string and bytes columns take any value (bytes as stored).
// Errors start with "sqlite <path> table "t"" or "sqlite <path> query".

#include <memory>

#include "absl/status/statusor.h"
#include "node/connectors/data_source.h"
#include "proto/config.pb.h"

namespace tds::node {

// Uses config.path, config.table or config.query (exactly one), and config.id_column. Opens and
// prepares the statement now, so a missing file, an unknown table or a refused query fails here.
absl::StatusOr<std::unique_ptr<DataSource>> OpenSqliteSource(const tds::DataSourceConfig& config);

}  // namespace tds::node
