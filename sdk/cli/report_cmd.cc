#include "sdk/cli/report_cmd.h"

#include <functional>
#include <iostream>
#include <memory>
#include <string>

#include "common/period.h"
#include "sdk/cli/report_builder.h"
#include "sdk/cli/session.h"

namespace tds::cli {
namespace {

struct ReportArgs {
  std::string member, period, product, as_of, out;
  bool pdf = false;
};

using Build = std::function<absl::StatusOr<ReportFiles>(Session& session)>;

// Opens the session, builds, writes DIR, optionally prints the PDF, and lists what it wrote.
int RunReport(const GlobalOptions& g, const ReportArgs& a, const Build& build) {
  absl::StatusOr<std::unique_ptr<Session>> session = OpenSession(g, KeyUse::kRequired);
  if (!session.ok()) return Fail(session.status());
  absl::StatusOr<ReportFiles> files = build(**session);
  if (!files.ok()) return Fail(files.status());
  if (absl::Status s = WriteReport(*files, a.out); !s.ok()) return Fail(s);
  for (const ReportFile& f : *files) std::cout << "wrote " << a.out << "/" << f.name << "\n";
  if (a.pdf) {
    if (absl::Status s = RenderPdf(a.out); !s.ok()) return Fail(s);
    std::cout << "wrote " << a.out << "/report.pdf\n";
  }
  return 0;
}

// A malformed --period is refused before connecting.
int CheckPeriodOption(const std::string& period) {
  if (absl::StatusOr<std::pair<int64_t, int64_t>> b = PeriodBounds(period); !b.ok()) {
    return Fail("--period: " + std::string(b.status().message()));
  }
  return 0;
}

void AddOutOptions(CLI::App* sub, ReportArgs* a) {
  sub->add_option("--out", a->out, "Directory to write the report into (created if absent)")
      ->required();
  sub->add_flag("--pdf", a->pdf,
                "Also print report.html to report.pdf with headless Chromium (Debian package "
                "chromium, on PATH)");
}

}  // namespace

void AddReportCommands(CLI::App& app, Context& ctx) {
  const GlobalOptions& g = ctx.options;
  CLI::App* report = app.add_subcommand(
      "report",
      "Reports as a directory of report.html (inline SVG charts) and CSV files: compliance, "
      "billing, valuation");
  report->require_subcommand(1);
  report->footer(
      "Each signs its queries with --key; reporting on another member needs the auditor or "
      "validator\nrole. HTML is self-contained (no scripts, no external assets); CSV "
      "amounts are integer minor units.");

  auto c = std::make_shared<ReportArgs>();
  CLI::App* compliance = report->add_subcommand(
      "compliance",
      "Monthly compliance report of a member: usage by purpose and operation, violations with "
      "reasons, counterparties, amounts billed; usage.csv, violations.csv, counterparties.csv, "
      "statement_lines.csv");
  compliance->add_option("--member", c->member, "The member reported on (default: you)");
  compliance->add_option("--period", c->period, "Month of block time (UTC), YYYY-MM")->required();
  AddOutOptions(compliance, c.get());
  OnRun(compliance, ctx, [&g, c] {
    if (int rc = CheckPeriodOption(c->period); rc != 0) return rc;
    return RunReport(g, *c, [c](Session& s) {
      return ComplianceReport(*s.query, s.member_id, c->member.empty() ? s.member_id : c->member,
                              c->period);
    });
  });

  auto b = std::make_shared<ReportArgs>();
  CLI::App* billing = report->add_subcommand(
      "billing",
      "Billing statements of a member for a month (as provider and as consumer); "
      "statement_lines.csv, statements.csv");
  billing->add_option("--member", b->member, "The member reported on (default: you)");
  billing->add_option("--period", b->period, "Month of block time (UTC), YYYY-MM")->required();
  AddOutOptions(billing, b.get());
  OnRun(billing, ctx, [&g, b] {
    if (int rc = CheckPeriodOption(b->period); rc != 0) return rc;
    return RunReport(g, *b, [b](Session& s) {
      return BillingReport(*s.query, s.member_id, b->member.empty() ? s.member_id : b->member,
                           b->period);
    });
  });

  auto v = std::make_shared<ReportArgs>();
  CLI::App* valuation = report->add_subcommand(
      "valuation",
      "Valuation report of a product (as `tds value`, node defaults): periods.csv, costs.csv");
  valuation->add_option("--product", v->product, "Product id")->required();
  valuation->add_option("--as-of", v->as_of,
                        "Last period of the window, YYYY-MM (default: the month of the latest "
                        "block)");
  AddOutOptions(valuation, v.get());
  OnRun(valuation, ctx, [&g, v] {
    return RunReport(g, *v,
                     [v](Session& s) { return ValuationReport(*s.query, v->product, v->as_of); });
  });
}

}  // namespace tds::cli
