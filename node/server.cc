#include "node/server.h"

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <set>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "app/application.h"
#include "common/file.h"
#include "common/grpc_tls.h"
#include "common/keys.h"
#include "common/metrics.h"
#include "common/status_macros.h"
#include "common/strings.h"
#include "contracts/contract_state.h"
#include "contracts/contracts.h"
#include "grpc/support/log.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/health_check_service_interface.h"
#include "ledger/application.h"
#include "ledger/consensus/certificates.h"
#include "ledger/genesis.h"
#include "ledger/ledger.h"
#include "node/admin_service.h"
#include "node/audit_service.h"
#include "node/consensus_transport.h"
#include "node/console/console_server.h"
#include "node/gateway/compute_service.h"
#include "node/gateway/run_metrics.h"
#include "node/http_server.h"
#include "node/ledger_service.h"
#include "node/peer_identity.h"
#include "node/query_service.h"
#include "node/replicator.h"
#include "node/tls.h"
#include "proto/contracts.pb.h"
#include "spdlog/spdlog.h"

namespace tds::node {
namespace {

// Limits a config may set; beyond them a typo is likelier than intent.
constexpr uint32_t kMaxBlockTxsLimit = 100000;
constexpr uint32_t kMaxEntryBytesLimit = 16 * 1024 * 1024;
constexpr size_t kMaxBatchEnvelopes = 10000;

absl::Status Annotate(const absl::Status& status, const std::string& what) {
  if (status.ok()) return status;
  return absl::Status(status.code(), absl::StrCat(what, ": ", std::string(status.message())));
}

// Mutual TLS unless --insecure-dev, never both (docs/tls.md). Errors name the missing key.
absl::Status CheckTlsConfig(const tds::NodeConfig& config) {
  const tds::TlsConfig& tls = config.tls();
  const bool any_tls = !tls.cert().empty() || !tls.key().empty() || !tls.ca().empty();
  if (config.insecure_dev()) {
    if (!config.console_listen().empty()) {
      return absl::InvalidArgumentError(
          "--console-listen (`console_listen`): the web console is served over HTTPS with the "
          "node's TLS certificate, so not with --insecure-dev");
    }
    if (!any_tls) return absl::OkStatus();
    return absl::InvalidArgumentError(
        "--insecure-dev (`insecure_dev`) serves plaintext and cannot be combined with "
        "--tls-cert/--tls-key/--tls-ca (`tls.*`): drop one or the other");
  }
  struct Required {
    const std::string& value;
    const char* key;
    const char* flag;
    const char* what;
  };
  for (const Required& r :
       {Required{tls.cert(), "tls.cert", "--tls-cert", "certificate"},
        Required{tls.key(), "tls.key", "--tls-key", "private key"},
        Required{tls.ca(), "tls.ca", "--tls-ca", "consortium CA certificate"}}) {
    if (r.value.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "no TLS ", r.what, ": pass ", r.flag, " or set `", r.key,
          "` in the config file (mutual TLS is required; --insecure-dev serves plaintext for "
          "development only)"));
    }
  }
  return absl::OkStatus();
}

void GrpcLogToSpdlog(gpr_log_func_args* args) {
  spdlog::level::level_enum level = spdlog::level::info;
  switch (args->severity) {
    case GPR_LOG_SEVERITY_DEBUG:
      level = spdlog::level::debug;
      break;
    case GPR_LOG_SEVERITY_INFO:
      level = spdlog::level::info;
      break;
    case GPR_LOG_SEVERITY_ERROR:
      level = spdlog::level::err;
      break;
  }
  spdlog::log(level, "grpc: {} ({}:{})", args->message, args->file, args->line);
}

// A node's certificate is also its client identity (a follower dialling its validator): say so
// at startup if peers would not recognise it as this node's member.
void WarnUnlessOwnCertificate(const PeerIdentity& identity, const CertificateInfo& cert,
                              const std::string& node_id) {
  absl::StatusOr<std::string> member = identity.Identify(cert);
  if (!member.ok()) {
    spdlog::warn("tls.cert: {}; peers will refuse this node's calls",
                 std::string(member.status().message()));
  } else if (*member != node_id) {
    spdlog::warn("tls.cert identifies member '{}', not this node's member '{}'", *member, node_id);
  }
}

