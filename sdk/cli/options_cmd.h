#pragma once
// State shared by every `tds` subcommand: the global options, the exit code, and helpers that
// turn missing options and failed calls into one clear "error: ..." line on stderr.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "CLI/CLI.hpp"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/keys.h"
#include "sdk/client.h"

namespace tds::cli {

struct GlobalOptions {
  std::string node;  // HOST:PORT
  std::string key;   // member key file
  // Mutual TLS files (docs/tls.md): required unless insecure_dev.
  std::string tls_cert;
  std::string tls_key;
  std::string tls_ca;
  bool insecure_dev = false;
  int64_t timeout_ms = 30000;
};

struct Context {
  GlobalOptions options;
  int exit_code = 0;
};

// Registers --node, --key, --tls-cert, --tls-key, --tls-ca, --insecure-dev and --timeout-ms on
// the root app.
void AddGlobalOptions(CLI::App& app, Context& ctx);

// Makes `run`'s return value the process exit code when `sub` is invoked.
void OnRun(CLI::App* sub, Context& ctx, std::function<int()> run);

// Print "error: <message>" to stderr and return 1.
int Fail(std::string_view message);
int Fail(const absl::Status& status);

// The SDK's transport options from the global ones (address, transport, deadline).
sdk::ClientOptions ClientOptionsFrom(const GlobalOptions& options);

// A client for --node; the error says which option is missing.
absl::StatusOr<std::unique_ptr<sdk::LedgerClient>> ConnectToNode(const GlobalOptions& options);
// The member key in --key.
absl::StatusOr<std::unique_ptr<SigningKey>> LoadMemberKey(const GlobalOptions& options);

}  // namespace tds::cli
