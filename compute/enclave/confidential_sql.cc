#include "compute/enclave/confidential_sql.h"

#include <sqlite3.h>

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/sha256.h"
#include "common/status_macros.h"
#include "compute/enclave/output_policy.h"
#include "compute/enclave/row_format.h"

namespace tds::compute::enclave {

struct ConfidentialSql::Input {
  Input(const InputSchema& schema) : schema(schema), parser(schema) {}
  ~Input() { sqlite3_finalize(insert); }
  const InputSchema& schema;
  RowParser parser;
  sqlite3_stmt* insert = nullptr;
  Sha256Hasher digest;
  uint64_t bytes = 0;
  bool finished = false;
  Hash final_digest{};
};

namespace {

// Read-only query: reads, selects and functions only (no writes, PRAGMA, ATTACH ...).
int ReadOnlyAuthorizer(void*, int action, const char*, const char*, const char*, const char*) {
  switch (action) {
    case SQLITE_SELECT:
    case SQLITE_READ:
    case SQLITE_FUNCTION:
    case SQLITE_RECURSIVE:
      return SQLITE_OK;
    default:
      return SQLITE_DENY;
  }
}

std::string Quote(const std::string& name) { return absl::StrCat("\"", name, "\""); }

}  // namespace

Hash SqlDigest(std::string_view sql) { return Sha256(sql); }

ConfidentialSql::ConfidentialSql(const JobSpec& spec) : spec_(spec) {}

ConfidentialSql::~ConfidentialSql() {
  inputs_.clear();  // finalizes the statements before the database closes
  sqlite3_close(db_);
}

absl::Status ConfidentialSql::Exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string text = err ? err : sqlite3_errmsg(db_);
    sqlite3_free(err);
    return absl::InternalError(absl::StrCat("confidential sql: ", sql, ": ", text));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<ConfidentialSql>> ConfidentialSql::Create(const JobSpec& spec) {
  TDS_RETURN_IF_ERROR(ValidateJobSpec(spec));
  const Hash got = SqlDigest(spec.sql);
  if (got != spec.sql_digest) {
    return absl::PermissionDeniedError(
        absl::StrCat("confidential sql: the SQL text's SHA-256 ", HexEncode(got),
                     " differs from the job's approved digest ", HexEncode(spec.sql_digest)));
  }
  std::unique_ptr<ConfidentialSql> q(new ConfidentialSql(spec));
  if (sqlite3_open_v2(":memory:", &q->db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_MEMORY, nullptr) !=
      SQLITE_OK) {
    return absl::ResourceExhaustedError("confidential sql: cannot open an in-memory database");
  }
  sqlite3_limit(q->db_, SQLITE_LIMIT_ATTACHED, 0);
  sqlite3_db_config(q->db_, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0, nullptr);
  sqlite3_db_config(q->db_, SQLITE_DBCONFIG_DEFENSIVE, 1, nullptr);
  TDS_RETURN_IF_ERROR(
      q->Exec("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA temp_store=MEMORY;"));
  for (const InputSchema& in : q->spec_.inputs) {
    std::string create = absl::StrCat("CREATE TABLE ", Quote(in.name), " (");
    std::string insert = absl::StrCat("INSERT INTO ", Quote(in.name), " VALUES (");
    for (size_t c = 0; c < in.columns.size(); ++c) {
      absl::StrAppend(&create, c ? ", " : "", Quote(in.columns[c].name), " ",
                      ColumnTypeName(in.columns[c].type));
      absl::StrAppend(&insert, c ? ", ?" : "?");
    }
    absl::StrAppend(&create, ") STRICT");
    absl::StrAppend(&insert, ")");
    TDS_RETURN_IF_ERROR(q->Exec(create.c_str()));
    auto input = std::make_unique<Input>(in);
    if (sqlite3_prepare_v3(q->db_, insert.c_str(), -1, SQLITE_PREPARE_PERSISTENT, &input->insert,
                           nullptr) != SQLITE_OK) {
      return absl::InternalError(
          absl::StrCat("confidential sql: preparing ", insert, ": ", sqlite3_errmsg(q->db_)));
    }
    q->inputs_.push_back(std::move(input));
  }
  // Compile the approved query now, so a job whose SQL cannot run is refused before any
  // provider streams its data.
  sqlite3_set_authorizer(q->db_, ReadOnlyAuthorizer, nullptr);
  sqlite3_stmt* stmt = nullptr;
  const char* tail = nullptr;
  const int rc = sqlite3_prepare_v2(q->db_, q->spec_.sql.c_str(),
                                    static_cast<int>(q->spec_.sql.size()), &stmt, &tail);
  sqlite3_set_authorizer(q->db_, nullptr, nullptr);
  if (rc != SQLITE_OK || stmt == nullptr) {
    sqlite3_finalize(stmt);
    return absl::InvalidArgumentError(
        absl::StrCat("confidential sql: the approved SQL does not compile as one read-only query: ",
                     rc == SQLITE_OK ? "empty statement" : sqlite3_errmsg(q->db_)));
  }
  // Only whitespace and at most one ';' may follow the statement.
  std::string rest(tail);
  rest.erase(
      std::remove_if(rest.begin(), rest.end(),
                     [](char c) { return absl::ascii_isspace(static_cast<unsigned char>(c)); }),
      rest.end());
  const bool single = rest.empty() || rest == ";";
  sqlite3_finalize(stmt);
  if (!single) {
    return absl::InvalidArgumentError(
        "confidential sql: the approved SQL holds more than one statement");
  }
  TDS_RETURN_IF_ERROR(q->Exec("BEGIN"));
  return q;
}

absl::StatusOr<ConfidentialSql::Input*> ConfidentialSql::OpenInput(size_t index) {
  if (index >= inputs_.size()) {
    return absl::InvalidArgumentError(absl::StrCat("confidential sql: no input ", index));
  }
  Input& in = *inputs_[index];
  if (in.finished) {
    return absl::FailedPreconditionError(
        absl::StrCat("confidential sql: input '", in.schema.name, "' already finished"));
  }
  return &in;
}

absl::Status ConfidentialSql::AddInput(size_t index, std::string_view bytes) {
  TDS_ASSIGN_OR_RETURN(Input * open, OpenInput(index));
  Input& in = *open;
  in.digest.Update(bytes);
  in.bytes += bytes.size();
  sqlite3_stmt* st = in.insert;
  return in.parser.Feed(bytes, [&](const std::vector<ValueView>& row) -> absl::Status {
    for (size_t c = 0; c < row.size(); ++c) {
      const ValueView& v = row[c];
      const int col = static_cast<int>(c) + 1;
      if (v.null) {
        sqlite3_bind_null(st, col);
        continue;
      }
      switch (in.schema.columns[c].type) {
        case ColumnType::kInteger:
          sqlite3_bind_int64(st, col, v.integer);
          break;
        case ColumnType::kReal:
          sqlite3_bind_double(st, col, v.real);
          break;
        case ColumnType::kText:
          sqlite3_bind_text(st, col, v.text.data(), static_cast<int>(v.text.size()), SQLITE_STATIC);
          break;
      }
    }
    const int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
      return absl::ResourceExhaustedError(absl::StrCat("confidential sql: inserting row ",
                                                       in.parser.rows(), " of input '",
                                                       in.schema.name, "': ", sqlite3_errmsg(db_)));
    }
    return absl::OkStatus();
  });
}