using SubmitFn = std::function<void(std::string envelope, ledger::Ledger::Done done)>;

// The node's submit path (`submit`, or the ledger's own when empty), timing each submission to
// its acknowledgement. One clock read and one atomic add each way: it is on every transaction.
SubmitFn TimedSubmit(SubmitFn submit, ledger::Ledger* ledger, metrics::Registry& registry) {
  if (!submit) {
    submit = [ledger](std::string envelope, ledger::Ledger::Done done) {
      ledger->Submit(std::move(envelope), std::move(done));
    };
  }
  // 0.5 ms .. 16 s.
  metrics::Histogram& latency = registry.AddHistogram(
      "tds_commit_seconds",
      "Submission to acknowledgement of committed transactions (this node's clients and "
      "gateway), seconds",
      metrics::ExponentialBuckets(0.0005, 2, 16));
  metrics::Family<metrics::Counter>& outcomes = registry.AddCounterFamily(
      "tds_submissions_total", "Transactions submitted through this node, by outcome", {"outcome"});
  metrics::Counter& committed = outcomes.With({"committed"});
  metrics::Counter& refused = outcomes.With({"refused"});
  return [submit = std::move(submit), &latency, &committed, &refused](std::string envelope,
                                                                      ledger::Ledger::Done done) {
    const auto start = std::chrono::steady_clock::now();
    submit(std::move(envelope), [&latency, &committed, &refused, start,
                                 done = std::move(done)](absl::StatusOr<ledger::SubmitAck> ack) {
      if (ack.ok()) {
        latency.Observe(
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
        committed.Add();
      } else {
        refused.Add();
      }
      done(std::move(ack));
    });
  };
}

}  // namespace

void RouteGrpcLogsToSpdlog() { gpr_set_log_function(GrpcLogToSpdlog); }

absl::Status SplitHostPort(const std::string& address, std::string* host, int* port) {
  size_t colon = address.rfind(':');
  if (address.empty() || colon == std::string::npos || colon == 0 || colon + 1 == address.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("listen address \"", address, "\": expected HOST:PORT"));
  }
  std::string h = address.substr(0, colon);
  if (h.front() == '[') {
    if (h.size() < 3 || h.back() != ']') {
      return absl::InvalidArgumentError(
          absl::StrCat("listen address \"", address, "\": unbalanced brackets around the host"));
    }
  } else if (h.find(':') != std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("listen address \"", address, "\": put an IPv6 host in brackets, [::1]:7400"));
  }
  int p = 0;
  if (!absl::SimpleAtoi(address.substr(colon + 1), &p) || p < 0 || p > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("listen address \"", address, "\": port must be 0..65535"));
  }
  *host = std::move(h);
  *port = p;
  return absl::OkStatus();
}

