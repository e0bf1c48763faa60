#pragma once
// Billing statements: a deterministic function of ledger state, so any member recomputes the
// same figures. Money is int64 minor units; every product and sum is checked (OutOfRange
// naming the contract and component on overflow, never a wrapped figure).
//
// A statement covers (provider, consumer, period = "YYYY-MM" of block time, UTC). Its records
// are the usage records indexed under usage/by_pair/<provider>/<consumer>/<period>/. Records
// flagged with a violation are counted and listed in violation_indices but NOT billed, and they
// do not count as calls below (the provider cannot charge for a use that broke the terms).
// Every other record is a billable call, priced under its contract's agreed terms
// (Contract.terms → Terms.price). Per contract (in contract id order), one line per component
// the price sets, when its quantity is > 0, in this order:
//   per_call      quantity = calls,            unit = per_call       (absent when tiers are set)
//   tier_1, ...   graduated: the period's calls numbered 1..n; tier i takes the calls in
//                 (up_to of tier i-1, up_to of tier i]; calls beyond the last tier's bound stay
//                 in the last tier; unit = tier per_call
//   per_row       quantity = Σ rows_out,       unit = per_row
//   compute       quantity = Σ compute_ms,     unit = 0, amount = Σ over calls of
//                 ceil(compute_ms × per_compute_second / 1000)
//   subscription  quantity = 1,                unit = subscription_fee  (when due, see below)
//   overage       quantity = max(0, calls − included_calls), unit = overage_per_call
// The subscription fee is due once per period for a contract that was in force during part of
// it: activated (activated_height > 0) before the period ends, its agreed window
// [valid_from_ms, valid_until_ms) overlaps the period, and it had not been terminated or
// expired (first TERMINATED/EXPIRED history event) before the period began — whether or not it
// was used. Suspension does not waive it. No proration.
// Totals: one per currency, sorted by currency code.

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "ledger/application.h"
#include "proto/contracts.pb.h"

namespace tds::contracts {

// The statement for one (provider, consumer, period). InvalidArgument if the period is not
// "YYYY-MM"; an empty statement (no lines, no records) when nothing was used or due.
absl::StatusOr<tds::Statement> ComputeStatement(const ledger::StateReader& state,
                                                std::string_view provider,
                                                std::string_view consumer, std::string_view period);

// The statements of every consumer of `provider` (any consumer of one of its contracts) for
// `period`, in consumer id order, omitting empty ones.
absl::StatusOr<std::vector<tds::Statement>> ListStatements(const ledger::StateReader& state,
                                                           std::string_view provider,
                                                           std::string_view period);

// The contracts `provider` is the provider of (from the contract_by_party index), in contract
// id order.
absl::StatusOr<std::vector<tds::Contract>> ContractsOfProvider(const ledger::StateReader& state,
                                                               std::string_view provider);

// An index key without its trailing be64 log index: the prefix that lists its siblings.
// REQUIRES: index_key was made by one of the Usage*Key builders.
std::string IndexPrefix(std::string index_key);

// The pricing engine behind statements and valuation reports: prices one period's usage,
// contract by contract, as described above. Feed it the contracts that may owe a subscription
// and the period's usage records (any order), then Finish().
class PeriodPricer {
 public:
  struct PricedContract {
    tds::Contract contract;
    std::string currency;
    std::vector<tds::StatementLine> lines;
    int64_t amount = 0;     // Σ line amounts
    uint64_t calls = 0;     // billable calls
    uint64_t rows_out = 0;  // Σ rows_out of billable calls
    uint64_t records = 0;   // records of this contract, violations included
  };

  // `state` must outlive the pricer. InvalidArgument if `period` is not "YYYY-MM".
  static absl::StatusOr<PeriodPricer> Create(const ledger::StateReader& state,
                                             std::string_view period);

  // Considers `contract` for its subscription fee even if it has no records in the period.
  absl::Status AddContract(const tds::Contract& contract);
  // Adds one usage record of the period (its contract is read from state when not yet known).
  // REQUIRES: record.period() is this period (FailedPrecondition otherwise).
  absl::Status AddRecord(const tds::UsageRecordState& record);

  // Every contract with records or a subscription due, in contract id order.
  absl::StatusOr<std::vector<PricedContract>> Finish() const;
  uint64_t records() const { return records_; }
  const std::vector<uint64_t>& violation_indices() const { return violation_indices_; }

 private:
  struct Entry {
    tds::Contract contract;
    tds::Terms terms;
    uint64_t calls = 0;
    uint64_t rows_out = 0;
    uint64_t compute_ms = 0;
    int64_t compute_amount = 0;
    uint64_t records = 0;
  };
  PeriodPricer(const ledger::StateReader& state, std::string period, int64_t start_ms,
               int64_t end_ms);
  absl::StatusOr<Entry*> EntryFor(const tds::Contract& contract);
  absl::StatusOr<Entry*> EntryFor(std::string_view contract_id);

  const ledger::StateReader* state_;
  std::string period_;
  int64_t start_ms_;
  int64_t end_ms_;
  std::map<std::string, Entry, std::less<>> entries_;
  uint64_t records_ = 0;
  std::vector<uint64_t> violation_indices_;
};

}  // namespace tds::contracts
