#include "contracts/valuation.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/period.h"
#include "contracts/usage_testing.h"
#include "ledger/test_util.h"

namespace tds::contracts {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using usage_testing::ActiveContract;
using usage_testing::kBank;
using usage_testing::kBank2;
using usage_testing::kProv;
using usage_testing::Party;
using usage_testing::TermsWithPrice;
using usage_testing::UsageLedger;

constexpr char kProduct[] = "credit-features";

int64_t MidMonth(const std::string& period) {
  return PeriodBounds(period)->first + 14 * 86'400'000LL;
}

tds::Price PerCall(const std::string& currency, int64_t unit) {
  tds::Price p;
  p.set_currency(currency);
  p.set_per_call(unit);
  return p;
}

tds::DeclareCostBody Cost(const std::string& period, const std::string& category, int64_t amount,
                          const std::string& currency = "CNY") {
  tds::DeclareCostBody c;
  c.set_product_id(kProduct);
  c.set_period(period);
  c.set_category(category);
  c.set_amount(amount);
  c.set_currency(currency);
  c.set_note(category + " note");
  return c;
}

// A small, hand-computed dataset, as of 2025-06 (window 2024-07..2025-06):
//   c-1 bank  100 CNY/call: Jan 2 calls, Feb 1, Apr 3, May 1; Jun 1 call breaking the row cap
//   c-2 bank2 300 CNY/call: Mar 1, Apr 1, Jun 2
//   c-usd bank2 5 USD/call: Mar 1                          (other currency: excluded)
// Revenue per period (CNY): Jan 200, Feb 100, Mar 300, Apr 600, May 100, Jun 600 → 1900.
class ValuationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    clock_ = MidMonth("2024-12");
    auto l = UsageLedger::Open(dir_.Sub("ledger"), &clock_);
    ASSERT_TRUE(l.ok()) << l.status();
    ledger_ = std::move(*l);
    ASSERT_TRUE(ledger_->SeedProduct(usage_testing::TestProduct(kProduct, kProv)).ok());
    const int64_t from = PeriodBounds("2024-12")->first;
    const int64_t until = PeriodBounds("2026-01")->first;
    tds::Terms t1 = TermsWithPrice(PerCall("CNY", 100), from, until);
    t1.set_max_rows_per_call(100);
    tds::Contract c1 = ActiveContract("c-1", kProduct, kProv, kBank, t1, clock_);
    c1.set_terms(t1.SerializeAsString());
    ASSERT_TRUE(ledger_->SeedContract(c1).ok());
    ASSERT_TRUE(
        ledger_
            ->SeedContract(ActiveContract("c-2", kProduct, kProv, kBank2,
                                          TermsWithPrice(PerCall("CNY", 300), from, until), clock_))
            .ok());
    ASSERT_TRUE(
        ledger_
            ->SeedContract(ActiveContract("c-usd", kProduct, kProv, kBank2,
                                          TermsWithPrice(PerCall("USD", 5), from, until), clock_))
            .ok());
    Calls("2025-01", "c-1", kBank, 2);
    Calls("2025-02", "c-1", kBank, 1);
    Calls("2025-03", "c-2", kBank2, 1);
    Calls("2025-03", "c-usd", kBank2, 1);
    Calls("2025-04", "c-1", kBank, 3);
    Calls("2025-04", "c-2", kBank2, 1);
    Calls("2025-05", "c-1", kBank, 1);
    Calls("2025-06", "c-2", kBank2, 2);
    auto violating = ledger_->RecordCall(kProv, kBank, "c-1", 500, 0);
    ASSERT_TRUE(violating.ok());
    ASSERT_EQ(violating->result, "recorded with 1 violation: rows_per_call");
    Calls("2025-07", "c-1", kBank, 5);  // after as_of: ignored

    ASSERT_TRUE(ledger_->SeedCost(Cost("2025-01", "collection", 5000)).ok());
    ASSERT_TRUE(ledger_->SeedCost(Cost("2025-03", "storage", 1200)).ok());
    ASSERT_TRUE(ledger_->SeedCost(Cost("2025-02", "compliance", 300, "USD")).ok());
    ASSERT_TRUE(ledger_->SeedCost(Cost("2025-07", "processing", 999)).ok());
  }

  void Calls(const std::string& period, const std::string& contract, const Party& consumer, int n) {
    clock_ = MidMonth(period);
    for (int i = 0; i < n; ++i) {
      auto ack = ledger_->RecordCall(kProv, consumer, contract, 1, 10);
      ASSERT_TRUE(ack.ok()) << ack.status();
      ASSERT_EQ(ack->result, "recorded");
    }
  }

  tds::Valuation Value(ValuationParams params) {
    auto v = ComputeValuation(ledger_->state(), kProduct, params);
    EXPECT_TRUE(v.ok()) << v.status();
    return v.value_or(tds::Valuation());
  }

  ledger::testing::TempDir dir_;
  std::atomic<int64_t> clock_{0};
  std::unique_ptr<UsageLedger> ledger_;
};