absl::Status FinalizeConfig(tds::NodeConfig* config) {
  if (config->listen().empty()) config->set_listen(kDefaultListen);
  if (config->log_format().empty()) config->set_log_format("human");
  if (config->log_level().empty()) config->set_log_level("info");
  tds::LedgerConfig* ledger = config->mutable_ledger();
  if (ledger->max_block_txs() == 0) ledger->set_max_block_txs(kDefaultMaxBlockTxs);
  if (ledger->max_entry_bytes() == 0) ledger->set_max_entry_bytes(kDefaultMaxEntryBytes);
  if (!ledger->has_sync()) ledger->set_sync(true);

  if (config->data().empty()) {
    return absl::InvalidArgumentError(
        "no data directory: pass --data or set `data` in the config file");
  }
  if (config->genesis().empty()) {
    return absl::InvalidArgumentError(
        "no genesis file: pass --genesis or set `genesis` in the config file");
  }
  if (config->key().empty()) {
    return absl::InvalidArgumentError("no key file: pass --key or set `key` in the config file");
  }
  TDS_RETURN_IF_ERROR(CheckTlsConfig(*config));
  if (config->log_format() != "human" && config->log_format() != "json") {
    return absl::InvalidArgumentError(absl::StrCat(
        "log_format: expected \"human\" or \"json\", got \"", config->log_format(), "\""));
  }
  if (ledger->max_block_txs() > kMaxBlockTxsLimit) {
    return absl::InvalidArgumentError(
        absl::StrCat("ledger.max_block_txs: ", ledger->max_block_txs(), " exceeds the limit of ",
                     kMaxBlockTxsLimit));
  }
  if (ledger->max_entry_bytes() > kMaxEntryBytesLimit) {
    return absl::InvalidArgumentError(
        absl::StrCat("ledger.max_entry_bytes: ", ledger->max_entry_bytes(),
                     " exceeds the limit of ", kMaxEntryBytesLimit));
  }
  std::string host;
  int port = 0;
  if (!config->metrics_listen().empty()) {
    TDS_RETURN_IF_ERROR(
        Annotate(SplitHostPort(config->metrics_listen(), &host, &port), "metrics_listen"));
  }
  if (!config->console_listen().empty()) {
    TDS_RETURN_IF_ERROR(
        Annotate(SplitHostPort(config->console_listen(), &host, &port), "console_listen"));
  }
  return SplitHostPort(config->listen(), &host, &port);
}

// The consensus peers: this node, the genesis validators, and every member `peers` lists
// (validators of later epochs, members that follow) — ids and HOST:PORTs ("" for this node).
// Every other genesis validator must be listed.
struct ConsensusPeers {
  std::vector<std::string> ids;
  std::vector<std::string> addresses;
  size_t self = 0;
};
absl::StatusOr<ConsensusPeers> PeerAddresses(const tds::NodeConfig& config,
                                             const ledger::GenesisInfo& genesis,
                                             const std::string& self) {
  ConsensusPeers out;
  auto index = [&](const std::string& id) {
    auto it = std::find(out.ids.begin(), out.ids.end(), id);
    if (it != out.ids.end()) return static_cast<size_t>(it - out.ids.begin());
    out.ids.push_back(id);
    out.addresses.emplace_back();
    return out.ids.size() - 1;
  };
  out.self = index(self);
  for (const ledger::Validator& v : genesis.validators()) index(v.id);
  for (const tds::ValidatorPeer& peer : config.peers()) {
    if (!ledger::ValidMemberId(peer.id())) {
      return absl::InvalidArgumentError(
          absl::StrCat("peers: '", peer.id(), "' is not a well-formed member id"));
    }
    std::string host;
    int port = 0;
    TDS_RETURN_IF_ERROR(SplitHostPort(peer.address(), &host, &port));
    const size_t i = index(peer.id());
    if (i != out.self) out.addresses[i] = peer.address();
  }
  std::vector<std::string> missing;
  for (const ledger::Validator& v : genesis.validators()) {
    if (v.id != self && out.addresses[index(v.id)].empty()) missing.push_back(v.id);
  }
  if (!missing.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "peers: the genesis has ", genesis.validators().size(), " validators; give the address of ",
        absl::StrJoin(missing, ", "), " (`peers` in the config, or --peer ID=HOST:PORT)"));
  }
  return out;
}

