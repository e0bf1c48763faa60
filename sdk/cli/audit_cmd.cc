#include "sdk/cli/audit_cmd.h"

#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/bytes.h"
#include "common/file.h"
#include "common/period.h"
#include "ledger/genesis.h"
#include "ledger/receipt.h"
#include "sdk/cli/output.h"
#include "sdk/cli/session.h"
#include "sdk/cli/usage_cmd.h"

namespace tds::cli {
namespace {

// --- violations ---

struct ViolationArgs {
  std::string contract, product, provider, consumer, term, period;
  int64_t from_ms = 0, to_ms = 0;
  uint32_t limit = 0;  // 0: every page
  std::string cursor;
  OutputFormat format = OutputFormat::kTable;
};

int RunViolations(const GlobalOptions& g, const ViolationArgs& a) {
  tds::ListViolationsRequest request;
  request.set_contract_id(a.contract);
  request.set_product_id(a.product);
  request.set_provider(a.provider);
  request.set_consumer(a.consumer);
  request.set_term(a.term);
  request.set_from_ms(a.from_ms);
  request.set_to_ms(a.to_ms);
  if (!a.period.empty()) {
    absl::StatusOr<std::pair<int64_t, int64_t>> bounds = PeriodBounds(a.period);
    if (!bounds.ok()) return Fail("--period: " + std::string(bounds.status().message()));
    request.set_from_ms(bounds->first);
    request.set_to_ms(bounds->second);
  }
  request.mutable_page()->set_limit(a.limit == 0 ? 1000 : a.limit);
  request.mutable_page()->set_cursor(a.cursor);

  absl::StatusOr<std::unique_ptr<Session>> session = OpenSession(g, KeyUse::kRequired);
  if (!session.ok()) return Fail(session.status());
  Listing listing({"index", "time", "contract", "product", "provider", "consumer", "operation",
                   "purpose", "txid", "violations"});
  std::string next;
  while (true) {
    absl::StatusOr<tds::ListUsageResponse> r = (*session)->query->ListViolations(request);
    if (!r.ok()) return Fail(r.status());
    for (const tds::UsageItem& item : r->items()) {
      const tds::UsageRecordState& rec = item.record();
      listing.AddRow(
          {std::to_string(rec.index()), FormatTimeMs(rec.block_time_ms()), rec.contract_id(),
           rec.product_id(), rec.provider(), rec.consumer(), rec.operation(), rec.purpose(),
           HexOrDash(rec.txid()), DescribeViolations(rec)},
          item);
    }
    next = r->next_cursor();
    if (a.limit != 0 || next.empty()) break;
    request.mutable_page()->set_cursor(next);
  }
  listing.Print(std::cout, a.format);
  if (!next.empty()) std::cerr << "more: --cursor " << next << "\n";
  return 0;
}

// --- receipt ---

struct ReceiptArgs {
  std::string txid, out, genesis;
};

int RunReceipt(const GlobalOptions& g, const ReceiptArgs& a) {
  absl::StatusOr<Hash> txid = HashFromHex(a.txid, "TXID");
  if (!txid.ok()) return Fail(txid.status());
  // Load the trusted genesis first: a bad path should not cost a round trip.
  std::optional<ledger::GenesisInfo> genesis;
  if (!a.genesis.empty()) {
    absl::StatusOr<ledger::GenesisInfo> loaded = ledger::GenesisInfo::Load(a.genesis);
    if (!loaded.ok()) return Fail("--genesis: " + std::string(loaded.status().message()));
    genesis = *std::move(loaded);
  }
  absl::StatusOr<std::unique_ptr<Session>> session = OpenSession(g, KeyUse::kRequired);
  if (!session.ok()) return Fail(session.status());
  tds::AuditReceiptRequest request;
  request.set_txid(std::string(AsBytes(*txid)));
  absl::StatusOr<tds::AuditReceiptResponse> r = (*session)->query->AuditReceipt(request);
  if (!r.ok()) return Fail(r.status());

  if (genesis.has_value()) {
    absl::StatusOr<ledger::VerifiedReceipt> v = ledger::VerifyReceipt(r->receipt(), *genesis);
    if (!v.ok()) {
      return Fail("the node's receipt does not verify against " + a.genesis + ": " +
                  std::string(v.status().message()));
    }
  }
  std::string json = ledger::ReceiptToJson(r->receipt());
  if (json.empty() || json.back() != '\n') json += '\n';
  if (a.out.empty()) {
    std::cout << json;
  } else if (absl::Status s = WriteFileAtomic(a.out, json, 0644); !s.ok()) {
    return Fail(s);
  }
  // What the receipt is about goes to stderr, so stdout stays the receipt alone.
  std::cerr << "receipt of " << HexEncode(*txid) << " (block " << r->receipt().height()
            << ", tree of " << r->receipt().tree_size() << ")";
  if (!a.out.empty()) std::cerr << " written to " << a.out;
  std::cerr << "\n";
  if (r->has_usage()) {
    const tds::UsageRecordState& u = r->usage();
    std::cerr << "usage record " << u.index() << ": " << u.operation() << " on contract "
              << u.contract_id() << " (" << u.provider() << " -> " << u.consumer() << ", purpose "
              << u.purpose() << ", " << u.measurement().rows_out() << " rows out)";
    if (u.violations_size() > 0) std::cerr << "; VIOLATION: " << DescribeViolations(u);
    std::cerr << "\n";
  }
  if (genesis.has_value()) {
    std::cerr << "verified offline against " << a.genesis << "\n";
  }
  return 0;
}

}  // namespace

void AddAuditCommands(CLI::App& app, Context& ctx) {
  const GlobalOptions& g = ctx.options;
  CLI::App* audit =
      app.add_subcommand("audit", "Audit queries: usage records, violations, receipts (read-only)");
  audit->require_subcommand(1);
  audit->footer(
      "Every command signs with --key. Auditors and validators read every record; other members "
      "only\nrecords where they are the provider or the consumer.");

  auto ua = std::make_shared<UsageListArgs>();
  CLI::App* usage = audit->add_subcommand("usage", "List usage records (Audit.ListUsage)");
  AddUsageListOptions(usage, ua.get());
  OnRun(usage, ctx, [&g, ua] { return RunUsageList(g, *ua, UsageService::kAudit); });

  auto va = std::make_shared<ViolationArgs>();
  CLI::App* violations = audit->add_subcommand(
      "violations", "List usage records flagged as violations, with the terms they broke");
  violations->add_option("--term", va->term,
                         "Only records that broke this term (operation, purpose, columns, "
                         "window, state, calls_total, calls_per_day, rows_per_call, "
                         "min_group_size, metering)");
  violations->add_option("--contract", va->contract, "Only this contract");
  violations->add_option("--product", va->product, "Only this product");
  violations->add_option("--provider", va->provider, "Only this provider");
  violations->add_option("--consumer", va->consumer, "Only this consumer");
  violations->add_option("--period", va->period, "Only this month of block time, YYYY-MM");
  violations->add_option("--from-ms", va->from_ms, "Block time from (ms, inclusive)");
  violations->add_option("--to-ms", va->to_ms, "Block time until (ms, exclusive)");
  violations
      ->add_option("--limit", va->limit,
                   "One page of at most this many (1..1000); without it every page is fetched")
      ->check(CLI::Range(1u, 1000u));
  violations->add_option("--cursor", va->cursor, "Continue after this record index");
  AddOutputOption(violations, &va->format);
  OnRun(violations, ctx, [&g, va] { return RunViolations(g, *va); });

  auto ra = std::make_shared<ReceiptArgs>();
  CLI::App* receipt = audit->add_subcommand(
      "receipt",
      "Fetch a transaction's receipt (JSON) with its usage record; --genesis verifies it offline");
  receipt->add_option("TXID", ra->txid, "Transaction id, 64 hex characters")->required();
  receipt->add_option("--out", ra->out, "Write the receipt to this file instead of stdout");
  receipt->add_option("--genesis", ra->genesis,
                      "Genesis file you trust: verify the receipt before writing it");
  OnRun(receipt, ctx, [&g, ra] { return RunReceipt(g, *ra); });
}

}  // namespace tds::cli
