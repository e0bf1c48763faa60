#include "node/connectors/csv_source.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "node/connectors/csv_reader.h"
#include "node/connectors/test_util.h"

namespace tds::node {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Optional;
using testing::TempDir;
using testing::WriteTextFile;

class CsvSourceTest : public ::testing::Test {
 protected:
  // Writes `content` to data.csv and opens it.
  std::unique_ptr<DataSource> Open(const std::string& content, const std::string& delimiter = "") {
    auto source = TryOpen(content, delimiter);
    EXPECT_TRUE(source.ok()) << source.status();
    return source.ok() ? std::move(source).value() : nullptr;
  }
  absl::StatusOr<std::unique_ptr<DataSource>> TryOpen(const std::string& content,
                                                      const std::string& delimiter = "") {
    WriteTextFile(path(), content);
    tds::DataSourceConfig config;
    config.set_product("p");
    config.set_kind("csv");
    config.set_path(path());
    config.set_delimiter(delimiter);
    return OpenCsvSource(config);
  }
  std::string path() const { return dir_.Sub("data.csv"); }

  // Every row of `columns`, read `chunk_rows` at a time.
  static std::vector<Row> ReadAll(DataSource& source, const std::vector<std::string>& columns,
                                  size_t chunk_rows = 2) {
    std::vector<Row> rows;
    const absl::Status s = source.Scan(columns, chunk_rows, [&](const std::vector<Row>& chunk) {
      rows.insert(rows.end(), chunk.begin(), chunk.end());
      return true;
    });
    EXPECT_TRUE(s.ok()) << s;
    return rows;
  }

  static std::vector<std::string> Types(DataSource& source) {
    std::vector<std::string> out;
    auto schema = source.Schema();
    EXPECT_TRUE(schema.ok()) << schema.status();
    if (schema.ok()) {
      for (const auto& c : *schema) out.push_back(absl::StrCat(c.name, ":", c.type));
    }
    return out;
  }

