#include "node/contracts_service.h"

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "catalog/catalog_state.h"
#include "common/bytes.h"
#include "common/period.h"
#include "common/status_macros.h"
#include "contracts/billing.h"
#include "contracts/contract_state.h"
#include "contracts/negotiation.h"
#include "contracts/valuation.h"
#include "ledger/ledger.h"
#include "node/paged_scan.h"
#include "node/request_checks.h"

namespace tds::node {
namespace {

// Longest purpose or operation filter (the enumerated names are far shorter).
constexpr size_t kMaxNameBytes = 64;

absl::Status CheckName(std::string_view field, std::string_view value) {
  if (value.size() <= kMaxNameBytes) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(std::string(field), ": ", value.size(),
                                                 " bytes exceeds the limit of ", kMaxNameBytes));
}

absl::StatusOr<tds::Contract> ReadExistingContract(const ledger::StateReader& state,
                                                   std::string_view id) {
  TDS_ASSIGN_OR_RETURN(std::optional<tds::Contract> contract, contracts::ReadContract(state, id));
  if (!contract.has_value()) {
    return absl::NotFoundError(absl::StrCat("contract '", std::string(id), "' not found"));
  }
  return *std::move(contract);
}

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

grpc::ServerUnaryReactor* ContractsService::ListContracts(grpc::CallbackServerContext* ctx,
                                                          const tds::ListContractsRequest* request,
                                                          tds::ListContractsResponse* response) {
  return Reply(ctx, DoListContracts(*request, response));
}

grpc::ServerUnaryReactor* ContractsService::GetContract(grpc::CallbackServerContext* ctx,
                                                        const tds::GetContractRequest* request,
                                                        tds::GetContractResponse* response) {
  return Reply(ctx, DoGetContract(*request, response));
}

grpc::ServerUnaryReactor* ContractsService::ListUsage(grpc::CallbackServerContext* ctx,
                                                      const tds::ListUsageRequest* request,
                                                      tds::ListUsageResponse* response) {
  return Reply(ctx, DoListUsage(*request, response));
}

grpc::ServerUnaryReactor* ContractsService::GetStatement(grpc::CallbackServerContext* ctx,
                                                         const tds::GetStatementRequest* request,
                                                         tds::GetStatementResponse* response) {
  return Reply(ctx, DoGetStatement(*request, response));
}

grpc::ServerUnaryReactor* ContractsService::GetValuation(grpc::CallbackServerContext* ctx,
                                                         const tds::GetValuationRequest* request,
                                                         tds::GetValuationResponse* response) {
  return Reply(ctx, DoGetValuation(*request, response));
}

absl::Status ContractsService::DoListContracts(const tds::ListContractsRequest& request,
                                               tds::ListContractsResponse* response) const {
  TDS_ASSIGN_OR_RETURN(Caller caller, env_->Authenticate(request.auth()));
  TDS_RETURN_IF_ERROR(RequireIdentity(caller, "contracts are visible to their parties only"));
  TDS_RETURN_IF_ERROR(CheckMemberId("party", request.party(), false));
  TDS_RETURN_IF_ERROR(CheckProductId("product_id", request.product_id(), false));
  if (!tds::ContractState_IsValid(request.state())) {
    return absl::InvalidArgumentError(
        absl::StrCat("state: unknown contract state ", static_cast<int>(request.state())));
  }
  TDS_ASSIGN_OR_RETURN(size_t limit, PageLimit(request.page()));
  const std::string& cursor = request.page().cursor();
  TDS_RETURN_IF_ERROR(CheckContractId("page.cursor", cursor, false));

  std::string party = request.party();
  if (!caller.ReadsEverything()) {
    if (party.empty()) {
      party = caller.member_id;
    } else if (party != caller.member_id) {
      return absl::PermissionDeniedError(
          absl::StrCat(caller.Describe(), " may list only its own contracts, not those of '", party,
                       "' (auditors and validators may list any)"));
    }
  }

  const ledger::StateReader& state = env_->ledger().state();
  const int64_t now = env_->block_time_ms();
  const std::string prefix =
      party.empty() ? std::string(contracts::kContractPrefix)
                    : absl::StrCat(std::string(contracts::kContractByPartyPrefix), party, "/");
  ScanMatch<tds::Contract> match =
      [&](std::string_view key,
          std::string_view value) -> absl::StatusOr<std::optional<tds::Contract>> {
    tds::Contract contract;
    if (party.empty()) {
      if (!contract.ParseFromString(std::string(value))) {
        return absl::DataLossError(
            absl::StrCat("state: ", std::string(key), " is not a tds.Contract"));
      }
    } else {
      TDS_ASSIGN_OR_RETURN(contract, ReadExistingContract(state, key.substr(prefix.size())));
    }
    contract.set_state(contracts::EffectiveState(contract, now));
    if (request.state() != tds::CONTRACT_STATE_UNSPECIFIED && contract.state() != request.state()) {
      return std::nullopt;
    }
    if (!request.product_id().empty() && contract.product_id() != request.product_id()) {
      return std::nullopt;
    }
    return contract;
  };
  TDS_ASSIGN_OR_RETURN(
      ScanPage<tds::Contract> page,
      ScanPaged(state, prefix, cursor.empty() ? "" : prefix + cursor, limit, kScanBudget, match));
  for (tds::Contract& c : page.items) *response->add_contracts() = std::move(c);
  if (page.more) response->set_next_cursor(page.last_key.substr(prefix.size()));
  return absl::OkStatus();
}

absl::Status ContractsService::DoGetContract(const tds::GetContractRequest& request,
                                             tds::GetContractResponse* response) const {
  TDS_ASSIGN_OR_RETURN(Caller caller, env_->Authenticate(request.auth()));
  TDS_RETURN_IF_ERROR(CheckContractId("contract_id", request.contract_id(), true));
  const ledger::StateReader& state = env_->ledger().state();
  TDS_ASSIGN_OR_RETURN(tds::Contract contract, ReadExistingContract(state, request.contract_id()));
  TDS_RETURN_IF_ERROR(CheckContractAccess(caller, contract));
  contract.set_state(contracts::EffectiveState(contract, env_->block_time_ms()));
  TDS_ASSIGN_OR_RETURN(*response->mutable_counters(),
                       contracts::ReadCounters(state, request.contract_id()));
  *response->mutable_contract() = std::move(contract);
  return absl::OkStatus();
}

absl::Status ContractsService::DoListUsage(const tds::ListUsageRequest& request,
                                           tds::ListUsageResponse* response) const {
  TDS_ASSIGN_OR_RETURN(Caller caller, env_->Authenticate(request.auth()));
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

  const ledger::StateReader& state = env_->ledger().state();
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
    return record;
  };
  TDS_ASSIGN_OR_RETURN(ScanPage<tds::UsageRecordState> page,
                       ScanPaged(state, source.prefix, start_after, limit, kScanBudget, match));
  for (tds::UsageRecordState& record : page.items) {
    tds::UsageItem* item = response->add_items();
    if (request.with_receipts()) {
      TDS_ASSIGN_OR_RETURN(Hash txid, HashFromBytes(record.txid(), "usage record txid"));
      TDS_ASSIGN_OR_RETURN(*item->mutable_receipt(), env_->ledger().GetReceipt(txid));
    }
    *item->mutable_record() = std::move(record);
  }
  if (page.more) {
    response->set_next_cursor(std::to_string(contracts::IndexFromKey(page.last_key)));
  }
  return absl::OkStatus();
}

