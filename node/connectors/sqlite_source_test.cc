#include "node/connectors/sqlite_source.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "node/connectors/test_util.h"

namespace tds::node {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Optional;

class SqliteSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Exec(
        "CREATE TABLE loans (id INTEGER PRIMARY KEY, amount REAL, name TEXT, photo BLOB, "
        "active BOOLEAN, opened DATE, updated DATETIME, score NUMERIC, code VARCHAR(8), "
        "stamp TIMESTAMP, untyped);"
        "INSERT INTO loans VALUES (1, 2.50, 'ann', x'00ff41', TRUE, '2024-01-02', "
        "'2024-01-02T03:04:05Z', 7, 'A1', '2024-01-02 03:04:05', 5);"
        "INSERT INTO loans VALUES (2, 3, NULL, NULL, FALSE, NULL, NULL, 0.5, NULL, NULL, 'x');");
    for (int i = 3; i <= 10; ++i) {
      Exec(absl::StrCat("INSERT INTO loans (id, amount, name) VALUES (", i, ", ", i, ".25, 'n", i,
                        "')"));
    }
  }

  // Runs SQL against the test database with a writable connection of its own.
  void Exec(const std::string& sql) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(db_path().c_str(), &db), SQLITE_OK);
    char* error = nullptr;
    const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error);
    EXPECT_EQ(rc, SQLITE_OK) << (error ? error : "");
    sqlite3_free(error);
    sqlite3_close(db);
  }

  int64_t LoanCount() {
    sqlite3* db = nullptr;
    sqlite3_open(db_path().c_str(), &db);
    sqlite3_stmt* st = nullptr;
    sqlite3_prepare_v2(db, "SELECT count(*) FROM loans", -1, &st, nullptr);
    int64_t n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
  }

  std::string db_path() const { return dir_.Sub("bank.db"); }

  absl::StatusOr<std::unique_ptr<DataSource>> OpenTable(const std::string& table) {
    tds::DataSourceConfig c;
    c.set_path(db_path());
    c.set_table(table);
    return OpenSqliteSource(c);
  }
  absl::StatusOr<std::unique_ptr<DataSource>> OpenQuery(const std::string& query) {
    tds::DataSourceConfig c;
    c.set_path(db_path());
    c.set_query(query);
    return OpenSqliteSource(c);
  }

  static std::vector<std::string> Types(DataSource& source) {
    std::vector<std::string> out;
    const auto schema = source.Schema();
    EXPECT_TRUE(schema.ok()) << schema.status();
    if (schema.ok()) {
      for (const auto& c : *schema) out.push_back(absl::StrCat(c.name, ":", c.type));
    }
    return out;
  }

  static std::vector<Row> ReadAll(DataSource& source, const std::vector<std::string>& columns) {
    std::vector<Row> rows;
    const absl::Status s = source.Scan(columns, 4, [&](const std::vector<Row>& chunk) {
      rows.insert(rows.end(), chunk.begin(), chunk.end());
      return true;
    });
    EXPECT_TRUE(s.ok()) << s;
    return rows;
  }

  testing::TempDir dir_;
};

TEST_F(SqliteSourceTest, TableColumnsTakeTheirDeclaredTypes) {
  auto source = OpenTable("loans");
  ASSERT_TRUE(source.ok()) << source.status();
  // "untyped" has no declared type: its first row holds an INTEGER.
  EXPECT_THAT(Types(**source),
              ElementsAre("id:int64", "amount:double", "name:string", "photo:bytes", "active:bool",
                          "opened:date", "updated:timestamp", "score:double", "code:string",
                          "stamp:timestamp", "untyped:int64"));
}

TEST_F(SqliteSourceTest, ScanGivesCanonicalTextRawBytesAndNulls) {
  auto source = OpenTable("loans");
  ASSERT_TRUE(source.ok()) << source.status();
  const auto rows =
      ReadAll(**source, {"amount", "name", "photo", "active", "opened", "updated", "score"});
  ASSERT_EQ(rows.size(), 10u);
  EXPECT_THAT(
      rows[0],
      ElementsAre(Optional(std::string("2.5")), Optional(std::string("ann")),
                  Optional(std::string("\x00\xff"
                                       "A",
                                       3)),
                  Optional(std::string("true")), Optional(std::string("2024-01-02")),
                  Optional(std::string("2024-01-02T03:04:05Z")), Optional(std::string("7"))));
  EXPECT_THAT(rows[1], ElementsAre(Optional(std::string("3")), std::nullopt, std::nullopt,
                                   Optional(std::string("false")), std::nullopt, std::nullopt,
                                   Optional(std::string("0.5"))));
}

