#pragma once
// tds.Audit (proto/node_service.proto): read-only audit queries over this node's replica —
// usage records, violations and receipts. Auditors and validators read everything; any other
// member reads only its own records (node/auth.h; node/README.md, "Query access").
//
// ListUsage is Contracts.ListUsage under another name: both call ListUsageRecords
// (node/usage_listing.h). ListViolations is the same listing narrowed to flagged records (and
// optionally to one violated term, through its own index).

#include "ledger/ledger.h"
#include "node/query_service.h"
#include "proto/node_service.grpc.pb.h"

namespace tds::node {

class AuditService final : public tds::Audit::CallbackService {
 public:
  // `ledger` must outlive the service.
  AuditService(ledger::Ledger* ledger, QueryServiceOptions options);

  grpc::ServerUnaryReactor* ListUsage(grpc::CallbackServerContext* ctx,
                                      const tds::ListUsageRequest* request,
                                      tds::ListUsageResponse* response) override;
  grpc::ServerUnaryReactor* ListViolations(grpc::CallbackServerContext* ctx,
                                           const tds::ListViolationsRequest* request,
                                           tds::ListUsageResponse* response) override;
  grpc::ServerUnaryReactor* ListReservations(grpc::CallbackServerContext* ctx,
                                             const tds::ListReservationsRequest* request,
                                             tds::ListReservationsResponse* response) override;
  grpc::ServerUnaryReactor* GetReceipt(grpc::CallbackServerContext* ctx,
                                       const tds::AuditReceiptRequest* request,
                                       tds::AuditReceiptResponse* response) override;

  // The calls for an authenticated caller, without the gRPC plumbing (unit tests and the web
  // console call these directly).
  absl::Status DoListUsage(const Caller& caller, const tds::ListUsageRequest& request,
                           tds::ListUsageResponse* response) const;
  absl::Status DoListViolations(const Caller& caller, const tds::ListViolationsRequest& request,
                                tds::ListUsageResponse* response) const;
  // InvalidArgument for a txid that is not 32 bytes; NotFound "transaction <hex> is not in the
  // log"; PermissionDenied naming the caller, the transaction and its submitter for a member
  // reading someone else's transaction.
  // InvalidArgument for a malformed contract id, cursor or state; the contract's access rule
  // (node/auth.h) when contract_id names one; without it a member other than an auditor or
  // validator gets only reservations of contracts it is a party to.
  absl::Status DoListReservations(const Caller& caller, const tds::ListReservationsRequest& request,
                                  tds::ListReservationsResponse* response) const;
  absl::Status DoGetReceipt(const Caller& caller, const tds::AuditReceiptRequest& request,
                            tds::AuditReceiptResponse* response) const;

 private:
  const QueryEnv env_;
};

}  // namespace tds::node
