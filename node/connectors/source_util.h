#pragma once
// Helpers shared by the connector implementations (not part of the public contract).

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "node/connectors/data_source.h"

namespace tds::node {

// Positions of `requested` in `schema`. An unknown name → InvalidArgument
// "<label>: unknown column "x" (columns: a, b, c)".
absl::StatusOr<std::vector<size_t>> ResolveColumns(const std::string& label,
                                                   const std::vector<SourceColumn>& schema,
                                                   const std::vector<std::string>& requested);

// A source's columns must be addressable by name: non-empty and unique; and `id_column`, when
// set, must be one of them. Errors name the label and the column.
absl::Status CheckColumnNames(const std::string& label, const std::vector<SourceColumn>& schema,
                              const std::string& id_column);

// True for [A-Za-z_][A-Za-z0-9_]* optionally qualified once ("schema.table").
bool IsPlainTableName(const std::string& name);

// "a.b" → "\"a\".\"b\"". REQUIRES: IsPlainTableName(name).
std::string QuoteTableName(const std::string& name);
// "a" → "\"a\"", doubling any '"' inside.
std::string QuoteIdentifier(const std::string& name);

// Call once at the top of Scan: chunk_rows must be positive.
absl::Status CheckChunkRows(const std::string& label, size_t chunk_rows);

}  // namespace tds::node
