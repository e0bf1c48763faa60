#include "node/usage_listing.h"

#include <algorithm>
#include <limits>
#include <optional>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/bytes.h"
#include "common/status_macros.h"
#include "contracts/billing.h"
#include "contracts/contract_state.h"
#include "ledger/ledger.h"
#include "node/paged_scan.h"  // kScanBudget
#include "node/request_checks.h"

namespace tds::node {
namespace {

// One posting list: keys prefix + be64(log index), in index order.
struct PostingList {
  std::string prefix;
  // The values are the records themselves (usage/record/), not empty index entries.
  bool values_are_records = false;
};

struct Posting {
  uint64_t index = 0;
  std::string value;
};

// Up to `limit` entries of `list` with log index >= `at`, in order.
absl::StatusOr<std::vector<Posting>> ReadPostings(const ledger::StateReader& state,
                                                  const PostingList& list, uint64_t at,
                                                  size_t limit) {
  std::string after;
  if (at > 0) {
    after = list.prefix;
    PutFixed64BE(&after, at - 1);
  }
  std::vector<Posting> out;
  TDS_RETURN_IF_ERROR(
      state.Scan(list.prefix, after, limit, [&](std::string_view key, std::string_view value) {
        out.push_back({contracts::IndexFromKey(key),
                       list.values_are_records ? std::string(value) : std::string()});
        return true;
      }));
  return out;
}

// A position in one posting list that only moves forward. Entries are read a window at a time:
// a state scan costs far more than stepping through entries already read, and in a join of
// interleaved lists most seeks land a few entries ahead.
class ListCursor {
 public:
  explicit ListCursor(PostingList list) : list_(std::move(list)) {}

  // The first entry with log index >= `at`, if any. REQUIRES: `at` never decreases.
  // `*scans` counts the state scans made.
  absl::StatusOr<const Posting*> Seek(const ledger::StateReader& state, uint64_t at,
                                      size_t* scans) {
    if (!window_.empty() && at >= window_from_ && (at <= window_.back().index || window_is_tail_)) {
      while (pos_ < window_.size() && window_[pos_].index < at) ++pos_;
      if (pos_ < window_.size()) return &window_[pos_];
      return nullptr;  // past the list's last entry
    }
    // Walking (the last read ended at its last entry): read twice as many; jumping: few.
    const bool walking = !window_.empty() && pos_ + 1 >= window_.size();
    window_size_ = walking ? std::min(kMaxWindow, 2 * window_size_) : kMinWindow;
    ++*scans;
    TDS_ASSIGN_OR_RETURN(window_, ReadPostings(state, list_, at, window_size_));
    window_from_ = at;
    window_is_tail_ = window_.size() < window_size_;
    pos_ = 0;
    if (window_.empty()) return nullptr;
    return &window_[0];
  }
  const PostingList& list() const { return list_; }

