#pragma once
// tds.Admin (proto/node_service.proto): the node's view of itself — role, identity, ledger
// position, replication health (followers), the data sources it serves, version and uptime.
// Any authenticated member may read it; anonymous callers are refused (UNAUTHENTICATED).
// Fault injection, when enabled, is for the node's own member alone.
//
// The service never reaches into the Server: what it reports beyond the ledger comes in a
// NodeFacts the wiring fills (node/server.cc).

#include <chrono>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "ledger/ledger.h"
#include "node/query_service.h"
#include "node/replicator.h"
#include "proto/node_service.grpc.pb.h"

namespace tds::node {

// tdsd's version (the CMake project version), e.g. "0.1.0".
const char* NodeVersion();

struct NodeFacts {
  // Follower: HOST:PORT of the validator it follows. Empty: this node is the validator.
  std::string validator_address;
  // Follower: the replicator's current status (called on every request; must be thread-safe).
  // Empty on the validator.
  std::function<ReplicatorStatus()> replication;
  // Data sources from the configuration, in order.
  std::vector<tds::ServedSource> sources;
  // A validator started with --allow-fault-injection: with heal, ends every isolation, else
  // isolates these validators too (InvalidArgument for an id that is not another validator's);
  // returns the validators isolated now (node/consensus_transport.h). Empty: InjectFault is
  // refused.
  std::function<absl::StatusOr<std::set<std::string>>(bool heal,
                                                      const std::set<std::string>& isolate)>
      inject_fault;
  // The web console's HOST:PORT, when this node serves one.
  std::string console_address;
  // When the node started (uptime is measured from here).
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
};

class AdminService final : public tds::Admin::CallbackService {
 public:
  // `ledger` must outlive the service.
  AdminService(ledger::Ledger* ledger, NodeFacts facts, QueryServiceOptions options);

  grpc::ServerUnaryReactor* GetNodeStatus(grpc::CallbackServerContext* ctx,
                                          const tds::GetNodeStatusRequest* request,
                                          tds::NodeStatus* response) override;

  grpc::ServerUnaryReactor* InjectFault(grpc::CallbackServerContext* ctx,
                                        const tds::InjectFaultRequest* request,
                                        tds::InjectFaultResponse* response) override;

  // The calls without the gRPC plumbing.
  absl::Status DoGetNodeStatus(const grpc::ServerContextBase& ctx,
                               const tds::GetNodeStatusRequest& request,
                               tds::NodeStatus* response) const;
  // Only the node's own member, the operator, may inject faults.
  absl::Status DoInjectFault(const grpc::ServerContextBase& ctx,
                             const tds::InjectFaultRequest& request,
                             tds::InjectFaultResponse* response) const;

 private:
  const QueryEnv env_;
  const NodeFacts facts_;
};

}  // namespace tds::node
