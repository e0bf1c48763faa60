#include "sdk/cli/audit_cmd.h"

#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "common/bytes.h"
#include "common/file.h"
#include "common/logging.h"
#include "common/period.h"
#include "ledger/genesis.h"
#include "ledger/receipt.h"
#include "sdk/cli/audit_replay.h"
#include "sdk/cli/audit_watch.h"
#include "sdk/cli/output.h"
#include "sdk/cli/paging.h"
#include "sdk/cli/progress.h"
#include "sdk/cli/session.h"
#include "sdk/cli/usage_cmd.h"

namespace tds::cli {
namespace {

// --- violations ---

struct ViolationArgs {
  std::string contract, product, provider, consumer, term, period, purpose, operation;
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
  request.set_purpose(a.purpose);
  request.set_operation(a.operation);
  request.set_from_ms(a.from_ms);
  request.set_to_ms(a.to_ms);
  if (!a.period.empty()) {
    absl::StatusOr<std::pair<int64_t, int64_t>> bounds = PeriodBounds(a.period);
    if (!bounds.ok()) return Fail("--period: " + std::string(bounds.status().message()));
    request.set_from_ms(bounds->first);
    request.set_to_ms(bounds->second);
  }
  absl::StatusOr<std::unique_ptr<Session>> session = OpenSession(g, KeyUse::kRequired);
  if (!session.ok()) return Fail(session.status());
  Listing listing({"index", "time", "contract", "product", "provider", "consumer", "operation",
                   "purpose", "txid", "violations"});
  absl::StatusOr<std::string> next = ReadPages(
      request, a.limit, a.cursor, 1000,
      [&](const tds::ListViolationsRequest& r) { return (*session)->query->ListViolations(r); },
      [&](const tds::ListUsageResponse& page) {
        for (const tds::UsageItem& item : page.items()) {
          const tds::UsageRecordState& rec = item.record();
          listing.AddRow(
              {std::to_string(rec.index()), FormatTimeMs(rec.block_time_ms()), rec.contract_id(),
               rec.product_id(), rec.provider(), rec.consumer(), rec.operation(), rec.purpose(),
               HexOrDash(rec.txid()), DescribeViolations(rec)},
              item);
        }
        return absl::OkStatus();
      });
  if (!next.ok()) return Fail(next.status());
  listing.Print(std::cout, a.format);
  PrintMore(*next);
  return 0;
}

// --- reservations ---

struct ReservationArgs {
  std::string contract, state;
  uint32_t limit = 0;  // 0: every page
  std::string cursor;
  OutputFormat format = OutputFormat::kTable;
};

int RunReservations(const GlobalOptions& g, const ReservationArgs& a) {
  tds::ListReservationsRequest request;
  request.set_contract_id(a.contract);
  if (!a.state.empty()) {
    tds::ReservationState state;
    if (!tds::ReservationState_Parse("RESERVATION_" + absl::AsciiStrToUpper(a.state), &state)) {
      return Fail("--state: '" + a.state + "' is not open, consumed or expired");
    }
    request.set_state(state);
  }
  absl::StatusOr<std::unique_ptr<Session>> session = OpenSession(g, KeyUse::kRequired);
  if (!session.ok()) return Fail(session.status());
  Listing listing(
      {"id", "contract", "state", "created_height", "expires_height", "consumed_index"});
  absl::StatusOr<std::string> next = ReadPages(
      request, a.limit, a.cursor, 1000,
      [&](const tds::ListReservationsRequest& r) { return (*session)->query->ListReservations(r); },
      [&](const tds::ListReservationsResponse& page) {
        for (const tds::Reservation& res : page.reservations()) {
          std::string state = tds::ReservationState_Name(res.state());
          state = absl::AsciiStrToLower(state.substr(std::string("RESERVATION_").size()));
          const bool consumed = res.state() == tds::RESERVATION_CONSUMED;
          listing.AddRow({res.id(), res.contract_id(), state, std::to_string(res.created_height()),
                          std::to_string(res.expires_height()),
                          consumed ? std::to_string(res.consumed_index()) : "-"},
                         res);
        }
        return absl::OkStatus();
      });
  if (!next.ok()) return Fail(next.status());
  listing.Print(std::cout, a.format);
  PrintMore(*next);
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

// --- replay ---

struct ReplayArgs {
  std::string genesis;
  uint64_t from = 1, to = 0;
  bool no_execute = false;
  std::string scratch_dir;
};

// Exit 0 with a summary on stdout; 1 with "FAILED: block H: <check>: ..." on stderr at the first
// divergence, or "error: ..." when the node cannot be read.
int RunReplay(const GlobalOptions& g, const ReplayArgs& a) {
  absl::StatusOr<ledger::GenesisInfo> genesis = ledger::GenesisInfo::Load(a.genesis);
  if (!genesis.ok()) return Fail("--genesis: " + std::string(genesis.status().message()));
  absl::StatusOr<std::unique_ptr<LedgerSource>> source = ConnectLedgerSource(ClientOptionsFrom(g));
  if (!source.ok()) return Fail(source.status());
  // The scratch ledger logs through spdlog: only its warnings, on stderr.
  (void)InitLogging("human", "warn");

  std::unique_ptr<ledger::Application> app;
  ReplayOptions options;
  options.from = a.from;
  options.to = a.to;
  std::string made_dir;
  if (!a.no_execute && a.from == 1) {
    app = NodeApplication();
    options.app = app.get();
    options.scratch_dir = a.scratch_dir;
    if (options.scratch_dir.empty()) {
      std::string tmpl = (std::filesystem::temp_directory_path() / "tds-replay-XXXXXX").string();
      if (mkdtemp(tmpl.data()) == nullptr) return Fail("cannot create a scratch directory");
      made_dir = options.scratch_dir = tmpl;
    }
  }
  ProgressLine progress(std::cerr, "replay", ProgressLine::StderrIsTty());
  uint64_t to = a.to;
  options.progress = [&](uint64_t height, uint64_t /*records*/) {
    progress.Update("blocks", height, to);
  };
  if (to == 0) {
    absl::StatusOr<uint64_t> height = (*source)->Height();
    if (!height.ok()) return Fail(height.status());
    options.to = to = *height;
  }
  absl::StatusOr<ReplaySummary> r = Replay(**source, *genesis, options);
  progress.Finish();
  if (!made_dir.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(made_dir, ec);
  }
  if (!r.ok()) {
    if (r.status().code() == absl::StatusCode::kDataLoss) {
      std::cerr << "FAILED: " << r.status().message() << "\n";
      return 1;
    }
    return Fail(r.status());
  }
  const double per_s = r->seconds > 0 ? static_cast<double>(r->records) / r->seconds : 0;
  std::cout << "OK: blocks " << r->from << ".." << r->to << " (" << r->blocks << " blocks, "
            << r->records << " records) verified against " << a.genesis << "\n"
            << "  log:    " << r->log_size << " entries, root " << HexEncode(r->log_root) << "\n"
            << "  state:  digest " << HexEncode(r->state_digest)
            << (r->executed  ? " (re-executed)"
                : a.from > 1 ? " (not re-executed: a replay from block 1 rebuilds state)"
                             : " (not re-executed: --no-execute)")
            << "\n"
            << "  epochs: " << r->epochs_ended << " validator change(s) verified\n"
            << "  checks: link, checkpoint quorum, log root, envelope signatures"
            << (r->executed ? ", membership and state (re-execution)" : "") << "\n"
            << "  rate:   " << std::fixed << std::setprecision(0) << per_s << " records/s ("
            << std::setprecision(2) << r->seconds << " s wall, " << r->cpu_seconds << " s CPU)\n";
  return 0;
}

// --- watch ---

struct WatchArgs {
  std::string genesis, state;
  double interval_s = 60;
  bool once = false;
};

// Exit 2 with "ALERT: ..." on stderr on an inconsistent or conflicting checkpoint; 1 on errors
// (with --once; a watching loop reports them and retries).
int RunWatch(const GlobalOptions& g, const WatchArgs& a) {
  absl::StatusOr<ledger::GenesisInfo> genesis = ledger::GenesisInfo::Load(a.genesis);
  if (!genesis.ok()) return Fail("--genesis: " + std::string(genesis.status().message()));
  absl::StatusOr<std::unique_ptr<LedgerSource>> source = ConnectLedgerSource(ClientOptionsFrom(g));
  if (!source.ok()) return Fail(source.status());
  while (true) {
    absl::StatusOr<WatchRound> round = WatchOnce(**source, *genesis, a.state, g.node);
    if (round.ok() && !round->alert.empty()) {
      std::cerr << "ALERT: " << round->alert << "\n";
      return 2;
    }
    if (!round.ok()) {
      if (a.once) return Fail(round.status());
      std::cerr << "error: " << round.status().message() << " (retrying in " << a.interval_s
                << " s)\n";
    } else {
      const SeenCheckpoint& c = round->latest;
      std::cout << "OK: checkpoint of " << c.size << " entries (block " << c.height << ", epoch "
                << c.epoch << ", root " << HexEncode(c.root) << ") verified; consistent with "
                << round->compared << " checkpoint(s) kept"
                << (round->recorded ? "; recorded in " + a.state : "") << std::endl;
    }
    if (a.once) return 0;
    std::this_thread::sleep_for(std::chrono::duration<double>(a.interval_s));
  }
}

}  // namespace

void AddAuditCommands(CLI::App& app, Context& ctx) {
  const GlobalOptions& g = ctx.options;
  CLI::App* audit = app.add_subcommand(
      "audit",
      "Audit: usage records, violations, reservations, receipts (read-only); replay and watch "
      "the ledger");
  audit->require_subcommand(1);
  audit->footer(
      "usage, violations, reservations and receipt sign with --key. Auditors and validators read "
      "every record;\n"
      "other members only records where they are the provider or the consumer. replay and watch\n"
      "sign nothing: they check the ledger itself against the genesis file.");

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
  violations->add_option("--purpose", va->purpose, "Only this purpose");
  violations->add_option("--operation", va->operation, "Only this operation");
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

  auto rs = std::make_shared<ReservationArgs>();
  CLI::App* reservations = audit->add_subcommand(
      "reservations", "List the quota reservations of strict contracts (usage reserve)");
  reservations->add_option("--contract", rs->contract, "Only this contract");
  reservations
      ->add_option("--state", rs->state,
                   "Only open, consumed or expired (an open reservation the next block would "
                   "release reads expired)")
      ->check(CLI::IsMember({"open", "consumed", "expired"}));
  reservations
      ->add_option("--limit", rs->limit,
                   "One page of at most this many (1..1000); without it every page is fetched")
      ->check(CLI::Range(1u, 1000u));
  reservations->add_option("--cursor", rs->cursor, "Continue after this reservation id");
  AddOutputOption(reservations, &rs->format);
  OnRun(reservations, ctx, [&g, rs] { return RunReservations(g, *rs); });

  auto ra = std::make_shared<ReceiptArgs>();
  CLI::App* receipt = audit->add_subcommand(
      "receipt",
      "Fetch a transaction's receipt (JSON) with its usage record; --genesis verifies it offline");
  receipt->add_option("TXID", ra->txid, "Transaction id, 64 hex characters")->required();
  receipt->add_option("--out", ra->out, "Write the receipt to this file instead of stdout");
  receipt->add_option("--genesis", ra->genesis,
                      "Genesis file you trust: verify the receipt before writing it");
  OnRun(receipt, ctx, [&g, ra] { return RunReceipt(g, *ra); });

  auto pa = std::make_shared<ReplayArgs>();
  CLI::App* replay = audit->add_subcommand(
      "replay",
      "Re-verify the node's blocks against a genesis file: chain links, checkpoint quorums, "
      "log roots, envelope signatures, and (from block 1) membership and state by re-execution");
  replay->add_option("--genesis", pa->genesis, "Genesis file you trust")->required();
  replay->add_option("--from", pa->from, "First block (default 1)")
      ->check(CLI::Range(uint64_t{1}, UINT64_MAX));
  replay->add_option("--to", pa->to, "Last block (default: the node's height at the start)");
  replay->add_flag("--no-execute", pa->no_execute,
                   "Skip re-execution (membership, state digests and roots stay unchecked)");
  replay->add_option("--scratch-dir", pa->scratch_dir,
                     "Empty directory for the re-execution's scratch ledger (default: a temporary "
                     "one, removed afterwards)");
  replay->footer(
      "Exit 0 and a summary (records per second) when every block verifies; otherwise exit 1\n"
      "and \"FAILED: block H: <check>: <detail>\" on stderr for the first divergence. Progress\n"
      "goes to stderr. Signs nothing: --key is not needed.");
  OnRun(replay, ctx, [&g, pa] { return RunReplay(g, *pa); });

  auto wa = std::make_shared<WatchArgs>();
  CLI::App* watch = audit->add_subcommand(
      "watch",
      "Keep every checkpoint the node shows in a file and alert on one that conflicts with "
      "or does not extend an earlier one (RFC 9162 consistency proofs)");
  watch->add_option("--genesis", wa->genesis, "Genesis file you trust")->required();
  watch
      ->add_option("--state", wa->state,
                   "Append-only file of the checkpoints seen (created if absent; may be shared "
                   "by watches of several nodes)")
      ->required();
  watch->add_option("--interval", wa->interval_s, "Seconds between rounds (default 60)")
      ->check(CLI::Range(0.1, 86400.0));
  watch->add_flag("--once", wa->once, "One round, then exit (tests, cron)");
  watch->footer(
      "Each round prints \"OK: ...\" on stdout. On a conflicting or inconsistent checkpoint:\n"
      "\"ALERT: ...\" on stderr and exit 2. Errors: exit 1 with --once, otherwise retried.");
  OnRun(watch, ctx, [&g, wa] { return RunWatch(g, *wa); });
}

}  // namespace tds::cli
