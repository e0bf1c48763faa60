// Runs against a real PostgreSQL server started once for this suite (postgres_test_server.h).
#include "node/connectors/postgres_source.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <thread>

#include "absl/strings/str_cat.h"
#include "node/connectors/postgres_test_server.h"

namespace tds::node {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::Optional;

constexpr int kRows = 10000;

// Runs `sql` (one or more statements) on `dsn`; "" on success, else the error.
std::string Exec(const std::string& dsn, const std::string& sql) {
  PGconn* conn = PQconnectdb(dsn.c_str());
  std::string error;
  if (PQstatus(conn) != CONNECTION_OK) {
    error = PQerrorMessage(conn);
  } else {
    PGresult* r = PQexec(conn, sql.c_str());
    const ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) error = PQresultErrorMessage(r);
    PQclear(r);
  }
  PQfinish(conn);
  return error;
}

class PostgresSourceTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto server = testing::PostgresTestServer::Start();
    if (!server.ok()) {
      start_error_ = new std::string(server.status().ToString());
      return;
    }
    server_ = server->release();
    std::string error = Exec(server_->Dsn("postgres"), "CREATE DATABASE bank");
    if (error.empty()) {
      error = Exec(
          Dsn(),
          absl::StrCat(
              "CREATE TABLE loans (id bigint PRIMARY KEY, small smallint, mid integer, "
              "amount numeric(12,2), rate double precision, ratio real, name text, "
              "code varchar(8), grade char(2), active boolean, opened date, updated timestamp, "
              "updated_tz timestamptz, photo bytea, ident uuid);"
              "INSERT INTO loans SELECT g, g % 100, g * 2, g * 1.5, g / 4.0, 0.1, "
              "CASE WHEN g % 10 = 0 THEN NULL ELSE 'name ' || g END, 'C' || g, 'A', g % 2 = 0, "
              "DATE '2024-01-01' + g, TIMESTAMP '2024-01-01 00:00:00' + g * INTERVAL '1 second', "
              "TIMESTAMPTZ '2024-01-01 08:00:00+08' + g * INTERVAL '1 millisecond', "
              "decode('00ff41', 'hex'), '00000000-0000-0000-0000-000000000001' "
              "FROM generate_series(1, ",
              kRows,
              ") g;"
              "CREATE TABLE \"MixedCase\" (v int); INSERT INTO \"MixedCase\" VALUES (1);"
              "CREATE TABLE audit (n int);"
              "CREATE FUNCTION bump() RETURNS int LANGUAGE plpgsql AS "
              "$$ BEGIN INSERT INTO audit VALUES (1); RETURN 1; END $$;"));
    }
    if (!error.empty()) start_error_ = new std::string("populating the database: " + error);
  }

  static void TearDownTestSuite() {
    delete server_;  // stops the server and removes its dir
    server_ = nullptr;
    delete start_error_;
    start_error_ = nullptr;
  }

  void SetUp() override {
    // A missing server is a failure, never a skip: CI installs PostgreSQL (install-deps.sh).
    if (start_error_ != nullptr) FAIL() << "PostgreSQL test server: " << *start_error_;
    ASSERT_NE(server_, nullptr);
  }

  static std::string Dsn() { return server_->Dsn("bank"); }

  static absl::StatusOr<std::unique_ptr<DataSource>> OpenTable(const std::string& table) {
    tds::DataSourceConfig c;
    c.set_dsn(Dsn());
    c.set_table(table);
    return OpenPostgresSource(c);
  }
  static absl::StatusOr<std::unique_ptr<DataSource>> OpenQuery(const std::string& query) {
    tds::DataSourceConfig c;
    c.set_dsn(Dsn());
    c.set_query(query);
    return OpenPostgresSource(c);
  }

  static std::string Scalar(const std::string& sql) {
    PGconn* conn = PQconnectdb(Dsn().c_str());
    PGresult* r = PQexec(conn, sql.c_str());
    std::string v = PQresultStatus(r) == PGRES_TUPLES_OK ? PQgetvalue(r, 0, 0) : "?";
    PQclear(r);
    PQfinish(conn);
    return v;
  }

  static testing::PostgresTestServer* server_;
  static std::string* start_error_;
};

