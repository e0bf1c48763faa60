#pragma once
// Data-asset valuation report (数据资产入表) for one product: a deterministic function of ledger
// state, in integers only, so every member recomputes the same figures. Every input and
// formula is also printed, with its numbers, in Valuation.method.
//
// Window: the 12 periods ("YYYY-MM", UTC) ending at as_of_period, oldest first; later usage
// is ignored. Per period, the product's usage records (usage/by_product/<id>/<period>/) and its
// contracts (the provider's contracts for this product, for subscription fees) are priced
// exactly as billing statements price them (PeriodPricer, contracts/billing.h): violations are
// not billed and are not counted as calls.
//   calls, rows        billable calls and their Σ rows_out
//   revenue            Σ priced amounts in the report currency
//   consumers          consumers with billable calls or revenue in the period
// Report currency: the currency of the product's offer price; if unset, of the first priced
// contract; if none, of the first declared cost. Contracts priced in another currency are left
// out of every figure (calls, rows, revenue, consumers), and so are costs declared in another
// currency; both are reported in `method`.
//   trailing_revenue   Σ revenue over the window
//   trend_bp           (R3 − P3) × 10000 / P3, rounded toward zero, R3 = revenue of the last 3
//                      periods, P3 = of the 3 before; 0 when P3 = 0 (stated as undefined)
//   concentration      share_i = floor(10000 × revenue_i / trailing_revenue) per consumer over
//                      the window; HHI = Σ share_i² / 10000 (floor), 0..10000;
//                      top_consumer_share_bp = max share_i; both 0 without revenue
//   income_value       A × Σ_{t=1..H} ((1 + g) / (1 + r/12))^t, where A = floor(trailing_revenue
//                      / m), m = periods from the first window period with revenue or calls to
//                      as_of_period (12 without any), g = growth_bp / 10000 per period,
//                      r = discount_rate_bp / 10000 per year as a nominal rate compounded
//                      monthly; the weights are computed in 1e-12 fixed point, w_0 = 10^12,
//                      w_t = floor(w_{t-1} × (120000 + 12·growth_bp) / (120000 +
//                      discount_rate_bp)), and income_value = floor(A × Σ w_t / 10^12)
//   cost_value         Σ costs the provider declared (catalog.declare_cost: state
//                      catalog/cost/<id>/<period>/…) for periods <= as_of_period, each listed
// Overflow of any figure is OutOfRange, never a wrapped number.

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "ledger/application.h"
#include "proto/contracts.pb.h"

namespace tds::contracts {

struct ValuationParams {
  std::string as_of_period;  // "YYYY-MM", required
  // Annual discount rate, basis points; 0..100000.
  uint32_t discount_rate_bp = 1000;
  // Projection horizon in periods (months); 1..600.
  uint32_t horizon_periods = 36;
  // Revenue growth per period, basis points; -9999..10000.
  int64_t growth_bp = 0;
};

inline constexpr int kValuationWindowPeriods = 12;

// The valuation report of `product_id`. NotFound if the product does not exist;
// InvalidArgument naming the parameter if params are out of range; OutOfRange on overflow.
absl::StatusOr<tds::Valuation> ComputeValuation(const ledger::StateReader& state,
                                                std::string_view product_id,
                                                const ValuationParams& params);

}  // namespace tds::contracts
