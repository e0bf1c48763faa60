// contracts_bench: metering throughput through a real in-process ledger, then billing-statement
// and valuation computation time over 10^6 usage records.
//
//   contracts_bench [--records N] [--total M]
//
// 1. An embedded ledger (one validator, LevelDB in a temp dir, fsync OFF: this measures
//    validation and apply, not the disk) with the contracts application, one strict and one
//    batched contract seeded directly (test-only seed handlers, contracts/usage_testing.h).
// 2. N/2 strict requests are reserved (usage.reserve), then N usage records (N/2 consuming
//    those reservations, N/2 batched) are submitted asynchronously, all in flight at once; the
//    figure is records validated (two Ed25519 signatures: transaction and consumer request),
//    applied and committed per second.
// 3. State is topped up to M records in the same period by writing UsageRecordState + index
//    keys directly in blocks of 10,000 (test-only handler, no validation), then one statement
//    (provider, consumer, period) and one valuation report over all M records are timed.
// Last line: "contracts records_per_s=<n> statement_ms=<n> valuation_ms=<n> records=<n>".

#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "contracts/billing.h"
#include "contracts/metering.h"
#include "contracts/usage_testing.h"
#include "contracts/valuation.h"

namespace tds::contracts {
namespace {

using usage_testing::kBank;
using usage_testing::kProv;
using usage_testing::UsageLedger;

constexpr int64_t kDay = 86'400'000;
constexpr int64_t kT0 = 1'741'608'000'000;  // 2025-03-10T12:00:00Z
constexpr char kProduct[] = "credit-features";
constexpr char kPeriod[] = "2025-03";
constexpr uint64_t kSeedChunk = 10'000;

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "contracts_bench: %s\n", what.c_str());
  std::exit(1);
}

// Submits every transaction at once and waits for all; returns the number accepted whose
// result equals `want_result`.
size_t SubmitAll(ledger::Ledger& ledger, std::vector<std::string>& txs,
                 const std::string& want_result, std::string* first_error) {
  std::mutex mu;
  std::condition_variable cv;
  size_t done = 0, good = 0;
  for (std::string& tx : txs) {
    ledger.Submit(std::move(tx), [&](absl::StatusOr<ledger::SubmitAck> r) {
      std::lock_guard<std::mutex> l(mu);
      if (r.ok() && (want_result.empty() || r->result == want_result)) {
        ++good;
      } else if (first_error->empty()) {
        *first_error = r.ok() ? r->result : std::string(r.status().message());
      }
      if (++done == txs.size()) cv.notify_all();
    });
  }
  std::unique_lock<std::mutex> l(mu);
  cv.wait(l, [&] { return done == txs.size(); });
  return good;
}

