#include "contracts/metering.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <future>
#include <thread>

#include "common/period.h"
#include "common/sha256.h"
#include "contracts/contract_state.h"
#include "contracts/usage_testing.h"
#include "ledger/test_util.h"
#include "proto/envelope.pb.h"

namespace tds::contracts {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using usage_testing::ActiveContract;
using usage_testing::kBank;
using usage_testing::kBank2;
using usage_testing::KeyFromByte;
using usage_testing::kProv;
using usage_testing::kProv2;
using usage_testing::MeasurementAt;
using usage_testing::Party;
using usage_testing::UsageLedger;

constexpr int64_t kDay = 86'400'000;
constexpr int64_t kT0 = 1'741'608'000'000;  // 2025-03-10T12:00:00Z
constexpr char kProduct[] = "credit-features";

tds::Terms BaseTerms(tds::MeteringMode mode) {
  tds::Terms t;
  t.add_operations("psi");
  t.add_operations("stats");
  t.add_purposes("credit_risk");
  t.add_purposes("anti_fraud");
  t.add_columns("id_hash");
  t.add_columns("income");
  t.add_columns("region");
  t.set_valid_from_ms(kT0 - kDay);
  t.set_valid_until_ms(kT0 + 365 * kDay);
  t.set_max_calls_total(100);
  t.set_max_calls_per_day(50);
  t.set_max_rows_per_call(1000);
  t.set_min_group_size(5);
  t.set_metering(mode);
  t.set_batched_max_delay_ms(60'000);
  t.mutable_price()->set_currency("CNY");
  t.mutable_price()->set_per_call(100);
  return t;
}

tds::UsageRequest Request(const std::string& contract_id, const Party& consumer, uint64_t n) {
  tds::UsageRequest r;
  r.set_contract_id(contract_id);
  r.set_consumer(consumer.id);
  r.set_operation("psi");
  r.set_purpose("credit_risk");
  r.add_columns("income");
  r.set_params_digest(std::string(32, 'p'));
  std::string nonce(8, 'n');
  PutFixed64BE(&nonce, n);
  r.set_nonce(nonce);
  r.set_created_ms(kT0);
  return r;
}

std::string Seal(const Party& signer, const tds::UsageRequest& r) {
  return SealUsageRequest(*KeyFromByte(signer.key), r);
}

class MeteringTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto l = UsageLedger::Open(dir_.Sub("ledger"), &clock_);
    ASSERT_TRUE(l.ok()) << l.status();
    ledger_ = std::move(*l);
    ASSERT_TRUE(ledger_->SeedProduct(usage_testing::TestProduct(kProduct, kProv)).ok());
  }

  void SeedContract(const std::string& id, const tds::Terms& terms,
                    tds::ContractState state = tds::ACTIVE) {
    tds::Contract c = ActiveContract(id, kProduct, kProv, kBank, terms, kT0 - kDay);
    c.set_state(state);
    ASSERT_TRUE(ledger_->SeedContract(c).ok());
  }

  // A fresh request (new nonce) on `contract_id`, signed by the bank.
  std::string Req(const std::string& contract_id, const std::string& op = "psi",
                  const std::string& purpose = "credit_risk",
                  std::vector<std::string> columns = {"income"}) {
    tds::UsageRequest r = Request(contract_id, kBank, ++request_nonce_);
    r.set_operation(op);
    r.set_purpose(purpose);
    r.clear_columns();
    for (const std::string& c : columns) r.add_columns(c);
    return Seal(kBank, r);
  }

