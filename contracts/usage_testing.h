#pragma once
// TEST AND BENCHMARK SUPPORT ONLY — never registered by a node. Seeds catalog and contract state
// directly (so metering, billing and valuation are exercised independently of negotiation),
// and wraps an in-process ledger with the contracts application and a fixed set of members.
// Header-only and free of GoogleTest so the contracts benchmark can use it too.
//
// Seed transaction types (each body one serialized message):
//   test.seed_product   tds.Product          → ProductHead + the version record
//   test.seed_contract  tds.Contract         → WriteContract (contract + party index)
//   test.seed_cost      tds.DeclareCostBody  → catalog/cost/<product>/<period>/<be64 log index>
//   test.seed_records   be64 count ‖ tds.UsageRecordState template → `count` records with
//                       indexes template.index, +1, ... and their by_contract, by_pair,
//                       by_product (and violation) index keys, bypassing validation.

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "catalog/catalog_state.h"
#include "common/bytes.h"
#include "common/envelope.h"
#include "common/keys.h"
#include "contracts/contract_state.h"
#include "contracts/contracts.h"
#include "contracts/metering.h"
#include "ledger/application.h"
#include "ledger/genesis.h"
#include "ledger/ledger.h"
#include "proto/catalog.pb.h"
#include "proto/contracts.pb.h"
#include "proto/ledger.pb.h"

namespace tds::contracts::usage_testing {

inline constexpr std::string_view kSeedProductTx = "test.seed_product";
inline constexpr std::string_view kSeedContractTx = "test.seed_contract";
inline constexpr std::string_view kSeedCostTx = "test.seed_cost";
inline constexpr std::string_view kSeedRecordsTx = "test.seed_records";

template <typename Msg, typename Fn>
class SeedHandler : public ledger::TxHandler {
 public:
  explicit SeedHandler(Fn fn) : fn_(std::move(fn)) {}
  absl::StatusOr<std::string> Apply(const ledger::TxContext& ctx, std::string_view body,
                                    ledger::StateWriter& state) const override {
    Msg msg;
    if (!msg.ParseFromArray(body.data(), static_cast<int>(body.size()))) {
      return absl::InvalidArgumentError("test.seed: bad body");
    }
    fn_(ctx, msg, state);
    return std::string("seeded");
  }

