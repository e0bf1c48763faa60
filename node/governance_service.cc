#include "node/governance_service.h"

#include <string>
#include <vector>

#include "common/status_macros.h"
#include "governance/governance.h"
#include "ledger/ledger.h"
#include "node/request_checks.h"

namespace tds::node {

grpc::ServerUnaryReactor* GovernanceService::ListMembers(grpc::CallbackServerContext* ctx,
                                                         const tds::ListMembersRequest* request,
                                                         tds::ListMembersResponse* response) {
  return Reply(ctx, DoListMembers(*request, response));
}

absl::Status GovernanceService::DoListMembers(const tds::ListMembersRequest& request,
                                              tds::ListMembersResponse* response) const {
  TDS_ASSIGN_OR_RETURN(std::vector<tds::Member> members, env_->Members());
  for (tds::Member& m : members) *response->add_members() = std::move(m);
  return absl::OkStatus();
}

grpc::ServerUnaryReactor* GovernanceService::ListProposals(grpc::CallbackServerContext* ctx,
                                                           const tds::ListProposalsRequest* request,
                                                           tds::ListProposalsResponse* response) {
  return Reply(ctx, DoListProposals(*request, response));
}

absl::Status GovernanceService::DoListProposals(const tds::ListProposalsRequest& request,
                                                tds::ListProposalsResponse* response) const {
  TDS_ASSIGN_OR_RETURN(size_t limit, PageLimit(request.page()));
  TDS_ASSIGN_OR_RETURN(uint64_t after, ParseNumericCursor("page.cursor", request.page().cursor()));
  // A vote lands in the next block at the earliest: judge expiry there.
  const uint64_t next_height = env_->height() + 1;
  // One more than the page, to know whether another page follows.
  TDS_ASSIGN_OR_RETURN(
      std::vector<tds::Proposal> proposals,
      governance::ListProposals(env_->ledger().state(), next_height, after, limit + 1));
  // governance::ListProposals returns at most kMaxListLimit: a full page at that limit may
  // be followed by more (the next call then tells).
  const bool more =
      proposals.size() > limit || (proposals.size() == limit && limit >= governance::kMaxListLimit);
  if (more) proposals.resize(limit);
  for (tds::Proposal& p : proposals) *response->add_proposals() = std::move(p);
  if (more && !proposals.empty()) {
    response->set_next_cursor(std::to_string(response->proposals().rbegin()->id()));
  }
  return absl::OkStatus();
}

}  // namespace tds::node
