#include "sdk/cli/usage_cmd.h"

#include <chrono>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "common/envelope.h"
#include "common/file.h"
#include "common/period.h"
#include "common/sha256.h"
#include "common/wall_clock.h"
#include "contracts/contract_state.h"
#include "ledger/receipt.h"
#include "sdk/cli/output.h"
#include "sdk/cli/paging.h"
#include "sdk/cli/session.h"

namespace tds::cli {
namespace {

using contracts::kUsageRequestContext;

// --- request ---

struct RequestArgs {
  std::string contract, operation, purpose;
  std::vector<std::string> columns;
  std::string params_file, params_digest, nonce, out;
};

int RunRequest(const GlobalOptions& g, const RequestArgs& a) {
  std::string params_digest;
  if (!a.params_file.empty() && !a.params_digest.empty()) {
    return Fail("pass --params or --params-digest, not both");
  }
  if (!a.params_file.empty()) {
    absl::StatusOr<std::string> params = ReadFile(a.params_file);
    if (!params.ok()) return Fail(params.status());
    params_digest = std::string(AsBytes(Sha256(*params)));
  } else if (!a.params_digest.empty()) {
    absl::StatusOr<Hash> d = HashFromHex(a.params_digest, "--params-digest");
    if (!d.ok()) return Fail(d.status());
    params_digest = std::string(AsBytes(*d));
  }
  std::string nonce;
  if (!a.nonce.empty()) {
    absl::StatusOr<std::string> n = HexDecode(a.nonce);
    if (!n.ok()) return Fail("--nonce: " + std::string(n.status().message()));
    nonce = *std::move(n);
  }
  absl::StatusOr<std::unique_ptr<Session>> session = OpenSession(g, KeyUse::kRequired);
  if (!session.ok()) return Fail(session.status());
  std::string envelope =
      sdk::BuildUsageRequest(*(*session)->key, (*session)->member_id, a.contract, a.operation,
                             a.purpose, a.columns, params_digest, nonce);
  if (absl::Status s = WriteFileExclusive(a.out, envelope, 0644); !s.ok()) return Fail(s);
  absl::StatusOr<OpenedEnvelope> opened = OpenEnvelope(envelope, kUsageRequestContext);
  if (!opened.ok()) return Fail(opened.status());
  std::cout << "signed usage request for contract " << a.contract << " (" << a.operation
            << ", purpose " << a.purpose << ") as " << (*session)->member_id << "\n"
            << "request id: " << HexEncode(Sha256(opened->payload)) << "\n"
            << "written to: " << a.out << "\n";
  return 0;
}

// --- reserve / record ---

absl::StatusOr<std::string> ReadRequest(const std::string& path) {
  absl::StatusOr<std::string> bytes = ReadFile(path);
  if (!bytes.ok()) return bytes.status();
  // Checked here for a clear message; the ledger checks it again (signer = the consumer).
  absl::StatusOr<OpenedEnvelope> opened = OpenEnvelope(*bytes, kUsageRequestContext);
  if (!opened.ok()) {
    return absl::InvalidArgumentError("--request " + path + ": not a signed usage request: " +
                                      std::string(opened.status().message()));
  }
  return bytes;
}

int RunReserve(const GlobalOptions& g, const std::string& request_file, uint64_t ttl_blocks) {
  absl::StatusOr<std::string> request = ReadRequest(request_file);
  if (!request.ok()) return Fail(request.status());
  absl::StatusOr<std::unique_ptr<Session>> session = OpenSession(g, KeyUse::kRequired);
  if (!session.ok()) return Fail(session.status());
  return SubmitAndReport(**session, sdk::ReserveUsage(*request, ttl_blocks),
                         [](const tds::SubmitResponse&) { return "reserved one call of quota"; });
}

struct RecordArgs {
  std::string request;
  tds::Measurement m;
  std::string result_digest;
  int64_t started_ms = 0, ended_ms = 0;
};

int RunRecord(const GlobalOptions& g, RecordArgs a) {
  absl::StatusOr<std::string> request = ReadRequest(a.request);
  if (!request.ok()) return Fail(request.status());
  if (!a.result_digest.empty()) {
    absl::StatusOr<Hash> d = HashFromHex(a.result_digest, "--result-digest");
    if (!d.ok()) return Fail(d.status());
    a.m.set_result_digest(std::string(AsBytes(*d)));
  }
  // Unless given, the call ran just now for compute_ms.
  const int64_t now = WallClockMs();
  a.m.set_ended_ms(a.ended_ms != 0 ? a.ended_ms : now);
  a.m.set_started_ms(a.started_ms != 0 ? a.started_ms
                                       : a.m.ended_ms() - static_cast<int64_t>(a.m.compute_ms()));
  absl::StatusOr<std::unique_ptr<Session>> session = OpenSession(g, KeyUse::kRequired);
  if (!session.ok()) return Fail(session.status());
  return SubmitAndReport(**session, sdk::RecordUsage(*request, a.m),
                         [](const tds::SubmitResponse& ack) { return "usage " + ack.result(); });
}

}  // namespace

void AddUsageCommands(CLI::App& app, Context& ctx) {
  const GlobalOptions& g = ctx.options;
  CLI::App* usage = app.add_subcommand("usage", "The usage ledger: records, requests, metering");
  usage->require_subcommand(1);
  usage->footer(
      "Every command signs with --key. A use is: the consumer signs a request (usage request), "
      "the provider reserves\nquota for it on strict contracts (usage reserve), runs the "
      "computation and records what it measured (usage record).\nEvery record is kept; one that "
      "breaks the terms is flagged as a violation with the term it broke.");

  auto la = std::make_shared<UsageListArgs>();
  CLI::App* list = usage->add_subcommand(
      "list", "List usage records where you are the provider or consumer (auditors: all)");
  AddUsageListOptions(list, la.get());
  OnRun(list, ctx, [&g, la] { return RunUsageList(g, *la, UsageService::kContracts); });

  auto ra = std::make_shared<RequestArgs>();
  CLI::App* request = usage->add_subcommand(
      "request", "Sign a usage request as the consumer and write it to a file for the provider");
  request->add_option("CONTRACT", ra->contract, "Contract id")->required();
  request
      ->add_option("--operation", ra->operation,
                   "psi, stats, query, lr_train, lr_score or enclave_sql")
      ->required();
  request
      ->add_option("--purpose", ra->purpose,
                   "credit_risk, anti_fraud, marketing, compliance, research, risk_control, "
                   "customer_service or regulatory_reporting")
      ->required();
  request->add_option("--columns", ra->columns, "Columns used, comma-separated")
      ->delimiter(',')
      ->expected(1)
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  request->add_option("--params", ra->params_file,
                      "File with the computation's parameters (its SHA-256 is signed)");
  request->add_option("--params-digest", ra->params_digest, "Or the SHA-256 itself, 64 hex");
  request->add_option("--nonce", ra->nonce, "16..64 bytes as hex (default: 32 random bytes)");
  request->add_option("--out", ra->out, "File to write the signed request to (not overwritten)")
      ->required();
  OnRun(request, ctx, [&g, ra] { return RunRequest(g, *ra); });

  auto rq = std::make_shared<std::string>();
  auto ttl = std::make_shared<uint64_t>(0);
  CLI::App* reserve =
      usage->add_subcommand("reserve",
                            "Reserve one call of quota for a consumer's request (provider; strict "
                            "contracts)");
  reserve->add_option("--request", *rq, "The consumer's signed request file")
      ->required()
      ->check(CLI::ExistingFile);
  reserve->add_option("--ttl-blocks", *ttl, "Blocks the reservation stays open (0: 100)");
  OnRun(reserve, ctx, [&g, rq, ttl] { return RunReserve(g, *rq, *ttl); });

  auto rec = std::make_shared<RecordArgs>();
  auto rows_in = std::make_shared<uint64_t>(0), rows_out = std::make_shared<uint64_t>(0),
       bytes_in = std::make_shared<uint64_t>(0), bytes_out = std::make_shared<uint64_t>(0),
       compute_ms = std::make_shared<uint64_t>(0), min_group = std::make_shared<uint64_t>(0);
  CLI::App* record = usage->add_subcommand(
      "record", "Record one call with its measurement (provider); prints any violations");
  record->add_option("--request", rec->request, "The consumer's signed request file")
      ->required()
      ->check(CLI::ExistingFile);
  record->add_option("--rows-in", *rows_in, "Rows read");
  record->add_option("--rows-out", *rows_out, "Rows returned or matched (billed per row)");
  record->add_option("--bytes-in", *bytes_in, "Bytes read");
  record->add_option("--bytes-out", *bytes_out, "Bytes returned");
  record->add_option("--compute-ms", *compute_ms, "Compute time in ms (billed per second)");
  record->add_option("--min-group-rows", *min_group,
                     "Smallest group a statistical output reported");
  record->add_option("--result-digest", rec->result_digest, "SHA-256 of the result, 64 hex");
  record->add_option("--started-ms", rec->started_ms,
                     "Start of the call (default: now - "
                     "compute-ms)");
  record->add_option("--ended-ms", rec->ended_ms, "End of the call (default: now)");
  OnRun(record, ctx, [&g, rec, rows_in, rows_out, bytes_in, bytes_out, compute_ms, min_group] {
    RecordArgs a = *rec;
    a.m.set_rows_in(*rows_in);
    a.m.set_rows_out(*rows_out);
    a.m.set_bytes_in(*bytes_in);
    a.m.set_bytes_out(*bytes_out);
    a.m.set_compute_ms(*compute_ms);
    a.m.set_min_group_rows(*min_group);
    return RunRecord(g, std::move(a));
  });
}

std::string DescribeViolations(const tds::UsageRecordState& record) {
  std::string out;
  for (const tds::Violation& v : record.violations()) {
    if (!out.empty()) out += "; ";
    out += v.term() + ": " + v.detail();
  }
  return out;
}

void AddUsageListOptions(CLI::App* sub, UsageListArgs* args) {
  sub->add_option("--contract", args->contract, "Only this contract");
  sub->add_option("--product", args->product, "Only this product");
  sub->add_option("--provider", args->provider, "Only this provider");
  sub->add_option("--consumer", args->consumer, "Only this consumer");
  sub->add_option("--purpose", args->purpose, "Only this purpose");
  sub->add_option("--operation", args->operation, "Only this operation");
  sub->add_option("--period", args->period, "Only this month of block time, YYYY-MM");
  sub->add_option("--from-ms", args->from_ms, "Block time from (ms since the epoch, inclusive)");
  sub->add_option("--to-ms", args->to_ms, "Block time until (ms, exclusive)");
  sub->add_flag("--violations", args->violations, "Only records flagged as violations");
  sub->add_flag("--with-receipts", args->with_receipts,
                "Attach each record's receipt (json output; table shows block and tree size)");
  sub->add_option("--receipts-dir", args->receipts_dir,
                  "Also write each receipt to DIR/<txid>.json, for `tds verify`");
  sub->add_option("--limit", args->limit,
                  "One page of at most this many (1..1000); without it "
                  "every page is fetched")
      ->check(CLI::Range(1u, 1000u));
  sub->add_option("--cursor", args->cursor, "Continue after this record index (from \"more:\")");
  AddOutputOption(sub, &args->format);
}

int RunUsageList(const GlobalOptions& g, const UsageListArgs& a, UsageService service) {
  tds::ListUsageRequest request;
  request.set_contract_id(a.contract);
  request.set_product_id(a.product);
  request.set_provider(a.provider);
  request.set_consumer(a.consumer);
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
  request.set_violations_only(a.violations);
  const bool receipts = a.with_receipts || !a.receipts_dir.empty();
  request.set_with_receipts(receipts);

  absl::StatusOr<std::unique_ptr<Session>> session = OpenSession(g, KeyUse::kRequired);
  if (!session.ok()) return Fail(session.status());
  std::vector<std::string> columns = {"index",   "time",     "period",     "contract",
                                      "product", "provider", "consumer",   "operation",
                                      "purpose", "rows_out", "compute_ms", "violations"};
  if (receipts) columns.push_back("receipt");
  Listing listing(columns);
  size_t written = 0;
  absl::StatusOr<std::string> next = ReadPages(
      request, a.limit, a.cursor, receipts ? 200 : 1000,
      [&](const tds::ListUsageRequest& r) {
        return service == UsageService::kAudit ? (*session)->query->AuditUsage(r)
                                               : (*session)->query->ListUsage(r);
      },
      [&](const tds::ListUsageResponse& page) -> absl::Status {
        for (const tds::UsageItem& item : page.items()) {
          const tds::UsageRecordState& rec = item.record();
          std::vector<std::string> cells = {std::to_string(rec.index()),
                                            FormatTimeMs(rec.block_time_ms()),
                                            rec.period(),
                                            rec.contract_id(),
                                            rec.product_id(),
                                            rec.provider(),
                                            rec.consumer(),
                                            rec.operation(),
                                            rec.purpose(),
                                            std::to_string(rec.measurement().rows_out()),
                                            std::to_string(rec.measurement().compute_ms()),
                                            DescribeViolations(rec)};
          if (receipts) {
            cells.push_back("block " + std::to_string(item.receipt().height()) + ", tree " +
                            std::to_string(item.receipt().tree_size()));
          }
          listing.AddRow(std::move(cells), item);
          if (!a.receipts_dir.empty()) {
            std::error_code ec;
            std::filesystem::create_directories(a.receipts_dir, ec);
            const std::string path = a.receipts_dir + "/" + HexEncode(rec.txid()) + ".json";
            if (absl::Status s =
                    WriteFileAtomic(path, ledger::ReceiptToJson(item.receipt()) + "\n");
                !s.ok()) {
              return s;
            }
            ++written;
          }
        }
        return absl::OkStatus();
      });
  if (!next.ok()) return Fail(next.status());
  listing.Print(std::cout, a.format);
  if (written > 0) {
    std::cerr << "wrote " << written << " receipt(s) to " << a.receipts_dir
              << " (verify offline: tds verify FILE --genesis GENESIS)\n";
  }
  PrintMore(*next);
  return 0;
}

}  // namespace tds::cli