absl::Status ContractsService::DoGetStatement(const tds::GetStatementRequest& request,
                                              tds::GetStatementResponse* response) const {
  TDS_ASSIGN_OR_RETURN(Caller caller, env_->Authenticate(request.auth()));
  TDS_RETURN_IF_ERROR(
      RequireIdentity(caller, "statements are visible to their provider and consumer only"));
  TDS_RETURN_IF_ERROR(CheckMemberId("provider", request.provider(), true));
  TDS_RETURN_IF_ERROR(CheckMemberId("consumer", request.consumer(), false));
  TDS_RETURN_IF_ERROR(CheckPeriod("period", request.period(), true));
  const ledger::StateReader& state = env_->ledger().state();

  std::string consumer = request.consumer();
  if (!MayActFor(caller, request.provider())) {
    // Not the provider: only the caller's own statement with that provider.
    if (consumer.empty()) consumer = caller.member_id;
    if (!MayActFor(caller, consumer)) {
      return absl::PermissionDeniedError(
          absl::StrCat(caller.Describe(),
                       " may read only statements where it is the provider or the "
                       "consumer, not provider '",
                       request.provider(), "' with consumer '", consumer, "'"));
    }
  }
  if (consumer.empty()) {
    TDS_ASSIGN_OR_RETURN(std::vector<tds::Statement> statements,
                         contracts::ListStatements(state, request.provider(), request.period()));
    for (tds::Statement& s : statements) *response->add_statements() = std::move(s);
  } else {
    TDS_ASSIGN_OR_RETURN(
        *response->add_statements(),
        contracts::ComputeStatement(state, request.provider(), consumer, request.period()));
  }
  return absl::OkStatus();
}

absl::Status ContractsService::DoGetValuation(const tds::GetValuationRequest& request,
                                              tds::GetValuationResponse* response) const {
  TDS_ASSIGN_OR_RETURN(Caller caller, env_->Authenticate(request.auth()));
  TDS_RETURN_IF_ERROR(CheckProductId("product_id", request.product_id(), true));
  TDS_RETURN_IF_ERROR(CheckPeriod("as_of_period", request.as_of_period(), false));
  const ledger::StateReader& state = env_->ledger().state();
  absl::StatusOr<tds::Product> product = catalog::ReadProduct(state, request.product_id());
  if (absl::IsNotFound(product.status()) || (product.ok() && !MaySeeProduct(caller, *product))) {
    return absl::NotFoundError(absl::StrCat("product '", request.product_id(), "' not found"));
  }
  if (!product.ok()) return product.status();
  TDS_RETURN_IF_ERROR(CheckValuationAccess(caller, *product));

  contracts::ValuationParams params;
  params.as_of_period =
      request.as_of_period().empty() ? PeriodOf(env_->block_time_ms()) : request.as_of_period();
  if (request.discount_rate_bp() != 0) params.discount_rate_bp = request.discount_rate_bp();
  if (request.horizon_periods() != 0) params.horizon_periods = request.horizon_periods();
  params.growth_bp = request.growth_bp();
  TDS_ASSIGN_OR_RETURN(*response->mutable_valuation(),
                       contracts::ComputeValuation(state, request.product_id(), params));
  return absl::OkStatus();
}

}  // namespace tds::node
