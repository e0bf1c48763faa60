#pragma once
// The one place the SDK opens a gRPC channel to a node, so every client (LedgerClient,
// QueryClient) shares the same transport options, limits and error mapping.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "grpcpp/grpcpp.h"

namespace tds::sdk {

struct ClientOptions {
  std::string address;  // HOST:PORT; HOST must be named by the node certificate's SANs
  // Mutual TLS (docs/tls.md): this member's certificate and key (`tds cert issue`) and the
  // consortium CA (`tds cert ca`). Required unless insecure_dev; refused together with it.
  std::string tls_cert;
  std::string tls_key;
  std::string tls_ca;
  bool insecure_dev = false;  // plaintext; development only, against a tdsd --insecure-dev
  int64_t timeout_ms = 30000;
};

// Matches the node's receive limit (node/server.h): a full 10,000-envelope batch fits.
inline constexpr int kMaxMessageBytes = 64 * 1024 * 1024;

// Validates `options` (address present; the three TLS files, loaded and checked as
// LoadTlsMaterial does, or else insecure_dev; timeout >= 0) and opens a channel. Over TLS the
// channel presents the member's certificate and accepts only a node certificate issued by the
// consortium CA for the dialled host. The channel connects lazily: an unreachable node, or a
// handshake the node refuses (certificate of another CA, TLS < 1.3), shows up as UNAVAILABLE
// on the first call. Errors are prefixed "Connect: " and name the option.
absl::StatusOr<std::shared_ptr<grpc::Channel>> OpenChannel(const ClientOptions& options);

// Sets the per-call deadline (timeout_ms > 0). A ClientContext must not be reused: use a fresh
// one per call.
void PrepareContext(grpc::ClientContext* ctx, int64_t timeout_ms);

// gRPC and absl share the canonical code numbering. The node's message is kept; `method`, when
// not null, prefixes it ("Submit: ...").
absl::Status FromGrpc(const grpc::Status& status, const char* method);

}  // namespace tds::sdk