 private:
  Fn fn_;
};

template <typename Msg, typename Fn>
std::unique_ptr<ledger::TxHandler> MakeSeedHandler(Fn fn) {
  return std::make_unique<SeedHandler<Msg, Fn>>(std::move(fn));
}

// Writes a usage record and its index keys as usage.record would (no checks).
inline void PutUsageRecord(const tds::UsageRecordState& r, ledger::StateWriter& state) {
  WriteUsageRecord(state, r);
}

class SeedRecordsHandler : public ledger::TxHandler {
 public:
  absl::StatusOr<std::string> Apply(const ledger::TxContext&, std::string_view body,
                                    ledger::StateWriter& state) const override {
    tds::UsageRecordState r;
    if (body.size() < 8 || !r.ParseFromArray(body.data() + 8, static_cast<int>(body.size() - 8))) {
      return absl::InvalidArgumentError("test.seed_records: bad body");
    }
    const uint64_t count = DecodeFixed64BE(body.data());
    const uint64_t first = r.index();
    for (uint64_t i = 0; i < count; ++i) {
      r.set_index(first + i);
      PutUsageRecord(r, state);
    }
    return absl::StrCat("seeded ", count);
  }
};

inline void RegisterSeedHandlers(ledger::Application& app) {
  app.Register(std::string(kSeedProductTx),
               MakeSeedHandler<tds::Product>(
                   [](const ledger::TxContext&, const tds::Product& p, ledger::StateWriter& s) {
                     tds::ProductHead head;
                     head.set_id(p.id());
                     head.set_provider(p.provider());
                     head.set_latest_version(p.version());
                     s.Put(catalog::ProductHeadKey(p.id()), head.SerializeAsString());
                     s.Put(catalog::ProductVersionKey(p.id(), p.version()), p.SerializeAsString());
                   }));
  app.Register(std::string(kSeedContractTx),
               MakeSeedHandler<tds::Contract>([](const ledger::TxContext&, const tds::Contract& c,
                                                 ledger::StateWriter& s) { WriteContract(s, c); }));
  app.Register(
      std::string(kSeedCostTx),
      MakeSeedHandler<tds::DeclareCostBody>(
          [](const ledger::TxContext& ctx, const tds::DeclareCostBody& c, ledger::StateWriter& s) {
            s.Put(catalog::CostKey(c.product_id(), c.period(), ctx.index), c.SerializeAsString());
          }));
  app.Register(std::string(kSeedRecordsTx), std::make_unique<SeedRecordsHandler>());
}

inline std::string SeedRecordsBody(uint64_t count, const tds::UsageRecordState& first) {
  std::string body;
  PutFixed64BE(&body, count);
  body += first.SerializeAsString();
  return body;
}

inline std::unique_ptr<SigningKey> KeyFromByte(uint8_t b) {
  return std::move(SigningKey::FromSeed(std::string(32, static_cast<char>(b)))).value();
}

// The members of the test data space and their key bytes.
struct Party {
  std::string id;
  uint8_t key;
};
inline const Party kNode{"node", 1};    // validator
inline const Party kProv{"prov", 3};    // provider
inline const Party kProv2{"prov2", 4};  // provider
inline const Party kBank{"bank", 5};    // consumer
inline const Party kBank2{"bank2", 6};  // consumer
inline const Party kAuditor{"aud", 7};  // auditor

inline absl::StatusOr<ledger::GenesisInfo> UsageGenesis() {
  auto spec = [](const Party& p, const std::string& roles) {
    return absl::StrCat(p.id, ":", roles, ":", KeyFromByte(p.key)->public_key().hex());
  };
  auto json = ledger::BuildGenesisJson(
      "tds.test/contracts",
      {spec(kNode, "validator"), spec(kProv, "provider"), spec(kProv2, "provider"),
       spec(kBank, "consumer"), spec(kBank2, "consumer"), spec(kAuditor, "auditor")});
  if (!json.ok()) return json.status();
  return ledger::GenesisInfo::Parse(*json, "usage-genesis");
}

// An in-process ledger hosting the contracts application plus the seed handlers.
class UsageLedger {
 public:
  // `clock_ms` must outlive the ledger; block time = max(*clock_ms, previous block time).
  static absl::StatusOr<std::unique_ptr<UsageLedger>> Open(const std::string& dir,
                                                           const std::atomic<int64_t>* clock_ms,
                                                           bool sync = true) {
    auto ul = std::unique_ptr<UsageLedger>(new UsageLedger());
    Register(ul->app_);
    RegisterSeedHandlers(ul->app_);
    auto genesis = UsageGenesis();
    if (!genesis.ok()) return genesis.status();
    ledger::LedgerOptions opts;
    opts.data_dir = dir;
    opts.sync = sync;
    opts.clock = [clock_ms] { return clock_ms->load(); };
    auto l = ledger::Ledger::Open(opts, std::move(*genesis), KeyFromByte(kNode.key), &ul->app_);
    if (!l.ok()) return l.status();
    ul->ledger_ = std::move(*l);
    ul->clock_ms_ = clock_ms;
    return ul;
  }

  ledger::Ledger& ledger() { return *ledger_; }
  const ledger::StateReader& state() const { return ledger_->state(); }

  // A signed transaction from `who` with a fresh nonce.
  std::string Tx(const Party& who, std::string_view type, std::string body) {
    tds::Transaction tx;
    tx.set_type(std::string(type));
    tx.set_submitter(who.id);
    tx.set_body(std::move(body));
    tx.set_nonce(++nonce_);
    std::unique_ptr<SigningKey>& key = keys_[who.key];
    if (key == nullptr) key = KeyFromByte(who.key);
    return SealEnvelope(*key, kTxContext, tx.SerializeAsString());
  }
  absl::StatusOr<ledger::SubmitAck> Submit(const Party& who, std::string_view type,
                                           std::string body) {
    return ledger_->SubmitAndWait(Tx(who, type, std::move(body)));
  }

  absl::Status SeedProduct(const tds::Product& p) {
    return Submit(kNode, kSeedProductTx, p.SerializeAsString()).status();
  }
  absl::Status SeedContract(const tds::Contract& c) {
    return Submit(kNode, kSeedContractTx, c.SerializeAsString()).status();
  }
  absl::Status SeedCost(const tds::DeclareCostBody& c) {
    return Submit(kNode, kSeedCostTx, c.SerializeAsString()).status();
  }

  static std::string ReserveBody(const std::string& request_envelope, uint64_t ttl_blocks = 0) {
    tds::ReserveBody b;
    b.set_request(request_envelope);
    b.set_ttl_blocks(ttl_blocks);
    return b.SerializeAsString();
  }
  static std::string RecordBody(const std::string& request_envelope, const tds::Measurement& m) {
    tds::UsageRecordBody b;
    b.set_request(request_envelope);
    *b.mutable_measurement() = m;
    return b.SerializeAsString();
  }
  absl::StatusOr<ledger::SubmitAck> Reserve(const Party& provider, const std::string& request,
                                            uint64_t ttl_blocks = 0) {
    return Submit(provider, kReserveTxType, ReserveBody(request, ttl_blocks));
  }
  absl::StatusOr<ledger::SubmitAck> Record(const Party& provider, const std::string& request,
                                           const tds::Measurement& m) {
    return Submit(provider, kRecordTxType, RecordBody(request, m));
  }
  // Records one call by `consumer` under `contract_id` (operation psi, purpose credit_risk,
  // column income, a fresh nonce) that ended 1 ms before the current clock.
  absl::StatusOr<ledger::SubmitAck> RecordCall(const Party& provider, const Party& consumer,
                                               const std::string& contract_id, uint64_t rows_out,
                                               uint64_t compute_ms);