absl::StatusOr<std::unique_ptr<Server>> Server::Start(const tds::NodeConfig& config) {
  TDS_RETURN_IF_ERROR(CheckTlsConfig(config));
  std::string host;
  int port = 0;
  TDS_RETURN_IF_ERROR(SplitHostPort(config.listen(), &host, &port));
  // Mutual TLS unless --insecure-dev; the files are checked before anything else starts.
  std::optional<TlsMaterial> tls;
  if (!config.insecure_dev()) {
    absl::StatusOr<TlsMaterial> loaded =
        LoadTlsMaterial({config.tls().cert(), config.tls().key(), config.tls().ca()});
    if (!loaded.ok()) return Annotate(loaded.status(), "tls");
    tls = *std::move(loaded);
  }

  absl::StatusOr<ledger::GenesisInfo> genesis = ledger::GenesisInfo::Load(config.genesis());
  if (!genesis.ok()) return Annotate(genesis.status(), "genesis");
  absl::StatusOr<std::unique_ptr<SigningKey>> key = SigningKey::LoadFromFile(config.key());
  if (!key.ok()) return Annotate(key.status(), "key");

  std::error_code ec;
  std::filesystem::create_directories(config.data(), ec);
  if (ec) {
    return absl::FailedPreconditionError(
        absl::StrCat("data: cannot create directory ", config.data(), ": ", ec.message()));
  }

  std::unique_ptr<Server> server(new Server);
  if (!config.metrics_listen().empty()) server->metrics_ = std::make_unique<metrics::Registry>();
  server->app_ = std::make_unique<ledger::Application>();
  app::RegisterAll(*server->app_);

  ledger::LedgerOptions options;
  options.data_dir = config.data();
  options.max_block_txs = config.ledger().max_block_txs();
  options.max_entry_bytes = config.ledger().max_entry_bytes();
  options.sync = config.ledger().sync();
  options.follower = !config.validator().empty();
  if (config.ledger().consensus_timeout_ms() > 0) {
    options.consensus_timeout_ms = config.ledger().consensus_timeout_ms();
  }
  TransportOptions transport_options;
  transport_options.max_message_bytes = kMaxMessageBytes;
  const tds::Member* me = genesis->FindByKey((*key)->public_key());
  const std::string self_id = me != nullptr ? me->id() : config.member_id();
  options.member_id = config.member_id();
  if (!options.follower && (genesis->validators().size() > 1 || config.peers_size() > 0)) {
    // Consensus among several replicas: a transport to each other one. It exists before the
    // ledger (whose replica sends at once) and hands messages over once the ledger is open.
    if (self_id.empty()) {
      return absl::FailedPreconditionError(
          "key: this node's key is not a genesis member's; set `member_id` (a member admitted "
          "by governance) or `validator` (to follow one)");
    }
    TDS_ASSIGN_OR_RETURN(ConsensusPeers peers, PeerAddresses(config, *genesis, self_id));
    std::atomic<ledger::Ledger*>* target = &server->consensus_target_;
    auto ids = std::make_shared<const std::vector<std::string>>(peers.ids);
    server->consensus_transport_ = std::make_unique<ConsensusTransport>(
        peers.ids, peers.self, std::move(peers.addresses),
        tls ? TlsChannelCredentials(*tls) : grpc::InsecureChannelCredentials(),
        config.insecure_dev(), transport_options,
        [target, ids](size_t from, tds::ConsensusMessage msg) {
          if (ledger::Ledger* l = target->load()) l->DeliverConsensus((*ids)[from], std::move(msg));
        });
    ConsensusTransport* transport = server->consensus_transport_.get();
    options.send = [transport, ids](const std::string& to, const tds::ConsensusMessage& m) {
      if (to.empty()) {
        transport->Send(-1, m);
        return;
      }
      auto it = std::find(ids->begin(), ids->end(), to);
      if (it != ids->end()) transport->Send(static_cast<int>(it - ids->begin()), m);
    };
  }
  absl::StatusOr<std::unique_ptr<ledger::Ledger>> opened =
      ledger::Ledger::Open(options, *std::move(genesis), *std::move(key), server->app_.get());
  if (!opened.ok()) return Annotate(opened.status(), "ledger");
  server->ledger_ = *std::move(opened);
  server->consensus_target_.store(server->ledger_.get());
  if (!options.sync) {
    spdlog::warn("ledger.sync is off: acknowledged transactions may be lost on a crash");
  }

  LedgerServiceOptions service_options;
  service_options.max_batch_envelopes = kMaxBatchEnvelopes;
  service_options.max_entry_bytes = options.max_entry_bytes;
  if (options.follower) {
    // The follower dials its validator with its own certificate (plaintext under
    // --insecure-dev): the validator's TLS gate sees this node's member.
    // `validator` may list several, comma-separated: the follower moves on when one is down.
    std::vector<std::shared_ptr<grpc::Channel>> channels;
    for (std::string_view address : SplitString(config.validator(), ',')) {
      channels.push_back(
          grpc::CreateChannel(std::string(address), tls ? TlsChannelCredentials(*tls)
                                                        : grpc::InsecureChannelCredentials()));
    }
    server->forwarder_ = std::make_unique<Forwarder>(server->ledger_.get(), channels);
    server->replicator_ = std::make_unique<Replicator>(server->ledger_.get(), channels);
    server->replicator_->Start();
    Forwarder* forwarder = server->forwarder_.get();
    service_options.submit = [forwarder](std::string envelope, ledger::Ledger::Done done) {
      forwarder->Submit(std::move(envelope), std::move(done));
    };
    spdlog::info("following validator {}", config.validator());
  }
  if (server->metrics_ != nullptr) {
    service_options.submit =
        TimedSubmit(std::move(service_options.submit), server->ledger_.get(), *server->metrics_);
  }
  server->service_ = std::make_unique<LedgerService>(server->ledger_.get(), service_options);
  absl::StatusOr<std::unique_ptr<QueryServices>> queries =
      QueryServices::Create(server->ledger_.get(), QueryServiceOptions());
  if (!queries.ok()) return Annotate(queries.status(), "query services");
  server->queries_ = *std::move(queries);
  server->audit_ = std::make_unique<AuditService>(server->ledger_.get(), QueryServiceOptions());
  if (!config.console_listen().empty()) TDS_RETURN_IF_ERROR(server->StartConsole(config, *tls));
  NodeFacts facts;
  if (server->console_ != nullptr) facts.console_address = server->console_->address();
  facts.validator_address = config.validator();
  if (ConsensusTransport* t = server->consensus_transport_.get();
      t != nullptr && config.allow_fault_injection()) {
    facts.inject_fault =
        [t](bool heal,
            const std::set<std::string>& isolate) -> absl::StatusOr<std::set<std::string>> {
      if (heal) {
        t->Heal();
      } else {
        TDS_RETURN_IF_ERROR(t->Isolate(isolate));
      }
      return t->isolated();
    };
    spdlog::warn(
        "fault injection enabled (--allow-fault-injection): the operator may isolate "
        "this validator from the others");
  }
  if (Replicator* replicator = server->replicator_.get()) {
    facts.replication = [replicator] { return replicator->status(); };
  }
  for (const tds::DataSourceConfig& source : config.sources()) {
    tds::ServedSource* served = &facts.sources.emplace_back();
    served->set_product(source.product());
    served->set_kind(source.kind());
  }
  server->admin_ = std::make_unique<AdminService>(server->ledger_.get(), std::move(facts),
                                                  QueryServiceOptions());
  // The metered gateway: its sources, checked against the catalog, and the Compute service.
  // Its usage.* transactions take this node's submit path; the caller is the TLS member.
  absl::StatusOr<std::unique_ptr<gateway::GatewayNode>> compute = gateway::GatewayNode::Create(
      server->ledger_.get(), config, service_options.submit,
      [](const grpc::ServerContext& ctx) { return CertificateMember(ctx); },
      tls ? TlsChannelCredentials(*tls) : grpc::InsecureChannelCredentials());
  if (!compute.ok()) return Annotate(compute.status(), "gateway");
  server->compute_ = *std::move(compute);
  if (server->metrics_ != nullptr) TDS_RETURN_IF_ERROR(server->StartMetrics(config));

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int selected_port = 0;
  std::shared_ptr<grpc::ServerCredentials> credentials = grpc::InsecureServerCredentials();
  if (tls) {
    absl::StatusOr<std::shared_ptr<PeerIdentity>> identity =
        PeerIdentity::Create(server->ledger_.get());
    if (!identity.ok()) return identity.status();
    WarnUnlessOwnCertificate(**identity, tls->cert_info, server->ledger_->node_id());
    absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> tls_credentials =
        TlsServerCredentials(*tls, *std::move(identity));
    if (!tls_credentials.ok()) return Annotate(tls_credentials.status(), "tls");
    credentials = *std::move(tls_credentials);
  }
  builder.AddListeningPort(config.listen(), credentials, &selected_port);
  builder.RegisterService(server->service_.get());
  server->queries_->RegisterWith(builder);
  server->compute_->RegisterWith(builder);
  builder.RegisterService(server->audit_.get());
  builder.RegisterService(server->admin_.get());
  if (server->consensus_transport_ != nullptr) {
    builder.RegisterService(server->consensus_transport_->service());
    ConsensusTransport::ConfigureServer(&builder, transport_options);
  }
  builder.SetMaxReceiveMessageSize(kMaxMessageBytes);
  // gRPC sets SO_REUSEPORT by default, which would let a second node bind the same port.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  server->server_ = builder.BuildAndStart();
  if (server->server_ == nullptr || selected_port == 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", config.listen(),
                                               " (address in use, or not a local address)"));
  }
  server->address_ = absl::StrCat(host, ":", selected_port);
  if (server->consensus_transport_ != nullptr) server->consensus_transport_->Start();
  if (grpc::HealthCheckServiceInterface* health = server->server_->GetHealthCheckService()) {
    health->SetServingStatus(true);
  }

  ledger::LedgerStatus status = server->ledger_->Status();
  spdlog::info("tdsd serving on {} as {} (origin \"{}\", height {}, log size {})", server->address_,
               server->ledger_->node_id(), server->ledger_->genesis().origin(), status.height,
               status.log_size);
  if (tls) {
    spdlog::info(
        "mutual TLS 1.3: certificate {} (CN \"{}\"), clients must present a certificate "
        "of the consortium CA that identifies a current member",
        tls->cert_info.sha256_hex, tls->cert_info.common_name);
  } else {
    spdlog::warn("serving plaintext gRPC (--insecure-dev): for development only");
  }
  return server;
}