 private:
  static constexpr size_t kMinWindow = 16, kMaxWindow = 1024;
  size_t window_size_ = kMinWindow;
  PostingList list_;
  std::vector<Posting> window_;  // every entry of the list in [window_from_, back]
  uint64_t window_from_ = 0;
  bool window_is_tail_ = false;  // the window reaches the list's end
  size_t pos_ = 0;
};

absl::StatusOr<tds::UsageRecordState> ParseRecord(uint64_t index, std::string_view bytes) {
  tds::UsageRecordState record;
  if (!record.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return absl::DataLossError(absl::StrCat("state: usage record at index ", index, " is corrupt"));
  }
  return record;
}

// The lists a filter intersects: one per named field; the records themselves when none.
std::vector<PostingList> ListsOf(const UsageFilter& f) {
  using contracts::UsageField;
  using contracts::UsageIndexPrefix;
  std::vector<PostingList> lists;
  if (!f.contract_id.empty()) {
    lists.push_back(
        {absl::StrCat(std::string(contracts::kUsageByContractPrefix), f.contract_id, "/")});
  }
  const std::pair<UsageField, const std::string*> fields[] = {
      {UsageField::kProvider, &f.provider},   {UsageField::kConsumer, &f.consumer},
      {UsageField::kProduct, &f.product_id},  {UsageField::kPurpose, &f.purpose},
      {UsageField::kOperation, &f.operation}, {UsageField::kViolatedTerm, &f.violated_term}};
  for (const auto& [field, value] : fields) {
    if (!value->empty()) lists.push_back({UsageIndexPrefix(field, *value)});
  }
  if (f.violations_only && f.violated_term.empty()) {
    lists.push_back({std::string(contracts::kUsageViolationPrefix)});
  }
  if (lists.empty()) lists.push_back({std::string(contracts::kUsageRecordPrefix), true});
  return lists;
}

// Every condition of the filter checked on the record itself: the indexes choose candidates,
// this decides (so a record seeded with an out-of-order time is still never wrongly listed).
bool UsageMatches(const UsageFilter& q, const tds::UsageRecordState& r) {
  if (!q.contract_id.empty() && r.contract_id() != q.contract_id) return false;
  if (!q.product_id.empty() && r.product_id() != q.product_id) return false;
  if (!q.provider.empty() && r.provider() != q.provider) return false;
  if (!q.consumer.empty() && r.consumer() != q.consumer) return false;
  if (!q.purpose.empty() && r.purpose() != q.purpose) return false;
  if (!q.operation.empty() && r.operation() != q.operation) return false;
  if (q.from_ms != 0 && r.block_time_ms() < q.from_ms) return false;
  if (q.to_ms != 0 && r.block_time_ms() >= q.to_ms) return false;
  if ((q.violations_only || !q.violated_term.empty()) && r.violations_size() == 0) return false;
  if (!q.violated_term.empty()) {
    bool broke = false;
    for (const tds::Violation& v : r.violations()) broke = broke || v.term() == q.violated_term;
    if (!broke) return false;
  }
  return true;
}

}  // namespace

UsageFilter FilterOf(const tds::ListUsageRequest& request) {
  UsageFilter f;
  f.contract_id = request.contract_id();
  f.product_id = request.product_id();
  f.provider = request.provider();
  f.consumer = request.consumer();
  f.purpose = request.purpose();
  f.operation = request.operation();
  f.violations_only = request.violations_only();
  f.from_ms = request.from_ms();
  f.to_ms = request.to_ms();
  return f;
}

absl::StatusOr<uint64_t> FirstUsageIndexAtOrAfter(const ledger::StateReader& state,
                                                  int64_t time_ms) {
  const PostingList records{std::string(contracts::kUsageRecordPrefix), true};
  // Invariant: every record below `lo` is earlier than time_ms; the first record at or after
  // `hi` (if any) is not.
  uint64_t lo = 0, hi = std::numeric_limits<uint64_t>::max();
  while (lo < hi) {
    const uint64_t mid = lo + (hi - lo) / 2;
    TDS_ASSIGN_OR_RETURN(std::vector<Posting> found, ReadPostings(state, records, mid, 1));
    const Posting* p = found.empty() ? nullptr : &found[0];
    if (p == nullptr) {
      hi = mid;
      continue;
    }
    TDS_ASSIGN_OR_RETURN(tds::UsageRecordState r, ParseRecord(p->index, p->value));
    if (r.block_time_ms() >= time_ms) {
      hi = mid;
    } else {
      lo = p->index + 1;
    }
  }
  return lo;
}

absl::StatusOr<UsagePage> FindUsageRecords(const ledger::StateReader& state,
                                           const UsageFilter& filter, uint64_t start, size_t limit,
                                           size_t budget, const UsagePredicate& also) {
  UsagePage page;
  std::vector<ListCursor> lists;
  for (PostingList& list : ListsOf(filter)) lists.emplace_back(std::move(list));
  uint64_t lo = start;
  uint64_t hi = std::numeric_limits<uint64_t>::max();  // exclusive
  if (filter.from_ms != 0) {
    TDS_ASSIGN_OR_RETURN(uint64_t from, FirstUsageIndexAtOrAfter(state, filter.from_ms));
    lo = std::max(lo, from);
  }
  if (filter.to_ms != 0) {
    TDS_ASSIGN_OR_RETURN(hi, FirstUsageIndexAtOrAfter(state, filter.to_ms));
  }
  size_t spent = 0;  // state scans and record reads
  uint64_t candidate = lo;
  while (candidate < hi) {
    // Leapfrog: move the candidate to each list's next entry at or after it until a full round
    // of lists agrees on it. Every index below the candidate is decided (not in some list).
    size_t agree = 0;
    const Posting* with_record = nullptr;  // when the only list is the records themselves
    for (size_t j = 0; agree < lists.size(); j = (j + 1) % lists.size()) {
      // Out of budget: stop, but only past `lo`, so that every call makes progress.
      if (spent >= budget && candidate != lo) {
        page.resume_at = candidate;
        return page;
      }
      TDS_ASSIGN_OR_RETURN(const Posting* p, lists[j].Seek(state, candidate, &spent));
      if (p == nullptr || p->index >= hi) return page;  // a list is exhausted: no more
      if (p->index == candidate) {
        ++agree;
      } else {
        candidate = p->index;
        agree = 1;
      }
      if (lists[j].list().values_are_records) with_record = p;
    }
    // Every list holds `candidate`; the record decides.
    tds::UsageRecordState record;
    if (lists.size() == 1 && with_record != nullptr) {
      TDS_ASSIGN_OR_RETURN(record, ParseRecord(candidate, with_record->value));
    } else {
      ++spent;
      TDS_ASSIGN_OR_RETURN(std::optional<tds::UsageRecordState> r,
                           contracts::ReadUsageRecord(state, candidate));
      if (!r.has_value()) {
        return absl::DataLossError(
            absl::StrCat("state: index entry for usage record ", candidate, " has no record"));
      }
      record = *std::move(r);
    }
    if (UsageMatches(filter, record) && (!also || also(record))) {
      if (page.records.size() == limit) {  // this record starts the next page
        page.resume_at = candidate;
        return page;
      }
      page.records.push_back(std::move(record));
    }
    if (candidate == std::numeric_limits<uint64_t>::max()) break;
    ++candidate;
  }
  return page;
}

absl::StatusOr<tds::Contract> ReadExistingContract(const ledger::StateReader& state,
                                                   std::string_view id) {
  TDS_ASSIGN_OR_RETURN(std::optional<tds::Contract> contract, contracts::ReadContract(state, id));
  if (!contract.has_value()) {
    return absl::NotFoundError(absl::StrCat("contract '", std::string(id), "' not found"));
  }
  return *std::move(contract);
}

absl::Status CheckName(std::string_view field, std::string_view value) {
  if (value.size() <= kMaxNameBytes) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(std::string(field), ": ", value.size(),
                                                 " bytes exceeds the limit of ", kMaxNameBytes));
}

