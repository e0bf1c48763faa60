#pragma once
// tdsd wiring: configuration → genesis, key, application (evidence, governance, catalog,
// contracts), ledger → gRPC services (Ledger; Catalog, Contracts, Governance queries; Audit,
// Admin; Compute, the metered gateway).

#include <atomic>
#include <chrono>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "proto/config.pb.h"

namespace tds {
struct TlsMaterial;
}

namespace grpc {
class Server;
}

namespace tds::ledger {
class Application;
class Ledger;
}  // namespace tds::ledger

namespace tds::metrics {
class Registry;
}  // namespace tds::metrics

namespace tds::node {

class Forwarder;
class HttpServer;
class LedgerService;
class ConsensusTransport;
class AdminService;
class AuditService;
class QueryServices;
class Replicator;
namespace gateway {
class GatewayNode;
}  // namespace gateway
namespace console {
class ConsoleServer;
}  // namespace console

// Defaults applied to fields the config file and flags left unset.
inline constexpr char kDefaultListen[] = "127.0.0.1:7400";
inline constexpr uint32_t kDefaultMaxBlockTxs = 4096;
inline constexpr uint32_t kDefaultMaxEntryBytes = 64 * 1024;
// Receive limit for one gRPC message: a full 10,000-envelope SubmitBatch of typical envelopes.
inline constexpr int kMaxMessageBytes = 64 * 1024 * 1024;

// Fills defaults and checks what Start needs (data, genesis, key, listen; sane limits; the
// three TLS files unless insecure_dev, and not with it). Errors name the config key.
absl::Status FinalizeConfig(tds::NodeConfig* config);

// Sends gRPC's own log lines through spdlog (same format and level filter as ours).
void RouteGrpcLogsToSpdlog();

// Splits "HOST:PORT" (IPv6 hosts in brackets). Errors name the address.
absl::Status SplitHostPort(const std::string& address, std::string* host, int* port);

class Server {
 public:
  // REQUIRES: FinalizeConfig(&config) succeeded. Opens the ledger (as the validator, or as a
  // follower of config.validator()) and serves over mutual TLS 1.3 (config.tls(); node/tls.h,
  // docs/tls.md), or plaintext when config.insecure_dev(). A follower dials its validator with
  // the same certificate.
  static absl::StatusOr<std::unique_ptr<Server>> Start(const tds::NodeConfig& config);
  ~Server();  // Shutdown() with a 5 s grace period, then closes the ledger (draining it)

  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // The address actually bound, HOST:PORT (the real port when the config asked for port 0).
  const std::string& address() const { return address_; }
  // The web console's address (config.console_listen() bound), or "" when not served.
  std::string console_address() const;
  // The metrics endpoint's address (config.metrics_listen() bound), or "" when not served.
  const std::string& metrics_address() const { return metrics_address_; }

  // Stops accepting RPCs, ends block streams, lets in-flight RPCs finish until `grace`
  // passes (then cancels them), and closes the ledger after everything queued is durable.
  // Idempotent.
  void Shutdown(std::chrono::milliseconds grace = std::chrono::seconds(5));

 private:
  Server() = default;

  // Opens the metrics endpoint (config.metrics_listen()): this node's ledger, consensus and
  // commit metrics (metrics_) and the process's (metrics::Global(): the gateway's runs).
  absl::Status StartMetrics(const tds::NodeConfig& config);
  // Opens the web console (config.console_listen(); node/console) with the node's TLS identity.
  absl::Status StartConsole(const tds::NodeConfig& config, const TlsMaterial& tls);

  // Destruction order matters: the metrics endpoint before the gRPC server before the services
  // before the replicator before the forwarder before the ledger before the application before
  // the metrics registry, which the submit path and the ledger's observer update (members are
  // destroyed in reverse order of declaration, and Shutdown resets them explicitly in that
  // order).
  std::unique_ptr<metrics::Registry> metrics_;
  std::unique_ptr<ledger::Application> app_;
  // Validators among several: the transport outlives the ledger (whose replica sends through
  // it until it stops); consensus_target_ is the ledger it delivers to, once open.
  std::unique_ptr<ConsensusTransport> consensus_transport_;
  std::atomic<ledger::Ledger*> consensus_target_{nullptr};
  std::unique_ptr<ledger::Ledger> ledger_;
  // Follower only: the forwarder must outlive the replicator (its observer runs on applies).
  std::unique_ptr<Forwarder> forwarder_;
  std::unique_ptr<Replicator> replicator_;
  std::unique_ptr<LedgerService> service_;
  std::unique_ptr<QueryServices> queries_;
  std::unique_ptr<AuditService> audit_;
  std::unique_ptr<AdminService> admin_;
  // The web console calls the query and audit services: it stops before they go.
  std::unique_ptr<console::ConsoleServer> console_;
  // The metered gateway (Compute service): the only way to compute on this node's sources.
  std::unique_ptr<gateway::GatewayNode> compute_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<HttpServer> metrics_http_;
  std::string address_;
  std::string metrics_address_;
  bool shut_down_ = false;
};

}  // namespace tds::node
