#include "node/admin_service.h"

#include <utility>

#include "common/status_macros.h"

#ifndef TDS_VERSION
#error "TDS_VERSION must be defined by the build (the CMake project version)"
#endif

namespace tds::node {

const char* NodeVersion() { return TDS_VERSION; }

AdminService::AdminService(ledger::Ledger* ledger, NodeFacts facts, QueryServiceOptions options)
    : env_(ledger, std::move(options)), facts_(std::move(facts)) {}

grpc::ServerUnaryReactor* AdminService::GetNodeStatus(grpc::CallbackServerContext* ctx,
                                                      const tds::GetNodeStatusRequest* request,
                                                      tds::NodeStatus* response) {
  return Reply(ctx, DoGetNodeStatus(*ctx, *request, response));
}

absl::Status AdminService::DoGetNodeStatus(const grpc::ServerContextBase& ctx,
                                           const tds::GetNodeStatusRequest& request,
                                           tds::NodeStatus* response) const {
  TDS_ASSIGN_OR_RETURN(Caller caller, env_.Authenticate(ctx, request.auth()));
  TDS_RETURN_IF_ERROR(RequireIdentity(caller, "node status is visible to members only"));
  const ledger::Ledger& ledger = env_.ledger();
  const ledger::LedgerStatus status = ledger.Status();
  const bool follower = !facts_.validator_address.empty();
  response->set_role(follower ? "follower" : "validator");
  response->set_member_id(ledger.node_id());
  response->set_origin(ledger.genesis().origin());
  response->set_height(status.height);
  response->set_log_size(status.log_size);
  response->set_last_block_time_ms(status.last_block_time_ms);
  response->set_validator_address(facts_.validator_address);
  if (follower && facts_.replication) {
    const ReplicatorStatus r = facts_.replication();
    tds::ReplicationStatus* out = response->mutable_replication();
    out->set_connected(r.connected);
    out->set_validator_height(r.validator_height);
    out->set_lag(r.validator_height > status.height ? r.validator_height - status.height : 0);
    if (!r.last_error.ok()) out->set_last_error(std::string(r.last_error.message()));
    out->set_halted(r.halted);
  }
  for (const tds::ServedSource& source : facts_.sources) *response->add_sources() = source;
  response->set_version(NodeVersion());
  response->set_uptime_s(
      static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::seconds>(
                                std::chrono::steady_clock::now() - facts_.started)
                                .count()));
  return absl::OkStatus();
}

}  // namespace tds::node