absl::Status ConfidentialSql::FinishInput(size_t index) {
  TDS_ASSIGN_OR_RETURN(Input * open, OpenInput(index));
  Input& in = *open;
  TDS_RETURN_IF_ERROR(in.parser.Finish());
  in.finished = true;
  in.final_digest = in.digest.Finish();
  return absl::OkStatus();
}

absl::StatusOr<SqlRun> ConfidentialSql::Run() {
  SqlRun run;
  for (const auto& in : inputs_) {
    if (!in->finished) {
      return absl::FailedPreconditionError(
          absl::StrCat("confidential sql: input '", in->schema.name, "' has not finished"));
    }
    run.inputs.push_back({in->schema.name, in->final_digest, in->parser.rows(), in->bytes});
  }
  TDS_RETURN_IF_ERROR(Exec("COMMIT"));
  {
    sqlite3_stmt* st = nullptr;
    int64_t pages = 0, page_size = 0;
    if (sqlite3_prepare_v2(db_, "PRAGMA page_count", -1, &st, nullptr) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW) {
      pages = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    if (sqlite3_prepare_v2(db_, "PRAGMA page_size", -1, &st, nullptr) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW) {
      page_size = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    run.database_bytes = static_cast<uint64_t>(pages * page_size);
  }

  sqlite3_set_authorizer(db_, ReadOnlyAuthorizer, nullptr);
  sqlite3_stmt* stmt = nullptr;
  const int prc = sqlite3_prepare_v2(db_, spec_.sql.c_str(), static_cast<int>(spec_.sql.size()),
                                     &stmt, nullptr);
  sqlite3_set_authorizer(db_, nullptr, nullptr);
  if (prc != SQLITE_OK) {
    sqlite3_finalize(stmt);
    return absl::InvalidArgumentError(
        absl::StrCat("confidential sql: compiling the query: ", sqlite3_errmsg(db_)));
  }
  std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)> guard(stmt, sqlite3_finalize);
  const int ncols = sqlite3_column_count(stmt);
  std::vector<ResultColumn> columns(ncols);
  for (int i = 0; i < ncols; ++i) {
    auto text = [](const char* s) { return s ? std::string(s) : std::string(); };
    columns[i] = {text(sqlite3_column_name(stmt, i)), text(sqlite3_column_table_name(stmt, i)),
                  text(sqlite3_column_origin_name(stmt, i))};
    run.result.columns.push_back(columns[i].name);
  }
  TDS_ASSIGN_OR_RETURN(OutputPolicyChecker checker,
                       OutputPolicyChecker::ForColumns(spec_, columns));
  for (;;) {
    const int rc = sqlite3_step(stmt);
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) {
      return absl::ResourceExhaustedError(
          absl::StrCat("confidential sql: running the query: ", sqlite3_errmsg(db_)));
    }
    std::vector<Cell> row = RowCells(stmt);
    TDS_RETURN_IF_ERROR(checker.CheckRow(run.result.rows.size() + 1, row));
    run.result.rows.push_back(std::move(row));
  }
  run.sqlite_peak_bytes = static_cast<uint64_t>(sqlite3_memory_highwater(0));
  return run;
}

std::vector<Cell> RowCells(sqlite3_stmt* stmt) {
  const int ncols = sqlite3_column_count(stmt);
  std::vector<Cell> row(static_cast<size_t>(ncols));
  for (int i = 0; i < ncols; ++i) {
    switch (sqlite3_column_type(stmt, i)) {
      case SQLITE_INTEGER:
        row[i] = static_cast<int64_t>(sqlite3_column_int64(stmt, i));
        break;
      case SQLITE_FLOAT:
        row[i] = sqlite3_column_double(stmt, i);
        break;
      case SQLITE_TEXT:
      case SQLITE_BLOB: {
        const char* p = static_cast<const char*>(sqlite3_column_blob(stmt, i));
        row[i] = std::string(p ? p : "", static_cast<size_t>(sqlite3_column_bytes(stmt, i)));
        break;
      }
      default:
        break;  // NULL
    }
  }
  return row;
}

}  // namespace tds::compute::enclave