  tds::UsageCounters Counters(const std::string& id) {
    auto c = ReadCounters(ledger_->state(), id);
    EXPECT_TRUE(c.ok()) << c.status();
    return c.value_or(tds::UsageCounters());
  }
  tds::UsageRecordState RecordAt(uint64_t index) {
    auto r = ReadUsageRecord(ledger_->state(), index);
    EXPECT_TRUE(r.ok() && r->has_value());
    return r.ok() && r->has_value() ? **r : tds::UsageRecordState();
  }
  tds::Reservation ReservationOf(const std::string& request) {
    tds::Reservation r;
    auto raw = ledger_->ledger().GetState(ReservationKey(*ReservationIdOf(request)));
    EXPECT_TRUE(raw.ok() && raw->has_value());
    if (raw.ok() && raw->has_value()) r.ParseFromString(**raw);
    return r;
  }
  bool HasKey(const std::string& key) {
    auto raw = ledger_->ledger().GetState(key);
    return raw.ok() && raw->has_value();
  }
  // The violation terms of a recorded call, checking the record was logged.
  std::vector<std::string> ViolationTerms(const absl::StatusOr<ledger::SubmitAck>& ack) {
    EXPECT_TRUE(ack.ok()) << ack.status();
    if (!ack.ok()) return {};
    std::vector<std::string> terms;
    const tds::UsageRecordState rec = RecordAt(ack->index);
    for (const tds::Violation& v : rec.violations()) terms.push_back(v.term());
    EXPECT_EQ(HasKey(UsageViolationKey(ack->index)), !terms.empty());
    return terms;
  }
  std::string Detail(const absl::StatusOr<ledger::SubmitAck>& ack, int i = 0) {
    auto rec = RecordAt(ack->index);
    return i < rec.violations_size() ? rec.violations(i).detail() : "";
  }
  void AdvanceBlocks(int n) {
    for (int i = 0; i < n; ++i) ASSERT_TRUE(ledger_->SeedCost(tds::DeclareCostBody()).ok());
  }

  ledger::testing::TempDir dir_;
  std::atomic<int64_t> clock_{kT0};
  std::unique_ptr<UsageLedger> ledger_;
  uint64_t request_nonce_ = 0;
};

TEST_F(MeteringTest, RecordWithinTermsIsLoggedWithIndexesAndCounters) {
  SeedContract("c-1", BaseTerms(tds::METERING_BATCHED));
  const std::string req = Req("c-1");
  auto ack = ledger_->Record(kProv, req, MeasurementAt(kT0 - 1000, 42, 250));
  ASSERT_TRUE(ack.ok()) << ack.status();
  EXPECT_EQ(ack->result, "recorded");
  tds::UsageRecordState rec = RecordAt(ack->index);
  EXPECT_EQ(rec.index(), ack->index);
  EXPECT_EQ(rec.txid(), std::string(AsBytes(ack->txid)));
  EXPECT_EQ(rec.contract_id(), "c-1");
  EXPECT_EQ(rec.product_id(), kProduct);
  EXPECT_EQ(rec.provider(), "prov");
  EXPECT_EQ(rec.consumer(), "bank");
  EXPECT_EQ(rec.operation(), "psi");
  EXPECT_EQ(rec.purpose(), "credit_risk");
  EXPECT_THAT(rec.columns(), ElementsAre("income"));
  EXPECT_EQ(rec.measurement().rows_out(), 42u);
  EXPECT_EQ(rec.height(), ack->height);
  EXPECT_EQ(rec.block_time_ms(), kT0);
  EXPECT_EQ(rec.period(), "2025-03");
  EXPECT_EQ(HexEncode(rec.request_digest()), *ReservationIdOf(req));
  EXPECT_EQ(rec.violations_size(), 0);
  EXPECT_TRUE(HasKey(UsageByContractKey("c-1", ack->index)));
  EXPECT_TRUE(HasKey(UsageByPairKey("prov", "bank", "2025-03", ack->index)));
  EXPECT_TRUE(HasKey(UsageByProductKey(kProduct, "2025-03", ack->index)));
  EXPECT_FALSE(HasKey(UsageViolationKey(ack->index)));
  tds::UsageCounters c = Counters("c-1");
  EXPECT_EQ(c.calls_total(), 1u);
  EXPECT_EQ(c.calls_day(), 1u);
  EXPECT_EQ(c.day(), static_cast<uint64_t>(DayNumber(kT0)));
  EXPECT_EQ(c.rows_total(), 42u);
  EXPECT_EQ(c.reserved_open(), 0u);
}

