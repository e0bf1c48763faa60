#include "contracts/billing.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "contracts/usage_testing.h"
#include "ledger/test_util.h"

namespace tds::contracts {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using usage_testing::ActiveContract;
using usage_testing::kBank;
using usage_testing::kBank2;
using usage_testing::kProv;
using usage_testing::Party;
using usage_testing::TermsWithPrice;
using usage_testing::UsageLedger;

constexpr int64_t kDay = 86'400'000;
constexpr int64_t kT0 = 1'741'608'000'000;       // 2025-03-10T12:00:00Z
constexpr int64_t kApril15 = 1'744'675'200'000;  // 2025-04-15T00:00:00Z
constexpr char kProduct[] = "credit-features";

// "contract component quantity × unit = amount currency", for compact comparisons.
std::vector<std::string> Lines(const tds::Statement& st) {
  std::vector<std::string> out;
  for (const tds::StatementLine& l : st.lines()) {
    out.push_back(absl::StrCat(l.contract_id(), " ", l.component(), " ", l.quantity(), " x ",
                               l.unit_price(), " = ", l.amount(), " ", l.currency()));
  }
  return out;
}
std::vector<std::string> Totals(const tds::Statement& st) {
  std::vector<std::string> out;
  for (const tds::CurrencyAmount& t : st.totals()) {
    out.push_back(absl::StrCat(t.amount(), " ", t.currency()));
  }
  return out;
}

tds::Price Cny() {
  tds::Price p;
  p.set_currency("CNY");
  return p;
}

class BillingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto l = UsageLedger::Open(dir_.Sub("ledger"), &clock_);
    ASSERT_TRUE(l.ok()) << l.status();
    ledger_ = std::move(*l);
    ASSERT_TRUE(ledger_->SeedProduct(usage_testing::TestProduct(kProduct, kProv)).ok());
  }

  tds::Contract Seed(const std::string& id, const tds::Price& price, const Party& consumer = kBank,
                     int64_t valid_until = kT0 + 365 * kDay) {
    tds::Contract c =
        ActiveContract(id, kProduct, kProv, consumer,
                       TermsWithPrice(price, kT0 - 30 * kDay, valid_until), kT0 - kDay);
    EXPECT_TRUE(ledger_->SeedContract(c).ok());
    return c;
  }
  uint64_t Call(const std::string& contract, uint64_t rows = 0, uint64_t compute_ms = 0,
                const Party& consumer = kBank) {
    auto ack = ledger_->RecordCall(kProv, consumer, contract, rows, compute_ms);
    EXPECT_TRUE(ack.ok()) << ack.status();
    EXPECT_EQ(ack.ok() ? ack->result : "", "recorded");
    return ack.ok() ? ack->index : 0;
  }
  tds::Statement Statement(const std::string& period, const Party& consumer = kBank) {
    auto st = ComputeStatement(ledger_->state(), "prov", consumer.id, period);
    EXPECT_TRUE(st.ok()) << st.status();
    return st.value_or(tds::Statement());
  }

  ledger::testing::TempDir dir_;
  std::atomic<int64_t> clock_{kT0};
  std::unique_ptr<UsageLedger> ledger_;
};

TEST_F(BillingTest, PerCallPerRowAndComputeRoundedUpPerCall) {
  tds::Price p = Cny();
  p.set_per_call(150);
  p.set_per_row(2);
  p.set_per_compute_second(7);
  Seed("c-a", p);
  Call("c-a", 10, 100);  // compute ceil(0.7) = 1
  Call("c-a", 0, 1001);  // compute ceil(7.007) = 8
  Call("c-a", 5, 0);     // compute 0
  const tds::Statement st = Statement("2025-03");
  EXPECT_EQ(st.provider(), "prov");
  EXPECT_EQ(st.consumer(), "bank");
  EXPECT_EQ(st.period(), "2025-03");
  EXPECT_THAT(Lines(st),
              ElementsAre("c-a per_call 3 x 150 = 450 CNY", "c-a per_row 15 x 2 = 30 CNY",
                          "c-a compute 1101 x 0 = 9 CNY"));
  EXPECT_THAT(Totals(st), ElementsAre("489 CNY"));
  EXPECT_EQ(st.records(), 3u);
  EXPECT_EQ(st.violation_indices_size(), 0);
  EXPECT_EQ(st.lines(0).product_id(), kProduct);
}

