#include "node/gateway/compute_service.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/keys.h"
#include "compute/stream_link.h"
#include "spdlog/spdlog.h"

namespace tds::node::gateway {
namespace {

grpc::Status ToGrpc(const absl::Status& s) {
  if (s.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(s.code()), std::string(s.message()));
}

}  // namespace

ComputeService::ComputeService(Gateway* gateway, CallerOf caller_of)
    : gateway_(gateway), caller_of_(std::move(caller_of)) {}

grpc::Status ComputeService::Run(
    grpc::ServerContext* ctx,
    grpc::ServerReaderWriter<tds::ComputeMessage, tds::ComputeMessage>* stream) {
  tds::ComputeMessage first;
  if (!stream->Read(&first)) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "Compute.Run: the stream ended before its ComputeStart");
  }
  if (first.kind_case() != tds::ComputeMessage::kStart) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "Compute.Run: the first message must be a ComputeStart");
  }
  std::optional<std::string> caller;
  if (caller_of_) caller = caller_of_(*ctx);
  compute::StreamLink<grpc::ServerReaderWriter<tds::ComputeMessage, tds::ComputeMessage>> link(
      stream, [ctx] { ctx->TryCancel(); });
  absl::StatusOr<tds::ComputeResult> result = gateway_->Run(first.start(), caller, link);
  if (!result.ok()) return ToGrpc(result.status());
  tds::ComputeMessage out;
  *out.mutable_result() = *std::move(result);
  if (!stream->Write(out)) {
    spdlog::warn(
        "Compute.Run: the consumer left before its result was sent; its usage record "
        "stands");
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "Compute.Run: the consumer left");
  }
  return grpc::Status::OK;
}

absl::StatusOr<std::unique_ptr<GatewayNode>> GatewayNode::Create(
    ledger::Ledger* ledger, const tds::NodeConfig& config,
    std::function<void(std::string, ledger::Ledger::Done)> submit,
    ComputeService::CallerOf caller_of,
    std::shared_ptr<grpc::ChannelCredentials> peer_credentials) {
  absl::StatusOr<std::unique_ptr<SigningKey>> key = SigningKey::LoadFromFile(config.key());
  if (!key.ok()) {
    return absl::Status(key.status().code(),
                        absl::StrCat("gateway key: ", std::string(key.status().message())));
  }
  std::unique_ptr<GatewayNode> node(new GatewayNode);
  node->sources_ = ProductSources::Open(config.sources());
  GatewayOptions options;
  options.key = std::shared_ptr<const SigningKey>(std::move(*key));
  const std::shared_ptr<const SigningKey> options_key = options.key;
  options.submit = std::move(submit);
  // Anonymous query's master secret and bucket pins beside the ledger (query_tables.h).
  options.query_dir = config.data();
  options.model_dir = config.data();
  node->gateway_ = std::make_unique<Gateway>(ledger, node->sources_.get(), std::move(options));
  const std::string member = node->gateway_->MemberId();
  if (member.empty()) {
    if (config.sources_size() > 0) {
      spdlog::warn(
          "this node's key is not a current member's key yet: its {} data source(s) "
          "serve no computation until it is",
          config.sources_size());
    }
  } else {
    node->sources_->CheckAll(ledger->state(), member);
  }
  EnclaveHostOptions enclave;
  enclave.key = options_key;
  Gateway* gateway = node->gateway_.get();
  enclave.member_id = [gateway] { return gateway->MemberId(); };
  enclave.enclave_binary =
      config.enclave_binary().empty() ? DefaultEnclaveBinary() : config.enclave_binary();
  enclave.credentials = std::move(peer_credentials);
  node->enclave_host_ = std::make_unique<EnclaveJobHost>(ledger, std::move(enclave));
  node->enclave_service_ =
      std::make_unique<EnclaveHostService>(node->enclave_host_.get(), caller_of);
  node->service_ = std::make_unique<ComputeService>(node->gateway_.get(), std::move(caller_of));
  return node;
}

GatewayNode::~GatewayNode() = default;

void GatewayNode::RegisterWith(grpc::ServerBuilder& builder) {
  builder.RegisterService(service_.get());
  builder.RegisterService(enclave_service_.get());
}

}  // namespace tds::node::gateway
