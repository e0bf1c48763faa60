// CheckSchema (the publish-time check of a source against its catalog entry) and the config
// validation OpenDataSource does before opening anything.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "node/connectors/data_source.h"
#include "node/connectors/test_util.h"

namespace tds::node {
namespace {

using ::testing::HasSubstr;

tds::Product ProductWith(std::vector<std::pair<std::string, std::string>> columns) {
  tds::Product p;
  p.set_id("loans");
  for (const auto& [name, type] : columns) {
    tds::Column* c = p.add_schema();
    c->set_name(name);
    c->set_type(type);
    c->set_level(2);
  }
  return p;
}

const std::vector<SourceColumn> kSource = {
    {"id", "int64"},    {"amount", "double"},     {"name", "string"}, {"opened", "date"},
    {"active", "bool"}, {"updated", "timestamp"}, {"photo", "bytes"}, {"internal_note", "string"}};

TEST(CheckSchemaTest, MatchingColumnsPassAndExtraSourceColumnsAreFine) {
  EXPECT_TRUE(CheckSchema(kSource, ProductWith({{"id", "int64"}, {"opened", "date"}})).ok());
  EXPECT_TRUE(CheckSchema(kSource, ProductWith({})).ok());
}

TEST(CheckSchemaTest, MissingColumnIsNamedWithItsCatalogType) {
  const absl::Status s = CheckSchema(kSource, ProductWith({{"id", "int64"}, {"income", "double"}}));
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(std::string(s.message()),
            "product \"loans\" does not match its source: column \"income\" (double) is not in "
            "the source");
}

TEST(CheckSchemaTest, NamesAreMatchedExactly) {
  EXPECT_FALSE(CheckSchema(kSource, ProductWith({{"ID", "int64"}})).ok());
}

TEST(CheckSchemaTest, TypeMismatchNamesColumnCatalogTypeAndSourceType) {
  const absl::Status s = CheckSchema({{"opened", "string"}}, ProductWith({{"opened", "date"}}));
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(s.message()),
              HasSubstr("column \"opened\": catalog type date, source type string"));
}

TEST(CheckSchemaTest, Int64SourceServesDoubleButNotTheOtherWayRound) {
  EXPECT_TRUE(CheckSchema({{"x", "int64"}}, ProductWith({{"x", "double"}})).ok());
  EXPECT_THAT(std::string(CheckSchema({{"x", "double"}}, ProductWith({{"x", "int64"}})).message()),
              HasSubstr("catalog type int64, source type double"));
}

TEST(CheckSchemaTest, StringColumnTakesAnyTextualSourceButNotBytes) {
  for (const char* type : {"int64", "double", "bool", "date", "timestamp", "string"}) {
    EXPECT_TRUE(CheckSchema({{"x", type}}, ProductWith({{"x", "string"}})).ok()) << type;
  }
  EXPECT_FALSE(CheckSchema({{"x", "bytes"}}, ProductWith({{"x", "string"}})).ok());
  for (const char* catalog : {"int64", "bool", "date", "timestamp", "bytes"}) {
    EXPECT_FALSE(CheckSchema({{"x", "string"}}, ProductWith({{"x", catalog}})).ok()) << catalog;
  }
  EXPECT_FALSE(CheckSchema({{"x", "date"}}, ProductWith({{"x", "timestamp"}})).ok());
}

TEST(CheckSchemaTest, EveryMismatchIsReportedAtOnce) {
  const absl::Status s = CheckSchema(
      kSource,
      ProductWith(
          {{"id", "string"}, {"amount", "int64"}, {"gone", "bool"}, {"active", "boolean"}}));
  EXPECT_EQ(std::string(s.message()),
            "product \"loans\" does not match its source: column \"amount\": catalog type "
            "int64, source type double; column \"gone\" (bool) is not in the source; column "
            "\"active\": catalog type \"boolean\" is not a known type");
}

tds::DataSourceConfig Config(const std::string& kind) {
  tds::DataSourceConfig c;
  c.set_product("loans");
  c.set_kind(kind);
  return c;
}

TEST(OpenDataSourceTest, UnknownKindIsNamed) {
  const auto s = OpenDataSource(Config("excel"));
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(s.status().message()),
            "source for product \"loans\": kind \"excel\" is not csv, sqlite or postgres");
}

TEST(OpenDataSourceTest, ProductIsRequired) {
  tds::DataSourceConfig c = Config("csv");
  c.set_product("");
  EXPECT_THAT(std::string(OpenDataSource(c).status().message()), HasSubstr("product is required"));
}

TEST(OpenDataSourceTest, FieldsTheKindDoesNotUseAreRefused) {
  tds::DataSourceConfig csv = Config("csv");
  csv.set_path("/x.csv");
  csv.set_dsn("host=h");
  csv.set_table("t");
  EXPECT_EQ(std::string(OpenDataSource(csv).status().message()),
            "source for product \"loans\": a csv source does not use table, dsn");
  tds::DataSourceConfig pg = Config("postgres");
  pg.set_dsn("host=h");
  pg.set_path("/db");
  pg.set_delimiter(";");
  EXPECT_THAT(std::string(OpenDataSource(pg).status().message()),
              HasSubstr("a postgres source does not use delimiter, path"));
}

TEST(OpenDataSourceTest, RequiredFieldsAreNamed) {
  EXPECT_THAT(std::string(OpenDataSource(Config("csv")).status().message()),
              HasSubstr("csv source: path is required"));
  EXPECT_THAT(std::string(OpenDataSource(Config("sqlite")).status().message()),
              HasSubstr("sqlite source: path is required"));
  EXPECT_THAT(std::string(OpenDataSource(Config("postgres")).status().message()),
              HasSubstr("postgres source: dsn is required"));
}

TEST(OpenDataSourceTest, OpensACsvSourceAndItsSchemaChecksAgainstTheProduct) {
  testing::TempDir dir;
  testing::WriteTextFile(dir.Sub("loans.csv"), "id,amount,name\n1,10,a\n2,12.5,b\n");
  tds::DataSourceConfig c = Config("csv");
  c.set_path(dir.Sub("loans.csv"));
  auto source = OpenDataSource(c);
  ASSERT_TRUE(source.ok()) << source.status();
  auto schema = (*source)->Schema();
  ASSERT_TRUE(schema.ok()) << schema.status();
  EXPECT_TRUE(CheckSchema(*schema, ProductWith({{"id", "int64"}, {"amount", "double"}})).ok());
  EXPECT_THAT(std::string(CheckSchema(*schema, ProductWith({{"name", "date"}})).message()),
              HasSubstr("column \"name\": catalog type date, source type string"));
}

TEST(OpenDataSourceTest, ErrorsFromTheSourceKeepTheirCodeAndNameTheProduct) {
  tds::DataSourceConfig c = Config("csv");
  c.set_path("/nonexistent/loans.csv");
  const auto s = OpenDataSource(c);
  EXPECT_EQ(s.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(s.status().message()),
              HasSubstr("source for product \"loans\": /nonexistent/loans.csv: cannot open"));
}

}  // namespace
}  // namespace tds::node