TEST_F(BillingTest, SubscriptionIncludesCallsAndChargesOverage) {
  tds::Price p = Cny();
  p.set_subscription_fee(10000);
  p.set_included_calls(2);
  p.set_overage_per_call(300);
  Seed("c-s", p);
  for (int i = 0; i < 5; ++i) Call("c-s");
  EXPECT_THAT(Lines(Statement("2025-03")), ElementsAre("c-s subscription 1 x 10000 = 10000 CNY",
                                                       "c-s overage 3 x 300 = 900 CNY"));
  EXPECT_THAT(Totals(Statement("2025-03")), ElementsAre("10900 CNY"));
  // Within the included calls there is no overage line.
  clock_ = kT0 + 31 * kDay;  // April
  Call("c-s");
  Call("c-s");
  EXPECT_THAT(Lines(Statement("2025-04")), ElementsAre("c-s subscription 1 x 10000 = 10000 CNY"));
}

TEST_F(BillingTest, SubscriptionIsDueForEveryPeriodInForceEvenWithoutCalls) {
  tds::Price p = Cny();
  p.set_subscription_fee(5000);
  Seed("c-s", p, kBank, /*valid_until=*/kT0 + 60 * kDay);  // ends 2025-05-09
  tds::Contract ended =
      ActiveContract("c-t", kProduct, kProv, kBank,
                     TermsWithPrice(p, kT0 - 30 * kDay, kT0 + 365 * kDay), kT0 - kDay);
  ended.set_state(tds::TERMINATED);
  tds::NegotiationEvent* e = ended.add_history();
  e->set_event("terminate");
  e->set_from(tds::ACTIVE);
  e->set_to(tds::TERMINATED);
  e->set_time_ms(kApril15);
  ASSERT_TRUE(ledger_->SeedContract(ended).ok());

  // Activated 2025-03-09: nothing in February.
  EXPECT_THAT(Lines(Statement("2025-02")), ElementsAre());
  EXPECT_THAT(Lines(Statement("2025-03")), ElementsAre("c-s subscription 1 x 5000 = 5000 CNY",
                                                       "c-t subscription 1 x 5000 = 5000 CNY"));
  // c-t was terminated mid-April: April is due (no proration), May is not.
  EXPECT_THAT(Lines(Statement("2025-04")), ElementsAre("c-s subscription 1 x 5000 = 5000 CNY",
                                                       "c-t subscription 1 x 5000 = 5000 CNY"));
  EXPECT_THAT(Lines(Statement("2025-05")), ElementsAre("c-s subscription 1 x 5000 = 5000 CNY"));
  // c-s's window ended in May.
  EXPECT_THAT(Lines(Statement("2025-06")), ElementsAre());
  EXPECT_EQ(Statement("2025-06").records(), 0u);
}

TEST_F(BillingTest, GraduatedTiersSpanTheirBoundaries) {
  tds::Price open_ended = Cny();
  for (auto [up_to, unit] : {std::pair<uint64_t, int64_t>{3, 100}, {5, 80}, {0, 50}}) {
    tds::Tier* t = open_ended.add_tiers();
    t->set_up_to_calls(up_to);
    t->set_per_call(unit);
  }
  Seed("c-t", open_ended);
  for (int i = 0; i < 7; ++i) Call("c-t");
  EXPECT_THAT(Lines(Statement("2025-03")),
              ElementsAre("c-t tier_1 3 x 100 = 300 CNY", "c-t tier_2 2 x 80 = 160 CNY",
                          "c-t tier_3 2 x 50 = 100 CNY"));
  EXPECT_THAT(Totals(Statement("2025-03")), ElementsAre("560 CNY"));

  // A bounded last tier keeps the calls beyond it; tiers restart each period.
  tds::Price bounded = Cny();
  for (auto [up_to, unit] : {std::pair<uint64_t, int64_t>{2, 100}, {4, 60}}) {
    tds::Tier* t = bounded.add_tiers();
    t->set_up_to_calls(up_to);
    t->set_per_call(unit);
  }
  Seed("c-u", bounded);
  clock_ = kT0 + 31 * kDay;  // April
  for (int i = 0; i < 5; ++i) Call("c-u");
  Call("c-t");
  EXPECT_THAT(Lines(Statement("2025-04")),
              ElementsAre("c-t tier_1 1 x 100 = 100 CNY", "c-u tier_1 2 x 100 = 200 CNY",
                          "c-u tier_2 3 x 60 = 180 CNY"));
}

