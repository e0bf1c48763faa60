#include "sdk/channel.h"

#include "absl/strings/str_cat.h"

namespace tds::sdk {

absl::StatusOr<std::shared_ptr<grpc::Channel>> OpenChannel(const ClientOptions& options) {
  if (options.address.empty()) {
    return absl::InvalidArgumentError("Connect: address: expected HOST:PORT, got nothing");
  }
  if (!options.insecure_dev) {
    return absl::FailedPreconditionError("TLS not available yet; use --insecure-dev");
  }
  if (options.timeout_ms < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("Connect: timeout_ms: must not be negative, got ", options.timeout_ms));
  }
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(kMaxMessageBytes);
  args.SetMaxSendMessageSize(kMaxMessageBytes);
  return grpc::CreateCustomChannel(options.address, grpc::InsecureChannelCredentials(), args);
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
