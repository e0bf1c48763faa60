#pragma once
// `tds usage list|request|reserve|record`: the usage ledger. `list` reads usage records (with
// receipts on request); `request` is the consumer signing a UsageRequest, and `reserve` and
// `record` are the provider's metering transactions — tools for testing and operations until
// the node's metered gateway submits them itself.

#include <cstdint>
#include <string>

#include "CLI/CLI.hpp"
#include "proto/contracts.pb.h"
#include "sdk/cli/options_cmd.h"
#include "sdk/cli/output.h"

namespace tds::cli {

void AddUsageCommands(CLI::App& app, Context& ctx);

// The filters and output of a usage listing, shared by `tds usage list` and `tds audit usage`.
struct UsageListArgs {
  std::string contract, product, provider, consumer, purpose, operation, period;
  int64_t from_ms = 0, to_ms = 0;
  bool violations = false, with_receipts = false;
  std::string receipts_dir;
  uint32_t limit = 0;  // 0: every page
  std::string cursor;
  OutputFormat format = OutputFormat::kTable;
};

// Registers the listing's options on `sub`. REQUIRES: *args outlives the app.
void AddUsageListOptions(CLI::App* sub, UsageListArgs* args);

// Which service answers: Contracts.ListUsage or Audit.ListUsage — the same listing
// (node/usage_listing.h), under the query or the audit service.
enum class UsageService { kContracts, kAudit };

// "term: detail; term: detail" of a record's violations ("" when none).
std::string DescribeViolations(const tds::UsageRecordState& record);

// Lists the records (every page unless --limit), writes receipts to --receipts-dir, prints the
// listing. Returns the exit code.
int RunUsageList(const GlobalOptions& g, const UsageListArgs& a, UsageService service);

}  // namespace tds::cli