  TempDir dir_;
};

TEST_F(CsvSourceTest, QuotedFieldsKeepDelimitersEscapedQuotesAndNewlines) {
  auto source = Open(
      "id,name,note\n"
      "1,\"Smith, John\",\"He said \"\"hi\"\"\"\n"
      "2,\"multi\nline\",\"\"\"\"\n");
  ASSERT_NE(source, nullptr);
  EXPECT_THAT(
      ReadAll(*source, {"id", "name", "note"}),
      ElementsAre(ElementsAre(Optional(std::string("1")), Optional(std::string("Smith, John")),
                              Optional(std::string("He said \"hi\""))),
                  ElementsAre(Optional(std::string("2")), Optional(std::string("multi\nline")),
                              Optional(std::string("\"")))));
}

TEST_F(CsvSourceTest, CrlfLineEndingsAreStrippedButQuotedCrlfIsData) {
  auto source = Open("a,b\r\n1,\"x\r\ny\"\r\n2,z\r\n");
  ASSERT_NE(source, nullptr);
  EXPECT_THAT(ReadAll(*source, {"a", "b"}),
              ElementsAre(ElementsAre(Optional(std::string("1")), Optional(std::string("x\r\ny"))),
                          ElementsAre(Optional(std::string("2")), Optional(std::string("z")))));
  EXPECT_THAT(Types(*source), ElementsAre("a:int64", "b:string"));
}

TEST_F(CsvSourceTest, LastRecordWithoutNewlineBlankLinesAndByteOrderMark) {
  auto source = Open("\xEF\xBB\xBFid,v\n\n1,a\r\n\r\n2,b");
  ASSERT_NE(source, nullptr);
  EXPECT_THAT(Types(*source), ElementsAre("id:int64", "v:string"));
  EXPECT_THAT(ReadAll(*source, {"v"}), ElementsAre(ElementsAre(Optional(std::string("a"))),
                                                   ElementsAre(Optional(std::string("b")))));
}

TEST_F(CsvSourceTest, RaggedRowNamesFileAndPhysicalLine) {
  // Line 3 holds a quoted newline, so the short record starts on line 5.
  auto source = Open("a,b,c\n1,2,3\n4,\"x\ny\",6\n7,8\n");
  ASSERT_NE(source, nullptr);
  const auto schema = source->Schema();
  ASSERT_FALSE(schema.ok());
  EXPECT_EQ(schema.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(schema.status().message()), path() + " line 5: 2 fields, header has 3");
  // Scan reports the same row.
  const absl::Status scan = source->Scan({"a"}, 10, [](const std::vector<Row>&) { return true; });
  EXPECT_THAT(std::string(scan.message()), HasSubstr("line 5: 2 fields, header has 3"));
}

TEST_F(CsvSourceTest, TooManyFieldsIsAlsoRagged) {
  auto source = Open("a,b\n1,2,3\n");
  ASSERT_NE(source, nullptr);
  EXPECT_THAT(std::string(source->CountRows().status().message()),
              HasSubstr("data.csv line 2: 3 fields, header has 2"));
}

TEST_F(CsvSourceTest, InfersTypesFromEveryNonEmptyValue) {
  auto source = Open(
      "i,d,b,day,ts,s,zip,none,mixed_date\n"
      "1,1.5,true,2024-02-29,2024-01-02T03:04:05Z,x,01234,,2024-01-01\n"
      "-7,2,FALSE,2024-03-01,2024-01-02 03:04:05.123+08:00,7,02139,,2024-01-01T00:00\n"
      ",1e3,,,,,,,\n");
  ASSERT_NE(source, nullptr);
  EXPECT_THAT(Types(*source),
              ElementsAre("i:int64", "d:double", "b:bool", "day:date", "ts:timestamp", "s:string",
                          "zip:string", "none:string", "mixed_date:string"));
}

TEST_F(CsvSourceTest, ImpossibleDatesAndOverflowingIntegersAreNotThoseTypes) {
  auto source = Open(
      "day,big,num\n"
      "2023-02-29,9223372036854775808,1.\n");
  ASSERT_NE(source, nullptr);
  EXPECT_THAT(Types(*source), ElementsAre("day:string", "big:double", "num:string"));
}

TEST_F(CsvSourceTest, ValuesComeOutCanonicalAndEmptyFieldsAreNull) {
  auto source = Open(
      "id,amount,flag,name\n"
      "1,1.50,TRUE,\"\"\n"
      "2,,False,bob\n"
      "3,2,,\n");
  ASSERT_NE(source, nullptr);
  EXPECT_THAT(Types(*source), ElementsAre("id:int64", "amount:double", "flag:bool", "name:string"));
  EXPECT_THAT(
      ReadAll(*source, {"amount", "flag", "name"}),
      ElementsAre(
          ElementsAre(Optional(std::string("1.5")), Optional(std::string("true")), std::nullopt),
          ElementsAre(std::nullopt, Optional(std::string("false")), Optional(std::string("bob"))),
          ElementsAre(Optional(std::string("2")), std::nullopt, std::nullopt)));
}

TEST_F(CsvSourceTest, ScanGivesColumnsInRequestedOrder) {
  auto source = Open("a,b,c\n1,2,3\n");
  ASSERT_NE(source, nullptr);
  EXPECT_THAT(ReadAll(*source, {"c", "a", "c"}),
              ElementsAre(ElementsAre(Optional(std::string("3")), Optional(std::string("1")),
                                      Optional(std::string("3")))));
}

std::string TenRows() {
  std::string csv = "n,sq\n";
  for (int i = 1; i <= 10; ++i) absl::StrAppend(&csv, i, ",", i * i, "\n");
  return csv;
}

TEST_F(CsvSourceTest, TenRowsInChunksOfThreeAreFourChunks) {
  auto source = Open(TenRows());
  ASSERT_NE(source, nullptr);
  std::vector<size_t> sizes;
  std::vector<std::string> seen;
  ASSERT_TRUE(source
                  ->Scan({"n"}, 3,
                         [&](const std::vector<Row>& chunk) {
                           sizes.push_back(chunk.size());
                           for (const Row& r : chunk) seen.push_back(*r[0]);
                           return true;
                         })
                  .ok());
  EXPECT_THAT(sizes, ElementsAre(3, 3, 3, 1));
  EXPECT_THAT(seen, ElementsAre("1", "2", "3", "4", "5", "6", "7", "8", "9", "10"));
  EXPECT_EQ(*source->CountRows(), 10u);
}

TEST_F(CsvSourceTest, ScanStopsWhenCallbackReturnsFalse) {
  auto source = Open(TenRows());
  ASSERT_NE(source, nullptr);
  int calls = 0;
  const absl::Status s = source->Scan({"n"}, 3, [&](const std::vector<Row>&) {
    ++calls;
    return false;
  });
  EXPECT_TRUE(s.ok()) << s;
  EXPECT_EQ(calls, 1);
}

TEST_F(CsvSourceTest, ZeroChunkRowsIsRefused) {
  auto source = Open(TenRows());
  ASSERT_NE(source, nullptr);
  const absl::Status s = source->Scan({"n"}, 0, [](const std::vector<Row>&) { return true; });
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr("chunk_rows"));
}