testing::PostgresTestServer* PostgresSourceTest::server_ = nullptr;
std::string* PostgresSourceTest::start_error_ = nullptr;

TEST_F(PostgresSourceTest, TableColumnsTakeTypesFromTheirOids) {
  auto source = OpenTable("loans");
  ASSERT_TRUE(source.ok()) << source.status();
  std::vector<std::string> types;
  const auto schema = (*source)->Schema();
  ASSERT_TRUE(schema.ok()) << schema.status();
  for (const auto& c : *schema) types.push_back(absl::StrCat(c.name, ":", c.type));
  EXPECT_THAT(types, ElementsAre("id:int64", "small:int64", "mid:int64", "amount:double",
                                 "rate:double", "ratio:double", "name:string", "code:string",
                                 "grade:string", "active:bool", "opened:date", "updated:timestamp",
                                 "updated_tz:timestamp", "photo:bytes", "ident:string"));
}

TEST_F(PostgresSourceTest, ScanReadsEveryRowInChunks) {
  auto source = OpenTable("loans");
  ASSERT_TRUE(source.ok()) << source.status();
  std::vector<size_t> sizes;
  uint64_t id_sum = 0;
  int null_names = 0;
  ASSERT_TRUE((*source)
                  ->Scan({"id", "name"}, 3000,
                         [&](const std::vector<Row>& chunk) {
                           sizes.push_back(chunk.size());
                           for (const Row& r : chunk) {
                             id_sum += std::stoull(*r[0]);
                             null_names += !r[1].has_value();
                           }
                           return true;
                         })
                  .ok());
  EXPECT_THAT(sizes, ElementsAre(3000, 3000, 3000, 1000));
  EXPECT_EQ(id_sum, uint64_t{kRows} * (kRows + 1) / 2);
  EXPECT_EQ(null_names, kRows / 10);
  EXPECT_EQ(*(*source)->CountRows(), uint64_t{kRows});
}

TEST_F(PostgresSourceTest, ScanStopsWhenCallbackReturnsFalse) {
  auto source = OpenTable("loans");
  ASSERT_TRUE(source.ok()) << source.status();
  int calls = 0;
  ASSERT_TRUE((*source)
                  ->Scan({"id"}, 100,
                         [&](const std::vector<Row>&) {
                           ++calls;
                           return false;
                         })
                  .ok());
  EXPECT_EQ(calls, 1);
}

TEST_F(PostgresSourceTest, ValuesComeOutInCanonicalText) {
  auto source = OpenQuery("SELECT * FROM loans WHERE id IN (3, 10) ORDER BY id");
  ASSERT_TRUE(source.ok()) << source.status();
  std::vector<Row> rows;
  ASSERT_TRUE((*source)
                  ->Scan({"small", "amount", "rate", "ratio", "name", "grade", "active", "opened",
                          "updated", "updated_tz", "photo", "ident"},
                         10,
                         [&](const std::vector<Row>& chunk) {
                           rows = chunk;
                           return true;
                         })
                  .ok());
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_THAT(rows[0],
              ElementsAre(Optional(std::string("3")), Optional(std::string("4.5")),
                          Optional(std::string("0.75")), Optional(std::string("0.1")),
                          Optional(std::string("name 3")), Optional(std::string("A ")),
                          Optional(std::string("false")), Optional(std::string("2024-01-04")),
                          Optional(std::string("2024-01-01T00:00:03")),
                          Optional(std::string("2024-01-01T00:00:00.003+00")),
                          Optional(std::string("\x00\xff"
                                               "A",
                                               3)),
                          Optional(std::string("00000000-0000-0000-0000-000000000001"))));
  EXPECT_EQ(rows[1][4], std::nullopt);
  EXPECT_THAT(rows[1][6], Optional(std::string("true")));
  EXPECT_THAT(rows[1][1], Optional(std::string("15")));
}

