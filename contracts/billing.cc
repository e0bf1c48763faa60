#include "contracts/billing.h"

#include <algorithm>
#include <limits>
#include <optional>
#include <set>

#include "absl/strings/str_cat.h"
#include "catalog/price.h"
#include "common/period.h"
#include "common/status_macros.h"
#include "contracts/contract_state.h"
#include "contracts/terms.h"

namespace tds::contracts {
namespace {

constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();

absl::Status Overflow(const std::string& contract_id, std::string_view component) {
  return absl::OutOfRangeError(absl::StrCat("billing: contract ", contract_id, " ",
                                            std::string(component),
                                            " amount overflows int64 minor units"));
}

// a + b into *sum, or OutOfRange. REQUIRES: a, b >= 0.
absl::Status CheckedAdd(int64_t* sum, int64_t v, const std::string& contract_id,
                        std::string_view component) {
  if (v > kInt64Max - *sum) return Overflow(contract_id, component);
  *sum += v;
  return absl::OkStatus();
}

absl::Status CheckedAddU(uint64_t* sum, uint64_t v, const std::string& contract_id,
                         std::string_view what) {
  if (v > std::numeric_limits<uint64_t>::max() - *sum) {
    return absl::OutOfRangeError(absl::StrCat("billing: contract ", contract_id, " total ",
                                              std::string(what), " overflows uint64"));
  }
  *sum += v;
  return absl::OkStatus();
}

// Appends the line quantity × unit when quantity > 0.
absl::Status AddLine(const tds::Contract& c, const std::string& currency, std::string component,
                     uint64_t quantity, int64_t unit, std::vector<tds::StatementLine>* lines) {
  if (quantity == 0) return absl::OkStatus();
  const __int128 amount = static_cast<__int128>(quantity) * unit;
  if (amount > kInt64Max) return Overflow(c.id(), component);
  tds::StatementLine& l = lines->emplace_back();
  l.set_contract_id(c.id());
  l.set_product_id(c.product_id());
  l.set_component(std::move(component));
  l.set_quantity(quantity);
  l.set_unit_price(unit);
  l.set_amount(static_cast<int64_t>(amount));
  l.set_currency(currency);
  return absl::OkStatus();
}

// When the first TERMINATED or EXPIRED event happened, if any.
std::optional<int64_t> EndedMs(const tds::Contract& c) {
  for (const tds::NegotiationEvent& e : c.history()) {
    if (e.to() == tds::TERMINATED || e.to() == tds::EXPIRED) return e.time_ms();
  }
  return std::nullopt;
}

// See billing.h: in force during part of [start_ms, end_ms).
bool SubscriptionDue(const tds::Contract& c, const tds::Terms& t, int64_t start_ms,
                     int64_t end_ms) {
  if (c.activated_height() == 0 || c.activated_ms() >= end_ms) return false;
  if (t.valid_from_ms() >= end_ms) return false;
  if (t.valid_until_ms() != 0 && t.valid_until_ms() <= start_ms) return false;
  const std::optional<int64_t> ended = EndedMs(c);
  return !ended.has_value() || *ended > start_ms;
}

}  // namespace

std::string IndexPrefix(std::string index_key) {
  index_key.resize(index_key.size() - 8);
  return index_key;
}

namespace {

absl::Status ScanError(absl::Status inner, absl::Status scan) { return inner.ok() ? scan : inner; }

}  // namespace

PeriodPricer::PeriodPricer(const ledger::StateReader& state, std::string period, int64_t start_ms,
                           int64_t end_ms)
    : state_(&state), period_(std::move(period)), start_ms_(start_ms), end_ms_(end_ms) {}

absl::StatusOr<PeriodPricer> PeriodPricer::Create(const ledger::StateReader& state,
                                                  std::string_view period) {
  TDS_ASSIGN_OR_RETURN(auto bounds, PeriodBounds(std::string(period)));
  return PeriodPricer(state, std::string(period), bounds.first, bounds.second);
}

absl::StatusOr<PeriodPricer::Entry*> PeriodPricer::EntryFor(const tds::Contract& contract) {
  auto it = entries_.find(contract.id());
  if (it != entries_.end()) return &it->second;
  Entry e;
  TDS_ASSIGN_OR_RETURN(e.terms, ParseTerms(contract.terms()));
  if (absl::Status s = catalog::ValidatePrice(e.terms.price(), "terms.price"); !s.ok()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "billing: contract ", contract.id(), " has an unusable price: ", std::string(s.message())));
  }
  e.contract = contract;
  return &entries_.emplace(contract.id(), std::move(e)).first->second;
}

