#pragma once
// Fixtures shared by the enclave tests: the three tables of the join scenario (two providers'
// and a bank's), their row encodings, the job spec over them, and the same SQL run in plain
// in-process SQLite for comparison.

#include <sqlite3.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/sha256.h"
#include "compute/enclave/confidential_sql.h"
#include "compute/enclave/job_spec.h"
#include "compute/enclave/row_format.h"
#include "compute/enclave/sql_result.h"

namespace tds::compute::enclave::testing {

struct TestTable {
  InputSchema schema;
  std::vector<std::vector<Cell>> rows;

  std::string Encode() const {
    std::string out;
    RowWriter w(&out);
    for (const auto& row : rows) {
      for (const Cell& c : row) {
        if (auto* i = std::get_if<int64_t>(&c)) {
          w.Integer(*i);
        } else if (auto* d = std::get_if<double>(&c)) {
          w.Real(*d);
        } else if (auto* s = std::get_if<std::string>(&c)) {
          w.Text(*s);
        } else {
          w.Null();
        }
      }
    }
    return out;
  }
};

inline std::string CustomerId(int i) { return absl::StrCat("cust-", 100000 + i); }

// Provider A: loans of customers [from, to).
inline TestTable Loans(int from, int to) {
  TestTable t{{"loans",
               {{"customer_id", ColumnType::kText, true},
                {"region", ColumnType::kText},
                {"amount", ColumnType::kInteger}}},
              {}};
  for (int i = from; i < to; ++i) {
    t.rows.push_back({CustomerId(i), absl::StrCat("R", i % 4), int64_t{(i * 7) % 1000}});
  }
  return t;
}

// Provider B: default flags and scores of customers [from, to).
inline TestTable Defaults(int from, int to) {
  TestTable t{{"defaults",
               {{"customer_id", ColumnType::kText, true},
                {"defaulted", ColumnType::kInteger},
                {"score", ColumnType::kReal}}},
              {}};
  for (int i = from; i < to; ++i) {
    t.rows.push_back({CustomerId(i), int64_t{i % 5 == 0}, (i % 100) / 100.0});
  }
  return t;
}

// The bank: segments of customers [from, to).
inline TestTable Bank(int from, int to) {
  TestTable t{{"bank", {{"customer_id", ColumnType::kText, true}, {"segment", ColumnType::kText}}},
              {}};
  for (int i = from; i < to; ++i) t.rows.push_back({CustomerId(i), absl::StrCat("S", i % 3)});
  return t;
}

inline const char* kJoinSql =
    "SELECT l.region AS region, b.segment AS segment, COUNT(*) AS n, "
    "SUM(d.defaulted) AS defaults, AVG(d.score) AS avg_score "
    "FROM loans l JOIN defaults d ON d.customer_id = l.customer_id "
    "JOIN bank b ON b.customer_id = l.customer_id "
    "GROUP BY l.region, b.segment ORDER BY l.region, b.segment";

inline JobSpec JoinSpec(const std::vector<const TestTable*>& tables, const std::string& sql,
                        uint64_t k = 5) {
  JobSpec s;
  s.sql = sql;
  s.sql_digest = Sha256(sql);
  for (const TestTable* t : tables) s.inputs.push_back(t->schema);
  s.policy.allowed_columns = {"region", "segment", "n", "defaults", "avg_score"};
  s.policy.count_column = "n";
  s.policy.min_group_size = k;
  s.policy.max_rows = 100;
  return s;
}

// The same SQL over the same rows in plain in-process SQLite.
inline std::vector<std::vector<Cell>> PlainSqlite(const std::vector<const TestTable*>& tables,
                                                  const std::string& sql) {
  sqlite3* db = nullptr;
  sqlite3_open(":memory:", &db);
  for (const TestTable* t : tables) {
    std::string create = absl::StrCat("CREATE TABLE ", t->schema.name, " (");
    std::string insert = absl::StrCat("INSERT INTO ", t->schema.name, " VALUES (");
    for (size_t c = 0; c < t->schema.columns.size(); ++c) {
      absl::StrAppend(&create, c ? "," : "", t->schema.columns[c].name, " ",
                      ColumnTypeName(t->schema.columns[c].type));
      absl::StrAppend(&insert, c ? ",?" : "?");
    }
    sqlite3_exec(db, (create + ")").c_str(), nullptr, nullptr, nullptr);
    sqlite3_stmt* st = nullptr;
    sqlite3_prepare_v2(db, (insert + ")").c_str(), -1, &st, nullptr);
    for (const auto& row : t->rows) {
      for (size_t c = 0; c < row.size(); ++c) {
        const int i = static_cast<int>(c) + 1;
        if (auto* v = std::get_if<int64_t>(&row[c])) sqlite3_bind_int64(st, i, *v);
        if (auto* v = std::get_if<double>(&row[c])) sqlite3_bind_double(st, i, *v);
        if (auto* v = std::get_if<std::string>(&row[c])) {
          sqlite3_bind_text(st, i, v->c_str(), -1, SQLITE_TRANSIENT);
        }
      }
      sqlite3_step(st);
      sqlite3_reset(st);
    }
    sqlite3_finalize(st);
  }
  std::vector<std::vector<Cell>> out;
  sqlite3_stmt* q = nullptr;
  sqlite3_prepare_v2(db, sql.c_str(), -1, &q, nullptr);
  while (sqlite3_step(q) == SQLITE_ROW) {
    out.push_back(RowCells(q));
  }
  sqlite3_finalize(q);
  sqlite3_close(db);
  return out;
}

}  // namespace tds::compute::enclave::testing