TEST_F(SqliteSourceTest, ChunksAndEarlyStop) {
  auto source = OpenTable("loans");
  ASSERT_TRUE(source.ok()) << source.status();
  std::vector<size_t> sizes;
  ASSERT_TRUE((*source)
                  ->Scan({"id"}, 3,
                         [&](const std::vector<Row>& chunk) {
                           sizes.push_back(chunk.size());
                           return true;
                         })
                  .ok());
  EXPECT_THAT(sizes, ElementsAre(3, 3, 3, 1));
  int calls = 0;
  ASSERT_TRUE((*source)
                  ->Scan({"id"}, 3,
                         [&](const std::vector<Row>&) {
                           ++calls;
                           return calls < 2;
                         })
                  .ok());
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(*(*source)->CountRows(), 10u);
}

TEST_F(SqliteSourceTest, QuerySourceTypesExpressionsByTheirFirstValue) {
  auto source = OpenQuery(
      "SELECT id, amount * 2 AS doubled, upper(name) AS shout, count(*) OVER () AS total "
      "FROM loans WHERE id >= 3 ORDER BY id DESC;");
  ASSERT_TRUE(source.ok()) << source.status();
  EXPECT_THAT(Types(**source),
              ElementsAre("id:int64", "doubled:double", "shout:string", "total:int64"));
  const auto rows = ReadAll(**source, {"id", "doubled", "shout", "total"});
  ASSERT_EQ(rows.size(), 8u);
  EXPECT_THAT(rows[0], ElementsAre(Optional(std::string("10")), Optional(std::string("20.5")),
                                   Optional(std::string("N10")), Optional(std::string("8"))));
  EXPECT_EQ(*(*source)->CountRows(), 8u);
}

TEST_F(SqliteSourceTest, WritingQueriesAreRefusedAndWriteNothing) {
  for (const char* sql :
       {"DELETE FROM loans", "INSERT INTO loans (id) VALUES (99)", "UPDATE loans SET amount = 0",
        "DROP TABLE loans", "CREATE TEMP TABLE t AS SELECT * FROM loans"}) {
    const auto source = OpenQuery(sql);
    EXPECT_EQ(source.status().code(), absl::StatusCode::kInvalidArgument) << sql;
    EXPECT_THAT(std::string(source.status().message()),
                HasSubstr("must be a single read-only SELECT statement"))
        << sql;
  }
  EXPECT_THAT(std::string(OpenQuery("DELETE FROM loans").status().message()),
              HasSubstr("query: must be a single read-only SELECT statement (it would run "
                        "DELETE)"));
  EXPECT_EQ(LoanCount(), 10);
}

TEST_F(SqliteSourceTest, PragmaAndAttachAreRefused) {
  EXPECT_THAT(std::string(OpenQuery("PRAGMA table_info(loans)").status().message()),
              HasSubstr("(it would run PRAGMA)"));
  EXPECT_THAT(
      std::string(
          OpenQuery(absl::StrCat("ATTACH '", dir_.Sub("other.db"), "' AS o")).status().message()),
      HasSubstr("(it would run ATTACH)"));
  EXPECT_FALSE(std::filesystem::exists(dir_.Sub("other.db")));
}

TEST_F(SqliteSourceTest, OnlyOneStatementIsAllowed) {
  for (const char* sql : {"SELECT id FROM loans; DELETE FROM loans",
                          "SELECT id FROM loans; SELECT 1", "SELECT 1; nonsense"}) {
    const auto source = OpenQuery(sql);
    EXPECT_EQ(source.status().code(), absl::StatusCode::kInvalidArgument) << sql;
    EXPECT_THAT(std::string(source.status().message()), HasSubstr("must be a single statement"))
        << sql;
  }
  EXPECT_TRUE(OpenQuery("SELECT id FROM loans; -- the ids\n").ok());
  EXPECT_EQ(LoanCount(), 10);
}

