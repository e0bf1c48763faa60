#pragma once
// A PostgreSQL table or query as a data source (libpq).
//
// - config.dsn is a libpq connection string or URI ("host=127.0.0.1 port=5432 dbname=x
//   user=y"); connect_timeout defaults to 10 s. Errors never repeat the DSN's password: they
//   start with "postgres host=... port=... dbname=... user=... table "t"" (or "query").
// - Every session sets default_transaction_read_only = on and every read runs inside a
//   BEGIN READ ONLY transaction, so no query (nor a function it calls) can write.
// - config.table: the name must be [A-Za-z_][A-Za-z0-9_]*, optionally schema-qualified, and is
//   matched exactly (quoted: "Loans" is not loans).
// - config.query: one SELECT (or VALUES / TABLE), run as written as the cursor's query
//   (DECLARE ... CURSOR FOR <query>, over the extended protocol), so a second statement, an
//   INSERT, UPDATE or DELETE, SELECT ... FOR UPDATE, or a data-modifying WITH is refused when
//   the source opens. A table is read as SELECT <the requested columns> FROM "table".
// - Scan reads through a server-side cursor (DECLARE ... NO SCROLL CURSOR; FETCH FORWARD
//   chunk_rows), so a table of 10^7 rows never sits in memory at once. Each operation uses its
//   own connection: the source is thread-safe.
// - Types from the result's type OIDs: int2/int4/int8 → int64; float4/float8/numeric → double
//   (canonical text, value_text.h); text/varchar/bpchar/name/char → string; bool → bool
//   ("true"/"false"); date → date; timestamp/timestamptz → timestamp (ISO 8601 with 'T', UTC
//   for timestamptz); bytea → bytes (raw). Any other type (uuid, json, interval, arrays ...)
//   → string, in PostgreSQL's text form.

#include <memory>

#include "absl/status/statusor.h"
#include "node/connectors/data_source.h"
#include "proto/config.pb.h"

namespace tds::node {

// Uses config.dsn, config.table or config.query (exactly one) and config.id_column. Connects
// and describes the columns now, so a bad DSN, an unknown table or a refused query fails here.
absl::StatusOr<std::unique_ptr<DataSource>> OpenPostgresSource(const tds::DataSourceConfig& config);

}  // namespace tds::node
