#include "node/usage_listing.h"

#include <optional>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/bytes.h"
#include "common/status_macros.h"
#include "contracts/billing.h"
#include "contracts/contract_state.h"
#include "ledger/ledger.h"
#include "node/paged_scan.h"
#include "node/request_checks.h"

namespace tds::node {
namespace {

// Where ListUsage reads: the narrowest index the filters allow.
struct UsageSource {
  std::string prefix;
  // The values are the records themselves (usage/record/), not index entries.
  bool values_are_records = false;
  // The key after which the page following `cursor_index` starts.
  std::function<absl::StatusOr<std::string>(uint64_t cursor_index)> resume_after;
};

UsageSource ChooseUsageSource(const ledger::StateReader& state,
                              const tds::ListUsageRequest& request) {
  // Index keys with a period in them resume at the period of the cursor's record.
  auto period_of = [&state](uint64_t index) -> absl::StatusOr<std::string> {
    TDS_ASSIGN_OR_RETURN(std::optional<tds::UsageRecordState> r,
                         contracts::ReadUsageRecord(state, index));
    if (!r.has_value()) {
      return absl::InvalidArgumentError(absl::StrCat("page.cursor: no usage record at index ",
                                                     index, "; pass a previous next_cursor"));
    }
    return r->period();
  };
  UsageSource s;
  if (!request.contract_id().empty()) {
    const std::string id = request.contract_id();
    s.prefix = contracts::IndexPrefix(contracts::UsageByContractKey(id, 0));
    s.resume_after = [id](uint64_t i) -> absl::StatusOr<std::string> {
      return contracts::UsageByContractKey(id, i);
    };
  } else if (!request.provider().empty() && !request.consumer().empty()) {
    const std::string p = request.provider(), c = request.consumer();
    s.prefix = absl::StrCat(std::string(contracts::kUsageByPairPrefix), p, "/", c, "/");
    s.resume_after = [p, c, period_of](uint64_t i) -> absl::StatusOr<std::string> {
      TDS_ASSIGN_OR_RETURN(std::string period, period_of(i));
      return contracts::UsageByPairKey(p, c, period, i);
    };
  } else if (!request.product_id().empty()) {
    const std::string id = request.product_id();
    s.prefix = absl::StrCat(std::string(contracts::kUsageByProductPrefix), id, "/");
    s.resume_after = [id, period_of](uint64_t i) -> absl::StatusOr<std::string> {
      TDS_ASSIGN_OR_RETURN(std::string period, period_of(i));
      return contracts::UsageByProductKey(id, period, i);
    };
  } else if (request.violations_only()) {
    s.prefix = std::string(contracts::kUsageViolationPrefix);
    s.resume_after = [](uint64_t i) -> absl::StatusOr<std::string> {
      return contracts::UsageViolationKey(i);
    };
  } else {
    s.prefix = std::string(contracts::kUsageRecordPrefix);
    s.values_are_records = true;
    s.resume_after = [](uint64_t i) -> absl::StatusOr<std::string> {
      return contracts::UsageRecordKey(i);
    };
  }
  return s;
}

bool UsageMatches(const tds::ListUsageRequest& q, const tds::UsageRecordState& r) {
  if (!q.contract_id().empty() && r.contract_id() != q.contract_id()) return false;
  if (!q.product_id().empty() && r.product_id() != q.product_id()) return false;
  if (!q.provider().empty() && r.provider() != q.provider()) return false;
  if (!q.consumer().empty() && r.consumer() != q.consumer()) return false;
  if (!q.purpose().empty() && r.purpose() != q.purpose()) return false;
  if (!q.operation().empty() && r.operation() != q.operation()) return false;
  if (q.from_ms() != 0 && r.block_time_ms() < q.from_ms()) return false;
  if (q.to_ms() != 0 && r.block_time_ms() >= q.to_ms()) return false;
  if (q.violations_only() && r.violations_size() == 0) return false;
  return true;
}

}  // namespace

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

absl::Status ListUsageRecords(const QueryEnv& env, const grpc::ServerContextBase& ctx,
                              const tds::ListUsageRequest& request, const UsagePredicate& also,
                              tds::ListUsageResponse* response) {
  TDS_ASSIGN_OR_RETURN(Caller caller, env.Authenticate(ctx, request.auth()));
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
  std::optional<uint64_t> cursor;
  if (!request.page().cursor().empty()) {
    TDS_ASSIGN_OR_RETURN(cursor, ParseNumericCursor("page.cursor", request.page().cursor()));
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

  UsageSource source = ChooseUsageSource(state, request);
  std::string start_after;
  if (cursor.has_value()) {
    TDS_ASSIGN_OR_RETURN(start_after, source.resume_after(*cursor));
  }

  ScanMatch<tds::UsageRecordState> match =
      [&](std::string_view key,
          std::string_view value) -> absl::StatusOr<std::optional<tds::UsageRecordState>> {
    tds::UsageRecordState record;
    if (source.values_are_records) {
      if (!record.ParseFromString(std::string(value))) {
        return absl::DataLossError(absl::StrCat("state: usage record at index ",
                                                contracts::IndexFromKey(key), " is corrupt"));
      }
    } else {
      const uint64_t index = contracts::IndexFromKey(key);
      TDS_ASSIGN_OR_RETURN(std::optional<tds::UsageRecordState> r,
                           contracts::ReadUsageRecord(state, index));
      if (!r.has_value()) {
        return absl::DataLossError(
            absl::StrCat("state: index entry for usage record ", index, " has no record"));
      }
      record = *std::move(r);
    }
    if (restricted && record.provider() != caller.member_id &&
        record.consumer() != caller.member_id) {
      return std::nullopt;
    }
    if (!UsageMatches(request, record)) return std::nullopt;
    if (also && !also(record)) return std::nullopt;
    return record;
  };
  TDS_ASSIGN_OR_RETURN(ScanPage<tds::UsageRecordState> page,
                       ScanPaged(state, source.prefix, start_after, limit, kScanBudget, match));
  for (tds::UsageRecordState& record : page.items) {
    tds::UsageItem* item = response->add_items();
    if (request.with_receipts()) {
      TDS_ASSIGN_OR_RETURN(Hash txid, HashFromBytes(record.txid(), "usage record txid"));
      TDS_ASSIGN_OR_RETURN(*item->mutable_receipt(), env.ledger().GetReceipt(txid));
    }
    *item->mutable_record() = std::move(record);
  }
  if (page.more) {
    response->set_next_cursor(std::to_string(contracts::IndexFromKey(page.last_key)));
  }
  return absl::OkStatus();
}

}  // namespace tds::node