TEST_F(SqliteSourceTest, TableNamesMustBePlainIdentifiers) {
  for (const char* table :
       {"loans; DROP TABLE loans", "\"loans\"", "1loans", "lo ans", "", "a.b.c", "loans."}) {
    const auto source = OpenTable(table);
    EXPECT_EQ(source.status().code(), absl::StatusCode::kInvalidArgument) << table;
  }
  EXPECT_THAT(std::string(OpenTable("loans; DROP TABLE loans").status().message()),
              HasSubstr("not a plain table name"));
  EXPECT_TRUE(OpenTable("main.loans").ok());
  EXPECT_TRUE(OpenTable("_Loans_2").status().code() == absl::StatusCode::kNotFound);
  EXPECT_EQ(LoanCount(), 10);
}

TEST_F(SqliteSourceTest, UnknownTableIsNotFound) {
  const auto source = OpenTable("customers");
  EXPECT_EQ(source.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(source.status().message()),
              HasSubstr("table \"customers\": no such table: customers"));
}

TEST_F(SqliteSourceTest, MissingDatabaseIsNotFoundAndNotCreated) {
  tds::DataSourceConfig c;
  c.set_path(dir_.Sub("missing.db"));
  c.set_table("loans");
  const auto source = OpenSqliteSource(c);
  EXPECT_EQ(source.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(source.status().message()), HasSubstr("missing.db"));
  EXPECT_FALSE(std::filesystem::exists(dir_.Sub("missing.db")));
}

TEST_F(SqliteSourceTest, FileThatIsNotADatabaseIsRefused) {
  testing::WriteTextFile(dir_.Sub("notes.txt"), "id,name\n1,a\n");
  tds::DataSourceConfig c;
  c.set_path(dir_.Sub("notes.txt"));
  c.set_table("loans");
  EXPECT_THAT(std::string(OpenSqliteSource(c).status().message()),
              HasSubstr("file is not a database"));
}

TEST_F(SqliteSourceTest, TableAndQueryAreExclusive) {
  tds::DataSourceConfig c;
  c.set_path(db_path());
  EXPECT_THAT(std::string(OpenSqliteSource(c).status().message()),
              HasSubstr("set exactly one of table and query"));
  c.set_table("loans");
  c.set_query("SELECT 1");
  EXPECT_THAT(std::string(OpenSqliteSource(c).status().message()),
              HasSubstr("set exactly one of table and query"));
}

TEST_F(SqliteSourceTest, ValueThatBreaksTheDeclaredTypeIsAnErrorNamingRowAndColumn) {
  Exec("UPDATE loans SET opened = 'soon' WHERE id = 3");
  auto source = OpenTable("loans");
  ASSERT_TRUE(source.ok()) << source.status();
  const absl::Status s =
      (*source)->Scan({"id", "opened"}, 100, [](const std::vector<Row>&) { return true; });
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(s.message()),
              HasSubstr("table \"loans\" row 3 column \"opened\": TEXT value \"soon\" is not of "
                        "type date"));
}

TEST_F(SqliteSourceTest, UnknownColumnAndIdColumnAreNamed) {
  auto source = OpenTable("loans");
  ASSERT_TRUE(source.ok()) << source.status();
  const absl::Status s =
      (*source)->Scan({"income"}, 10, [](const std::vector<Row>&) { return true; });
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr("unknown column \"income\""));

  tds::DataSourceConfig c;
  c.set_path(db_path());
  c.set_table("loans");
  c.set_id_column("customer");
  EXPECT_THAT(std::string(OpenSqliteSource(c).status().message()),
              HasSubstr("id_column \"customer\" is not a column"));
}

TEST_F(SqliteSourceTest, DuplicateColumnNamesInAQueryAreRefused) {
  EXPECT_THAT(std::string(OpenQuery("SELECT id, amount AS id FROM loans").status().message()),
              HasSubstr("column \"id\" appears twice"));
}

TEST_F(SqliteSourceTest, SourceReadsWhileAnotherConnectionWrites) {
  auto source = OpenTable("loans");
  ASSERT_TRUE(source.ok()) << source.status();
  Exec("INSERT INTO loans (id, amount) VALUES (11, 1)");
  EXPECT_EQ(*(*source)->CountRows(), 11u);
}

}  // namespace
}  // namespace tds::node
