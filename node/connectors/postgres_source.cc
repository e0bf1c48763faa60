#include "node/connectors/postgres_source.h"

#include <libpq-fe.h>

#include <charconv>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "common/bytes.h"
#include "common/status_macros.h"
#include "node/connectors/source_util.h"
#include "node/connectors/value_text.h"

namespace tds::node {
namespace {

struct ConnCloser {
  void operator()(PGconn* c) const { PQfinish(c); }
};
struct ResultClearer {
  void operator()(PGresult* r) const { PQclear(r); }
};
using Conn = std::unique_ptr<PGconn, ConnCloser>;
using Result = std::unique_ptr<PGresult, ResultClearer>;

// Built-in type OIDs (fixed by PostgreSQL's catalog, src/include/catalog/pg_type.dat).
enum : Oid {
  kBoolOid = 16,
  kByteaOid = 17,
  kCharOid = 18,
  kNameOid = 19,
  kInt8Oid = 20,
  kInt2Oid = 21,
  kInt4Oid = 23,
  kTextOid = 25,
  kFloat4Oid = 700,
  kFloat8Oid = 701,
  kBpcharOid = 1042,
  kVarcharOid = 1043,
  kDateOid = 1082,
  kTimestampOid = 1114,
  kTimestamptzOid = 1184,
  kNumericOid = 1700,
};

std::string TypeOf(Oid oid) {
  switch (oid) {
    case kBoolOid:
      return "bool";
    case kByteaOid:
      return "bytes";
    case kInt2Oid:
    case kInt4Oid:
    case kInt8Oid:
      return "int64";
    case kFloat4Oid:
    case kFloat8Oid:
    case kNumericOid:
      return "double";
    case kDateOid:
      return "date";
    case kTimestampOid:
    case kTimestamptzOid:
      return "timestamp";
    default:  // text, varchar, bpchar, name, char, and every other type in its text form
      return "string";
  }
}

constexpr char kSessionSetup[] =
    "SET default_transaction_read_only = on; SET DateStyle = 'ISO, YMD'; SET TimeZone = 'UTC'; "
    "SET bytea_output = 'hex'; SET extra_float_digits = 1; SET client_encoding = 'UTF8'";
constexpr char kCursor[] = "tds_scan";

// libpq messages end with a newline and may span lines.
std::string OneLine(const char* message) {
  std::string s = absl::StrReplaceAll(message == nullptr ? "" : message, {{"\n", " "}});
  while (!s.empty() && s.back() == ' ') s.pop_back();
  return s;
}

absl::StatusCode CodeForSqlState(const std::string& state) {
  if (state == "42P01") return absl::StatusCode::kNotFound;  // undefined_table
  if (state == "42501" || state == "25006") {  // insufficient_privilege, read_only_sql_transaction
    return absl::StatusCode::kPermissionDenied;
  }
  if (state.rfind("42", 0) == 0 || state == "0A000") return absl::StatusCode::kInvalidArgument;
  if (state.rfind("08", 0) == 0 || state.rfind("57P", 0) == 0) {
    return absl::StatusCode::kUnavailable;
  }
  if (state.rfind("22", 0) == 0) return absl::StatusCode::kFailedPrecondition;  // data exception
  return absl::StatusCode::kUnknown;
}

// "host=... port=... dbname=... user=..." from the DSN, without the password.
absl::StatusOr<std::string> DescribeDsn(const std::string& dsn) {
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(dsn.c_str(), &error);
  if (options == nullptr) {
    const std::string msg = OneLine(error);
    PQfreemem(error);
    return absl::InvalidArgumentError(absl::StrCat("postgres dsn: ", msg));
  }
  std::string out = "postgres";
  for (const char* key : {"host", "hostaddr", "port", "dbname", "user"}) {
    for (PQconninfoOption* o = options; o->keyword != nullptr; ++o) {
      if (std::string(o->keyword) == key && o->val != nullptr && o->val[0] != '\0') {
        absl::StrAppend(&out, " ", key, "=", o->val);
      }
    }
  }
  PQconninfoFree(options);
  return out;
}

class PostgresSource : public DataSource {
 public:
  // Exactly one of `table` (quoted) and `query` is non-empty.
  PostgresSource(std::string dsn, std::string label, std::string table, std::string query)
      : dsn_(std::move(dsn)),
        label_(std::move(label)),
        table_(std::move(table)),
        query_(std::move(query)) {}

  // Connects and describes the columns; called once by OpenPostgresSource.
  absl::Status Init(const std::string& id_column) {
    TDS_ASSIGN_OR_RETURN(Conn conn, Connect());
    TDS_RETURN_IF_ERROR(Begin(conn.get()));
    TDS_RETURN_IF_ERROR(Declare(conn.get(), SelectAll()));
    Result described(PQdescribePortal(conn.get(), kCursor));
    if (PQresultStatus(described.get()) != PGRES_COMMAND_OK) {
      return Error(described.get(), conn.get(), "describing the columns");
    }
    for (int i = 0; i < PQnfields(described.get()); ++i) {
      columns_.push_back({PQfname(described.get(), i), TypeOf(PQftype(described.get(), i))});
      oids_.push_back(PQftype(described.get(), i));
    }
    TDS_RETURN_IF_ERROR(Run(conn.get(), "ROLLBACK", PGRES_COMMAND_OK).status());
    if (columns_.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(label_, ": returns no columns"));
    }
    return CheckColumnNames(label_, columns_, id_column);
  }

