// tdsd: the TDS node. Serves the ledger over gRPC.
//
// Exit codes: 0 after a clean shutdown (SIGINT/SIGTERM), 1 when the node cannot start
// (bad file, ledger error, TLS files that do not check out, port in use), 2 for a usage error
// (bad flag, missing option, no TLS files without --insecure-dev, or both).

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <exception>
#include <memory>
#include <string>

#include "CLI/CLI.hpp"
#include "absl/status/status.h"
#include "common/config.h"
#include "common/file.h"
#include "common/logging.h"
#include "node/server.h"
#include "proto/config.pb.h"
#include "spdlog/spdlog.h"

namespace {

constexpr int kExitStartFailed = 1;
constexpr int kExitUsage = 2;

int Fail(int code, const std::string& message) {
  std::fprintf(stderr, "tdsd: error: %s\n", message.c_str());
  return code;
}

int Run(int argc, char** argv) {
  // Block the shutdown signals before any thread exists, so every thread inherits the mask
  // and only the sigwait below receives them.
  sigset_t shutdown_signals;
  sigemptyset(&shutdown_signals);
  sigaddset(&shutdown_signals, SIGINT);
  sigaddset(&shutdown_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &shutdown_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  CLI::App app{
      "tdsd - the Trusted Data Space node: hosts the ledger and serves it over gRPC.\n"
      "Options override the config file. SIGINT/SIGTERM shut down gracefully."};
  app.set_help_flag("-h,--help", "Print this help and exit");

  std::string config_path, data, genesis, key, listen, log_format, log_level, ready_file, validator,
      tls_cert, tls_key, tls_ca, metrics_listen, console_listen;
  uint32_t max_block_txs = 0, consensus_timeout_ms = 0;
  bool insecure_dev = false, no_sync = false, allow_fault = false;
  std::vector<std::string> peers;
  app.add_option("--config", config_path,
                 "Config file, YAML or JSON (fields of tds.NodeConfig in proto/config.proto)");
  CLI::Option* o_data =
      app.add_option("--data", data, "Data directory for the ledger store (required; `data`)");
  CLI::Option* o_genesis =
      app.add_option("--genesis", genesis, "Genesis file (required; `genesis`)");
  CLI::Option* o_key =
      app.add_option("--key", key,
                     "This node's member key file, mode 0600; a validator's key unless "
                     "--validator is given (required; `key`)");
  CLI::Option* o_validator = app.add_option(
      "--validator", validator,
      "Follow the validators at HOST:PORT[,HOST:PORT...]: keep a verified replica of the ledger "
      "and forward submissions, moving to the next validator when one is unreachable "
      "(`validator`; empty: this node is a validator)");
  CLI::Option* o_listen =
      app.add_option("--listen", listen, "gRPC listen address HOST:PORT; port 0 picks a free one")
          ->default_str(tds::node::kDefaultListen);
  CLI::Option* o_metrics_listen = app.add_option(
      "--metrics-listen", metrics_listen,
      "Serve Prometheus metrics over plain HTTP at http://HOST:PORT/metrics; port 0 picks a "
      "free one (`metrics_listen`; default: not served)");
  CLI::Option* o_console_listen = app.add_option(
      "--console-listen", console_listen,
      "Serve the web console over HTTPS at https://HOST:PORT/ with this node's TLS certificate, "
      "for members who sign in with `tds console login`; port 0 picks a free one "
      "(`console_listen`; default: not served; needs TLS)");
  CLI::Option* o_tls_cert = app.add_option(
      "--tls-cert", tls_cert,
      "This node's TLS certificate, PEM (`tds cert issue`; required unless --insecure-dev; "
      "`tls.cert`)");
  CLI::Option* o_tls_key =
      app.add_option("--tls-key", tls_key, "Its private key, PEM, mode 0600 (`tls.key`)");
  CLI::Option* o_tls_ca = app.add_option(
      "--tls-ca", tls_ca,
      "The consortium CA certificate, PEM (`tds cert ca`): peers must present a certificate it "
      "issued (`tls.ca`)");
  CLI::Option* o_insecure = app.add_flag(
      "--insecure-dev", insecure_dev,
      "Serve plaintext gRPC instead of mutual TLS (development only; not with --tls-*)");
  CLI::Option* o_log_format = app.add_option("--log-format", log_format, "Log format")
                                  ->check(CLI::IsMember({"human", "json"}))
                                  ->default_str("human");
  CLI::Option* o_log_level =
      app.add_option("--log-level", log_level, "Log level")
          ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}))
          ->default_str("info");
  CLI::Option* o_max_block_txs =
      app.add_option("--max-block-txs", max_block_txs,
                     "Most transactions per block (group commit; `ledger.max_block_txs`)")
          ->check(CLI::Range(1u, 100000u))
          ->default_str(std::to_string(tds::node::kDefaultMaxBlockTxs));
  CLI::Option* o_no_sync = app.add_flag(
      "--no-sync", no_sync,
      "Do not fsync blocks before acknowledging (experiments only: a crash loses acknowledged "
      "transactions; `ledger.sync: false`)");
  CLI::Option* o_peers = app.add_option(
      "--peer", peers,
      "A validator among several: ID=HOST:PORT of another consensus peer, once per peer: every "
      "other genesis validator, and members that validate in later epochs or follow consensus "
      "(`peers`); consensus messages go there over mutual TLS");
  std::string member_id;
  CLI::Option* o_member_id = app.add_option(
      "--member-id", member_id,
      "This node's member id when its key is not in the genesis (a member admitted later by "
      "governance; it follows consensus until it is given the validator role; `member_id`)");
  CLI::Option* o_timeout =
      app.add_option("--consensus-timeout-ms", consensus_timeout_ms,
                     "A view's first timeout before validators replace its leader "
                     "(`ledger.consensus_timeout_ms`)")
          ->check(CLI::Range(50u, 600000u))
          ->default_str("1000");
  CLI::Option* o_allow_fault = app.add_flag(
      "--allow-fault-injection", allow_fault,
      "Let this node's operator isolate it from other validators (`tds node fault`; liveness "
      "tests only; `allow_fault_injection`)");
  app.add_option("--ready-file", ready_file,
                 "Once serving, write \"HOST:PORT\\n\" (the real address) to this file "
                 "atomically (replacing it); removed at shutdown. Delete a stale one before "
                 "starting if you wait on it");
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    return Fail(kExitUsage, std::string(e.what()) + " (see tdsd --help)");
  }

  tds::NodeConfig config;
  if (!config_path.empty()) {
    if (absl::Status s = tds::LoadConfigFile(config_path, &config); !s.ok()) {
      return Fail(kExitUsage, std::string(s.message()));
    }
  }
  if (o_data->count() > 0) config.set_data(data);
  if (o_genesis->count() > 0) config.set_genesis(genesis);
  if (o_key->count() > 0) config.set_key(key);
  if (o_listen->count() > 0) config.set_listen(listen);
  if (o_validator->count() > 0) config.set_validator(validator);
  if (o_metrics_listen->count() > 0) config.set_metrics_listen(metrics_listen);
  if (o_console_listen->count() > 0) config.set_console_listen(console_listen);
  if (o_insecure->count() > 0) config.set_insecure_dev(true);
  if (o_tls_cert->count() > 0) config.mutable_tls()->set_cert(tls_cert);
  if (o_tls_key->count() > 0) config.mutable_tls()->set_key(tls_key);
  if (o_tls_ca->count() > 0) config.mutable_tls()->set_ca(tls_ca);
  if (o_log_format->count() > 0) config.set_log_format(log_format);
  if (o_log_level->count() > 0) config.set_log_level(log_level);
  if (o_max_block_txs->count() > 0) config.mutable_ledger()->set_max_block_txs(max_block_txs);
  if (o_no_sync->count() > 0) config.mutable_ledger()->set_sync(false);
  if (o_timeout->count() > 0)
    config.mutable_ledger()->set_consensus_timeout_ms(consensus_timeout_ms);
  if (o_allow_fault->count() > 0) config.set_allow_fault_injection(true);
  if (o_member_id->count() > 0) config.set_member_id(member_id);
  for (const std::string& p : peers) {
    const size_t eq = p.find('=');
    if (o_peers->count() == 0 || eq == std::string::npos || eq == 0) {
      return Fail(kExitUsage, "--peer " + p + ": expected ID=HOST:PORT");
    }
    tds::ValidatorPeer* peer = config.add_peers();
    peer->set_id(p.substr(0, eq));
    peer->set_address(p.substr(eq + 1));
  }
  if (absl::Status s = tds::node::FinalizeConfig(&config); !s.ok()) {
    return Fail(kExitUsage, std::string(s.message()));
  }

  if (absl::Status s = tds::InitLogging(config.log_format(), config.log_level()); !s.ok()) {
    return Fail(kExitUsage, std::string(s.message()));
  }
  tds::node::RouteGrpcLogsToSpdlog();

  absl::StatusOr<std::unique_ptr<tds::node::Server>> server = tds::node::Server::Start(config);
  if (!server.ok()) return Fail(kExitStartFailed, std::string(server.status().message()));

  if (!ready_file.empty()) {
    absl::Status s = tds::WriteFileAtomic(ready_file, (*server)->address() + "\n");
    if (!s.ok()) {
      (*server)->Shutdown();
      return Fail(kExitStartFailed, "ready file: " + std::string(s.message()));
    }
  }

  int signo = 0;
  while (sigwait(&shutdown_signals, &signo) != 0) {
  }
  spdlog::info("received {}; shutting down", signo == SIGINT ? "SIGINT" : "SIGTERM");
  // Remove the ready file only while it is still ours (another node may have replaced it).
  if (!ready_file.empty()) {
    absl::StatusOr<std::string> content = tds::ReadFile(ready_file);
    if (content.ok() && *content == (*server)->address() + "\n") ::unlink(ready_file.c_str());
  }
  (*server)->Shutdown();
  server->reset();
  spdlog::info("tdsd stopped");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return Run(argc, argv);
  } catch (const std::exception& e) {
    // Nothing here should throw; if something does, still end with one line, not an abort.
    return Fail(kExitStartFailed, e.what());
  }
}
