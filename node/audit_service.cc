#include "node/audit_service.h"

#include <map>
#include <optional>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/bytes.h"
#include "common/envelope.h"
#include "common/status_macros.h"
#include "contracts/contract_state.h"
#include "contracts/metering.h"
#include "node/paged_scan.h"
#include "node/request_checks.h"
#include "node/usage_listing.h"
#include "proto/ledger.pb.h"

namespace tds::node {

AuditService::AuditService(ledger::Ledger* ledger, QueryServiceOptions options)
    : env_(ledger, std::move(options)) {}

grpc::ServerUnaryReactor* AuditService::ListUsage(grpc::CallbackServerContext* ctx,
                                                  const tds::ListUsageRequest* request,
                                                  tds::ListUsageResponse* response) {
  return Reply(ctx, AsCaller(env_, *ctx, request->auth(), [&](const Caller& caller) {
                 return DoListUsage(caller, *request, response);
               }));
}

grpc::ServerUnaryReactor* AuditService::ListViolations(grpc::CallbackServerContext* ctx,
                                                       const tds::ListViolationsRequest* request,
                                                       tds::ListUsageResponse* response) {
  return Reply(ctx, AsCaller(env_, *ctx, request->auth(), [&](const Caller& caller) {
                 return DoListViolations(caller, *request, response);
               }));
}

grpc::ServerUnaryReactor* AuditService::ListReservations(
    grpc::CallbackServerContext* ctx, const tds::ListReservationsRequest* request,
    tds::ListReservationsResponse* response) {
  return Reply(ctx, AsCaller(env_, *ctx, request->auth(), [&](const Caller& caller) {
                 return DoListReservations(caller, *request, response);
               }));
}

grpc::ServerUnaryReactor* AuditService::GetReceipt(grpc::CallbackServerContext* ctx,
                                                   const tds::AuditReceiptRequest* request,
                                                   tds::AuditReceiptResponse* response) {
  return Reply(ctx, AsCaller(env_, *ctx, request->auth(), [&](const Caller& caller) {
                 return DoGetReceipt(caller, *request, response);
               }));
}

absl::Status AuditService::DoListUsage(const Caller& caller, const tds::ListUsageRequest& request,
                                       tds::ListUsageResponse* response) const {
  return ListUsageRecords(env_, caller, request, nullptr, response);
}

absl::Status AuditService::DoListViolations(const Caller& caller,
                                            const tds::ListViolationsRequest& request,
                                            tds::ListUsageResponse* response) const {
  TDS_RETURN_IF_ERROR(CheckName("term", request.term()));
  tds::ListUsageRequest usage;
  usage.set_contract_id(request.contract_id());
  usage.set_product_id(request.product_id());
  usage.set_provider(request.provider());
  usage.set_consumer(request.consumer());
  usage.set_purpose(request.purpose());
  usage.set_operation(request.operation());
  usage.set_from_ms(request.from_ms());
  usage.set_to_ms(request.to_ms());
  usage.set_violations_only(true);
  usage.set_with_receipts(request.with_receipts());
  *usage.mutable_page() = request.page();
  return ListUsageRecords(env_, caller, usage, nullptr, response, request.term());
}

absl::Status AuditService::DoListReservations(const Caller& caller,
                                              const tds::ListReservationsRequest& request,
                                              tds::ListReservationsResponse* response) const {
  TDS_RETURN_IF_ERROR(RequireIdentity(
      caller, "reservations are visible to the parties of their contract and auditors only"));
  TDS_RETURN_IF_ERROR(CheckContractId("contract_id", request.contract_id(), false));
  if (!tds::ReservationState_IsValid(request.state())) {
    return absl::InvalidArgumentError(
        absl::StrCat("state: unknown reservation state ", static_cast<int>(request.state())));
  }
  TDS_ASSIGN_OR_RETURN(size_t limit, PageLimit(request.page()));
  std::string cursor;  // a reservation id, lower-case hex as in the keys
  if (!request.page().cursor().empty()) {
    TDS_ASSIGN_OR_RETURN(Hash after, HashFromHex(request.page().cursor(), "page.cursor"));
    cursor = HexEncode(after);
  }
  const ledger::StateReader& state = env_.ledger().state();
  if (!request.contract_id().empty()) {
    TDS_ASSIGN_OR_RETURN(tds::Contract contract,
                         ReadExistingContract(state, request.contract_id()));
    TDS_RETURN_IF_ERROR(CheckContractAccess(caller, contract));
  }
  // The next block releases every open reservation expiring at or below its height.
  const uint64_t next_height = env_.height() + 1;
  // Whether the caller may read a contract's reservations, per contract, for this call.
  std::map<std::string, bool, std::less<>> readable;
  auto may_read = [&](const std::string& contract_id) -> absl::StatusOr<bool> {
    if (caller.ReadsEverything()) return true;
    auto it = readable.find(contract_id);
    if (it != readable.end()) return it->second;
    TDS_ASSIGN_OR_RETURN(tds::Contract contract, ReadExistingContract(state, contract_id));
    return readable[contract_id] = CheckContractAccess(caller, contract).ok();
  };
  const std::string prefix(contracts::kReservationPrefix);
  ScanMatch<tds::Reservation> match =
      [&](std::string_view key,
          std::string_view value) -> absl::StatusOr<std::optional<tds::Reservation>> {
    tds::Reservation r;
    if (!r.ParseFromString(std::string(value))) {
      return absl::DataLossError(
          absl::StrCat("state: ", std::string(key), " is not a tds.Reservation"));
    }
    if (!request.contract_id().empty() && r.contract_id() != request.contract_id()) {
      return std::nullopt;
    }
    TDS_ASSIGN_OR_RETURN(bool visible, may_read(r.contract_id()));
    if (!visible) return std::nullopt;
    if (r.state() == tds::RESERVATION_OPEN && r.expires_height() <= next_height) {
      r.set_state(tds::RESERVATION_EXPIRED);
    }
    if (request.state() != tds::RESERVATION_STATE_UNSPECIFIED && r.state() != request.state()) {
      return std::nullopt;
    }
    return r;
  };
  TDS_ASSIGN_OR_RETURN(
      ScanPage<tds::Reservation> page,
      ScanPaged(state, prefix, cursor.empty() ? "" : prefix + cursor, limit, kScanBudget, match));
  for (tds::Reservation& r : page.items) *response->add_reservations() = std::move(r);
  if (page.more) response->set_next_cursor(page.last_key.substr(prefix.size()));
  return absl::OkStatus();
}

absl::Status AuditService::DoGetReceipt(const Caller& caller,
                                        const tds::AuditReceiptRequest& request,
                                        tds::AuditReceiptResponse* response) const {
  TDS_RETURN_IF_ERROR(RequireIdentity(
      caller, "receipts are visible to their submitter and the parties of a usage record only"));
  TDS_ASSIGN_OR_RETURN(Hash txid, HashFromBytes(request.txid(), "txid"));
  TDS_ASSIGN_OR_RETURN(ledger::TxRecord record, env_.ledger().GetTransaction(txid));

  // The entry was verified when it was admitted; opening it again only reads it.
  absl::StatusOr<OpenedEnvelope> opened = OpenEnvelope(record.entry, kTxContext);
  tds::Transaction tx;
  if (!opened.ok() || !tx.ParseFromString(opened->payload)) {
    return absl::DataLossError(
        absl::StrCat("log entry ", record.index, " is not a signed transaction"));
  }
  std::optional<tds::UsageRecordState> usage;
  if (tx.type() == contracts::kRecordTxType) {
    TDS_ASSIGN_OR_RETURN(usage, contracts::ReadUsageRecord(env_.ledger().state(), record.index));
  }
  const bool party = usage.has_value() && (usage->provider() == caller.member_id ||
                                           usage->consumer() == caller.member_id);
  if (!caller.ReadsEverything() && tx.submitter() != caller.member_id && !party) {
    return absl::PermissionDeniedError(
        absl::StrCat(caller.Describe(),
                     " may read receipts only of its own transactions and of usage "
                     "records where it is a party, not of transaction ",
                     HexEncode(AsBytes(txid)), " submitted by '", tx.submitter(), "'"));
  }
  TDS_ASSIGN_OR_RETURN(*response->mutable_receipt(), env_.ledger().GetReceipt(txid));
  if (usage.has_value()) *response->mutable_usage() = *std::move(usage);
  return absl::OkStatus();
}

}  // namespace tds::node