  absl::StatusOr<std::vector<SourceColumn>> Schema() override { return columns_; }

  absl::StatusOr<uint64_t> CountRows() override {
    TDS_ASSIGN_OR_RETURN(Conn conn, Connect());
    TDS_RETURN_IF_ERROR(Begin(conn.get()));
    TDS_RETURN_IF_ERROR(Declare(conn.get(), SelectAll()));
    // MOVE counts the rows on the server without sending them.
    TDS_ASSIGN_OR_RETURN(
        Result r, Run(conn.get(), absl::StrCat("MOVE FORWARD ALL IN ", kCursor), PGRES_COMMAND_OK));
    uint64_t rows = 0;
    const std::string_view s(PQcmdTuples(r.get()));
    if (std::from_chars(s.data(), s.data() + s.size(), rows).ec != std::errc()) {
      return absl::InternalError(absl::StrCat(label_, ": bad count \"", std::string(s), "\""));
    }
    TDS_RETURN_IF_ERROR(Run(conn.get(), "ROLLBACK", PGRES_COMMAND_OK).status());
    return rows;
  }

  absl::Status Scan(const std::vector<std::string>& columns, size_t chunk_rows,
                    const std::function<bool(const std::vector<Row>&)>& fn) override {
    TDS_RETURN_IF_ERROR(CheckChunkRows(label_, chunk_rows));
    TDS_ASSIGN_OR_RETURN(const std::vector<size_t> index,
                         ResolveColumns(label_, columns_, columns));
    // A table is projected by the server; a query (run as written, so that its own comments
    // and semicolon stay harmless) is projected here.
    std::string select = SelectAll();
    std::vector<int> fields;
    for (size_t k = 0; k < index.size(); ++k) fields.push_back(static_cast<int>(index[k]));
    if (query_.empty()) {
      select = "SELECT ";
      for (size_t k = 0; k < index.size(); ++k) {
        absl::StrAppend(&select, k == 0 ? "" : ", ", QuoteIdentifier(columns_[index[k]].name));
        fields[k] = static_cast<int>(k);
      }
      absl::StrAppend(&select, " FROM ", table_);
    }

    TDS_ASSIGN_OR_RETURN(Conn conn, Connect());
    TDS_RETURN_IF_ERROR(Begin(conn.get()));
    TDS_RETURN_IF_ERROR(Declare(conn.get(), select));
    const std::string fetch = absl::StrCat("FETCH FORWARD ", chunk_rows, " FROM ", kCursor);
    std::vector<Row> chunk;
    uint64_t rows_before = 0;
    for (;;) {
      TDS_ASSIGN_OR_RETURN(Result r, Run(conn.get(), fetch, PGRES_TUPLES_OK));
      const int n = PQntuples(r.get());
      if (n == 0) break;
      chunk.clear();
      chunk.reserve(n);
      for (int row = 0; row < n; ++row) {
        Row values;
        values.reserve(index.size());
        for (size_t k = 0; k < index.size(); ++k) {
          const int field = fields[k];
          if (PQgetisnull(r.get(), row, field)) {
            values.emplace_back(std::nullopt);
            continue;
          }
          TDS_ASSIGN_OR_RETURN(std::string v,
                               Value(index[k],
                                     std::string_view(PQgetvalue(r.get(), row, field),
                                                      PQgetlength(r.get(), row, field)),
                                     rows_before + row + 1));
          values.emplace_back(std::move(v));
        }
        chunk.push_back(std::move(values));
      }
      rows_before += n;
      if (!fn(chunk)) break;
      if (static_cast<size_t>(n) < chunk_rows) break;
    }
    // Read-only: ending the transaction either way writes nothing; closing it frees the cursor.
    return Run(conn.get(), "ROLLBACK", PGRES_COMMAND_OK).status();
  }

 private:
  absl::StatusOr<Conn> Connect() const {
    // Defaults first: the DSN (expanded from "dbname") overrides them.
    const char* keywords[] = {"connect_timeout", "application_name", "dbname", nullptr};
    const char* values[] = {"10", "tds-connector", dsn_.c_str(), nullptr};
    Conn conn(PQconnectdbParams(keywords, values, /*expand_dbname=*/1));
    if (conn == nullptr) {
      return absl::ResourceExhaustedError(absl::StrCat(label_, ": cannot connect: out of memory"));
    }
    if (PQstatus(conn.get()) != CONNECTION_OK) {
      return absl::UnavailableError(
          absl::StrCat(label_, ": cannot connect: ", OneLine(PQerrorMessage(conn.get()))));
    }
    Result setup(PQexec(conn.get(), kSessionSetup));
    if (PQresultStatus(setup.get()) != PGRES_COMMAND_OK) {
      return Error(setup.get(), conn.get(), "setting up the session");
    }
    return conn;
  }

