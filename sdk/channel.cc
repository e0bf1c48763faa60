#include "sdk/channel.h"

#include <tuple>

#include "absl/strings/str_cat.h"
#include "common/grpc_tls.h"

namespace tds::sdk {
namespace {

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> Credentials(
    const ClientOptions& options) {
  const bool any_tls =
      !options.tls_cert.empty() || !options.tls_key.empty() || !options.tls_ca.empty();
  if (options.insecure_dev) {
    if (any_tls) {
      return absl::InvalidArgumentError(
          "Connect: --insecure-dev (plaintext) cannot be combined with --tls-cert/--tls-key/"
          "--tls-ca: drop one or the other");
    }
    return grpc::InsecureChannelCredentials();
  }
  for (const auto& [value, flag, what] :
       {std::tuple<const std::string&, const char*, const char*>{options.tls_cert, "--tls-cert",
                                                                 "certificate"},
        {options.tls_key, "--tls-key", "private key"},
        {options.tls_ca, "--tls-ca", "consortium CA certificate"}}) {
    if (value.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("Connect: no TLS ", what, ": pass ", flag,
                       " (nodes require mutual TLS; --insecure-dev talks plaintext to a "
                       "development node)"));
    }
  }
  absl::StatusOr<TlsMaterial> tls =
      LoadTlsMaterial({options.tls_cert, options.tls_key, options.tls_ca});
  if (!tls.ok()) {
    return absl::Status(tls.status().code(),
                        absl::StrCat("Connect: ", std::string(tls.status().message())));
  }
  return TlsChannelCredentials(*tls);
}

}  // namespace

absl::StatusOr<std::shared_ptr<grpc::Channel>> OpenChannel(const ClientOptions& options) {
  if (options.address.empty()) {
    return absl::InvalidArgumentError("Connect: address: expected HOST:PORT, got nothing");
  }
  if (options.timeout_ms < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("Connect: timeout_ms: must not be negative, got ", options.timeout_ms));
  }
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> credentials = Credentials(options);
  if (!credentials.ok()) return credentials.status();
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(kMaxMessageBytes);
  args.SetMaxSendMessageSize(kMaxMessageBytes);
  return grpc::CreateCustomChannel(options.address, *credentials, args);
}

void PrepareContext(grpc::ClientContext* ctx, int64_t timeout_ms) {
  if (timeout_ms > 0) {
    ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(timeout_ms));
  }
}

absl::Status FromGrpc(const grpc::Status& status, const char* method) {
  if (status.ok()) return absl::OkStatus();
  if (method == nullptr) {
    return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
  }
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      absl::StrCat(method, ": ", status.error_message()));
}

}  // namespace tds::sdk