absl::Status Server::StartConsole(const tds::NodeConfig& config, const TlsMaterial& tls) {
  console::ConsoleOptions options;
  options.listen = config.console_listen();
  options.tls_cert_pem = tls.identity.cert_pem;
  options.tls_key_pem = tls.identity.key_pem;
  TDS_ASSIGN_OR_RETURN(options.genesis_text, ReadFile(config.genesis()));
  options.node_member = ledger_->node_id();
  absl::StatusOr<std::unique_ptr<console::ConsoleServer>> console =
      console::ConsoleServer::Start(std::move(options), queries_.get(), audit_.get());
  if (!console.ok()) return Annotate(console.status(), "console_listen");
  console_ = *std::move(console);
  spdlog::info("web console on https://{}/", console_->address());
  return absl::OkStatus();
}

absl::Status Server::StartMetrics(const tds::NodeConfig& config) {
  metrics::Registry& r = *metrics_;
  ledger::Ledger* ledger = ledger_.get();
  r.AddCallback("tds_ledger_height", "Blocks in this node's ledger", false,
                [ledger] { return static_cast<double>(ledger->Status().height); });
  r.AddCallback("tds_ledger_log_size", "Transactions in this node's ledger (Merkle log leaves)",
                false, [ledger] { return static_cast<double>(ledger->Status().log_size); });
  r.AddCallback("tds_ledger_pending", "Submissions waiting for their block", false,
                [ledger] { return static_cast<double>(ledger->Status().pending); });
  r.AddCallback("tds_ledger_last_block_time_seconds",
                "Block time of the latest block, seconds since the epoch", false, [ledger] {
                  return static_cast<double>(ledger->Status().last_block_time_ms) / 1000;
                });
  r.AddCallback("tds_consensus_epoch", "Consensus epoch (0 on a follower)", false,
                [ledger] { return static_cast<double>(ledger->consensus_status().epoch); });
  r.AddCallback("tds_consensus_view", "Consensus view this validator is in (0 on a follower)",
                false, [ledger] { return static_cast<double>(ledger->consensus_status().view); });
  r.AddCallback("tds_consensus_view_changes_total",
                "Views ended by a timeout certificate (leader replaced) since this node started",
                true,
                [ledger] { return static_cast<double>(ledger->consensus_status().timeouts); });
  // Usage records and their violations as blocks commit (on any node: the ledger's view).
  metrics::Family<metrics::Counter>& records = r.AddCounterFamily(
      "tds_usage_records_total", "Usage records committed since this node started, by operation",
      {"operation"});
  metrics::Family<metrics::Counter>& violations = r.AddCounterFamily(
      "tds_violations_total",
      "Term violations flagged in usage records committed since this node started, by term",
      {"term"});
  ledger->Observe(
      [](const ledger::StateReader&) {},
      [&records, &violations](uint64_t, int64_t, const ledger::Ledger::StateWrites& writes) {
        const std::string_view prefix = contracts::kUsageRecordPrefix;
        for (auto it = writes.lower_bound(prefix);
             it != writes.end() && it->first.starts_with(prefix); ++it) {
          tds::UsageRecordState record;
          if (!it->second || !record.ParseFromString(*it->second)) continue;
          records.With({record.operation()}).Add();
          for (const tds::Violation& v : record.violations()) {
            violations.With({v.term()}).Add();
          }
        }
      });
  gateway::RegisterRunMetrics();  // listed before the first run

  const metrics::Registry* node_metrics = metrics_.get();
  absl::StatusOr<std::unique_ptr<HttpServer>> http =
      HttpServer::Start(config.metrics_listen(), [node_metrics](const HttpRequest& request) {
        HttpResponse response;
        if (request.path != "/metrics") {
          response.status = 404;
          response.body = "not found; metrics are at /metrics\n";
          return response;
        }
        response.content_type = "text/plain; version=0.0.4; charset=utf-8";
        node_metrics->Render(&response.body);
        metrics::Global().Render(&response.body);
        return response;
      });
  if (!http.ok()) return Annotate(http.status(), "metrics_listen");
  metrics_http_ = *std::move(http);
  metrics_address_ = metrics_http_->address();
  spdlog::info("metrics on http://{}/metrics", metrics_address_);
  return absl::OkStatus();
}

