#pragma once
// tds.Compute (proto/compute_service.proto) over the metered gateway, and the gateway as the
// node wires it.
//
// Compute.Run: the consumer's first message is ComputeStart; the service adapts the stream to
// a compute::Link (compute/stream_link.h), hands both to Gateway::Run, and ends the stream with
// the ComputeResult or with the gateway's refusal as the gRPC status (codes map 1:1 to absl's;
// the message names what failed). Synchronous: a run holds its gRPC thread for its length
// (the protocol is blocking); Gateway caps how many run at once.
//
// Every RPC of tds.Compute goes through Gateway::Run: there is no other way to compute on this
// node's data (node/gateway/gateway_test.cc checks every method of the service descriptor).

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "grpcpp/grpcpp.h"
#include "ledger/ledger.h"
#include "node/gateway/enclave_host.h"
#include "node/gateway/gateway.h"
#include "node/gateway/product_sources.h"
#include "proto/compute_service.grpc.pb.h"
#include "proto/config.pb.h"

namespace tds::node::gateway {

class ComputeService final : public tds::Compute::Service {
 public:
  // The member the transport authenticated for this call (mutual TLS), or nullopt when it
  // proves nobody (--insecure-dev).
  using CallerOf = std::function<std::optional<std::string>(const grpc::ServerContext&)>;

  // `gateway` must outlive the service.
  explicit ComputeService(Gateway* gateway, CallerOf caller_of = {});

  grpc::Status Run(
      grpc::ServerContext* ctx,
      grpc::ServerReaderWriter<tds::ComputeMessage, tds::ComputeMessage>* stream) override;

 private:
  Gateway* const gateway_;
  const CallerOf caller_of_;
};

// The node's Compute endpoint: its data sources (checked against the catalog), the gateway and
// the service; and its EnclaveHost endpoint (enclave_host.h), which hosts its own member's jobs.
class GatewayNode {
 public:
  // Loads this node's key from config.key(), opens config.sources() and checks each against
  // its published product (mismatches are logged and refused at use). `submit` is the node's
  // submit path (empty: `ledger` validates). `ledger` must outlive the result.
  // `caller_of` names the member the transport authenticated for a call (see ComputeService).
  // `peer_credentials` dial other members' nodes (the enclave host's providers; empty =
  // insecure).
  static absl::StatusOr<std::unique_ptr<GatewayNode>> Create(
      ledger::Ledger* ledger, const tds::NodeConfig& config,
      std::function<void(std::string, ledger::Ledger::Done)> submit,
      ComputeService::CallerOf caller_of,
      std::shared_ptr<grpc::ChannelCredentials> peer_credentials = nullptr);
  ~GatewayNode();

  // REQUIRES: this object outlives the server built.
  void RegisterWith(grpc::ServerBuilder& builder);
  Gateway& gateway() { return *gateway_; }

 private:
  GatewayNode() = default;
  std::unique_ptr<ProductSources> sources_;
  std::unique_ptr<Gateway> gateway_;
  std::unique_ptr<ComputeService> service_;
  // Enclave SQL jobs this node hosts for its own member (enclave_host.h).
  std::unique_ptr<EnclaveJobHost> enclave_host_;
  std::unique_ptr<EnclaveHostService> enclave_service_;
};

}  // namespace tds::node::gateway