TEST_F(PostgresSourceTest, SpecialAndOutOfRangeNumbersBecomeCanonicalDoubles) {
  auto source = OpenQuery(
      "SELECT 'NaN'::float8 AS nan, '-Infinity'::float8 AS neg, 'Infinity'::numeric AS inf, "
      "1e400::numeric AS huge, 12.50::numeric(6,2) AS money, 1e-7::float8 AS tiny");
  ASSERT_TRUE(source.ok()) << source.status();
  std::vector<Row> rows;
  ASSERT_TRUE((*source)
                  ->Scan({"nan", "neg", "inf", "huge", "money", "tiny"}, 10,
                         [&](const std::vector<Row>& chunk) {
                           rows = chunk;
                           return true;
                         })
                  .ok());
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_THAT(rows[0],
              ElementsAre(Optional(std::string("NaN")), Optional(std::string("-Infinity")),
                          Optional(std::string("Infinity")), Optional(std::string("Infinity")),
                          Optional(std::string("12.5")), Optional(std::string("1e-07"))));
}

TEST_F(PostgresSourceTest, ConcurrentScansOnOneSourceEachSeeEveryRow) {
  auto source = OpenTable("loans");
  ASSERT_TRUE(source.ok()) << source.status();
  auto sum_ids = [&](uint64_t* sum, absl::Status* status) {
    *status = (*source)->Scan({"id"}, 700, [&](const std::vector<Row>& chunk) {
      for (const Row& r : chunk) *sum += std::stoull(*r[0]);
      return true;
    });
  };
  uint64_t sums[3] = {0, 0, 0};
  absl::Status statuses[3];
  std::vector<std::thread> threads;
  for (int i = 0; i < 3; ++i) threads.emplace_back(sum_ids, &sums[i], &statuses[i]);
  for (auto& t : threads) t.join();
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(statuses[i].ok()) << statuses[i];
    EXPECT_EQ(sums[i], uint64_t{kRows} * (kRows + 1) / 2);
  }
}

TEST_F(PostgresSourceTest, QuerySourceWithTrailingSemicolonAndComment) {
  auto source = OpenQuery(
      "SELECT id, amount * 2 AS twice, count(*) OVER () AS n FROM loans WHERE id <= 25 "
      "ORDER BY id DESC; -- the first 25\n");
  ASSERT_TRUE(source.ok()) << source.status();
  std::vector<std::string> types;
  const auto schema = (*source)->Schema();
  ASSERT_TRUE(schema.ok()) << schema.status();
  for (const auto& c : *schema) types.push_back(absl::StrCat(c.name, ":", c.type));
  EXPECT_THAT(types, ElementsAre("id:int64", "twice:double", "n:int64"));
  std::vector<size_t> sizes;
  std::string first;
  ASSERT_TRUE((*source)
                  ->Scan({"twice", "id"}, 10,
                         [&](const std::vector<Row>& chunk) {
                           if (sizes.empty()) first = *chunk[0][0] + "/" + *chunk[0][1];
                           sizes.push_back(chunk.size());
                           return true;
                         })
                  .ok());
  EXPECT_THAT(sizes, ElementsAre(10, 10, 5));
  EXPECT_EQ(first, "75/25");
  EXPECT_EQ(*(*source)->CountRows(), 25u);
}

TEST_F(PostgresSourceTest, WritingQueriesAreRefusedAndWriteNothing) {
  for (const char* sql :
       {"UPDATE loans SET amount = 0 RETURNING id",
        "INSERT INTO loans (id) VALUES (0) RETURNING id", "DELETE FROM loans RETURNING id",
        "WITH d AS (DELETE FROM loans RETURNING id) SELECT * FROM d",
        "SELECT id FROM loans; DROP TABLE loans", "SELECT id FROM loans FOR UPDATE"}) {
    const auto source = OpenQuery(sql);
    EXPECT_FALSE(source.ok()) << sql;
    EXPECT_THAT(std::string(source.status().message()),
                HasSubstr("refused (a source query must be a single read-only SELECT)"))
        << sql << ": " << source.status();
  }
  EXPECT_EQ(Scalar("SELECT count(*) FROM loans WHERE amount > 0"), absl::StrCat(kRows));
}