absl::Status ListUsageRecords(const QueryEnv& env, const Caller& caller,
                              const tds::ListUsageRequest& request, const UsagePredicate& also,
                              tds::ListUsageResponse* response, std::string_view violated_term) {
  TDS_RETURN_IF_ERROR(
      RequireIdentity(caller, "usage records are visible to the parties of their contract only"));
  TDS_RETURN_IF_ERROR(CheckContractId("contract_id", request.contract_id(), false));
  TDS_RETURN_IF_ERROR(CheckProductId("product_id", request.product_id(), false));
  TDS_RETURN_IF_ERROR(CheckMemberId("provider", request.provider(), false));
  TDS_RETURN_IF_ERROR(CheckMemberId("consumer", request.consumer(), false));
  TDS_RETURN_IF_ERROR(CheckName("purpose", request.purpose()));
  TDS_RETURN_IF_ERROR(CheckName("operation", request.operation()));
  if (request.from_ms() < 0 || request.to_ms() < 0) {
    return absl::InvalidArgumentError("from_ms, to_ms: block times must not be negative");
  }
  if (request.from_ms() != 0 && request.to_ms() != 0 && request.to_ms() <= request.from_ms()) {
    return absl::InvalidArgumentError(
        absl::StrCat("to_ms: ", request.to_ms(), " is not after from_ms ", request.from_ms()));
  }
  TDS_ASSIGN_OR_RETURN(size_t limit, PageLimit(request.page()));
  uint64_t start = 0;
  if (!request.page().cursor().empty()) {
    TDS_ASSIGN_OR_RETURN(start, ParseNumericCursor("page.cursor", request.page().cursor()));
  }

  const ledger::StateReader& state = env.ledger().state();
  const bool restricted = !caller.ReadsEverything();
  if (!request.contract_id().empty()) {
    TDS_ASSIGN_OR_RETURN(tds::Contract contract,
                         ReadExistingContract(state, request.contract_id()));
    TDS_RETURN_IF_ERROR(CheckContractAccess(caller, contract));
  } else if (restricted && !request.provider().empty() && !request.consumer().empty() &&
             request.provider() != caller.member_id && request.consumer() != caller.member_id) {
    return absl::PermissionDeniedError(
        absl::StrCat(caller.Describe(),
                     " may read only usage where it is the provider or the consumer, not "
                     "usage between provider '",
                     request.provider(), "' and consumer '", request.consumer(), "'"));
  }

  UsageFilter filter = FilterOf(request);
  filter.violated_term = std::string(violated_term);
  // A member other than an auditor reads only records where it is a party.
  UsagePredicate visible = [&](const tds::UsageRecordState& record) {
    if (restricted && record.provider() != caller.member_id &&
        record.consumer() != caller.member_id) {
      return false;
    }
    return !also || also(record);
  };
  TDS_ASSIGN_OR_RETURN(UsagePage page,
                       FindUsageRecords(state, filter, start, limit, kScanBudget, visible));
  for (tds::UsageRecordState& record : page.records) {
    tds::UsageItem* item = response->add_items();
    if (request.with_receipts()) {
      TDS_ASSIGN_OR_RETURN(Hash txid, HashFromBytes(record.txid(), "usage record txid"));
      TDS_ASSIGN_OR_RETURN(*item->mutable_receipt(), env.ledger().GetReceipt(txid));
    }
    *item->mutable_record() = std::move(record);
  }
  if (page.resume_at.has_value()) response->set_next_cursor(std::to_string(*page.resume_at));
  return absl::OkStatus();
}

}  // namespace tds::node