TEST_F(BillingTest, ContractsAndCurrenciesAreTotalledSeparatelyAndViolationsAreNotBilled) {
  tds::Price cny = Cny();
  cny.set_per_call(100);
  tds::Contract capped =
      ActiveContract("c-cny", kProduct, kProv, kBank,
                     TermsWithPrice(cny, kT0 - 30 * kDay, kT0 + 365 * kDay), kT0 - kDay);
  tds::Terms capped_terms = TermsWithPrice(cny, kT0 - 30 * kDay, kT0 + 365 * kDay);
  capped_terms.set_max_rows_per_call(100);
  capped.set_terms(capped_terms.SerializeAsString());
  ASSERT_TRUE(ledger_->SeedContract(capped).ok());
  tds::Price usd;
  usd.set_currency("USD");
  usd.set_per_call(3);
  usd.set_per_row(1);
  Seed("c-usd", usd);
  Seed("c-other", cny, kBank2);

  Call("c-cny", 100);
  auto violating = ledger_->RecordCall(kProv, kBank, "c-cny", 101, 0);
  ASSERT_TRUE(violating.ok());
  EXPECT_EQ(violating->result, "recorded with 1 violation: rows_per_call");
  Call("c-cny", 1);
  Call("c-usd", 4);
  Call("c-other", 0, 0, kBank2);
  clock_ = kT0 + 31 * kDay;
  Call("c-cny");  // April: not in March's statement

  const tds::Statement st = Statement("2025-03");
  EXPECT_THAT(Lines(st),
              ElementsAre("c-cny per_call 2 x 100 = 200 CNY", "c-usd per_call 1 x 3 = 3 USD",
                          "c-usd per_row 4 x 1 = 4 USD"));
  EXPECT_THAT(Totals(st), ElementsAre("200 CNY", "7 USD"));
  EXPECT_EQ(st.records(), 4u);
  EXPECT_THAT(st.violation_indices(), ElementsAre(violating->index));

  auto all = ListStatements(ledger_->state(), "prov", "2025-03");
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].consumer(), "bank");
  EXPECT_THAT(Totals((*all)[0]), ElementsAre("200 CNY", "7 USD"));
  EXPECT_EQ((*all)[1].consumer(), "bank2");
  EXPECT_THAT(Lines((*all)[1]), ElementsAre("c-other per_call 1 x 100 = 100 CNY"));
  auto none = ListStatements(ledger_->state(), "prov", "2025-01");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST_F(BillingTest, StatementsAreRecomputedIdentically) {
  tds::Price p = Cny();
  p.set_per_call(100);
  p.set_per_compute_second(3);
  Seed("c-a", p);
  for (int i = 0; i < 20; ++i) Call("c-a", i, 37 * i);
  const tds::Statement a = Statement("2025-03");
  const tds::Statement b = Statement("2025-03");
  EXPECT_EQ(a.SerializeAsString(), b.SerializeAsString());
  // Σ ceil(37·i·3/1000) for i = 0..19 = 0+1+1+1+1+1+1+1+1+1+2+2+2+2+2+2+2+2+2+3 = 30
  EXPECT_THAT(Lines(a),
              ElementsAre("c-a per_call 20 x 100 = 2000 CNY", "c-a compute 7030 x 0 = 30 CNY"));
}

TEST_F(BillingTest, MalformedPeriodAndOverflowAreRefused) {
  auto bad = ComputeStatement(ledger_->state(), "prov", "bank", "2025-3");
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(bad.status().message()), HasSubstr("period '2025-3'"));

  tds::Price p = Cny();
  p.set_per_row(4'000'000'000'000'000'000);
  Seed("c-big", p);
  Call("c-big", 3);
  auto over = ComputeStatement(ledger_->state(), "prov", "bank", "2025-03");
  EXPECT_EQ(over.status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_THAT(std::string(over.status().message()),
              HasSubstr("billing: contract c-big per_row amount overflows int64"));
}

}  // namespace
}  // namespace tds::contracts
