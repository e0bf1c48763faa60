#include "node/connectors/sqlite_source.h"

#include <sqlite3.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "node/connectors/source_util.h"
#include "node/connectors/value_text.h"

namespace tds::node {
namespace {

struct DbCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct StmtFinalizer {
  void operator()(sqlite3_stmt* st) const { sqlite3_finalize(st); }
};
using Db = std::unique_ptr<sqlite3, DbCloser>;
using Stmt = std::unique_ptr<sqlite3_stmt, StmtFinalizer>;

constexpr int kBusyTimeoutMs = 5000;

// Admits only what a read-only SELECT needs; records the first action it refused.
int ReadOnlyAuthorizer(void* user, int action, const char*, const char*, const char*, const char*) {
  switch (action) {
    case SQLITE_SELECT:
    case SQLITE_READ:
    case SQLITE_FUNCTION:
    case SQLITE_RECURSIVE:
      return SQLITE_OK;
    default:
      int* refused = static_cast<int*>(user);
      if (refused != nullptr && *refused == 0) *refused = action;
      return SQLITE_DENY;
  }
}

std::string ActionName(int action) {
  switch (action) {
    case SQLITE_INSERT:
      return "INSERT";
    case SQLITE_UPDATE:
      return "UPDATE";
    case SQLITE_DELETE:
      return "DELETE";
    case SQLITE_PRAGMA:
      return "PRAGMA";
    case SQLITE_ATTACH:
      return "ATTACH";
    case SQLITE_DETACH:
      return "DETACH";
    case SQLITE_TRANSACTION:
      return "a transaction statement";
    default:
      return absl::StrCat("SQLite action ", action);
  }
}

std::string TypeFromDeclared(const char* declared) {
  const std::string d = absl::AsciiStrToUpper(declared);
  if (absl::StrContains(d, "BOOL")) return "bool";
  if (absl::StrContains(d, "DATETIME") || absl::StrContains(d, "TIMESTAMP")) return "timestamp";
  if (absl::StrContains(d, "DATE")) return "date";
  if (absl::StrContains(d, "INT")) return "int64";
  if (absl::StrContains(d, "CHAR") || absl::StrContains(d, "CLOB") ||
      absl::StrContains(d, "TEXT")) {
    return "string";
  }
  if (absl::StrContains(d, "BLOB")) return "bytes";
  return "double";  // REAL, FLOA, DOUB, and NUMERIC affinity
}

std::string TypeFromStorage(int storage) {
  switch (storage) {
    case SQLITE_INTEGER:
      return "int64";
    case SQLITE_FLOAT:
      return "double";
    case SQLITE_BLOB:
      return "bytes";
    default:
      return "string";
  }
}

std::string StorageName(int storage) {
  switch (storage) {
    case SQLITE_INTEGER:
      return "INTEGER";
    case SQLITE_FLOAT:
      return "REAL";
    case SQLITE_BLOB:
      return "BLOB";
    default:
      return "TEXT";
  }
}

std::string ColumnBytes(sqlite3_stmt* st, int i) {
  const void* p = sqlite3_column_blob(st, i);
  const int n = sqlite3_column_bytes(st, i);
  return p == nullptr ? std::string() : std::string(static_cast<const char*>(p), n);
}

class SqliteSource : public DataSource {
 public:
  SqliteSource(std::string path, std::string label, std::string sql)
      : path_(std::move(path)), label_(std::move(label)), sql_(std::move(sql)) {}

