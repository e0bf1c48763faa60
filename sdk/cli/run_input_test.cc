// The input and progress display of `tds run`: IdTable (sdk/cli/id_table.h) and ProgressLine
// (sdk/cli/progress.h).

#include <chrono>
#include <sstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sdk/cli/id_table.h"
#include "sdk/cli/progress.h"

namespace tds::cli {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

absl::StatusOr<IdTable> Parse(const std::string& text, const std::string& column = "") {
  return IdTable::Parse(text, "ids.csv", column);
}

std::string Error(const std::string& text, const std::string& column = "") {
  absl::StatusOr<IdTable> t = Parse(text, column);
  EXPECT_FALSE(t.ok());
  return std::string(t.status().message());
}

TEST(IdTableTest, ReadsTheNamedColumnAndWritesMatchedRowsByteForByte) {
  const std::string text =
      "\xEF\xBB\xBFname,tax_id,note\r\n"
      "\"Li, Wei\",T001,\"said \"\"hi\"\"\"\r\n"
      "Zhang,T002,\"two\nlines\"\r\n"
      "\r\n"
      "Wang,T001,dup\n"
      "Zhao,T004,last";  // no final line break
  absl::StatusOr<IdTable> t = Parse(text, "tax_id");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_THAT(t->header(), ElementsAre("name", "tax_id", "note"));
  EXPECT_EQ(t->column(), "tax_id");
  EXPECT_THAT(t->ids(), ElementsAre("T001", "T002", "T001", "T004"));
  EXPECT_EQ(t->Select({1, 3}),
            "name,tax_id,note\r\n"
            "Zhang,T002,\"two\nlines\"\r\n"
            "Zhao,T004,last\n");
  EXPECT_EQ(t->Select({}), "name,tax_id,note\r\n");
  // Without --column, the first column.
  absl::StatusOr<IdTable> first = Parse(text);
  ASSERT_TRUE(first.ok());
  EXPECT_THAT(first->ids(), ElementsAre("Li, Wei", "Zhang", "Wang", "Zhao"));
}

TEST(IdTableTest, MalformedInputIsRefusedNamingTheLine) {
  EXPECT_THAT(Error(""), HasSubstr("ids.csv: empty; expected a header row"));
  EXPECT_THAT(Error("id\nT1\n", "tax_id"),
              HasSubstr("ids.csv: no column 'tax_id' in the header (columns: id)"));
  EXPECT_THAT(Error("a,b\n1,2\n3\n"), HasSubstr("ids.csv line 3: 1 field(s), the header has 2"));
  EXPECT_THAT(Error("a,b\n1,2\n,4\n"), HasSubstr("ids.csv line 3: empty id in column 'a'"));
  EXPECT_THAT(Error("a\n\"open\nstill open\n"),
              HasSubstr("ids.csv line 2: a quoted field is never closed"));
  EXPECT_THAT(Error("a\nab\"c\n"), HasSubstr("ids.csv line 2: a quote inside an unquoted field"));
  EXPECT_THAT(Error("a\n\"x\"y\n"), HasSubstr("ids.csv line 2: unexpected character after"));
  absl::StatusOr<IdTable> header_only = Parse("id\n");
  ASSERT_TRUE(header_only.ok());
  EXPECT_TRUE(header_only->ids().empty());
}

TEST(IdTableTest, AMissingFileIsNamed) {
  absl::StatusOr<IdTable> t = IdTable::Read("/nonexistent/ids.csv", "");
  ASSERT_FALSE(t.ok());
  EXPECT_THAT(std::string(t.status().message()), HasSubstr("/nonexistent/ids.csv"));
}

class FakeClock {
 public:
  std::chrono::steady_clock::time_point now{};
  ProgressLine::Clock fn() {
    return [this] { return now; };
  }
};

TEST(ProgressLineTest, OnATerminalOneLineIsRewrittenInPlaceAndCleared) {
  std::ostringstream out;
  FakeClock clock;
  ProgressLine line(out, "psi", /*tty=*/true, clock.fn());
  line.Update("mask-own", 0, 1000);
  clock.now += std::chrono::milliseconds(50);
  line.Update("mask-own", 400, 1000);  // too soon: skipped
  clock.now += std::chrono::milliseconds(100);
  line.Update("mask-own", 500, 1000);
  line.Update("match", 1000, 1000);  // a new phase shows at once
  line.Finish();
  line.Update("match", 1000, 1000);  // after Finish: nothing
  const std::string last = "psi: match 100% (1000 of 1000)";
  EXPECT_EQ(out.str(),
            "\rpsi: mask-own 0% (0 of 1000)"
            "\rpsi: mask-own 50% (500 of 1000)"
            "\r" +
                last +
                " "  // padded over the longer line before it
                "\r" +
                std::string(last.size(), ' ') + "\r");
}

TEST(ProgressLineTest, InALogWholeLinesAtPhaseChangesAndEveryFiveSeconds) {
  std::ostringstream out;
  FakeClock clock;
  ProgressLine line(out, "stats", /*tty=*/false, clock.fn());
  line.Update("mask-own", 10, 100);
  clock.now += std::chrono::seconds(1);
  line.Update("mask-own", 20, 100);  // within 5 s: skipped
  clock.now += std::chrono::seconds(5);
  line.Update("mask-own", 70, 100);
  line.Update("match", 0, 0);  // no total: no percentage
  line.Finish();
  EXPECT_EQ(out.str(),
            "stats: mask-own 10% (10 of 100)\n"
            "stats: mask-own 70% (70 of 100)\n"
            "stats: match\n");
}

}  // namespace
}  // namespace tds::cli
