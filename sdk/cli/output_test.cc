#include "sdk/cli/output.h"

#include <sstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "proto/genesis.pb.h"

namespace tds::cli {
namespace {

using ::testing::HasSubstr;

tds::Member MemberOf(const std::string& id, const std::string& name) {
  tds::Member m;
  m.set_id(id);
  m.set_name(name);
  m.add_roles("consumer");
  return m;
}

std::string Print(const Listing& listing, OutputFormat format) {
  std::ostringstream out;
  listing.Print(out, format);
  return out.str();
}

TEST(CsvFieldTest, PlainValuesAreNotQuoted) {
  EXPECT_EQ(CsvField("bank"), "bank");
  EXPECT_EQ(CsvField(""), "");
  EXPECT_EQ(CsvField("企业征信"), "企业征信");
}

TEST(CsvFieldTest, SeparatorsQuotesAndLineBreaksAreQuoted) {
  EXPECT_EQ(CsvField("a,b"), "\"a,b\"");
  EXPECT_EQ(CsvField("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(CsvField("two\nlines"), "\"two\nlines\"");
  EXPECT_EQ(CsvField("cr\rhere"), "\"cr\rhere\"");
  EXPECT_EQ(CsvField(" padded "), "\" padded \"");
  EXPECT_EQ(CsvField("\""), "\"\"\"\"");
}

TEST(ParseOutputFormatTest, KnowsTheThreeFormatsAndNamesABadOne) {
  EXPECT_EQ(*ParseOutputFormat("table"), OutputFormat::kTable);
  EXPECT_EQ(*ParseOutputFormat("json"), OutputFormat::kJson);
  EXPECT_EQ(*ParseOutputFormat("csv"), OutputFormat::kCsv);
  absl::StatusOr<OutputFormat> bad = ParseOutputFormat("yaml");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(std::string(bad.status().message()), HasSubstr("\"yaml\""));
}

TEST(ListingTest, CsvHasAHeaderAndQuotedRowsWithCrlf) {
  Listing listing({"id", "name"});
  listing.AddRow({"bank", "East, Bridge \"Bank\""}, MemberOf("bank", "x"));
  listing.AddRow({"zj", ""}, MemberOf("zj", ""));
  EXPECT_EQ(Print(listing, OutputFormat::kCsv),
            "id,name\r\nbank,\"East, Bridge \"\"Bank\"\"\"\r\nzj,\r\n");
}

TEST(ListingTest, JsonIsAnArrayOfTheRowMessagesWithProtoFieldNames) {
  Listing listing({"id"});
  listing.AddRow({"bank"}, MemberOf("bank", "East Bridge"));
  listing.AddRow({"zj"}, MemberOf("zj", ""));
  nlohmann::json parsed = nlohmann::json::parse(Print(listing, OutputFormat::kJson));
  ASSERT_TRUE(parsed.is_array());
  ASSERT_EQ(parsed.size(), 2u);
  EXPECT_EQ(parsed[0]["id"], "bank");
  EXPECT_EQ(parsed[0]["name"], "East Bridge");
  EXPECT_EQ(parsed[0]["roles"], nlohmann::json::array({"consumer"}));
  // Defaults are printed, so every object has every key.
  EXPECT_EQ(parsed[1]["name"], "");
  EXPECT_TRUE(parsed[1].contains("tls_cert_sha256"));
}

TEST(ListingTest, EmptyListingsStillParse) {
  Listing listing({"id", "name"});
  EXPECT_EQ(Print(listing, OutputFormat::kJson), "[]\n");
  EXPECT_EQ(Print(listing, OutputFormat::kCsv), "id,name\r\n");
  EXPECT_EQ(Print(listing, OutputFormat::kTable), "(none)\n");
}

TEST(ListingTest, TableAlignsColumnsUnderUpperCaseHeaders) {
  Listing listing({"id", "name"});
  listing.AddRow({"bank", "East\nBridge"}, MemberOf("bank", ""));
  listing.AddRow({"zj-tax-data", ""}, MemberOf("zj", ""));
  EXPECT_EQ(Print(listing, OutputFormat::kTable),
            "ID           NAME\n"
            "bank         East Bridge\n"
            "zj-tax-data  -\n");
}

TEST(ListingTest, TableCountsCharactersNotBytesForChineseText) {
  Listing listing({"title", "level"});
  listing.AddRow({"企业征信", "3"}, MemberOf("a", ""));
  listing.AddRow({"tax", "2"}, MemberOf("b", ""));
  EXPECT_EQ(Print(listing, OutputFormat::kTable),
            "TITLE  LEVEL\n"
            "企业征信   3\n"
            "tax    2\n");
}

TEST(FormatTest, TimesAndHex) {
  EXPECT_EQ(FormatTimeMs(0), "-");
  EXPECT_EQ(FormatTimeMs(1741944413589), "2025-03-14T09:26:53.589Z");
  EXPECT_EQ(HexOrDash(""), "-");
  EXPECT_EQ(HexOrDash("\x01\xab"), "01ab");
}

}  // namespace
}  // namespace tds::cli
