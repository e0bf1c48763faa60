#include "node/admin_service.h"

#include <utility>

#include "absl/strings/str_cat.h"
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

grpc::ServerUnaryReactor* AdminService::InjectFault(grpc::CallbackServerContext* ctx,
                                                    const tds::InjectFaultRequest* request,
                                                    tds::InjectFaultResponse* response) {
  return Reply(ctx, DoInjectFault(*ctx, *request, response));
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
  response->set_console_address(facts_.console_address);
  if (follower && facts_.replication) {
    const ReplicatorStatus r = facts_.replication();
    tds::ReplicationStatus* out = response->mutable_replication();
    out->set_connected(r.connected);
    out->set_validator_height(r.validator_height);
    out->set_lag(r.validator_height > status.height ? r.validator_height - status.height : 0);
    if (!r.last_error.ok()) out->set_last_error(std::string(r.last_error.message()));
    out->set_halted(r.halted);
  }
  if (!follower) {
    const ledger::ConsensusStatus c = ledger.consensus_status();
    tds::ConsensusState* out = response->mutable_consensus();
    out->set_validators(c.validators);
    out->set_epoch(c.epoch);
    out->set_voting(c.voting);
    out->set_view(c.view);
    out->set_round(c.round);
    out->set_leader(c.leader);
    out->set_committed_round(c.committed_round);
    out->set_view_changes(c.timeouts);
    out->set_refused(c.refused);
    out->set_last_refusal(c.last_refusal);
  }
  for (const tds::ServedSource& source : facts_.sources) *response->add_sources() = source;
  response->set_version(NodeVersion());
  response->set_uptime_s(
      static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::seconds>(
                                std::chrono::steady_clock::now() - facts_.started)
                                .count()));
  return absl::OkStatus();
}

absl::Status AdminService::DoInjectFault(const grpc::ServerContextBase& ctx,
                                         const tds::InjectFaultRequest& request,
                                         tds::InjectFaultResponse* response) const {
  TDS_ASSIGN_OR_RETURN(Caller caller, env_.Authenticate(ctx, request.auth()));
  TDS_RETURN_IF_ERROR(RequireIdentity(caller, "fault injection is for the node's operator"));
  const std::string& operator_id = env_.ledger().node_id();
  if (caller.member_id != operator_id) {
    return absl::PermissionDeniedError(
        absl::StrCat("fault injection is for this node's operator (member '", operator_id,
                     "'), not ", caller.Describe()));
  }
  if (!facts_.inject_fault) {
    return absl::FailedPreconditionError(
        "fault injection is disabled: start tdsd with --allow-fault-injection");
  }
  if (request.heal() && request.isolate_size() > 0) {
    return absl::InvalidArgumentError("isolate or heal, not both");
  }
  const std::set<std::string> isolate(request.isolate().begin(), request.isolate().end());
  TDS_ASSIGN_OR_RETURN(std::set<std::string> isolated,
                       facts_.inject_fault(request.heal(), isolate));
  for (const std::string& id : isolated) response->add_isolated(id);
  return absl::OkStatus();
}

}  // namespace tds::node