TEST_F(PostgresSourceTest, AFunctionThatWritesFailsInTheReadOnlyTransaction) {
  auto source = OpenQuery("SELECT bump() AS x");
  ASSERT_TRUE(source.ok()) << source.status();
  const absl::Status s = (*source)->Scan({"x"}, 10, [](const std::vector<Row>&) { return true; });
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(std::string(s.message()), HasSubstr("read-only transaction"));
  EXPECT_EQ(Scalar("SELECT count(*) FROM audit"), "0");
}

TEST_F(PostgresSourceTest, TableNamesArePlainAndExact) {
  EXPECT_THAT(std::string(OpenTable("loans; DROP TABLE loans").status().message()),
              HasSubstr("not a plain table name"));
  EXPECT_EQ(OpenTable("\"loans\"").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(OpenTable("public.loans").ok());
  EXPECT_TRUE(OpenTable("MixedCase").ok());
  const auto folded = OpenTable("mixedcase");
  EXPECT_EQ(folded.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(folded.status().message()),
              HasSubstr("table \"mixedcase\": relation \"mixedcase\" does not exist"));
  EXPECT_EQ(Scalar("SELECT count(*) FROM loans"), absl::StrCat(kRows));
}

TEST_F(PostgresSourceTest, UnknownColumnInAScanIsNamed) {
  auto source = OpenTable("loans");
  ASSERT_TRUE(source.ok()) << source.status();
  const absl::Status s =
      (*source)->Scan({"id", "income"}, 10, [](const std::vector<Row>&) { return true; });
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr("unknown column \"income\""));
}

TEST_F(PostgresSourceTest, UnreachableServerNamesHostAndPortButNotThePassword) {
  tds::DataSourceConfig c;
  // Port 1 (tcpmux) has no listener here.
  c.set_dsn(absl::StrCat("host=127.0.0.1 port=1 dbname=bank user=tds password=hunter2"));
  c.set_table("loans");
  const auto source = OpenPostgresSource(c);
  EXPECT_EQ(source.status().code(), absl::StatusCode::kUnavailable);
  const std::string msg(source.status().message());
  EXPECT_THAT(msg, HasSubstr("postgres host=127.0.0.1 port=1 dbname=bank user=tds table "
                             "\"loans\": cannot connect: "));
  EXPECT_THAT(msg, HasSubstr("Connection refused"));
  EXPECT_THAT(msg, Not(HasSubstr("hunter2")));
}

TEST_F(PostgresSourceTest, MalformedDsnAndUnknownDatabaseAreNamed) {
  tds::DataSourceConfig c;
  c.set_table("loans");
  c.set_dsn("host=127.0.0.1 nonsense");
  EXPECT_EQ(OpenPostgresSource(c).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(OpenPostgresSource(c).status().message()),
              HasSubstr("postgres dsn: missing \"=\" after \"nonsense\""));
  c.set_dsn(server_->Dsn("no_such_db"));
  EXPECT_THAT(std::string(OpenPostgresSource(c).status().message()),
              HasSubstr("database \"no_such_db\" does not exist"));
}

TEST_F(PostgresSourceTest, OpenDataSourceBindsAProductAndChecksItsSchema) {
  tds::DataSourceConfig c;
  c.set_product("loans");
  c.set_kind("postgres");
  c.set_dsn(Dsn());
  c.set_table("loans");
  c.set_id_column("id");
  auto source = OpenDataSource(c);
  ASSERT_TRUE(source.ok()) << source.status();
  tds::Product product;
  product.set_id("loans");
  for (const auto& [name, type] : std::vector<std::pair<std::string, std::string>>{
           {"id", "int64"}, {"amount", "double"}, {"opened", "date"}, {"ident", "string"}}) {
    tds::Column* col = product.add_schema();
    col->set_name(name);
    col->set_type(type);
  }
  EXPECT_TRUE(CheckSchema(*(*source)->Schema(), product).ok());
  product.mutable_schema(2)->set_type("timestamp");
  EXPECT_THAT(std::string(CheckSchema(*(*source)->Schema(), product).message()),
              HasSubstr("column \"opened\": catalog type timestamp, source type date"));
}

}  // namespace
}  // namespace tds::node
