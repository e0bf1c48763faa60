// `tds report` against an in-process node (node/in_process_test.h) with real usage records:
// three calls of bank under its contract with zj and one flagged call whose purpose carries
// markup. The CSV files must equal the node's records, the HTML must carry the statement totals
// and one SVG per chart with every ledger text escaped, and refusals must name what was wrong.

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/file.h"
#include "common/period.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "node/in_process_test.h"
#include "sdk/cli/describe.h"
#include "sdk/cli/output.h"
#include "sdk/cli/report_builder.h"
#include "sdk/cli/report_html.h"

namespace tds::cli {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using namespace ::tds::node::testing;  // NOLINT: the shared fixture's members and constants

constexpr char kMarkup[] = "<script>alert('x')</script>";

std::string Terms(const tds::UsageRecordState& r) {
  std::vector<std::string> terms;
  for (const tds::Violation& v : r.violations()) terms.push_back(v.term());
  return absl::StrJoin(terms, ",");
}

size_t Count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

const std::string& File(const ReportFiles& files, const std::string& name) {
  for (const ReportFile& f : files) {
    if (f.name == name) return f.content;
  }
  ADD_FAILURE() << "no file " << name;
  static const std::string empty;
  return empty;
}

// CSV lines without the header (the writer quotes only where RFC 4180 needs it).
std::vector<std::string> DataLines(const std::string& csv) {
  std::vector<std::string> lines = absl::StrSplit(csv, '\n', absl::SkipEmpty());
  EXPECT_FALSE(lines.empty()) << "no header";
  if (!lines.empty()) lines.erase(lines.begin());
  return lines;
}

class ReportTest : public InProcessDataSpaceTest {
 protected:
  void SetUp() override {
    InProcessDataSpaceTest::SetUp();
    contract_ = ActiveContract();
    for (int i = 0; i < 3; ++i) Use(contract_, "credit_risk", 5 + i);
    Use(contract_, kMarkup, 1, /*reserve=*/false);  // a purpose the contract does not permit
    period_ = PeriodOf(NowMs());
  }

  // The node's own listing of `member`'s records, for comparison.
  std::vector<tds::UsageRecordState> Records(const Who& who) {
    tds::ListUsageRequest request;
    request.set_provider(who.id);
    request.mutable_page()->set_limit(1000);
    absl::StatusOr<tds::ListUsageResponse> r = As(&kAudit)->AuditUsage(request);
    EXPECT_TRUE(r.ok()) << r.status();
    std::vector<tds::UsageRecordState> out;
    if (r.ok()) {
      for (const tds::UsageItem& item : r->items()) out.push_back(item.record());
    }
    return out;
  }