  // Opens, prepares and types the columns; called once by OpenSqliteSource.
  absl::Status Init(bool is_query, const std::string& id_column) {
    TDS_ASSIGN_OR_RETURN(Db db, Connect());
    int refused = 0;
    const char* tail = nullptr;
    sqlite3_stmt* raw = nullptr;
    sqlite3_set_authorizer(db.get(), ReadOnlyAuthorizer, &refused);
    const int rc =
        sqlite3_prepare_v2(db.get(), sql_.c_str(), static_cast<int>(sql_.size()), &raw, &tail);
    Stmt st(raw);
    if (refused != 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(label_, ": must be a single read-only SELECT statement (it would run ",
                       ActionName(refused), ")"));
    }
    if (rc != SQLITE_OK) return PrepareError(db.get(), rc);
    if (st == nullptr) return absl::InvalidArgumentError(absl::StrCat(label_, ": empty query"));
    if (!sqlite3_stmt_readonly(st.get())) {
      return absl::InvalidArgumentError(
          absl::StrCat(label_, ": must be a single read-only SELECT statement"));
    }
    if (is_query) {
      // Whatever follows the first statement must hold no statement at all.
      // (Without the authorizer, so a refused or malformed second statement also counts.)
      sqlite3_set_authorizer(db.get(), nullptr, nullptr);
      sqlite3_stmt* next = nullptr;
      const char* rest = tail;
      const int next_rc = sqlite3_prepare_v2(db.get(), rest, -1, &next, nullptr);
      Stmt next_st(next);
      if (next_rc != SQLITE_OK || next_st != nullptr) {
        return absl::InvalidArgumentError(
            absl::StrCat(label_, ": must be a single statement; found another after it: \"",
                         std::string(rest).substr(0, 80), "\""));
      }
      sqlite3_set_authorizer(db.get(), ReadOnlyAuthorizer, &refused);
    }
    const int n = sqlite3_column_count(st.get());
    if (n == 0) {
      return absl::InvalidArgumentError(absl::StrCat(label_, ": returns no columns"));
    }
    bool stepped = false;
    for (int i = 0; i < n; ++i) {
      const char* declared = sqlite3_column_decltype(st.get(), i);
      std::string type;
      if (declared != nullptr && declared[0] != '\0') {
        type = TypeFromDeclared(declared);
      } else {
        if (!stepped) {
          stepped = true;
          const int s = sqlite3_step(st.get());
          if (s != SQLITE_ROW && s != SQLITE_DONE) return StepError(db.get(), s, 1);
          if (s == SQLITE_DONE) sqlite3_reset(st.get());  // column_type reads NULL
        }
        type = TypeFromStorage(sqlite3_column_type(st.get(), i));
      }
      columns_.push_back({sqlite3_column_name(st.get(), i), type});
    }
    return CheckColumnNames(label_, columns_, id_column);
  }

  absl::StatusOr<std::vector<SourceColumn>> Schema() override { return columns_; }

  absl::StatusOr<uint64_t> CountRows() override {
    TDS_ASSIGN_OR_RETURN(Db db, Connect());
    TDS_ASSIGN_OR_RETURN(Stmt st, Prepare(db.get()));
    uint64_t rows = 0;
    for (;;) {
      const int rc = sqlite3_step(st.get());
      if (rc == SQLITE_DONE) return rows;
      if (rc != SQLITE_ROW) return StepError(db.get(), rc, rows + 1);
      ++rows;
    }
  }

  absl::Status Scan(const std::vector<std::string>& columns, size_t chunk_rows,
                    const std::function<bool(const std::vector<Row>&)>& fn) override {
    TDS_RETURN_IF_ERROR(CheckChunkRows(label_, chunk_rows));
    TDS_ASSIGN_OR_RETURN(const std::vector<size_t> index,
                         ResolveColumns(label_, columns_, columns));
    TDS_ASSIGN_OR_RETURN(Db db, Connect());
    TDS_ASSIGN_OR_RETURN(Stmt st, Prepare(db.get()));
    std::vector<Row> chunk;
    chunk.reserve(chunk_rows);
    for (uint64_t row_number = 1;; ++row_number) {
      const int rc = sqlite3_step(st.get());
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) return StepError(db.get(), rc, row_number);
      Row row;
      row.reserve(index.size());
      for (const size_t i : index) {
        TDS_ASSIGN_OR_RETURN(auto value, Value(st.get(), static_cast<int>(i), row_number));
        row.push_back(std::move(value));
      }
      chunk.push_back(std::move(row));
      if (chunk.size() == chunk_rows) {
        if (!fn(chunk)) return absl::OkStatus();
        chunk.clear();
      }
    }
    if (!chunk.empty()) fn(chunk);
    return absl::OkStatus();
  }

 private:
  absl::StatusOr<Db> Connect() const {
    sqlite3* raw = nullptr;
    const int rc =
        sqlite3_open_v2(path_.c_str(), &raw, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr);
    Db db(raw);
    if (rc != SQLITE_OK) {
      return absl::UnavailableError(absl::StrCat(
          label_, ": cannot open: ", db ? sqlite3_errmsg(db.get()) : sqlite3_errstr(rc)));
    }
    sqlite3_busy_timeout(db.get(), kBusyTimeoutMs);
    return db;
  }

  // Prepares the statement checked by Init, under the same authorizer.
  absl::StatusOr<Stmt> Prepare(sqlite3* db) const {
    // No record of refusals here: the statement may outlive this frame (a re-prepare after a
    // schema change consults the authorizer again).
    sqlite3_set_authorizer(db, ReadOnlyAuthorizer, nullptr);
    sqlite3_stmt* raw = nullptr;
    const int rc =
        sqlite3_prepare_v2(db, sql_.c_str(), static_cast<int>(sql_.size()), &raw, nullptr);
    Stmt st(raw);
    if (rc != SQLITE_OK || st == nullptr) return PrepareError(db, rc);
    // The schema may have changed since Init: the columns must still be the same.
    bool same = sqlite3_column_count(st.get()) == static_cast<int>(columns_.size());
    for (size_t i = 0; same && i < columns_.size(); ++i) {
      same = columns_[i].name == sqlite3_column_name(st.get(), static_cast<int>(i));
    }
    if (!same) {
      return absl::FailedPreconditionError(
          absl::StrCat(label_, ": the columns changed since the source was opened"));
    }
    return st;
  }

