#include "sdk/cli/options_cmd.h"

#include <iostream>
#include <utility>

namespace tds::cli {

void AddGlobalOptions(CLI::App& app, Context& ctx) {
  GlobalOptions& o = ctx.options;
  app.add_option(
         "--node", o.node,
         "Node to talk to, HOST:PORT (every command but keygen, genesis, cert, verify, merkle)")
      ->envname("TDS_NODE");
  app.add_option("--key", o.key,
                 "Member key file written by `tds keygen`: signs transactions and queries")
      ->envname("TDS_KEY");
  app.add_option("--tls-cert", o.tls_cert,
                 "This member's TLS certificate, PEM (`tds cert issue`); with --tls-key and "
                 "--tls-ca, mutual TLS to the node (required unless --insecure-dev)")
      ->envname("TDS_TLS_CERT");
  app.add_option("--tls-key", o.tls_key, "Its private key, PEM, mode 0600")->envname("TDS_TLS_KEY");
  app.add_option("--tls-ca", o.tls_ca, "The consortium CA certificate, PEM (`tds cert ca`)")
      ->envname("TDS_TLS_CA");
  app.add_flag("--insecure-dev", o.insecure_dev,
               "Plaintext gRPC to a node started with --insecure-dev (development only)");
  app.add_option("--timeout-ms", o.timeout_ms, "Deadline of each call to the node")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{1}, int64_t{24} * 3600 * 1000));
}

void OnRun(CLI::App* sub, Context& ctx, std::function<int()> run) {
  sub->callback([&ctx, run = std::move(run)] { ctx.exit_code = run(); });
}

int Fail(std::string_view message) {
  std::cerr << "error: " << message << "\n";
  return 1;
}

int Fail(const absl::Status& status) { return Fail(std::string(status.message())); }

sdk::ClientOptions ClientOptionsFrom(const GlobalOptions& options) {
  sdk::ClientOptions client_options;
  client_options.address = options.node;
  client_options.tls_cert = options.tls_cert;
  client_options.tls_key = options.tls_key;
  client_options.tls_ca = options.tls_ca;
  client_options.insecure_dev = options.insecure_dev;
  client_options.timeout_ms = options.timeout_ms;
  return client_options;
}

absl::StatusOr<std::unique_ptr<sdk::LedgerClient>> ConnectToNode(const GlobalOptions& options) {
  if (options.node.empty()) {
    return absl::InvalidArgumentError(
        "this command talks to a node: pass --node HOST:PORT (or set TDS_NODE)");
  }
  auto client = sdk::LedgerClient::Connect(ClientOptionsFrom(options));
  if (!client.ok()) {
    return absl::Status(client.status().code(), "cannot connect to " + options.node + ": " +
                                                    std::string(client.status().message()));
  }
  return client;
}

absl::StatusOr<std::unique_ptr<SigningKey>> LoadMemberKey(const GlobalOptions& options) {
  if (options.key.empty()) {
    return absl::InvalidArgumentError(
        "this command signs transactions: pass --key KEY_FILE (or set TDS_KEY); "
        "create one with `tds keygen --out KEY_FILE`");
  }
  return SigningKey::LoadFromFile(options.key);
}

}  // namespace tds::cli