TEST_F(ValuationTest, UsageRevenueAndConcentrationMatchHandComputedFigures) {
  ValuationParams params;
  params.as_of_period = "2025-06";
  const tds::Valuation v = Value(params);
  EXPECT_EQ(v.product_id(), kProduct);
  EXPECT_EQ(v.provider(), "prov");
  EXPECT_EQ(v.currency(), "CNY");
  EXPECT_EQ(v.as_of_period(), "2025-06");
  ASSERT_EQ(v.periods_size(), 12);
  EXPECT_EQ(v.periods(0).period(), "2024-07");
  EXPECT_EQ(v.periods(11).period(), "2025-06");
  std::vector<std::string> rows;
  for (const tds::ValuationPeriod& p : v.periods()) {
    rows.push_back(absl::StrCat(p.period(), " calls=", p.calls(), " rows=", p.rows(),
                                " revenue=", p.revenue(), " consumers=", p.consumers()));
  }
  EXPECT_THAT(std::vector<std::string>(rows.begin() + 6, rows.end()),
              ElementsAre("2025-01 calls=2 rows=2 revenue=200 consumers=1",
                          "2025-02 calls=1 rows=1 revenue=100 consumers=1",
                          "2025-03 calls=1 rows=1 revenue=300 consumers=1",
                          "2025-04 calls=4 rows=4 revenue=600 consumers=2",
                          "2025-05 calls=1 rows=1 revenue=100 consumers=1",
                          // bank's only June call broke the row cap: not a consumer that month
                          "2025-06 calls=2 rows=2 revenue=600 consumers=1"));
  EXPECT_EQ(rows[0], "2024-07 calls=0 rows=0 revenue=0 consumers=0");
  EXPECT_EQ(v.distinct_consumers(), 2u);
  EXPECT_EQ(v.trailing_revenue(), 1900);
  // (Apr + May + Jun − (Jan + Feb + Mar)) × 10000 / (Jan + Feb + Mar) = 700 × 10000 / 600.
  EXPECT_EQ(v.trend_bp(), 11666);
  // bank 700 → floor(7000000 / 1900) = 3684 bp; bank2 1200 → 6315 bp;
  // HHI = floor((3684² + 6315²) / 10000) = floor(53451081 / 10000).
  EXPECT_EQ(v.concentration_hhi(), 5345u);
  EXPECT_EQ(v.top_consumer_share_bp(), 6315u);
  EXPECT_THAT(v.method(), Contains(HasSubstr("excluded: revenue in other currencies left out of "
                                             "every figure: 5 USD")));
  EXPECT_THAT(v.method(),
              Contains(HasSubstr("trend_bp = (R3 − P3) × 10000 / P3 = (1300 − 600) × 10000 / 600 = "
                                 "11666")));
  EXPECT_THAT(v.method(), Contains(HasSubstr("concentration_hhi = Σ share_i² / 10000 = 53451081 / "
                                             "10000 = 5345")));
}

TEST_F(ValuationTest, IncomeApproachDiscountsTheTrailingMonthlyAverage) {
  ValuationParams params;
  params.as_of_period = "2025-06";
  // A = floor(1900 / 6) = 316 (first revenue in 2025-01: 6 periods up to 2025-06).
  // Defaults r = 10 %/year (r/12 per month), H = 36, g = 0:
  // Σ_{t=1..36} 316 / (1 + 0.1/12)^t = 9793.23… → 9793.
  tds::Valuation v = Value(params);
  EXPECT_EQ(v.discount_rate_bp(), 1000u);
  EXPECT_EQ(v.horizon_periods(), 36u);
  EXPECT_EQ(v.growth_bp(), 0);
  EXPECT_EQ(v.income_value(), 9793);
  EXPECT_THAT(v.method(), Contains(HasSubstr("income_value = floor(A × Σ_{t=1..36} w_t / 10^12) = "
                                             "floor(316 × 30991235585025 / 10^12) = 9793; "
                                             "A = floor(1900 / 6) = 316")));
  // r = 12 %/year (1 % a month), H = 3: 316/1.01 + 316/1.01² + 316/1.01³ = 929.35… → 929.
  params.discount_rate_bp = 1200;
  params.horizon_periods = 3;
  EXPECT_EQ(Value(params).income_value(), 929);
  // g = 2 % a month, H = 24, r = 10 %: Σ 316 × (1.02 / (1 + 0.1/12))^t = 8784.66… → 8784.
  params.discount_rate_bp = 1000;
  params.horizon_periods = 24;
  params.growth_bp = 200;
  v = Value(params);
  EXPECT_EQ(v.income_value(), 8784);
  EXPECT_EQ(v.growth_bp(), 200);
}

