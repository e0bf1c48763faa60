#include "sdk/cli/billing_cmd.h"

#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_join.h"
#include "sdk/cli/describe.h"
#include "sdk/cli/output.h"
#include "sdk/cli/session.h"

namespace tds::cli {
namespace {

// --- bill ---

struct BillArgs {
  std::string period, provider, consumer;
  OutputFormat format = OutputFormat::kTable;
};

void PrintStatement(std::ostream& out, const tds::Statement& s) {
  out << "statement: provider " << s.provider() << ", consumer " << s.consumer() << ", period "
      << s.period() << "\n";
  Listing lines({"contract", "product", "component", "quantity", "unit_price", "amount"});
  for (const tds::StatementLine& l : s.lines()) {
    lines.AddRow({l.contract_id(), l.product_id(), l.component(), std::to_string(l.quantity()),
                  l.unit_price() == 0 ? "" : Money(l.unit_price(), l.currency()),
                  Money(l.amount(), l.currency())},
                 l);
  }
  lines.Print(out, OutputFormat::kTable);
  for (const tds::CurrencyAmount& t : s.totals()) {
    out << "total: " << Money(t.amount(), t.currency()) << " (" << t.amount() << " minor units)\n";
  }
  if (s.totals_size() == 0) out << "total: nothing due\n";
  out << "records: " << s.records();
  if (s.violation_indices_size() > 0) {
    std::vector<std::string> idx;
    for (uint64_t i : s.violation_indices()) idx.push_back(std::to_string(i));
    out << " (" << s.violation_indices_size()
        << " violation(s) listed, not billed: " << absl::StrJoin(idx, ", ") << ")";
  }
  out << "\n";
}

int RunBill(const GlobalOptions& g, const BillArgs& a) {
  absl::StatusOr<std::unique_ptr<Session>> session = OpenSession(g, KeyUse::kRequired);
  if (!session.ok()) return Fail(session.status());
  tds::GetStatementRequest request;
  request.set_period(a.period);
  request.set_provider(a.provider.empty() ? (*session)->member_id : a.provider);
  request.set_consumer(a.consumer);
  absl::StatusOr<tds::GetStatementResponse> r = (*session)->query->GetStatement(request);
  if (!r.ok()) return Fail(r.status());
  switch (a.format) {
    case OutputFormat::kTable:
      if (r->statements_size() == 0) std::cout << "no statements for " << a.period << "\n";
      for (int i = 0; i < r->statements_size(); ++i) {
        if (i > 0) std::cout << "\n";
        PrintStatement(std::cout, r->statements(i));
      }
      break;
    case OutputFormat::kJson: {
      Listing statements({"provider"});
      for (const tds::Statement& s : r->statements()) statements.AddRow({s.provider()}, s);
      statements.Print(std::cout, a.format);
      break;
    }
    case OutputFormat::kCsv: {
      // One row per statement line, the statement's parties and period alongside.
      Listing lines({"provider", "consumer", "period", "contract", "product", "component",
                     "quantity", "unit_price", "amount", "currency"});
      for (const tds::Statement& s : r->statements()) {
        for (const tds::StatementLine& l : s.lines()) {
          lines.AddRow({s.provider(), s.consumer(), s.period(), l.contract_id(), l.product_id(),
                        l.component(), std::to_string(l.quantity()), std::to_string(l.unit_price()),
                        std::to_string(l.amount()), l.currency()},
                       l);
        }
      }
      lines.Print(std::cout, a.format);
      break;
    }
  }
  return 0;
}

// --- value ---

struct ValueArgs {
  std::string product, as_of;
  uint32_t discount_rate_bp = 0, horizon = 0;
  int64_t growth_bp = 0;
  OutputFormat format = OutputFormat::kTable;
};

void PrintValuation(std::ostream& out, const tds::Valuation& v) {
  const std::string& c = v.currency();
  out << "valuation of product " << v.product_id() << " (provider " << v.provider() << ")\n"
      << "inputs:\n"
      << "  as of period:      " << v.as_of_period() << "\n"
      << "  currency:          " << (c.empty() ? "-" : c) << "\n"
      << "  discount rate:     " << v.discount_rate_bp() << " bp a year\n"
      << "  horizon:           " << v.horizon_periods() << " periods\n"
      << "  growth:            " << v.growth_bp() << " bp per period\n"
      << "usage by period:\n";
  Listing periods({"period", "calls", "rows", "revenue", "consumers"});
  for (const tds::ValuationPeriod& p : v.periods()) {
    periods.AddRow({p.period(), std::to_string(p.calls()), std::to_string(p.rows()),
                    Money(p.revenue(), c), std::to_string(p.consumers())},
                   p);
  }
  periods.Print(out, OutputFormat::kTable);
  out << "figures:\n"
      << "  distinct consumers:    " << v.distinct_consumers() << "\n"
      << "  trailing revenue:      " << Money(v.trailing_revenue(), c) << "\n"
      << "  trend:                 " << v.trend_bp() << " bp\n"
      << "  concentration (HHI):   " << v.concentration_hhi() << "\n"
      << "  top consumer share:    " << v.top_consumer_share_bp() << " bp\n"
      << "  income approach value: " << Money(v.income_value(), c) << "\n"
      << "  cost approach value:   " << Money(v.cost_value(), c) << "\n";
  if (v.costs_size() > 0) {
    out << "declared costs:\n";
    Listing costs({"period", "category", "amount", "note"});
    for (const tds::CostLine& l : v.costs()) {
      costs.AddRow({l.period(), l.category(), Money(l.amount(), c), l.note()}, l);
    }
    costs.Print(out, OutputFormat::kTable);
  }
  out << "method:\n";
  for (const std::string& line : v.method()) out << "  " << line << "\n";
}

int RunValue(const GlobalOptions& g, const ValueArgs& a) {
  absl::StatusOr<std::unique_ptr<Session>> session = OpenSession(g, KeyUse::kRequired);
  if (!session.ok()) return Fail(session.status());
  tds::GetValuationRequest request;
  request.set_product_id(a.product);
  request.set_as_of_period(a.as_of);
  request.set_discount_rate_bp(a.discount_rate_bp);
  request.set_horizon_periods(a.horizon);
  request.set_growth_bp(a.growth_bp);
  absl::StatusOr<tds::GetValuationResponse> r = (*session)->query->GetValuation(request);
  if (!r.ok()) return Fail(r.status());
  const tds::Valuation& v = r->valuation();
  switch (a.format) {
    case OutputFormat::kTable:
      PrintValuation(std::cout, v);
      break;
    case OutputFormat::kJson: {
      Listing one({"product_id"});
      one.AddRow({v.product_id()}, v);
      one.Print(std::cout, a.format);
      break;
    }
    case OutputFormat::kCsv: {
      Listing periods(
          {"product_id", "period", "calls", "rows", "revenue", "consumers", "currency"});
      for (const tds::ValuationPeriod& p : v.periods()) {
        periods.AddRow(
            {v.product_id(), p.period(), std::to_string(p.calls()), std::to_string(p.rows()),
             std::to_string(p.revenue()), std::to_string(p.consumers()), v.currency()},
            p);
      }
      periods.Print(std::cout, a.format);
      break;
    }
  }
  return 0;
}

}  // namespace

void AddBillingCommands(CLI::App& app, Context& ctx) {
  const GlobalOptions& g = ctx.options;

  auto b = std::make_shared<BillArgs>();
  CLI::App* bill = app.add_subcommand(
      "bill", "Billing statement(s) for a month: one line per contract and price component");
  bill->add_option("--period", b->period, "Month of block time (UTC), YYYY-MM")->required();
  bill->add_option("--provider", b->provider, "The provider billing (default: you)");
  bill->add_option("--consumer", b->consumer,
                   "The consumer billed (default: every consumer of the provider when you are "
                   "the provider, otherwise you)");
  AddOutputOption(bill, &b->format);
  bill->footer(
      "Signs its query with --key: statements are visible to their provider, their consumer "
      "and auditors.\nRecords flagged as violations are listed, not billed. Amounts are exact "
      "(integer minor units; shown in major units).\n-o json: an array of tds.Statement; "
      "-o csv: one row per statement line, amounts in minor units.\n"
      "Example: tds --key bank.key bill --period 2025-03 --provider zj-tax-data");
  OnRun(bill, ctx, [&g, b] { return RunBill(g, *b); });

  auto v = std::make_shared<ValueArgs>();
  CLI::App* value = app.add_subcommand(
      "value",
      "Data-asset valuation report of a product: usage, revenue, trend, concentration, "
      "income and cost approaches, with every input and method line");
  value->add_option("PRODUCT", v->product, "Product id")->required();
  value->add_option("--as-of", v->as_of,
                    "Last period of the 12-period window, YYYY-MM "
                    "(default: the month of the latest block)");
  value->add_option("--discount-rate-bp", v->discount_rate_bp,
                    "Annual discount rate in basis points (default 1000 = 10%)");
  value->add_option("--horizon", v->horizon, "Projection horizon in months (default 36)");
  value->add_option("--growth-bp", v->growth_bp,
                    "Revenue growth per month in basis points (default 0; may be negative)");
  AddOutputOption(value, &v->format);
  value->footer(
      "Signs its query with --key: visible to the product's provider and auditors.\n"
      "-o json: the tds.Valuation (in an array); -o csv: the per-period usage rows.");
  OnRun(value, ctx, [&g, v] { return RunValue(g, *v); });
}

}  // namespace tds::cli