tds::Terms BenchTerms(tds::MeteringMode mode, const tds::Price& price) {
  tds::Terms t = usage_testing::TermsWithPrice(price, kT0 - 30 * kDay, kT0 + 365 * kDay);
  t.set_metering(mode);
  t.set_max_rows_per_call(10'000);
  return t;
}

int Run(uint64_t n_records, uint64_t total_records) {
  (void)InitLogging("human", "warn");
  std::string tmpl =
      (std::filesystem::temp_directory_path() / "tds-contracts-bench-XXXXXX").string();
  if (mkdtemp(tmpl.data()) == nullptr) Die("cannot create a temp dir");
  const std::string dir = tmpl;
  std::atomic<int64_t> clock{kT0};
  auto opened = UsageLedger::Open(dir + "/ledger", &clock, /*sync=*/false);
  if (!opened.ok()) Die(std::string(opened.status().message()));
  UsageLedger& ul = **opened;

  tds::Price batched_price;
  batched_price.set_currency("CNY");
  batched_price.set_per_call(100);
  batched_price.set_per_row(1);
  batched_price.set_per_compute_second(5);
  tds::Price strict_price;
  strict_price.set_currency("CNY");
  strict_price.set_subscription_fee(100'000);
  strict_price.set_included_calls(1000);
  strict_price.set_overage_per_call(20);
  if (!ul.SeedProduct(usage_testing::TestProduct(kProduct, kProv)).ok() ||
      !ul.SeedContract(usage_testing::ActiveContract("c-strict", kProduct, kProv, kBank,
                                                     BenchTerms(tds::METERING_STRICT, strict_price),
                                                     kT0 - kDay))
           .ok() ||
      !ul.SeedContract(usage_testing::ActiveContract(
                           "c-batch", kProduct, kProv, kBank,
                           BenchTerms(tds::METERING_BATCHED, batched_price), kT0 - kDay))
           .ok()) {
    Die("seeding the product and contracts failed");
  }

  // Pre-built, pre-signed requests and transactions.
  auto t_build = std::chrono::steady_clock::now();
  const auto bank_key = usage_testing::KeyFromByte(kBank.key);
  const uint64_t n_strict = n_records / 2;
  std::vector<std::string> reserves, records;
  reserves.reserve(n_strict);
  records.reserve(n_records);
  for (uint64_t i = 0; i < n_records; ++i) {
    const bool strict = i < n_strict;
    tds::UsageRequest r;
    r.set_contract_id(strict ? "c-strict" : "c-batch");
    r.set_consumer(kBank.id);
    r.set_operation(i % 2 == 0 ? "psi" : "stats");
    r.set_purpose("credit_risk");
    r.add_columns("income");
    r.set_params_digest(std::string(32, 'p'));
    std::string nonce(8, 'b');
    PutFixed64BE(&nonce, i);
    r.set_nonce(nonce);
    r.set_created_ms(kT0);
    const std::string request = SealUsageRequest(*bank_key, r);
    if (strict) reserves.push_back(ul.Tx(kProv, kReserveTxType, UsageLedger::ReserveBody(request)));
    tds::Measurement m = usage_testing::MeasurementAt(kT0 - 5000, 1 + i % 500, 10 + i % 3000);
    records.push_back(ul.Tx(kProv, kRecordTxType, UsageLedger::RecordBody(request, m)));
  }
  const double build_s = Seconds(t_build);
  std::printf(
      "contracts bench: in-process ledger, 1 validator, LevelDB with sync OFF (validation "
      "and apply are measured, not fsync)\n");
  std::printf(
      "  pre-built %zu reservations and %zu usage records (signed requests + "
      "transactions) in %.2f s\n",
      reserves.size(), records.size(), build_s);

  std::string error;
  const size_t n_reserves = reserves.size();
  auto t_reserve = std::chrono::steady_clock::now();
  const size_t reserved = SubmitAll(ul.ledger(), reserves, "", &error);
  const double reserve_s = Seconds(t_reserve);
  if (reserved != n_reserves) Die(absl::StrCat("reservations refused: ", error));
  std::printf("  usage.reserve: %zu reservations in %.2f s = %.0f /s\n", reserved, reserve_s,
              reserved / reserve_s);

  const size_t n_submitted = records.size();
  auto t_record = std::chrono::steady_clock::now();
  const size_t recorded = SubmitAll(ul.ledger(), records, "recorded", &error);
  const double record_s = Seconds(t_record);
  if (recorded != n_submitted) {
    Die(absl::StrCat(n_submitted - recorded, " records refused or flagged: ", error));
  }
  const uint64_t records_per_s = static_cast<uint64_t>(recorded / record_s);
  std::printf(
      "  usage.record: %zu records (%llu strict consuming reservations, %llu batched) "
      "validated, applied and committed in %.2f s = %llu records/s (height %llu)\n",
      recorded, static_cast<unsigned long long>(n_strict),
      static_cast<unsigned long long>(n_records - n_strict), record_s,
      static_cast<unsigned long long>(records_per_s),
      static_cast<unsigned long long>(ul.ledger().Status().height));

  // Top up to total_records in the same period, written directly (no validation).
  auto t_seed = std::chrono::steady_clock::now();
  uint64_t seeded = 0;
  const uint64_t to_seed = total_records > recorded ? total_records - recorded : 0;
  for (uint64_t chunk = 0; seeded < to_seed; ++chunk) {
    const uint64_t n = std::min(kSeedChunk, to_seed - seeded);
    tds::UsageRecordState r;
    r.set_index((uint64_t{1} << 40) + seeded);  // far above the real log indexes
    r.set_contract_id(chunk % 2 == 0 ? "c-batch" : "c-strict");
    r.set_product_id(kProduct);
    r.set_provider(kProv.id);
    r.set_consumer(kBank.id);
    r.set_operation("psi");
    r.set_purpose("credit_risk");
    r.add_columns("income");
    *r.mutable_measurement() = usage_testing::MeasurementAt(kT0 - 5000, 1 + chunk % 500, 1234);
    r.set_height(1);
    r.set_block_time_ms(kT0);
    r.set_period(kPeriod);
    r.set_request_digest(std::string(32, 'd'));
    auto ack =
        ul.Submit(kProv, usage_testing::kSeedRecordsTx, usage_testing::SeedRecordsBody(n, r));
    if (!ack.ok()) Die(std::string(ack.status().message()));
    seeded += n;
  }
  std::printf(
      "  seeded %llu more usage records directly (test-only handler, blocks of %llu, no "
      "validation) in %.1f s\n",
      static_cast<unsigned long long>(seeded), static_cast<unsigned long long>(kSeedChunk),
      Seconds(t_seed));

  auto t_statement = std::chrono::steady_clock::now();
  auto st = ComputeStatement(ul.state(), kProv.id, kBank.id, kPeriod);
  const double statement_s = Seconds(t_statement);
  if (!st.ok()) Die(std::string(st.status().message()));
  std::printf("  statement (prov, bank, %s): %llu records, %d lines, total %lld %s in %.0f ms\n",
              kPeriod, static_cast<unsigned long long>(st->records()), st->lines_size(),
              static_cast<long long>(st->totals_size() > 0 ? st->totals(0).amount() : 0),
              st->totals_size() > 0 ? st->totals(0).currency().c_str() : "", statement_s * 1000);

  ValuationParams params;
  params.as_of_period = kPeriod;
  auto t_valuation = std::chrono::steady_clock::now();
  auto v = ComputeValuation(ul.state(), kProduct, params);
  const double valuation_s = Seconds(t_valuation);
  if (!v.ok()) Die(std::string(v.status().message()));
  std::printf(
      "  valuation (%s as of %s, 12 periods): calls %llu, trailing revenue %lld, income "
      "value %lld in %.0f ms\n",
      kProduct, kPeriod, static_cast<unsigned long long>(v->periods(v->periods_size() - 1).calls()),
      static_cast<long long>(v->trailing_revenue()), static_cast<long long>(v->income_value()),
      valuation_s * 1000);

  opened->reset();
  std::filesystem::remove_all(dir);
  std::printf("contracts records_per_s=%llu statement_ms=%llu valuation_ms=%llu records=%llu\n",
              static_cast<unsigned long long>(records_per_s),
              static_cast<unsigned long long>(statement_s * 1000),
              static_cast<unsigned long long>(valuation_s * 1000),
              static_cast<unsigned long long>(st->records()));
  return 0;
}

}  // namespace
}  // namespace tds::contracts

int main(int argc, char** argv) {
  uint64_t records = 50'000;
  uint64_t total = 1'000'000;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--records" && i + 1 < argc) {
      records = std::stoull(argv[++i]);
    } else if (arg == "--total" && i + 1 < argc) {
      total = std::stoull(argv[++i]);
    } else {
      std::fprintf(stderr, "usage: contracts_bench [--records N] [--total M]\n");
      return 2;
    }
  }
  return tds::contracts::Run(records, total);
}