TEST_F(CsvSourceTest, UnknownColumnIsRefusedByName) {
  auto source = Open(TenRows());
  ASSERT_NE(source, nullptr);
  bool called = false;
  const absl::Status s = source->Scan({"n", "cube"}, 3, [&](const std::vector<Row>&) {
    called = true;
    return true;
  });
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr("unknown column \"cube\" (columns: n, sq)"));
  EXPECT_FALSE(called);
}

TEST_F(CsvSourceTest, SemicolonAndTabDelimiters) {
  auto semi = Open("a;b\n\"x;y\";2\n", ";");
  ASSERT_NE(semi, nullptr);
  EXPECT_THAT(ReadAll(*semi, {"a", "b"}),
              ElementsAre(ElementsAre(Optional(std::string("x;y")), Optional(std::string("2")))));
  auto tab = Open("a\tb\nx,y\t2\n", "\t");
  ASSERT_NE(tab, nullptr);
  EXPECT_THAT(ReadAll(*tab, {"a"}), ElementsAre(ElementsAre(Optional(std::string("x,y")))));
}

TEST_F(CsvSourceTest, BadDelimitersAreRefused) {
  EXPECT_THAT(std::string(TryOpen("a\n", "||").status().message()),
              HasSubstr("delimiter must be one character"));
  EXPECT_THAT(std::string(TryOpen("a\n", "\"").status().message()), HasSubstr("cannot be a quote"));
}

TEST_F(CsvSourceTest, MissingFileIsNotFoundNamingThePath) {
  tds::DataSourceConfig config;
  config.set_path(dir_.Sub("nope.csv"));
  const auto source = OpenCsvSource(config);
  EXPECT_EQ(source.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(source.status().message()), HasSubstr("nope.csv: cannot open"));
}

TEST_F(CsvSourceTest, HeaderIsRequiredAndNamesMustBeUniqueAndNonEmpty) {
  EXPECT_THAT(std::string(TryOpen("").status().message()), HasSubstr("a header row is required"));
  EXPECT_THAT(std::string(TryOpen("a,b,a\n1,2,3\n").status().message()),
              HasSubstr("line 1: header: column \"a\" appears twice"));
  EXPECT_THAT(std::string(TryOpen("a,,c\n").status().message()),
              HasSubstr("column 2 has an empty name"));
}

TEST_F(CsvSourceTest, IdColumnMustBeAColumn) {
  WriteTextFile(path(), "id,v\n1,2\n");
  tds::DataSourceConfig config;
  config.set_path(path());
  config.set_id_column("customer_id");
  EXPECT_THAT(std::string(OpenCsvSource(config).status().message()),
              HasSubstr("id_column \"customer_id\" is not a column (columns: id, v)"));
  config.set_id_column("id");
  EXPECT_TRUE(OpenCsvSource(config).ok());
}