  absl::Status PrepareError(sqlite3* db, int rc) const {
    const std::string msg = absl::StrCat(label_, ": ", sqlite3_errmsg(db));
    if (absl::StrContains(sqlite3_errmsg(db), "no such table")) return absl::NotFoundError(msg);
    if (rc == SQLITE_NOTADB || rc == SQLITE_CORRUPT || rc == SQLITE_CANTOPEN) {
      return absl::FailedPreconditionError(msg);
    }
    return absl::InvalidArgumentError(msg);
  }

  absl::Status StepError(sqlite3* db, int rc, uint64_t row_number) const {
    const std::string msg = absl::StrCat(label_, " row ", row_number, ": ", sqlite3_errmsg(db));
    return rc == SQLITE_BUSY ? absl::UnavailableError(msg) : absl::InternalError(msg);
  }

  absl::StatusOr<std::optional<std::string>> Value(sqlite3_stmt* st, int i,
                                                   uint64_t row_number) const {
    const int storage = sqlite3_column_type(st, i);
    if (storage == SQLITE_NULL) return std::nullopt;
    const std::string& type = columns_[i].type;
    if (type == "bytes") return ColumnBytes(st, i);
    if (type == "string") {
      if (storage == SQLITE_FLOAT) return CanonicalDouble(sqlite3_column_double(st, i));
      return ColumnBytes(st, i);  // INTEGER as decimal text, TEXT and BLOB as stored
    }
    if (type == "int64" && storage == SQLITE_INTEGER) {
      return absl::StrCat(sqlite3_column_int64(st, i));
    }
    if (type == "double" && (storage == SQLITE_INTEGER || storage == SQLITE_FLOAT)) {
      return CanonicalDouble(sqlite3_column_double(st, i));
    }
    if (type == "bool") {
      if (storage == SQLITE_INTEGER) {
        const int64_t v = sqlite3_column_int64(st, i);
        if (v == 0 || v == 1) return std::string(v ? "true" : "false");
      } else if (storage == SQLITE_TEXT) {
        if (const auto b = ParseBoolText(ColumnBytes(st, i))) {
          return std::string(*b ? "true" : "false");
        }
      }
    }
    if (storage == SQLITE_TEXT) {
      std::string text = ColumnBytes(st, i);
      if ((type == "date" && IsDateText(text)) || (type == "timestamp" && IsTimestampText(text))) {
        return text;
      }
    }
    const std::string shown = storage == SQLITE_BLOB ? "BLOB" : ColumnBytes(st, i).substr(0, 64);
    return absl::FailedPreconditionError(
        absl::StrCat(label_, " row ", row_number, " column \"", columns_[i].name,
                     "\": ", StorageName(storage), " value \"", shown, "\" is not of type ", type));
  }

  const std::string path_;
  const std::string label_;
  const std::string sql_;
  std::vector<SourceColumn> columns_;  // set by Init, read-only afterwards
};

}  // namespace

absl::StatusOr<std::unique_ptr<DataSource>> OpenSqliteSource(const tds::DataSourceConfig& config) {
  const std::string& path = config.path();
  if (path.empty()) return absl::InvalidArgumentError("sqlite source: path is required");
  if (config.table().empty() == config.query().empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("sqlite ", path, ": set exactly one of table and query"));
  }
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    const int err = errno;
    const std::string msg = absl::StrCat("sqlite ", path, ": ", std::strerror(err));
    return err == ENOENT ? absl::NotFoundError(msg) : absl::PermissionDeniedError(msg);
  }
  std::string label, sql;
  if (!config.table().empty()) {
    label = absl::StrCat("sqlite ", path, " table \"", config.table(), "\"");
    if (!IsPlainTableName(config.table())) {
      return absl::InvalidArgumentError(absl::StrCat(
          label, ": not a plain table name ([A-Za-z_][A-Za-z0-9_]*, optionally schema.table)"));
    }
    sql = absl::StrCat("SELECT * FROM ", QuoteTableName(config.table()));
  } else {
    label = absl::StrCat("sqlite ", path, " query");
    sql = config.query();
  }
  auto source = std::make_unique<SqliteSource>(path, label, sql);
  TDS_RETURN_IF_ERROR(source->Init(!config.query().empty(), config.id_column()));
  return source;
}

}  // namespace tds::node