  std::string contract_, period_;
};

TEST_F(ReportTest, ComplianceCsvRowsEqualTheRecordsAndHtmlCarriesTotalsAndCharts) {
  absl::StatusOr<ReportFiles> files = ComplianceReport(*As(&kZj), kZj.id, "zj", period_);
  ASSERT_TRUE(files.ok()) << files.status();
  ASSERT_EQ((*files)[0].name, "report.html");

  const std::vector<tds::UsageRecordState> records = Records(kZj);
  ASSERT_EQ(records.size(), 4u);
  const std::vector<std::string> usage = DataLines(File(*files, "usage.csv"));
  ASSERT_EQ(usage.size(), records.size());
  for (size_t i = 0; i < records.size(); ++i) {
    const tds::UsageRecordState& r = records[i];
    const std::string expected = absl::StrJoin(
        {std::to_string(r.index()), FormatTimeMs(r.block_time_ms()), r.period(), r.contract_id(),
         r.product_id(), r.provider(), r.consumer(), r.operation(), CsvField(r.purpose()),
         JoinList(r.columns()), std::to_string(r.measurement().rows_in()),
         std::to_string(r.measurement().rows_out()), std::to_string(r.measurement().compute_ms()),
         HexOrDash(r.txid()), CsvField(Terms(r))},
        ",");
    EXPECT_EQ(usage[i], expected) << "record " << r.index();
  }
  // The unreserved call broke two terms: purpose and (strict) metering.
  EXPECT_THAT(usage[3], HasSubstr(",\"purpose,metering\""));

  // One violation row per broken term, with the node's detail.
  const std::vector<std::string> violations = DataLines(File(*files, "violations.csv"));
  ASSERT_EQ(violations.size(), 2u);
  for (int i = 0; i < 2; ++i) {
    const tds::Violation& v = records[3].violations(i);
    EXPECT_THAT(violations[i], HasSubstr("," + v.term() + "," + CsvField(v.detail())));
  }

  const std::vector<std::string> parties = DataLines(File(*files, "counterparties.csv"));
  ASSERT_EQ(parties.size(), 1u);
  EXPECT_THAT(parties[0], HasSubstr("bank,consumer,4,19,1,"));

  // The totals are the node's statement totals.
  tds::GetStatementRequest get;
  get.set_provider("zj");
  get.set_period(period_);
  absl::StatusOr<tds::GetStatementResponse> statements = As(&kZj)->GetStatement(get);
  ASSERT_TRUE(statements.ok()) << statements.status();
  ASSERT_EQ(statements->statements_size(), 1);
  ASSERT_EQ(statements->statements(0).totals_size(), 1);
  const tds::CurrencyAmount& total = statements->statements(0).totals(0);
  EXPECT_GT(total.amount(), 0);
  const std::string& html = File(*files, "report.html");
  EXPECT_THAT(html, HasSubstr(Money(total.amount(), total.currency())));
  EXPECT_THAT(html, HasSubstr("<td>4</td>"));  // usage records
  EXPECT_EQ(Count(html, "<svg "), 3u);         // per day, by purpose, revenue per product
  EXPECT_EQ(Count(html, "</svg>"), 3u);
  EXPECT_THAT(html, HasSubstr(">invoices<"));
  EXPECT_EQ(DataLines(File(*files, "statement_lines.csv")).size(),
            static_cast<size_t>(statements->statements(0).lines_size()));
}

TEST_F(ReportTest, LedgerTextIsEscapedInTheHtml) {
  absl::StatusOr<ReportFiles> files = ComplianceReport(*As(&kZj), kZj.id, "zj", period_);
  ASSERT_TRUE(files.ok()) << files.status();
  const std::string& html = File(*files, "report.html");
  EXPECT_THAT(html, Not(HasSubstr("<script")));
  EXPECT_THAT(html, HasSubstr("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"));
  // The CSV keeps the text as it is (a spreadsheet is no browser).
  EXPECT_THAT(File(*files, "violations.csv"), HasSubstr(kMarkup));
}

TEST_F(ReportTest, TheConsumerSeesTheSameRecordsFromItsSide) {
  absl::StatusOr<ReportFiles> files = ComplianceReport(*As(&kBank), kBank.id, "bank", period_);
  ASSERT_TRUE(files.ok()) << files.status();
  EXPECT_EQ(DataLines(File(*files, "usage.csv")).size(), 4u);
  EXPECT_THAT(File(*files, "counterparties.csv"), HasSubstr("zj,provider,4,19,1,"));
  EXPECT_THAT(File(*files, "report.html"), HasSubstr("<td>consumer</td>"));
}

TEST_F(ReportTest, AMemberWithoutRecordsGetsAnEmptyButValidReport) {
  absl::StatusOr<ReportFiles> files =
      ComplianceReport(*As(&kStranger), kStranger.id, "stranger", period_);
  ASSERT_TRUE(files.ok()) << files.status();
  for (const char* csv : {"usage.csv", "violations.csv", "counterparties.csv"}) {
    EXPECT_TRUE(DataLines(File(*files, csv)).empty()) << csv;
  }
  const std::string& html = File(*files, "report.html");
  EXPECT_THAT(html, HasSubstr("</html>"));
  EXPECT_THAT(html, HasSubstr("no usage records in the period"));
  EXPECT_EQ(Count(html, "<svg "), 3u);
  EXPECT_THAT(html, HasSubstr("no data"));
}

TEST_F(ReportTest, BadPeriodIsRefusedNamingTheOption) {
  for (const char* bad : {"2025-13", "2025/03", "", "march"}) {
    absl::StatusOr<ReportFiles> files = ComplianceReport(*As(&kZj), kZj.id, "zj", bad);
    ExpectCode(files.status(), absl::StatusCode::kInvalidArgument, "--period");
    ExpectCode(BillingReport(*As(&kZj), kZj.id, "zj", bad).status(),
               absl::StatusCode::kInvalidArgument, "--period");
  }
}

TEST_F(ReportTest, AnotherMembersRecordsNeedTheAuditorRole) {
  ExpectCode(ComplianceReport(*As(&kStranger), kStranger.id, "zj", period_).status(),
             absl::StatusCode::kPermissionDenied, "auditor or validator role");
  ExpectCode(BillingReport(*As(&kBank), kBank.id, "zj", period_).status(),
             absl::StatusCode::kPermissionDenied, "may report only on itself");
  ExpectCode(ComplianceReport(*As(&kAudit), kAudit.id, "nobody", period_).status(),
             absl::StatusCode::kNotFound, "--member");
  absl::StatusOr<ReportFiles> audited = ComplianceReport(*As(&kAudit), kAudit.id, "zj", period_);
  ASSERT_TRUE(audited.ok()) << audited.status();
  EXPECT_EQ(DataLines(File(*audited, "usage.csv")).size(), 4u);
}

TEST_F(ReportTest, BillingReportShowsTheNodesStatements) {
  absl::StatusOr<ReportFiles> files = BillingReport(*As(&kZj), kZj.id, "zj", period_);
  ASSERT_TRUE(files.ok()) << files.status();
  tds::GetStatementRequest get;
  get.set_provider("zj");
  get.set_period(period_);
  absl::StatusOr<tds::GetStatementResponse> r = As(&kZj)->GetStatement(get);
  ASSERT_TRUE(r.ok()) << r.status();
  const tds::Statement& s = r->statements(0);
  const std::vector<std::string> totals = DataLines(File(*files, "statements.csv"));
  ASSERT_EQ(totals.size(), 1u);
  EXPECT_EQ(totals[0], absl::StrCat("zj,bank,", period_, ",", s.totals(0).currency(), ",",
                                    s.totals(0).amount(), ",", s.records(), ",1"));
  EXPECT_EQ(DataLines(File(*files, "statement_lines.csv")).size(),
            static_cast<size_t>(s.lines_size()));
  const std::string& html = File(*files, "report.html");
  EXPECT_THAT(html, HasSubstr(Money(s.totals(0).amount(), s.totals(0).currency())));
  EXPECT_EQ(Count(html, "<svg "), 2u);
}

TEST_F(ReportTest, ValuationReportHasPeriodsAndCharts) {
  absl::StatusOr<ReportFiles> files = ValuationReport(*As(&kZj), "invoices", "");
  ASSERT_TRUE(files.ok()) << files.status();
  const std::vector<std::string> periods = DataLines(File(*files, "periods.csv"));
  ASSERT_FALSE(periods.empty());
  // The current period carries the three billed calls (the violation is not billed).
  EXPECT_THAT(periods.back(), HasSubstr(absl::StrCat("invoices,", period_, ",")));
  const std::string& html = File(*files, "report.html");
  EXPECT_EQ(Count(html, "<svg "), 2u);
  EXPECT_THAT(html, HasSubstr("income approach value"));
  ExpectCode(ValuationReport(*As(&kZj), "invoices", "2025-00").status(),
             absl::StatusCode::kInvalidArgument, "--as-of");
  EXPECT_EQ(ValuationReport(*As(&kZj), "no-such", "").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(ReportTest, WritesTheFilesAndRefusesPdfWithoutChromium) {
  absl::StatusOr<ReportFiles> files = ComplianceReport(*As(&kZj), kZj.id, "zj", period_);
  ASSERT_TRUE(files.ok()) << files.status();
  const std::string out = dir_.Sub("report/nested");
  ASSERT_TRUE(WriteReport(*files, out).ok());
  for (const ReportFile& f : *files) {
    absl::StatusOr<std::string> read = ReadFile(out + "/" + f.name);
    ASSERT_TRUE(read.ok()) << read.status();
    EXPECT_EQ(*read, f.content);
  }
  ExpectCode(RenderPdf(out, "tds-no-such-chromium"), absl::StatusCode::kFailedPrecondition,
             "apt-get install chromium");
}

TEST_F(ReportTest, PdfIsPrintedByTheBrowserFromTheHtmlFile) {
  const std::string out = dir_.Sub("pdf");
  ASSERT_TRUE(WriteReport({{"report.html", "<html></html>"}}, out).ok());
  // A stand-in browser: records its arguments and writes the PDF it was asked for.
  const std::string fake = dir_.Sub("fake-chromium");
  ASSERT_TRUE(WriteFileAtomic(fake,
                              "#!/bin/sh\n"
                              "echo \"$@\" > \"$(dirname \"$0\")/args\"\n"
                              "for a in \"$@\"; do case \"$a\" in --print-to-pdf=*) "
                              "printf '%%PDF-1.4' > \"${a#--print-to-pdf=}\";; esac; done\n",
                              0755)
                  .ok());
  ASSERT_TRUE(RenderPdf(out, fake).ok());
  absl::StatusOr<std::string> args = ReadFile(dir_.Sub("args"));
  ASSERT_TRUE(args.ok());
  EXPECT_THAT(*args, HasSubstr("--headless"));
  EXPECT_THAT(*args,
              HasSubstr("file://" + std::filesystem::absolute(out).string() + "/report.html"));
  EXPECT_THAT(ReadFile(out + "/report.pdf").value_or(""), HasSubstr("%PDF"));
  // A browser that fails is reported with its exit status.
  ASSERT_TRUE(WriteFileAtomic(fake, "#!/bin/sh\nexit 3\n", 0755).ok());
  ExpectCode(RenderPdf(out, fake), absl::StatusCode::kInternal, "exit 3");
}

// The real browser (Debian package chromium, deploy/install-deps.sh) prints the compliance
// report; skipped, saying why, where it is not installed.
TEST_F(ReportTest, ChromiumPrintsTheComplianceReportToPdf) {
  absl::StatusOr<ReportFiles> files = ComplianceReport(*As(&kZj), kZj.id, "zj", period_);
  ASSERT_TRUE(files.ok()) << files.status();
  const std::string out = dir_.Sub("real-pdf");
  ASSERT_TRUE(WriteReport(*files, out).ok());
  absl::Status printed = RenderPdf(out);
  if (absl::IsFailedPrecondition(printed)) GTEST_SKIP() << printed;
  ASSERT_TRUE(printed.ok()) << printed;
  absl::StatusOr<std::string> pdf = ReadFile(out + "/report.pdf");
  ASSERT_TRUE(pdf.ok()) << pdf.status();
  EXPECT_EQ(pdf->substr(0, 5), "%PDF-");
  EXPECT_GT(pdf->size(), 1000u);
}

TEST(HtmlEscapeTest, EscapesEveryMarkupCharacter) {
  EXPECT_EQ(HtmlEscape("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&#39;");
  HtmlReport html("<t>");
  html.BarChart("<c>", {{"<l>", 1, "<v>"}});
  html.Table({{"<h>"}, {{"<d>"}}});
  EXPECT_THAT(html.Finish(), Not(HasSubstr("<t>")));
  EXPECT_THAT(html.Finish(), Not(HasSubstr("<l>")));
  EXPECT_THAT(html.Finish(), Not(HasSubstr("<d>")));
  EXPECT_THAT(html.Finish(), HasSubstr("&lt;v&gt;"));
}

}  // namespace
}  // namespace tds::cli