TEST_F(CsvSourceTest, UnclosedQuoteNamesTheLineItOpenedOn) {
  auto source = Open("a,b\n1,2\n3,\"never\nclosed\n");
  ASSERT_NE(source, nullptr);
  EXPECT_THAT(std::string(source->Schema().status().message()),
              HasSubstr("data.csv line 3: field 2: quoted field is never closed"));
}

TEST_F(CsvSourceTest, StrayQuotesAreRefusedWithTheirLine) {
  auto inside = Open("a,b\n1,2\n3,ab\"c\n");
  ASSERT_NE(inside, nullptr);
  EXPECT_THAT(std::string(inside->Schema().status().message()),
              HasSubstr("data.csv line 3: field 2: a quote inside an unquoted field"));
  auto after = Open("a,b\n\"x\"y,2\n");
  ASSERT_NE(after, nullptr);
  EXPECT_THAT(std::string(after->Schema().status().message()),
              HasSubstr("data.csv line 2: field 1: unexpected character after a closing quote"));
}

TEST_F(CsvSourceTest, RecordLongerThanTheLimitIsAnError) {
  std::string csv = "a\n\"";
  csv.append(CsvReader::kMaxRecordBytes + 1, 'x');
  auto source = Open(csv);
  ASSERT_NE(source, nullptr);
  EXPECT_THAT(std::string(source->Schema().status().message()),
              HasSubstr("data.csv line 2: record longer than 16 MiB"));
}

TEST_F(CsvSourceTest, RecordOfOnlyDelimitersIsAlsoBounded) {
  std::string csv = "a\n";
  csv.append(CsvReader::kMaxRecordBytes + 1, ',');
  auto source = Open(csv);
  ASSERT_NE(source, nullptr);
  EXPECT_THAT(std::string(source->Schema().status().message()),
              HasSubstr("data.csv line 2: record longer than 16 MiB"));
}

TEST_F(CsvSourceTest, StreamsFilesLargerThanOneReadBlock) {
  // ~1.5 MB: records (with quoted commas and newlines) straddle many 64 KiB block boundaries.
  std::string csv = "id,text,amount\r\n";
  uint64_t id_sum = 0;
  constexpr int kRows = 30000;
  for (int i = 1; i <= kRows; ++i) {
    absl::StrAppend(&csv, i, ",\"row ", i, ", with \"\"quotes\"\"\nand a newline\",", i, ".25\r\n");
    id_sum += i;
  }
  auto source = Open(csv);
  ASSERT_NE(source, nullptr);
  EXPECT_THAT(Types(*source), ElementsAre("id:int64", "text:string", "amount:double"));
  EXPECT_EQ(*source->CountRows(), static_cast<uint64_t>(kRows));
  uint64_t sum = 0;
  int rows = 0;
  bool texts_ok = true;
  ASSERT_TRUE(source
                  ->Scan({"id", "text"}, 1000,
                         [&](const std::vector<Row>& chunk) {
                           for (const Row& r : chunk) {
                             sum += std::stoull(*r[0]);
                             texts_ok &= *r[1] == absl::StrCat("row ", *r[0],
                                                               ", with \"quotes\"\nand a newline");
                             ++rows;
                           }
                           return true;
                         })
                  .ok());
  EXPECT_EQ(rows, kRows);
  EXPECT_EQ(sum, id_sum);
  EXPECT_TRUE(texts_ok);
}

TEST_F(CsvSourceTest, ValueThatNoLongerMatchesTheInferredTypeIsReported) {
  auto source = Open("id,v\n1,a\n2,b\n");
  ASSERT_NE(source, nullptr);
  ASSERT_TRUE(source->Schema().ok());
  WriteTextFile(path(), "id,v\n1,a\nabc,b\n");
  const absl::Status s = source->Scan({"id"}, 10, [](const std::vector<Row>&) { return true; });
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(s.message()),
              HasSubstr("data.csv line 3: column \"id\": \"abc\" is not of type int64"));
}

}  // namespace
}  // namespace tds::node
