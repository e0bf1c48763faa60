#pragma once
// tds.Contracts (proto/query_service.proto): contracts, usage records, billing statements and
// valuation reports, read from committed state. Who may read what: node/auth.h and
// node/README.md, "Query access".
//
// Contracts are returned with their EFFECTIVE state at the latest block time
// (contracts::EffectiveState): an ACTIVE contract whose window has ended reads EXPIRED even
// before anyone submits contract.expire; the `state` filter of ListContracts compares that.
//
// Pagination: ListContracts' cursor is the last contract id returned, ListUsage's the log
// index of the last record visited (decimal). A page may be short (even empty) with a
// next_cursor when a selective filter made the call visit kScanBudget entries: keep paging
// until next_cursor is empty.

#include "node/query_service.h"
#include "proto/query_service.grpc.pb.h"

namespace tds::node {

class ContractsService final : public tds::Contracts::CallbackService {
 public:
  // `env` must outlive the service.
  explicit ContractsService(const QueryEnv* env) : env_(env) {}

  grpc::ServerUnaryReactor* ListContracts(grpc::CallbackServerContext* ctx,
                                          const tds::ListContractsRequest* request,
                                          tds::ListContractsResponse* response) override;
  grpc::ServerUnaryReactor* GetContract(grpc::CallbackServerContext* ctx,
                                        const tds::GetContractRequest* request,
                                        tds::GetContractResponse* response) override;
  grpc::ServerUnaryReactor* ListUsage(grpc::CallbackServerContext* ctx,
                                      const tds::ListUsageRequest* request,
                                      tds::ListUsageResponse* response) override;
  grpc::ServerUnaryReactor* GetStatement(grpc::CallbackServerContext* ctx,
                                         const tds::GetStatementRequest* request,
                                         tds::GetStatementResponse* response) override;
  grpc::ServerUnaryReactor* GetValuation(grpc::CallbackServerContext* ctx,
                                         const tds::GetValuationRequest* request,
                                         tds::GetValuationResponse* response) override;

  // The calls for an authenticated caller, without the gRPC plumbing (the web console calls
  // these too).
  absl::Status DoListContracts(const Caller& caller, const tds::ListContractsRequest& request,
                               tds::ListContractsResponse* response) const;
  absl::Status DoGetContract(const Caller& caller, const tds::GetContractRequest& request,
                             tds::GetContractResponse* response) const;
  absl::Status DoListUsage(const Caller& caller, const tds::ListUsageRequest& request,
                           tds::ListUsageResponse* response) const;
  absl::Status DoGetStatement(const Caller& caller, const tds::GetStatementRequest& request,
                              tds::GetStatementResponse* response) const;
  absl::Status DoGetValuation(const Caller& caller, const tds::GetValuationRequest& request,
                              tds::GetValuationResponse* response) const;

 private:
  const QueryEnv* const env_;
};

}  // namespace tds::node