 private:
  UsageLedger() = default;
  ledger::Application app_;
  std::unique_ptr<ledger::Ledger> ledger_;  // declared after app_: closes first
  const std::atomic<int64_t>* clock_ms_ = nullptr;
  std::atomic<uint64_t> nonce_{0};
  uint64_t request_nonce_ = 1'000'000;
  std::map<uint8_t, std::unique_ptr<SigningKey>> keys_;  // not thread-safe: Tx() from one thread
};

// A product of `provider` whose offer is priced in `currency`.
inline tds::Product TestProduct(const std::string& id, const Party& provider,
                                const std::string& currency = "CNY") {
  tds::Product p;
  p.set_id(id);
  p.set_version(1);
  p.set_provider(provider.id);
  p.set_title(id);
  p.set_level(3);
  for (const char* op : {"psi", "stats", "query"}) p.add_operations(op);
  p.mutable_offer()->mutable_price()->set_currency(currency);
  return p;
}

// An ACTIVE contract under `terms`, activated at height 1 and `activated_ms`.
inline tds::Contract ActiveContract(const std::string& id, const std::string& product_id,
                                    const Party& provider, const Party& consumer,
                                    const tds::Terms& terms, int64_t activated_ms) {
  tds::Contract c;
  c.set_id(id);
  c.set_product_id(product_id);
  c.set_product_version(1);
  c.set_provider(provider.id);
  c.set_consumer(consumer.id);
  c.set_state(tds::ACTIVE);
  c.set_terms(terms.SerializeAsString());
  c.set_activated_height(1);
  c.set_activated_ms(activated_ms);
  return c;
}

// A request signed by `consumer`; `nonce_seed` makes a distinct 16-byte nonce.
inline std::string SignedRequest(const Party& consumer, const std::string& contract_id,
                                 const std::string& operation, const std::string& purpose,
                                 const std::vector<std::string>& columns, uint64_t nonce_seed) {
  tds::UsageRequest r;
  r.set_contract_id(contract_id);
  r.set_consumer(consumer.id);
  r.set_operation(operation);
  r.set_purpose(purpose);
  for (const std::string& c : columns) r.add_columns(c);
  r.set_params_digest(std::string(32, 'p'));
  std::string nonce(8, '\x5a');
  PutFixed64BE(&nonce, nonce_seed);
  r.set_nonce(nonce);
  return SealUsageRequest(*KeyFromByte(consumer.key), r);
}

inline tds::Measurement MeasurementAt(int64_t started_ms, uint64_t rows_out = 10,
                                      uint64_t compute_ms = 100) {
  tds::Measurement m;
  m.set_rows_in(100);
  m.set_rows_out(rows_out);
  m.set_bytes_in(1000);
  m.set_bytes_out(100);
  m.set_compute_ms(compute_ms);
  m.set_result_digest(std::string(32, 'r'));
  m.set_started_ms(started_ms);
  m.set_ended_ms(started_ms + static_cast<int64_t>(compute_ms));
  return m;
}

inline absl::StatusOr<ledger::SubmitAck> UsageLedger::RecordCall(const Party& provider,
                                                                 const Party& consumer,
                                                                 const std::string& contract_id,
                                                                 uint64_t rows_out,
                                                                 uint64_t compute_ms) {
  const int64_t now = clock_ms_->load();
  const std::string request =
      SignedRequest(consumer, contract_id, "psi", "credit_risk", {"income"}, ++request_nonce_);
  return Record(provider, request,
                MeasurementAt(now - 1 - static_cast<int64_t>(compute_ms), rows_out, compute_ms));
}

// Terms granting psi and stats for credit_risk on column income in [from_ms, until_ms), batched
// with a one-day delay allowance, no quotas, at `price`.
inline tds::Terms TermsWithPrice(const tds::Price& price, int64_t from_ms, int64_t until_ms) {
  tds::Terms t;
  t.add_operations("psi");
  t.add_operations("stats");
  t.add_purposes("credit_risk");
  t.add_columns("income");
  t.set_valid_from_ms(from_ms);
  t.set_valid_until_ms(until_ms);
  t.set_metering(tds::METERING_BATCHED);
  t.set_batched_max_delay_ms(86'400'000);
  *t.mutable_price() = price;
  return t;
}

}  // namespace tds::contracts::usage_testing
