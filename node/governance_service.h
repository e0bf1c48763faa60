#pragma once
// tds.Governance (proto/query_service.proto): the current members and the proposals.
// Membership is public to every caller (the requests carry no auth): it is the data space's
// directory of identities and keys.

#include "node/query_service.h"
#include "proto/query_service.grpc.pb.h"

namespace tds::node {

class GovernanceService final : public tds::Governance::CallbackService {
 public:
  // `env` must outlive the service.
  explicit GovernanceService(const QueryEnv* env) : env_(env) {}

  // Current members in ascending id order.
  grpc::ServerUnaryReactor* ListMembers(grpc::CallbackServerContext* ctx,
                                        const tds::ListMembersRequest* request,
                                        tds::ListMembersResponse* response) override;
  // Proposals in ascending id order, each with its effective status for the next block: an
  // OPEN proposal that can no longer take a vote (the next block is above its expires_height)
  // shows PROPOSAL_EXPIRED. The cursor is the last id returned, in decimal.
  grpc::ServerUnaryReactor* ListProposals(grpc::CallbackServerContext* ctx,
                                          const tds::ListProposalsRequest* request,
                                          tds::ListProposalsResponse* response) override;

  // The calls without the gRPC plumbing (the web console).
  absl::Status DoListMembers(const tds::ListMembersRequest& request,
                             tds::ListMembersResponse* response) const;
  absl::Status DoListProposals(const tds::ListProposalsRequest& request,
                               tds::ListProposalsResponse* response) const;

 private:
  const QueryEnv* const env_;
};

}  // namespace tds::node