TEST_F(ValuationTest, CostApproachSumsDeclaredCostsUpToTheValuationPeriod) {
  ValuationParams params;
  params.as_of_period = "2025-06";
  const tds::Valuation v = Value(params);
  EXPECT_EQ(v.cost_value(), 6200);
  ASSERT_EQ(v.costs_size(), 2);
  EXPECT_EQ(v.costs(0).period(), "2025-01");
  EXPECT_EQ(v.costs(0).category(), "collection");
  EXPECT_EQ(v.costs(0).amount(), 5000);
  EXPECT_EQ(v.costs(0).note(), "collection note");
  EXPECT_EQ(v.costs(1).period(), "2025-03");
  EXPECT_THAT(v.method(), Contains(HasSubstr("= 6200 over 2 line(s); 1 line(s) in USD (300) "
                                             "excluded")));
}

TEST_F(ValuationTest, EarlierValuationSeesOnlyItsWindow) {
  ValuationParams params;
  params.as_of_period = "2025-02";
  const tds::Valuation v = Value(params);
  EXPECT_EQ(v.trailing_revenue(), 300);
  EXPECT_EQ(v.distinct_consumers(), 1u);
  EXPECT_EQ(v.trend_bp(), 0);  // no revenue in the 3 periods before the last 3
  EXPECT_THAT(v.method(), Contains(HasSubstr("trend_bp = 0: undefined")));
  EXPECT_EQ(v.concentration_hhi(), 10000u);
  EXPECT_EQ(v.top_consumer_share_bp(), 10000u);
  EXPECT_EQ(v.cost_value(), 5000);
  // Nothing before the product was used.
  params.as_of_period = "2024-11";
  const tds::Valuation empty = Value(params);
  EXPECT_EQ(empty.trailing_revenue(), 0);
  EXPECT_EQ(empty.income_value(), 0);
  EXPECT_EQ(empty.concentration_hhi(), 0u);
}

TEST_F(ValuationTest, IsDeterministic) {
  ValuationParams params;
  params.as_of_period = "2025-06";
  EXPECT_EQ(Value(params).SerializeAsString(), Value(params).SerializeAsString());
}

TEST_F(ValuationTest, BadInputsAreRefusedWithTheirName) {
  ValuationParams params;
  params.as_of_period = "2025-06";
  auto missing = ComputeValuation(ledger_->state(), "no-such-product", params);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(missing.status().message()), HasSubstr("'no-such-product'"));
  auto with = [](std::string period, uint32_t rate, uint32_t horizon, int64_t growth) {
    ValuationParams p;
    p.as_of_period = std::move(period);
    p.discount_rate_bp = rate;
    p.horizon_periods = horizon;
    p.growth_bp = growth;
    return p;
  };
  struct Case {
    ValuationParams params;
    std::string message;
  };
  const std::vector<Case> cases = {
      {with("2025-13", 1000, 36, 0), "period '2025-13'"},
      {with("2025-06", 100001, 36, 0), "discount_rate_bp 100001 is outside 0..100000"},
      {with("2025-06", 1000, 0, 0), "horizon_periods 0 is outside 1..600"},
      {with("2025-06", 1000, 601, 0), "horizon_periods 601"},
      {with("2025-06", 1000, 36, -10000), "growth_bp -10000 is outside -9999..10000"},
      {with("2025-06", 1000, 36, 10001), "growth_bp 10001"},
  };
  for (const Case& c : cases) {
    auto r = ComputeValuation(ledger_->state(), kProduct, c.params);
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << c.message;
    EXPECT_THAT(std::string(r.status().message()), HasSubstr(c.message));
  }
}

}  // namespace
}  // namespace tds::contracts
