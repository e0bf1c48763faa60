#include "contracts/valuation.h"

#include <algorithm>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "catalog/catalog_state.h"
#include "common/period.h"
#include "common/status_macros.h"
#include "contracts/billing.h"
#include "contracts/contract_state.h"
#include "proto/catalog.pb.h"

namespace tds::contracts {
namespace {

constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();
constexpr __int128 kWeightScale = 1'000'000'000'000;                      // 1e12
constexpr __int128 kMaxWeight = kWeightScale * kWeightScale * 1'000'000;  // 1e30
constexpr __int128 kInt128Max = static_cast<__int128>(~static_cast<unsigned __int128>(0) >> 1);

absl::Status Overflow(std::string_view what) {
  return absl::OutOfRangeError(
      absl::StrCat("valuation: ", std::string(what), " overflows int64 minor units"));
}

absl::Status AddChecked(int64_t* sum, int64_t v, std::string_view what) {
  if (v > kInt64Max - *sum) return Overflow(what);
  *sum += v;
  return absl::OkStatus();
}

std::string Int128Text(__int128 v) {
  if (v == 0) return "0";
  const bool neg = v < 0;
  unsigned __int128 u =
      neg ? -static_cast<unsigned __int128>(v) : static_cast<unsigned __int128>(v);
  std::string s;
  while (u > 0) {
    s.push_back(static_cast<char>('0' + static_cast<int>(u % 10)));
    u /= 10;
  }
  if (neg) s.push_back('-');
  std::reverse(s.begin(), s.end());
  return s;
}

absl::Status ValidateParams(const ValuationParams& p) {
  TDS_RETURN_IF_ERROR(PeriodBounds(p.as_of_period).status());
  if (p.discount_rate_bp > 100000) {
    return absl::InvalidArgumentError(
        absl::StrCat("valuation: discount_rate_bp ", p.discount_rate_bp, " is outside 0..100000"));
  }
  if (p.horizon_periods < 1 || p.horizon_periods > 600) {
    return absl::InvalidArgumentError(
        absl::StrCat("valuation: horizon_periods ", p.horizon_periods, " is outside 1..600"));
  }
  if (p.growth_bp < -9999 || p.growth_bp > 10000) {
    return absl::InvalidArgumentError(
        absl::StrCat("valuation: growth_bp ", p.growth_bp, " is outside -9999..10000"));
  }
  return absl::OkStatus();
}

// Σ_{t=1..H} w_t in 1e-12 fixed point (see valuation.h).
absl::StatusOr<__int128> DiscountWeights(const ValuationParams& p) {
  const __int128 num = 120000 + 12 * static_cast<__int128>(p.growth_bp);
  const __int128 den = 120000 + static_cast<__int128>(p.discount_rate_bp);
  __int128 w = kWeightScale;
  __int128 sum = 0;
  for (uint32_t t = 1; t <= p.horizon_periods; ++t) {
    w = w * num / den;
    if (w > kMaxWeight) return absl::OutOfRangeError("valuation: income projection overflows");
    sum += w;
  }
  return sum;
}

struct PeriodFigures {
  tds::ValuationPeriod out;
  std::vector<PeriodPricer::PricedContract> priced;
};

}  // namespace

absl::StatusOr<tds::Valuation> ComputeValuation(const ledger::StateReader& state,
                                                std::string_view product_id,
                                                const ValuationParams& params) {
  TDS_RETURN_IF_ERROR(ValidateParams(params));
  TDS_ASSIGN_OR_RETURN(std::optional<tds::ProductHead> head,
                       catalog::ReadProductHead(state, product_id));
  if (!head.has_value()) {
    return absl::NotFoundError(
        absl::StrCat("valuation: product '", std::string(product_id), "' does not exist"));
  }
  TDS_ASSIGN_OR_RETURN(tds::Product product, catalog::ReadProduct(state, product_id));
  TDS_ASSIGN_OR_RETURN(std::vector<tds::Contract> all,
                       ContractsOfProvider(state, head->provider()));
  std::vector<tds::Contract> contracts;
  for (tds::Contract& c : all) {
    if (c.product_id() == product_id) contracts.push_back(std::move(c));
  }

  // Price every period of the window.
  const std::string first_period = AddMonths(params.as_of_period, 1 - kValuationWindowPeriods);
  std::vector<PeriodFigures> periods;
  for (int i = 0; i < kValuationWindowPeriods; ++i) {
    const std::string period = AddMonths(first_period, i);
    TDS_ASSIGN_OR_RETURN(PeriodPricer pricer, PeriodPricer::Create(state, period));
    for (const tds::Contract& c : contracts) TDS_RETURN_IF_ERROR(pricer.AddContract(c));
    absl::Status inner;
    TDS_RETURN_IF_ERROR(state.Scan(
        IndexPrefix(UsageByProductKey(product_id, period, 0)), "",
        std::numeric_limits<size_t>::max(), [&](std::string_view key, std::string_view) {
          auto rec = ReadUsageRecord(state, IndexFromKey(key));
          if (!rec.ok()) {
            inner = rec.status();
          } else if (!rec->has_value()) {
            inner = absl::DataLossError(absl::StrCat("valuation: usage index names record ",
                                                     IndexFromKey(key), ", which is not in state"));
          } else {
            inner = pricer.AddRecord(**rec);
          }
          return inner.ok();
        }));
    TDS_RETURN_IF_ERROR(inner);
    PeriodFigures& f = periods.emplace_back();
    f.out.set_period(period);
    TDS_ASSIGN_OR_RETURN(f.priced, pricer.Finish());
  }

  // Costs declared up to as_of_period.
  std::vector<tds::DeclareCostBody> costs;
  {
    const std::string prefix =
        absl::StrCat(std::string(catalog::kCostPrefix), std::string(product_id), "/");
    absl::Status inner;
    TDS_RETURN_IF_ERROR(
        state.Scan(prefix, "", std::numeric_limits<size_t>::max(),
                   [&](std::string_view, std::string_view value) {
                     tds::DeclareCostBody cost;
                     if (!cost.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
                       inner = absl::DataLossError("state: a declared cost record is corrupt");
                       return false;
                     }
                     if (cost.period() <= params.as_of_period) {
                       costs.push_back(std::move(cost));
                     }
                     return true;
                   }));
    TDS_RETURN_IF_ERROR(inner);
  }

  // Report currency.
  tds::Valuation v;
  std::string currency_source;
  std::string currency = product.offer().price().currency();
  if (!currency.empty()) currency_source = "the product offer's price currency";
  for (const PeriodFigures& f : periods) {
    for (const auto& pc : f.priced) {
      if (currency.empty() && !pc.currency.empty()) {
        currency = pc.currency;
        currency_source = "the first priced contract's currency";
      }
    }
  }
  if (currency.empty() && !costs.empty()) {
    currency = costs.front().currency();
    currency_source = "the first declared cost's currency";
  }
  if (currency_source.empty()) currency_source = "none: no price or cost names one";
  v.set_product_id(std::string(product_id));
  v.set_provider(head->provider());
  v.set_currency(currency);
  v.set_as_of_period(params.as_of_period);
  v.set_discount_rate_bp(params.discount_rate_bp);
  v.set_horizon_periods(params.horizon_periods);
  v.set_growth_bp(params.growth_bp);

  // Per-period figures and per-consumer revenue over the window.
  std::map<std::string, int64_t> excluded;  // currency → amount left out
  std::map<std::string, int64_t> by_consumer;
  std::set<std::string> consumers;
  int64_t trailing = 0;
  int first_active = -1;
  for (int i = 0; i < kValuationWindowPeriods; ++i) {
    PeriodFigures& f = periods[i];
    std::set<std::string> period_consumers;
    uint64_t calls = 0, rows = 0;
    int64_t revenue = 0;
    for (const auto& pc : f.priced) {
      if (pc.currency != currency) {
        TDS_RETURN_IF_ERROR(AddChecked(&excluded[pc.currency], pc.amount, "excluded amount"));
        continue;
      }
      calls += pc.calls;
      rows += pc.rows_out;
      TDS_RETURN_IF_ERROR(AddChecked(&revenue, pc.amount, "period revenue"));
      TDS_RETURN_IF_ERROR(
          AddChecked(&by_consumer[pc.contract.consumer()], pc.amount, "consumer revenue"));
      if (pc.calls > 0 || pc.amount > 0) period_consumers.insert(pc.contract.consumer());
    }
    f.out.set_calls(calls);
    f.out.set_rows(rows);
    f.out.set_revenue(revenue);
    f.out.set_consumers(period_consumers.size());
    consumers.insert(period_consumers.begin(), period_consumers.end());
    if (first_active < 0 && (calls > 0 || revenue > 0)) first_active = i;
    TDS_RETURN_IF_ERROR(AddChecked(&trailing, revenue, "trailing revenue"));
    *v.add_periods() = f.out;
  }
  v.set_distinct_consumers(consumers.size());
  v.set_trailing_revenue(trailing);

  // Trend.
  int64_t r3 = 0, p3 = 0;
  for (int i = 0; i < 3; ++i) {
    r3 += v.periods(kValuationWindowPeriods - 1 - i).revenue();
    p3 += v.periods(kValuationWindowPeriods - 4 - i).revenue();
  }
  const __int128 trend = p3 == 0 ? 0 : (static_cast<__int128>(r3) - p3) * 10000 / p3;
  v.set_trend_bp(static_cast<int64_t>(trend));

  // Concentration.
  uint64_t hhi_num = 0;
  uint32_t top = 0;
  std::string top_consumer;
  std::vector<std::string> shares;
  if (trailing > 0) {
    for (const auto& [consumer, rev] : by_consumer) {
      if (rev == 0) continue;
      const uint32_t share = static_cast<uint32_t>(static_cast<__int128>(rev) * 10000 / trailing);
      hhi_num += static_cast<uint64_t>(share) * share;
      shares.push_back(absl::StrCat(consumer, " ", rev, " → ", share, " bp"));
      if (share > top) {
        top = share;
        top_consumer = consumer;
      }
    }
  }
  v.set_concentration_hhi(static_cast<uint32_t>(hhi_num / 10000));
  v.set_top_consumer_share_bp(top);

  // Income approach.
  const int months =
      first_active < 0 ? kValuationWindowPeriods : kValuationWindowPeriods - first_active;
  const int64_t avg = trailing / months;
  TDS_ASSIGN_OR_RETURN(const __int128 weights, DiscountWeights(params));
  if (weights > 0 && avg > 0 && static_cast<__int128>(avg) > kInt128Max / weights) {
    return Overflow("income_value");
  }
  const __int128 income = static_cast<__int128>(avg) * weights / kWeightScale;
  if (income > kInt64Max) return Overflow("income_value");
  v.set_income_value(static_cast<int64_t>(income));

  // Cost approach.
  int64_t cost_value = 0;
  std::map<std::string, std::pair<int, int64_t>> excluded_costs;
  for (const tds::DeclareCostBody& cost : costs) {
    if (cost.currency() != currency) {
      auto& [n, amount] = excluded_costs[cost.currency()];
      ++n;
      TDS_RETURN_IF_ERROR(AddChecked(&amount, cost.amount(), "excluded cost"));
      continue;
    }
    tds::CostLine* line = v.add_costs();
    line->set_period(cost.period());
    line->set_category(cost.category());
    line->set_amount(cost.amount());
    line->set_note(cost.note());
    TDS_RETURN_IF_ERROR(AddChecked(&cost_value, cost.amount(), "cost_value"));
  }
  v.set_cost_value(cost_value);

  // Method: every input and formula with its numbers.
  const std::string window = absl::StrCat(first_period, "..", params.as_of_period);
  auto method = [&v](std::string s) { v.add_method(std::move(s)); };
  method(absl::StrCat("currency: ", currency.empty() ? std::string("(none)") : currency, " (",
                      currency_source, "); all amounts in integer minor units"));
  method(absl::StrCat("usage: billable usage records of product ", std::string(product_id),
                      " per period (usage/by_product/", std::string(product_id),
                      "/<period>/), window ", window,
                      "; records flagged with a violation are neither billed nor counted"));
  method(absl::StrCat(
      "revenue: each contract's period priced as in billing statements "
      "(per_call, tiers, per_row, compute, subscription, overage under the "
      "contract's agreed terms); ",
      contracts.size(), " contract(s) of provider ", head->provider(), " for this product"));
  if (!excluded.empty()) {
    std::vector<std::string> parts;
    for (const auto& [cur, amount] : excluded) parts.push_back(absl::StrCat(amount, " ", cur));
    method(absl::StrCat("excluded: revenue in other currencies left out of every figure: ",
                        absl::StrJoin(parts, ", ")));
  }
  std::vector<std::string> per_period;
  for (const tds::ValuationPeriod& p : v.periods()) {
    per_period.push_back(absl::StrCat(p.period(), " ", p.revenue()));
  }
  method(absl::StrCat("trailing_revenue = Σ revenue over ", window, " = ", trailing, " (",
                      absl::StrJoin(per_period, "; "), ")"));
  method(absl::StrCat("distinct_consumers = ", consumers.size(),
                      " (consumers with billable calls or revenue in ", window, ")"));
  if (p3 == 0) {
    method(
        absl::StrCat("trend_bp = 0: undefined, the 3 periods before the last 3 had no revenue "
                     "(last 3 = ",
                     r3, ")"));
  } else {
    method(absl::StrCat("trend_bp = (R3 − P3) × 10000 / P3 = (", r3, " − ", p3, ") × 10000 / ", p3,
                        " = ", v.trend_bp(), " (rounded toward zero; R3 = revenue of ",
                        AddMonths(params.as_of_period, -2), "..", params.as_of_period, ", P3 = of ",
                        AddMonths(params.as_of_period, -5), "..",
                        AddMonths(params.as_of_period, -3), ")"));
  }
  method(absl::StrCat(
      "concentration_hhi = Σ share_i² / 10000 = ", hhi_num, " / 10000 = ", v.concentration_hhi(),
      ", share_i = floor(10000 × revenue_i / ", trailing, ") [",
      shares.empty() ? std::string("no revenue") : absl::StrJoin(shares, "; "),
      "]; top_consumer_share_bp = ", top,
      top_consumer.empty() ? std::string() : absl::StrCat(" (", top_consumer, ")")));
  method(absl::StrCat(
      "income_value = floor(A × Σ_{t=1..", params.horizon_periods, "} w_t / 10^12) = floor(", avg,
      " × ", Int128Text(weights), " / 10^12) = ", v.income_value(), "; A = floor(", trailing, " / ",
      months, ") = ", avg,
      " (trailing revenue over the periods since the first with revenue or calls in the "
      "window), g = ",
      params.growth_bp, " bp per period, r = ", params.discount_rate_bp,
      " bp per year nominal, compounded monthly (r/12 per period), w_0 = 10^12, w_t = "
      "floor(w_{t-1} × (120000 + 12·",
      params.growth_bp, ") / (120000 + ", params.discount_rate_bp, "))"));
  std::string cost_text =
      absl::StrCat("cost_value = Σ declared costs (catalog/cost/", std::string(product_id),
                   "/, periods <= ", params.as_of_period, ") in ", currency, " = ", cost_value,
                   " over ", v.costs_size(), " line(s)");
  for (const auto& [cur, na] : excluded_costs) {
    absl::StrAppend(&cost_text, "; ", na.first, " line(s) in ", cur, " (", na.second, ") excluded");
  }
  method(std::move(cost_text));
  return v;
}

}  // namespace tds::contracts