Server::~Server() { Shutdown(); }

std::string Server::console_address() const {
  return console_ != nullptr ? console_->address() : "";
}

void Server::Shutdown(std::chrono::milliseconds grace) {
  if (shut_down_) return;
  shut_down_ = true;
  metrics_http_.reset();  // stops scrapes, which read the ledger
  console_.reset();       // stops the console's pages, which read it too
  if (server_ != nullptr) {
    if (grpc::HealthCheckServiceInterface* health = server_->GetHealthCheckService()) {
      health->SetServingStatus(false);
    }
  }
  // Streams never end on their own: end them first, or Server::Shutdown would wait the full
  // grace period for them.
  if (service_ != nullptr) service_->Shutdown();
  if (consensus_transport_ != nullptr) consensus_transport_->Stop();
  if (server_ != nullptr) {
    // In-flight submissions complete as their blocks commit (the ledger is still running);
    // those still waiting when the grace period ends (validators without a quorum) are told
    // so, or the server would wait for them forever.
    std::mutex mu;
    std::condition_variable cv;
    bool stopped = false;
    std::thread aborter([&] {
      std::unique_lock<std::mutex> l(mu);
      if (cv.wait_for(l, grace, [&] { return stopped; })) return;
      l.unlock();
      if (ledger_ != nullptr) {
        ledger_->AbortWaiting(absl::UnavailableError(
            "node shutting down before the transaction committed; resubmit to another node"));
      }
    });
    server_->Shutdown(std::chrono::system_clock::now() + grace);
    server_->Wait();
    {
      std::lock_guard<std::mutex> l(mu);
      stopped = true;
    }
    cv.notify_all();
    aborter.join();
  }
  server_.reset();
  service_.reset();
  queries_.reset();
  audit_.reset();
  admin_.reset();
  compute_.reset();
  replicator_.reset();  // no block is applied after this, so the forwarder may go
  forwarder_.reset();
  consensus_target_.store(nullptr);
  if (ledger_ != nullptr) {
    ledger_.reset();  // stops consensus; what was not committed is answered as such
    spdlog::info("ledger closed");
  }
  consensus_transport_.reset();
  app_.reset();
}

}  // namespace tds::node
