#include "node/audit_service.h"

#include <optional>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/bytes.h"
#include "common/envelope.h"
#include "common/status_macros.h"
#include "contracts/contract_state.h"
#include "contracts/metering.h"
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