TEST_F(MeteringTest, OperationPurposeAndColumnBreachesAreRecordedWithReasons) {
  SeedContract("c-1", BaseTerms(tds::METERING_BATCHED));
  auto op = ledger_->Record(kProv, Req("c-1", "lr_train"), MeasurementAt(kT0));
  EXPECT_THAT(ViolationTerms(op), ElementsAre("operation"));
  EXPECT_THAT(Detail(op), HasSubstr("'lr_train' is not permitted (allowed: 'psi', 'stats')"));
  EXPECT_EQ(op->result, "recorded with 1 violation: operation");

  auto purpose = ledger_->Record(kProv, Req("c-1", "psi", "marketing"), MeasurementAt(kT0));
  EXPECT_THAT(ViolationTerms(purpose), ElementsAre("purpose"));
  EXPECT_THAT(Detail(purpose), HasSubstr("'marketing' is not permitted"));

  auto cols = ledger_->Record(kProv, Req("c-1", "psi", "credit_risk", {"income", "phone", "name"}),
                              MeasurementAt(kT0));
  EXPECT_THAT(ViolationTerms(cols), ElementsAre("columns"));
  EXPECT_THAT(Detail(cols), HasSubstr("'phone', 'name' not permitted"));

  auto all =
      ledger_->Record(kProv, Req("c-1", "query", "marketing", {"phone"}), MeasurementAt(kT0));
  EXPECT_THAT(ViolationTerms(all), ElementsAre("operation", "purpose", "columns"));
  EXPECT_EQ(all->result, "recorded with 3 violations: operation, purpose, columns");
  // Violating calls still count against the quota.
  EXPECT_EQ(Counters("c-1").calls_total(), 4u);
}

TEST_F(MeteringTest, RowCapAndGroupSizeBreachesAreRecorded) {
  SeedContract("c-1", BaseTerms(tds::METERING_BATCHED));
  auto rows = ledger_->Record(kProv, Req("c-1"), MeasurementAt(kT0, 1001));
  EXPECT_THAT(ViolationTerms(rows), ElementsAre("rows_per_call"));
  EXPECT_THAT(Detail(rows), HasSubstr("rows_out 1001 exceeds max_rows_per_call 1000"));
  EXPECT_THAT(ViolationTerms(ledger_->Record(kProv, Req("c-1"), MeasurementAt(kT0, 1000))),
              ElementsAre());

  tds::Measurement small_group = MeasurementAt(kT0);
  small_group.set_min_group_rows(3);
  auto stats = ledger_->Record(kProv, Req("c-1", "stats"), small_group);
  EXPECT_THAT(ViolationTerms(stats), ElementsAre("min_group_size"));
  EXPECT_THAT(Detail(stats), HasSubstr("a reported group has 3 rows; min_group_size is 5"));
  // Only statistical outputs report groups; 0 means no groups were reported.
  EXPECT_THAT(ViolationTerms(ledger_->Record(kProv, Req("c-1", "psi"), small_group)),
              ElementsAre());
  small_group.set_min_group_rows(0);
  EXPECT_THAT(ViolationTerms(ledger_->Record(kProv, Req("c-1", "stats"), small_group)),
              ElementsAre());
  small_group.set_min_group_rows(5);
  EXPECT_THAT(ViolationTerms(ledger_->Record(kProv, Req("c-1", "stats"), small_group)),
              ElementsAre());
}

TEST_F(MeteringTest, WindowAndStateBreachesAreRecorded) {
  SeedContract("c-1", BaseTerms(tds::METERING_BATCHED));
  auto early = ledger_->Record(kProv, Req("c-1"), MeasurementAt(kT0 - 2 * kDay));
  EXPECT_THAT(ViolationTerms(early), ElementsAre("window", "metering"));
  EXPECT_THAT(Detail(early), HasSubstr("measurement started at 1741435200000, outside the "
                                       "contract window [1741521600000, 1773144000000)"));

  SeedContract("c-susp", BaseTerms(tds::METERING_BATCHED), tds::SUSPENDED);
  auto susp = ledger_->Record(kProv, Req("c-susp"), MeasurementAt(kT0));
  EXPECT_THAT(ViolationTerms(susp), ElementsAre("state"));
  EXPECT_THAT(Detail(susp), HasSubstr("contract c-susp is SUSPENDED at block time"));

  SeedContract("c-term", BaseTerms(tds::METERING_BATCHED), tds::TERMINATED);
  EXPECT_THAT(ViolationTerms(ledger_->Record(kProv, Req("c-term"), MeasurementAt(kT0))),
              ElementsAre("state"));

  // After the window ends the contract is effectively EXPIRED and the call is out of window.
  clock_ = kT0 + 366 * kDay;
  auto late = ledger_->Record(kProv, Req("c-1"), MeasurementAt(clock_ - 1000));
  EXPECT_THAT(ViolationTerms(late), ElementsAre("state", "window"));
  EXPECT_THAT(Detail(late), HasSubstr("is EXPIRED at block time"));
}