absl::StatusOr<PeriodPricer::Entry*> PeriodPricer::EntryFor(std::string_view contract_id) {
  auto it = entries_.find(contract_id);
  if (it != entries_.end()) return &it->second;
  TDS_ASSIGN_OR_RETURN(std::optional<tds::Contract> c, ReadContract(*state_, contract_id));
  if (!c.has_value()) {
    return absl::DataLossError(absl::StrCat("billing: a usage record names contract ",
                                            std::string(contract_id), ", which is not in state"));
  }
  return EntryFor(*c);
}

absl::Status PeriodPricer::AddContract(const tds::Contract& contract) {
  return EntryFor(contract).status();
}

absl::Status PeriodPricer::AddRecord(const tds::UsageRecordState& r) {
  if (r.period() != period_) {
    return absl::FailedPreconditionError(absl::StrCat(
        "billing: usage record ", r.index(), " is in period ", r.period(), ", not ", period_));
  }
  TDS_ASSIGN_OR_RETURN(Entry * e, EntryFor(r.contract_id()));
  ++records_;
  ++e->records;
  if (r.violations_size() > 0) {
    violation_indices_.push_back(r.index());
    return absl::OkStatus();
  }
  const tds::Price& price = e->terms.price();
  const tds::Measurement& m = r.measurement();
  const std::string& id = e->contract.id();
  ++e->calls;
  TDS_RETURN_IF_ERROR(CheckedAddU(&e->rows_out, m.rows_out(), id, "rows_out"));
  TDS_RETURN_IF_ERROR(CheckedAddU(&e->compute_ms, m.compute_ms(), id, "compute_ms"));
  if (price.per_compute_second() > 0 && m.compute_ms() > 0) {
    // ceil(compute_ms × per_compute_second / 1000); the product fits in 128 bits.
    const unsigned __int128 milli = static_cast<unsigned __int128>(m.compute_ms()) *
                                    static_cast<uint64_t>(price.per_compute_second());
    const unsigned __int128 amount = (milli + 999) / 1000;
    if (amount > static_cast<unsigned __int128>(kInt64Max)) return Overflow(id, "compute");
    TDS_RETURN_IF_ERROR(
        CheckedAdd(&e->compute_amount, static_cast<int64_t>(amount), id, "compute"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<PeriodPricer::PricedContract>> PeriodPricer::Finish() const {
  std::vector<PricedContract> out;
  for (const auto& [id, e] : entries_) {
    const tds::Price& p = e.terms.price();
    const bool due =
        p.subscription_fee() > 0 && SubscriptionDue(e.contract, e.terms, start_ms_, end_ms_);
    if (e.records == 0 && !due) continue;
    PricedContract pc;
    pc.contract = e.contract;
    pc.currency = p.currency();
    pc.calls = e.calls;
    pc.rows_out = e.rows_out;
    pc.records = e.records;
    std::vector<tds::StatementLine>& lines = pc.lines;
    const tds::Contract& c = e.contract;
    if (p.tiers_size() == 0 && p.per_call() > 0) {
      TDS_RETURN_IF_ERROR(AddLine(c, p.currency(), "per_call", e.calls, p.per_call(), &lines));
    }
    uint64_t remaining = e.calls;
    uint64_t previous_bound = 0;
    for (int i = 0; i < p.tiers_size() && remaining > 0; ++i) {
      const tds::Tier& tier = p.tiers(i);
      const bool open = tier.up_to_calls() == 0 || i + 1 == p.tiers_size();
      const uint64_t width =
          tier.up_to_calls() > previous_bound ? tier.up_to_calls() - previous_bound : 0;
      const uint64_t q = open ? remaining : std::min(remaining, width);
      TDS_RETURN_IF_ERROR(
          AddLine(c, p.currency(), absl::StrCat("tier_", i + 1), q, tier.per_call(), &lines));
      remaining -= q;
      previous_bound = tier.up_to_calls();
    }
    if (p.per_row() > 0) {
      TDS_RETURN_IF_ERROR(AddLine(c, p.currency(), "per_row", e.rows_out, p.per_row(), &lines));
    }
    if (p.per_compute_second() > 0 && e.compute_ms > 0) {
      tds::StatementLine& l = lines.emplace_back();
      l.set_contract_id(c.id());
      l.set_product_id(c.product_id());
      l.set_component("compute");
      l.set_quantity(e.compute_ms);
      l.set_unit_price(0);
      l.set_amount(e.compute_amount);
      l.set_currency(p.currency());
    }
    if (due) {
      TDS_RETURN_IF_ERROR(
          AddLine(c, p.currency(), "subscription", 1, p.subscription_fee(), &lines));
    }
    if (p.overage_per_call() > 0 && e.calls > p.included_calls()) {
      TDS_RETURN_IF_ERROR(AddLine(c, p.currency(), "overage", e.calls - p.included_calls(),
                                  p.overage_per_call(), &lines));
    }
    for (const tds::StatementLine& l : lines) {
      TDS_RETURN_IF_ERROR(CheckedAdd(&pc.amount, l.amount(), c.id(), "total"));
    }
    out.push_back(std::move(pc));
  }
  return out;
}

absl::StatusOr<std::vector<tds::Contract>> ContractsOfProvider(const ledger::StateReader& state,
                                                               std::string_view provider) {
  const std::string prefix =
      absl::StrCat(std::string(kContractByPartyPrefix), std::string(provider), "/");
  std::vector<std::string> ids;
  TDS_RETURN_IF_ERROR(state.Scan(prefix, "", std::numeric_limits<size_t>::max(),
                                 [&](std::string_view key, std::string_view) {
                                   ids.emplace_back(key.substr(prefix.size()));
                                   return true;
                                 }));
  std::vector<tds::Contract> out;
  for (const std::string& id : ids) {
    TDS_ASSIGN_OR_RETURN(std::optional<tds::Contract> c, ReadContract(state, id));
    if (c.has_value() && c->provider() == provider) out.push_back(std::move(*c));
  }
  return out;
}

absl::StatusOr<tds::Statement> ComputeStatement(const ledger::StateReader& state,
                                                std::string_view provider,
                                                std::string_view consumer,
                                                std::string_view period) {
  TDS_ASSIGN_OR_RETURN(PeriodPricer pricer, PeriodPricer::Create(state, period));
  TDS_ASSIGN_OR_RETURN(std::vector<tds::Contract> contracts, ContractsOfProvider(state, provider));
  for (const tds::Contract& c : contracts) {
    if (c.consumer() == consumer) TDS_RETURN_IF_ERROR(pricer.AddContract(c));
  }
  const std::string prefix = IndexPrefix(UsageByPairKey(provider, consumer, period, 0));
  absl::Status inner;
  absl::Status scan = state.Scan(
      prefix, "", std::numeric_limits<size_t>::max(), [&](std::string_view key, std::string_view) {
        auto rec = ReadUsageRecord(state, IndexFromKey(key));
        if (!rec.ok()) {
          inner = rec.status();
        } else if (!rec->has_value()) {
          inner = absl::DataLossError(absl::StrCat("billing: usage index names record ",
                                                   IndexFromKey(key), ", which is not in state"));
        } else {
          inner = pricer.AddRecord(**rec);
        }
        return inner.ok();
      });
  TDS_RETURN_IF_ERROR(ScanError(inner, scan));
  TDS_ASSIGN_OR_RETURN(std::vector<PeriodPricer::PricedContract> priced, pricer.Finish());

  tds::Statement st;
  st.set_provider(std::string(provider));
  st.set_consumer(std::string(consumer));
  st.set_period(std::string(period));
  std::map<std::string, int64_t> totals;
  for (PeriodPricer::PricedContract& pc : priced) {
    for (tds::StatementLine& l : pc.lines) *st.add_lines() = std::move(l);
    int64_t& total = totals[pc.currency];
    TDS_RETURN_IF_ERROR(CheckedAdd(&total, pc.amount, pc.contract.id(), "statement total"));
  }
  for (const auto& [currency, amount] : totals) {
    tds::CurrencyAmount* t = st.add_totals();
    t->set_currency(currency);
    t->set_amount(amount);
  }
  st.set_records(pricer.records());
  std::vector<uint64_t> violations = pricer.violation_indices();
  std::sort(violations.begin(), violations.end());
  for (uint64_t i : violations) st.add_violation_indices(i);
  return st;
}

absl::StatusOr<std::vector<tds::Statement>> ListStatements(const ledger::StateReader& state,
                                                           std::string_view provider,
                                                           std::string_view period) {
  TDS_ASSIGN_OR_RETURN(std::vector<tds::Contract> contracts, ContractsOfProvider(state, provider));
  std::set<std::string> consumers;
  for (const tds::Contract& c : contracts) consumers.insert(c.consumer());
  std::vector<tds::Statement> out;
  for (const std::string& consumer : consumers) {
    TDS_ASSIGN_OR_RETURN(tds::Statement st, ComputeStatement(state, provider, consumer, period));
    if (st.records() > 0 || st.lines_size() > 0) out.push_back(std::move(st));
  }
  return out;
}

}  // namespace tds::contracts
