#pragma once
// A CSV file as a data source (RFC 4180).
//
// - A header row is required; its names are the columns (non-empty, unique).
// - Fields may be quoted: "a,b", "say ""hi""", and quoted fields may span lines. Records end
//   with LF or CRLF; a lone CR inside a field is data. Completely blank lines are skipped.
//   A UTF-8 byte-order mark at the start is ignored.
// - An empty field (quoted or not) is NULL.
// - Column types are inferred by reading the whole file once (the first Schema() or
//   CountRows()): int64 if every non-empty value is an int64, else double if every one is a
//   number, else bool, date or timestamp if every one is, else string (value_text.h has the
//   exact forms). A column with no values at all is a string. The inferred schema and row count
//   are kept for the life of the source: replacing the file means opening a new source.
// - Scan re-reads the file in fixed-size blocks, so memory stays bounded by the chunk size and
//   the longest record (a record over 16 MiB is an error); each value is checked against its
//   column's type, and doubles and bools come out in canonical form.
// - Errors name the file and the line: "<path> line 17: 4 fields, header has 5".
// Thread-safe.

#include <memory>

#include "absl/status/statusor.h"
#include "node/connectors/data_source.h"
#include "proto/config.pb.h"

namespace tds::node {

// Uses config.path, config.delimiter (one character; default ",") and config.id_column. Reads
// the header row now.
absl::StatusOr<std::unique_ptr<DataSource>> OpenCsvSource(const tds::DataSourceConfig& config);

}  // namespace tds::node
