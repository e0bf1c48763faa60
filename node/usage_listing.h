#pragma once
// The one implementation of usage-record listing, shared by Contracts.ListUsage
// (proto/query_service.proto) and Audit.ListUsage / Audit.ListViolations
// (proto/node_service.proto), so the three answer with the same fields, checks, access rules and
// pagination.
//
// Access (node/auth.h): an identity is required; auditors and validators read every record,
// anyone else only records where it is the provider or the consumer. A filter naming someone
// else's contract, or a provider/consumer pair the caller is neither of, is PermissionDenied
// naming it; other filters just narrow to the caller's records.
//
// Indexes (contracts/contract_state.h): every filter but the time range has a posting list
// ordered by log index; a page is the intersection of the lists the filters name (a leapfrog
// join: each list seeks to the largest candidate until all agree), and the time range is the
// log-index range found by binary search over the records, since block time never goes back.
// Without a filter the records themselves are the list. Lists are read in windows of entries,
// so a page costs a few state scans per record returned when the filters are independent,
// whatever the size of the log.
//
// Pagination: next_cursor is opaque to clients (today the decimal log index where the next page
// starts). A page may be short, even empty, with a next_cursor when the call spent kScanBudget
// state scans and record reads (lists that interleave without meeting, or a member reading past
// others' records): keep paging until next_cursor is empty.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "ledger/application.h"
#include "node/query_service.h"
#include "proto/contracts.pb.h"
#include "proto/query_service.pb.h"

namespace tds::node {

// An extra condition a record must meet (beyond the request's filters); empty = none.
using UsagePredicate = std::function<bool(const tds::UsageRecordState& record)>;

// What a listing narrows to; empty strings and zero times are open. Fields are validated by
// the caller.
struct UsageFilter {
  std::string contract_id, product_id, provider, consumer, purpose, operation;
  std::string violated_term;  // records with a violation of this term
  bool violations_only = false;
  int64_t from_ms = 0;  // block time, inclusive
  int64_t to_ms = 0;    // exclusive
};
UsageFilter FilterOf(const tds::ListUsageRequest& request);

struct UsagePage {
  std::vector<tds::UsageRecordState> records;  // in log-index order
  // Where the next page starts (a log index), when there may be more.
  std::optional<uint64_t> resume_at;
};

// One page of the records matching `filter` and `also` with log index >= `start`, read through
// the indexes; at most `limit` records. Stops early (with resume_at) once `budget` state scans and
// reads are spent, always past `start`, so paging always ends.
// DataLoss when an index entry has no record or a record is corrupt. REQUIRES: limit > 0.
absl::StatusOr<UsagePage> FindUsageRecords(const ledger::StateReader& state,
                                           const UsageFilter& filter, uint64_t start, size_t limit,
                                           size_t budget, const UsagePredicate& also);

// A log index L such that every usage record below L has block time < `time_ms` and every one
// at or after L has not (one past the last record when none has): a binary search over
// usage/record/, about 64 seeks, that relies on block times never going back along the log.
absl::StatusOr<uint64_t> FirstUsageIndexAtOrAfter(const ledger::StateReader& state,
                                                  int64_t time_ms);

// For an authenticated `caller` (QueryEnv::Authenticate): validates
// every field (InvalidArgument naming it), applies the access rules above and fills one page of
// `response` (with each record's receipt when request.with_receipts). REQUIRES: `response` is
// empty.
// `violated_term` narrows to records breaking that term (Audit.ListViolations).
absl::Status ListUsageRecords(const QueryEnv& env, const Caller& caller,
                              const tds::ListUsageRequest& request, const UsagePredicate& also,
                              tds::ListUsageResponse* response,
                              std::string_view violated_term = {});

// The contract with this id; NotFound "contract 'c-...' not found" when there is none,
// DataLoss when its record is corrupt.
absl::StatusOr<tds::Contract> ReadExistingContract(const ledger::StateReader& state,
                                                   std::string_view id);

// Filters naming a purpose, operation or violated term are short names; longer is refused.
inline constexpr size_t kMaxNameBytes = 64;
// InvalidArgument "<field>: N bytes exceeds the limit of 64" for a longer value.
absl::Status CheckName(std::string_view field, std::string_view value);

}  // namespace tds::node