  std::string SelectAll() const {
    return query_.empty() ? absl::StrCat("SELECT * FROM ", table_) : query_;
  }

  absl::Status Begin(PGconn* conn) const {
    return Run(conn, "BEGIN TRANSACTION READ ONLY", PGRES_COMMAND_OK).status();
  }

  // Declares the cursor over `select`; for a query source, a refusal says what is allowed.
  absl::Status Declare(PGconn* conn, const std::string& select) const {
    const std::string sql = absl::StrCat("DECLARE ", kCursor, " NO SCROLL CURSOR FOR ", select);
    Result r(PQexecParams(conn, sql.c_str(), 0, nullptr, nullptr, nullptr, nullptr, 0));
    if (PQresultStatus(r.get()) == PGRES_COMMAND_OK) return absl::OkStatus();
    absl::Status status = Error(r.get(), conn, "");
    if (!query_.empty() && (status.code() == absl::StatusCode::kInvalidArgument ||
                            status.code() == absl::StatusCode::kPermissionDenied)) {
      return absl::Status(
          status.code(),
          absl::StrCat(label_, ": refused (a source query must be a single read-only SELECT): ",
                       PrimaryMessage(r.get(), conn)));
    }
    return status;
  }

  // Runs one statement (extended protocol: a second statement is refused by the server).
  absl::StatusOr<Result> Run(PGconn* conn, const std::string& sql, ExecStatusType expect) const {
    Result r(PQexecParams(conn, sql.c_str(), 0, nullptr, nullptr, nullptr, nullptr, 0));
    if (PQresultStatus(r.get()) != expect) return Error(r.get(), conn, "");
    return r;
  }

  static std::string PrimaryMessage(const PGresult* r, PGconn* conn) {
    const char* primary = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : nullptr;
    return OneLine(primary != nullptr ? primary : PQerrorMessage(conn));
  }

  absl::Status Error(const PGresult* r, PGconn* conn, const std::string& doing) const {
    const char* state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
    const absl::StatusCode code = state != nullptr                  ? CodeForSqlState(state)
                                  : PQstatus(conn) != CONNECTION_OK ? absl::StatusCode::kUnavailable
                                                                    : absl::StatusCode::kUnknown;
    return absl::Status(code, absl::StrCat(label_, ": ", doing, doing.empty() ? "" : ": ",
                                           PrimaryMessage(r, conn)));
  }

  absl::StatusOr<std::string> Value(size_t column, std::string_view text,
                                    uint64_t row_number) const {
    switch (oids_[column]) {
      case kBoolOid:
        if (text == "t") return std::string("true");
        if (text == "f") return std::string("false");
        break;
      case kFloat4Oid:
      case kFloat8Oid:
      case kNumericOid: {
        double v;
        const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
        if (ec == std::errc() && end == text.data() + text.size()) return CanonicalDouble(v);
        if (ec == std::errc::result_out_of_range) {  // numeric beyond double's range
          return CanonicalDouble(text[0] == '-' ? -HUGE_VAL : HUGE_VAL);
        }
        break;
      }
      case kTimestampOid:
      case kTimestamptzOid: {
        std::string out(text);
        if (out.size() > 10 && out[10] == ' ') out[10] = 'T';
        return out;
      }
      case kByteaOid:
        if (text.substr(0, 2) == "\\x") {
          auto bytes = HexDecode(text.substr(2));
          if (bytes.ok()) return std::move(bytes).value();
        }
        break;
      default:
        return std::string(text);
    }
    return absl::InternalError(absl::StrCat(label_, " row ", row_number, " column \"",
                                            columns_[column].name, "\": unexpected text \"",
                                            std::string(text.substr(0, 64)), "\""));
  }

  const std::string dsn_;
  const std::string label_;
  const std::string table_;
  const std::string query_;
  // Set by Init, read-only afterwards.
  std::vector<SourceColumn> columns_;
  std::vector<Oid> oids_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<DataSource>> OpenPostgresSource(
    const tds::DataSourceConfig& config) {
  if (config.dsn().empty()) return absl::InvalidArgumentError("postgres source: dsn is required");
  TDS_ASSIGN_OR_RETURN(std::string label, DescribeDsn(config.dsn()));
  if (config.table().empty() == config.query().empty()) {
    return absl::InvalidArgumentError(absl::StrCat(label, ": set exactly one of table and query"));
  }
  std::string table;
  if (!config.table().empty()) {
    absl::StrAppend(&label, " table \"", config.table(), "\"");
    if (!IsPlainTableName(config.table())) {
      return absl::InvalidArgumentError(absl::StrCat(
          label, ": not a plain table name ([A-Za-z_][A-Za-z0-9_]*, optionally schema.table)"));
    }
    table = QuoteTableName(config.table());
  } else {
    absl::StrAppend(&label, " query");
  }
  auto source = std::make_unique<PostgresSource>(config.dsn(), label, table, config.query());
  TDS_RETURN_IF_ERROR(source->Init(config.id_column()));
  return source;
}

}  // namespace tds::node
