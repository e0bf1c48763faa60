#pragma once
// `tds report`: compliance, billing and valuation reports of a data space, each a directory of
// a self-contained report.html (inline CSS and SVG charts, report_html.h) and CSV files.
//
// The reports only arrange what the node answers: usage records (Contracts.ListUsage),
// statements (Contracts.GetStatement) and valuations (Contracts.GetValuation). Money is never
// recomputed here: totals are the statements' own, and per-product or per-counterparty
// figures are sums of the node's statement lines.
//
// Files per report (names fixed; the HTML shows the same tables as the CSVs):
//   compliance  report.html usage.csv (one row per usage record) violations.csv (one row per
//               broken term) counterparties.csv statement_lines.csv
//   billing     report.html statement_lines.csv statements.csv (totals per statement and
//               currency)
//   valuation   report.html periods.csv costs.csv

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "sdk/query_client.h"

namespace tds::cli {

struct ReportFile {
  std::string name;  // file name inside the report directory
  std::string content;
};
using ReportFiles = std::vector<ReportFile>;  // report.html first

// The compliance report of `member` for `period` (YYYY-MM): every usage record where it is the
// provider or the consumer — both views when it is both —, usage by purpose and operation,
// violations with their terms and details, counterparties by calls, and what was billed.
// A member without records gets an empty but complete report. `caller` is the member `query`
// signs as: reporting on another member needs the auditor or validator role (the node would
// silently show only the caller's own share of the records, so the report refuses instead).
// Errors: InvalidArgument naming "--period" for a malformed period (before any call);
// NotFound naming "--member" for an unknown member; PermissionDenied as above; the node's.
absl::StatusOr<ReportFiles> ComplianceReport(sdk::QueryClient& query, const std::string& caller,
                                             const std::string& member, const std::string& period);

// The billing statements of `member` for `period`: as the provider, one per consumer; as a
// consumer, one per provider it has usage records with in the period. `caller` and errors as
// ComplianceReport.
absl::StatusOr<ReportFiles> BillingReport(sdk::QueryClient& query, const std::string& caller,
                                          const std::string& member, const std::string& period);

// The valuation report of `product` (node defaults for the parameters; `as_of` "" = the month of
// the latest block).
absl::StatusOr<ReportFiles> ValuationReport(sdk::QueryClient& query, const std::string& product,
                                            const std::string& as_of);

// Writes the files into `dir` (created with its parents if absent; files replaced atomically).
absl::Status WriteReport(const ReportFiles& files, const std::string& dir);

// Prints DIR/report.html to DIR/report.pdf with `browser` (a Chromium binary, looked up on PATH
// when it has no '/') in headless mode. FailedPrecondition naming the Debian package when the
// browser is not found; Internal with its exit status when it fails or writes no PDF.
absl::Status RenderPdf(const std::string& dir, const std::string& browser = "chromium");

}  // namespace tds::cli
