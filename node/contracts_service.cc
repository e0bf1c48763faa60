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
#include "node/usage_listing.h"

namespace tds::node {

grpc::ServerUnaryReactor* ContractsService::ListContracts(grpc::CallbackServerContext* ctx,
                                                          const tds::ListContractsRequest* request,
                                                          tds::ListContractsResponse* response) {
  return Reply(ctx, AsCaller(*env_, *ctx, request->auth(), [&](const Caller& caller) {
                 return DoListContracts(caller, *request, response);
               }));
}

grpc::ServerUnaryReactor* ContractsService::GetContract(grpc::CallbackServerContext* ctx,
                                                        const tds::GetContractRequest* request,
                                                        tds::GetContractResponse* response) {
  return Reply(ctx, AsCaller(*env_, *ctx, request->auth(), [&](const Caller& caller) {
                 return DoGetContract(caller, *request, response);
               }));
}

grpc::ServerUnaryReactor* ContractsService::ListUsage(grpc::CallbackServerContext* ctx,
                                                      const tds::ListUsageRequest* request,
                                                      tds::ListUsageResponse* response) {
  return Reply(ctx, AsCaller(*env_, *ctx, request->auth(), [&](const Caller& caller) {
                 return DoListUsage(caller, *request, response);
               }));
}

grpc::ServerUnaryReactor* ContractsService::GetStatement(grpc::CallbackServerContext* ctx,
                                                         const tds::GetStatementRequest* request,
                                                         tds::GetStatementResponse* response) {
  return Reply(ctx, AsCaller(*env_, *ctx, request->auth(), [&](const Caller& caller) {
                 return DoGetStatement(caller, *request, response);
               }));
}

grpc::ServerUnaryReactor* ContractsService::GetValuation(grpc::CallbackServerContext* ctx,
                                                         const tds::GetValuationRequest* request,
                                                         tds::GetValuationResponse* response) {
  return Reply(ctx, AsCaller(*env_, *ctx, request->auth(), [&](const Caller& caller) {
                 return DoGetValuation(caller, *request, response);
               }));
}

absl::Status ContractsService::DoListContracts(const Caller& caller,
                                               const tds::ListContractsRequest& request,
                                               tds::ListContractsResponse* response) const {
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

absl::Status ContractsService::DoGetContract(const Caller& caller,
                                             const tds::GetContractRequest& request,
                                             tds::GetContractResponse* response) const {
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

absl::Status ContractsService::DoListUsage(const Caller& caller,
                                           const tds::ListUsageRequest& request,
                                           tds::ListUsageResponse* response) const {
  return ListUsageRecords(*env_, caller, request, nullptr, response);
}

absl::Status ContractsService::DoGetStatement(const Caller& caller,
                                              const tds::GetStatementRequest& request,
                                              tds::GetStatementResponse* response) const {
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

absl::Status ContractsService::DoGetValuation(const Caller& caller,
                                              const tds::GetValuationRequest& request,
                                              tds::GetValuationResponse* response) const {
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