TEST_F(MeteringTest, MeteringBreachesAreRecorded) {
  SeedContract("c-batch", BaseTerms(tds::METERING_BATCHED));
  // Ended 120 s before block time with a 60 s allowance.
  auto late = ledger_->Record(kProv, Req("c-batch"), MeasurementAt(kT0 - 120'100));
  EXPECT_THAT(ViolationTerms(late), ElementsAre("metering"));
  EXPECT_THAT(Detail(late), HasSubstr("batched record late by 60000 ms"));
  EXPECT_THAT(ViolationTerms(ledger_->Record(kProv, Req("c-batch"), MeasurementAt(kT0 - 60'100))),
              ElementsAre());

  SeedContract("c-strict", BaseTerms(tds::METERING_STRICT));
  auto unreserved = ledger_->Record(kProv, Req("c-strict"), MeasurementAt(kT0));
  EXPECT_THAT(ViolationTerms(unreserved), ElementsAre("metering"));
  EXPECT_THAT(Detail(unreserved), HasSubstr("strict contract: no open reservation"));
}

TEST_F(MeteringTest, CallsBeyondTheTotalQuotaAreFlagged) {
  tds::Terms t = BaseTerms(tds::METERING_BATCHED);
  t.set_max_calls_total(2);
  SeedContract("c-1", t);
  EXPECT_THAT(ViolationTerms(ledger_->Record(kProv, Req("c-1"), MeasurementAt(kT0))),
              ElementsAre());
  EXPECT_THAT(ViolationTerms(ledger_->Record(kProv, Req("c-1"), MeasurementAt(kT0))),
              ElementsAre());
  auto third = ledger_->Record(kProv, Req("c-1"), MeasurementAt(kT0));
  EXPECT_THAT(ViolationTerms(third), ElementsAre("calls_total"));
  EXPECT_THAT(Detail(third), HasSubstr("call 3 (0 reserved) exceeds max_calls_total 2"));
  EXPECT_EQ(Counters("c-1").calls_total(), 3u);
}

TEST_F(MeteringTest, DailyCountResetsOnANewUtcDay) {
  tds::Terms t = BaseTerms(tds::METERING_BATCHED);
  t.set_max_calls_per_day(2);
  SeedContract("c-1", t);
  const int64_t last_ms_of_day = (DayNumber(kT0) + 1) * kDay - 1;
  clock_ = last_ms_of_day - 10;
  EXPECT_THAT(ViolationTerms(ledger_->Record(kProv, Req("c-1"), MeasurementAt(clock_ - 500))),
              ElementsAre());
  EXPECT_THAT(ViolationTerms(ledger_->Record(kProv, Req("c-1"), MeasurementAt(clock_ - 500))),
              ElementsAre());
  clock_ = last_ms_of_day;
  auto third = ledger_->Record(kProv, Req("c-1"), MeasurementAt(clock_ - 500));
  EXPECT_THAT(ViolationTerms(third), ElementsAre("calls_per_day"));
  EXPECT_THAT(Detail(third), HasSubstr("call 3 of UTC day 20157 (0 reserved) exceeds "
                                       "max_calls_per_day 2"));
  EXPECT_EQ(Counters("c-1").calls_day(), 3u);

  clock_ = last_ms_of_day + 1;  // midnight UTC
  auto next_day = ledger_->Record(kProv, Req("c-1"), MeasurementAt(clock_ - 500));
  EXPECT_THAT(ViolationTerms(next_day), ElementsAre());
  tds::UsageCounters c = Counters("c-1");
  EXPECT_EQ(c.day(), 20158u);
  EXPECT_EQ(c.calls_day(), 1u);
  EXPECT_EQ(c.calls_total(), 4u);
}

TEST_F(MeteringTest, MalformedOrUnprovenRecordsAreRejectedAndLeaveNoTrace) {
  SeedContract("c-1", BaseTerms(tds::METERING_BATCHED));
  const ledger::LedgerStatus before = ledger_->ledger().Status();
  auto expect_reject = [&](const std::string& body, const Party& submitter, absl::StatusCode code,
                           const std::string& message) {
    auto r = ledger_->Submit(submitter, kRecordTxType, body);
    ASSERT_FALSE(r.ok()) << message;
    EXPECT_EQ(r.status().code(), code) << r.status();
    EXPECT_THAT(std::string(r.status().message()), HasSubstr(message));
  };
  auto body = [](const std::string& request, const tds::Measurement& m) {
    return UsageLedger::RecordBody(request, m);
  };
  const tds::Measurement m = MeasurementAt(kT0);
  const auto kInvalid = absl::StatusCode::kInvalidArgument;
  const auto kDenied = absl::StatusCode::kPermissionDenied;

  expect_reject("\xff\xff", kProv, kInvalid, "usage.record: body is not a tds.UsageRecordBody");
  tds::UsageRecordBody no_measurement;
  no_measurement.set_request(Req("c-1"));
  expect_reject(no_measurement.SerializeAsString(), kProv, kInvalid, "measurement is missing");
  tds::Measurement backwards = m;
  backwards.set_ended_ms(m.started_ms() - 1);
  expect_reject(body(Req("c-1"), backwards), kProv, kInvalid,
                "measurement.ended_ms 1741607999999 is before started_ms 1741608000000");
  tds::Measurement short_digest = m;
  short_digest.set_result_digest("abcde");
  expect_reject(body(Req("c-1"), short_digest), kProv, kInvalid,
                "result_digest must be empty or 32 bytes, got 5");
  expect_reject(body("garbage", m), kProv, kInvalid, "usage request: not a valid Envelope message");
  const tds::UsageRequest good = Request("c-1", kBank, 1000);
  expect_reject(
      body(SealEnvelope(*KeyFromByte(kBank.key), "tds.other.v1", good.SerializeAsString()), m),
      kProv, kInvalid, "usage request: envelope: context is 'tds.other.v1'");
  expect_reject(body(Seal(kBank2, good), m), kProv, kDenied,
                "usage request: envelope is not signed by the key of consumer 'bank'");
  tds::Envelope tampered;
  ASSERT_TRUE(tampered.ParseFromString(Seal(kBank, good)));
  tampered.mutable_signature()->at(3) ^= 1;
  expect_reject(body(tampered.SerializeAsString(), m), kProv, kInvalid,
                "envelope signature: does not verify");
  expect_reject(body(Seal(kBank2, Request("c-1", kBank2, 1001)), m), kProv, kDenied,
                "usage request: consumer 'bank2' is not the consumer 'bank' of contract c-1");
  expect_reject(body(Seal(kBank, good), m), kProv2, kDenied,
                "usage.record: submitter 'prov2' is not the provider 'prov' of contract c-1");
  expect_reject(body(Seal(kBank, Request("c-missing", kBank, 1)), m), kProv,
                absl::StatusCode::kNotFound, "usage request: contract c-missing does not exist");
  tds::UsageRequest short_nonce = good;
  short_nonce.set_nonce(std::string(15, 'x'));
  expect_reject(body(Seal(kBank, short_nonce), m), kProv, kInvalid,
                "usage request: nonce is 15 bytes; expected 16..64");
  tds::UsageRequest long_nonce = good;
  long_nonce.set_nonce(std::string(65, 'x'));
  expect_reject(body(Seal(kBank, long_nonce), m), kProv, kInvalid, "nonce is 65 bytes");

  const ledger::LedgerStatus after = ledger_->ledger().Status();
  EXPECT_EQ(after.log_size, before.log_size);
  EXPECT_EQ(after.state_digest, before.state_digest);
  EXPECT_EQ(Counters("c-1").calls_total(), 0u);
}

TEST_F(MeteringTest, ReplayedNonceIsRejected) {
  SeedContract("c-1", BaseTerms(tds::METERING_BATCHED));
  const std::string req = Req("c-1");
  ASSERT_TRUE(ledger_->Record(kProv, req, MeasurementAt(kT0)).ok());
  auto replay = ledger_->Record(kProv, req, MeasurementAt(kT0, 11));
  EXPECT_EQ(replay.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(std::string(replay.status().message()),
              HasSubstr("usage request nonce already used in contract c-1"));
  // The same nonce under a different request (other parameters) is a replay too.
  tds::UsageRequest other = Request("c-1", kBank, 1);
  tds::UsageRequest first;
  tds::Envelope env;
  ASSERT_TRUE(env.ParseFromString(req) && first.ParseFromString(env.payload()));
  other.set_nonce(first.nonce());
  other.set_params_digest(std::string(32, 'q'));
  EXPECT_EQ(ledger_->Record(kProv, Seal(kBank, other), MeasurementAt(kT0)).status().code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(Counters("c-1").calls_total(), 1u);
}

TEST_F(MeteringTest, ReservedCallIsRecordedWithoutMeteringViolation) {
  SeedContract("c-1", BaseTerms(tds::METERING_STRICT));
  const std::string req = Req("c-1");
  auto res = ledger_->Reserve(kProv, req);
  ASSERT_TRUE(res.ok()) << res.status();
  const std::string id = *ReservationIdOf(req);
  EXPECT_EQ(res->result, absl::StrCat("reserved ", id, " until height ", res->height + 100));
  tds::Reservation r = ReservationOf(req);
  EXPECT_EQ(r.id(), id);
  EXPECT_EQ(r.contract_id(), "c-1");
  EXPECT_EQ(r.state(), tds::RESERVATION_OPEN);
  EXPECT_EQ(r.created_height(), res->height);
  EXPECT_EQ(r.expires_height(), res->height + 100);
  EXPECT_EQ(Counters("c-1").reserved_open(), 1u);

  auto rec = ledger_->Record(kProv, req, MeasurementAt(kT0));
  EXPECT_THAT(ViolationTerms(rec), ElementsAre());
  r = ReservationOf(req);
  EXPECT_EQ(r.state(), tds::RESERVATION_CONSUMED);
  EXPECT_EQ(r.consumed_index(), rec->index);
  EXPECT_FALSE(HasKey(ReservationExpiryKey("c-1", r.expires_height(), id)));
  tds::UsageCounters c = Counters("c-1");
  EXPECT_EQ(c.reserved_open(), 0u);
  EXPECT_EQ(c.calls_total(), 1u);
  // The reservation is consumed once.
  EXPECT_EQ(ledger_->Record(kProv, req, MeasurementAt(kT0)).status().code(),
            absl::StatusCode::kAlreadyExists);
}

TEST_F(MeteringTest, ReservationsAreRefusedWhenTheCallCouldNotBeServed) {
  tds::Terms strict = BaseTerms(tds::METERING_STRICT);
  strict.set_max_calls_total(2);
  SeedContract("c-1", strict);
  SeedContract("c-batch", BaseTerms(tds::METERING_BATCHED));
  SeedContract("c-susp", BaseTerms(tds::METERING_STRICT), tds::SUSPENDED);
  tds::Terms future = BaseTerms(tds::METERING_STRICT);
  future.set_valid_from_ms(kT0 + kDay);
  SeedContract("c-future", future);
  const ledger::LedgerStatus before = ledger_->ledger().Status();

  auto expect_refused = [&](const std::string& body, absl::StatusCode code,
                            const std::string& message) {
    auto r = ledger_->Submit(kProv, kReserveTxType, body);
    ASSERT_FALSE(r.ok()) << message;
    EXPECT_EQ(r.status().code(), code) << r.status();
    EXPECT_THAT(std::string(r.status().message()), HasSubstr(message));
  };
  auto rb = [](const std::string& req, uint64_t ttl = 0) {
    return UsageLedger::ReserveBody(req, ttl);
  };
  expect_refused("\xff", absl::StatusCode::kInvalidArgument,
                 "usage.reserve: body is not a tds.ReserveBody");
  expect_refused(rb(Req("c-1"), 10001), absl::StatusCode::kInvalidArgument,
                 "usage.reserve: ttl_blocks 10001 exceeds the maximum 10000");
  expect_refused(rb(Req("c-batch")), absl::StatusCode::kFailedPrecondition,
                 "usage.reserve: contract c-batch is metered METERING_BATCHED; reservations are "
                 "for METERING_STRICT contracts");
  expect_refused(rb(Req("c-susp")), absl::StatusCode::kFailedPrecondition,
                 "usage.reserve: contract c-susp is SUSPENDED");
  expect_refused(rb(Req("c-future")), absl::StatusCode::kFailedPrecondition,
                 "terms.valid_from_ms: block time 1741608000000 is outside contract c-future's "
                 "window [1741694400000, 1773144000000)");
  expect_refused(rb(Req("c-1", "query")), absl::StatusCode::kPermissionDenied,
                 "terms.operations: 'query' is not permitted by contract c-1 (allowed: 'psi', "
                 "'stats')");
  expect_refused(rb(Req("c-1", "psi", "marketing")), absl::StatusCode::kPermissionDenied,
                 "terms.purposes: 'marketing' is not permitted by contract c-1");
  expect_refused(rb(Req("c-1", "psi", "credit_risk", {"phone"})),
                 absl::StatusCode::kPermissionDenied,
                 "terms.columns: 'phone' not permitted by contract c-1");
  EXPECT_EQ(ledger_->Submit(kProv2, kReserveTxType, rb(Req("c-1"))).status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(ledger_->ledger().Status().state_digest, before.state_digest);

  // Quota: one recorded call and one open reservation use up max_calls_total 2.
  ASSERT_TRUE(ledger_->Record(kProv, Req("c-1"), MeasurementAt(kT0)).ok());
  const std::string reserved = Req("c-1");
  ASSERT_TRUE(ledger_->Reserve(kProv, reserved).ok());
  expect_refused(rb(reserved), absl::StatusCode::kAlreadyExists,
                 "usage.reserve: request already reserved (reservation");
  expect_refused(rb(Req("c-1")), absl::StatusCode::kResourceExhausted,
                 "terms.max_calls_total: 2 of 2 calls used or reserved in contract c-1");
  // A nonce already used by a record cannot be reserved.
  tds::Terms roomy = BaseTerms(tds::METERING_STRICT);
  SeedContract("c-2", roomy);
  const std::string used = Req("c-2");
  ASSERT_TRUE(ledger_->Record(kProv, used, MeasurementAt(kT0)).ok());
  expect_refused(rb(used), absl::StatusCode::kAlreadyExists,
                 "usage request nonce already used in contract c-2");
}

TEST_F(MeteringTest, DailyQuotaCountsOpenReservations) {
  tds::Terms t = BaseTerms(tds::METERING_STRICT);
  t.set_max_calls_per_day(2);
  SeedContract("c-1", t);
  ASSERT_TRUE(ledger_->Reserve(kProv, Req("c-1")).ok());
  ASSERT_TRUE(ledger_->Reserve(kProv, Req("c-1")).ok());
  auto third = ledger_->Reserve(kProv, Req("c-1"));
  EXPECT_EQ(third.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(third.status().message()),
              HasSubstr("terms.max_calls_per_day: 2 of 2 calls today used or reserved"));
}

TEST_F(MeteringTest, ConcurrentReservationsForTheLastCallExactlyOneWins) {
  tds::Terms t = BaseTerms(tds::METERING_STRICT);
  t.set_max_calls_total(3);
  SeedContract("c-1", t);
  // Two calls used; one left.
  for (int i = 0; i < 2; ++i) {
    const std::string req = Req("c-1");
    ASSERT_TRUE(ledger_->Reserve(kProv, req).ok());
    ASSERT_TRUE(ledger_->Record(kProv, req, MeasurementAt(kT0)).ok());
  }
  // Two provider nodes race for the last call: both transactions are queued before either is
  // applied, from two threads.
  const std::string tx_a = ledger_->Tx(kProv, kReserveTxType, UsageLedger::ReserveBody(Req("c-1")));
  const std::string tx_b = ledger_->Tx(kProv, kReserveTxType, UsageLedger::ReserveBody(Req("c-1")));
  std::promise<absl::StatusOr<ledger::SubmitAck>> pa, pb;
  std::thread ta(
      [&] { ledger_->ledger().Submit(tx_a, [&](auto r) { pa.set_value(std::move(r)); }); });
  std::thread tb(
      [&] { ledger_->ledger().Submit(tx_b, [&](auto r) { pb.set_value(std::move(r)); }); });
  ta.join();
  tb.join();
  const auto ra = pa.get_future().get();
  const auto rb = pb.get_future().get();
  EXPECT_NE(ra.ok(), rb.ok()) << ra.status() << " / " << rb.status();
  const absl::Status& loser = ra.ok() ? rb.status() : ra.status();
  EXPECT_EQ(loser.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(loser.message()),
              HasSubstr("terms.max_calls_total: 3 of 3 calls used or reserved"));
  tds::UsageCounters c = Counters("c-1");
  EXPECT_EQ(c.calls_total(), 2u);
  EXPECT_EQ(c.reserved_open(), 1u);
}

TEST_F(MeteringTest, ConcurrentReservationsInOneBatchExactlyOneWins) {
  tds::Terms t = BaseTerms(tds::METERING_STRICT);
  t.set_max_calls_total(1);
  SeedContract("c-1", t);
  // Eight racing reservations submitted back to back, before waiting on any.
  std::vector<std::promise<absl::StatusOr<ledger::SubmitAck>>> results(8);
  std::vector<std::string> txs;
  for (size_t i = 0; i < results.size(); ++i) {
    txs.push_back(ledger_->Tx(kProv, kReserveTxType, UsageLedger::ReserveBody(Req("c-1"))));
  }
  for (size_t i = 0; i < results.size(); ++i) {
    ledger_->ledger().Submit(txs[i], [&results, i](auto r) { results[i].set_value(std::move(r)); });
  }
  int won = 0, exhausted = 0;
  for (auto& p : results) {
    auto r = p.get_future().get();
    if (r.ok()) ++won;
    if (r.status().code() == absl::StatusCode::kResourceExhausted) ++exhausted;
  }
  EXPECT_EQ(won, 1);
  EXPECT_EQ(exhausted, 7);
  EXPECT_EQ(Counters("c-1").reserved_open(), 1u);
}

TEST_F(MeteringTest, ExpiredReservationReleasesItsQuota) {
  tds::Terms t = BaseTerms(tds::METERING_STRICT);
  t.set_max_calls_total(1);
  SeedContract("c-1", t);
  const std::string first = Req("c-1");
  auto res = ledger_->Reserve(kProv, first, /*ttl_blocks=*/2);
  ASSERT_TRUE(res.ok()) << res.status();
  EXPECT_EQ(ledger_->Reserve(kProv, Req("c-1")).status().code(),
            absl::StatusCode::kResourceExhausted);  // height + 1: still open
  // The refusal made no block; one more block, and the next one (height + 2 = expires_height)
  // finds the reservation expired.
  AdvanceBlocks(1);
  EXPECT_EQ(ledger_->ledger().Status().height, res->height + 1);
  EXPECT_EQ(Counters("c-1").reserved_open(), 1u);  // not released until the contract is touched
  const std::string second = Req("c-1");
  ASSERT_TRUE(ledger_->Reserve(kProv, second).ok());
  EXPECT_EQ(ReservationOf(first).state(), tds::RESERVATION_EXPIRED);
  EXPECT_EQ(ReservationOf(second).state(), tds::RESERVATION_OPEN);
  EXPECT_EQ(Counters("c-1").reserved_open(), 1u);

  // The late call under the expired reservation is still recorded (nonce not a replay), as a
  // metering breach; it also breaks the quota the second reservation now holds.
  auto late = ledger_->Record(kProv, first, MeasurementAt(kT0));
  EXPECT_THAT(ViolationTerms(late), ElementsAre("calls_total", "metering"));
  EXPECT_THAT(Detail(late, 1), HasSubstr(absl::StrCat("reservation ", *ReservationIdOf(first),
                                                      " expired at height ", res->height + 2)));
  EXPECT_EQ(ReservationOf(first).state(), tds::RESERVATION_CONSUMED);
  // The holder of the open reservation still gets its call, unflagged.
  EXPECT_THAT(ViolationTerms(ledger_->Record(kProv, second, MeasurementAt(kT0))), ElementsAre());
  tds::UsageCounters c = Counters("c-1");
  EXPECT_EQ(c.calls_total(), 2u);
  EXPECT_EQ(c.reserved_open(), 0u);
}

TEST(MeteringDeterminismTest, SameTransactionsGiveTheSameState) {
  ledger::testing::TempDir dir;
  std::atomic<int64_t> clock{kT0};
  Hash digests[2];
  Hash roots[2];
  for (int run = 0; run < 2; ++run) {
    auto l = UsageLedger::Open(dir.Sub(absl::StrCat("l", run)), &clock);
    ASSERT_TRUE(l.ok());
    UsageLedger& ul = **l;
    clock = kT0;
    ASSERT_TRUE(ul.SeedProduct(usage_testing::TestProduct(kProduct, kProv)).ok());
    tds::Terms t = BaseTerms(tds::METERING_STRICT);
    t.set_max_calls_total(3);
    ASSERT_TRUE(ul.SeedContract(ActiveContract("c-1", kProduct, kProv, kBank, t, kT0)).ok());
    for (uint64_t i = 0; i < 5; ++i) {
      const std::string req = Seal(kBank, Request("c-1", kBank, i));
      (void)ul.Reserve(kProv, req, 3);
      clock += kDay / 3;
      ASSERT_TRUE(ul.Record(kProv, req, MeasurementAt(clock - 1000, 10 * i)).ok());
    }
    digests[run] = ul.ledger().Status().state_digest;
    roots[run] = ul.ledger().Status().log_root;
  }
  EXPECT_EQ(digests[0], digests[1]);
  EXPECT_EQ(roots[0], roots[1]);
}

}  // namespace
}  // namespace tds::contracts
