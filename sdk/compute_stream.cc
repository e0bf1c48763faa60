#include "sdk/compute_stream.h"

#include "compute/psi/kkrt_psi.h"
#include "compute/psi_params.h"
#include "compute/stream_link.h"
#include "proto/compute_service.grpc.pb.h"
#include "sdk/channel.h"

namespace tds::sdk {
namespace {

using ClientStream = grpc::ClientReaderWriter<tds::ComputeMessage, tds::ComputeMessage>;

// The status that explains a failed run: the node's, when it ended the call with an error
// (its message names what failed); else `local` (ours, or the protocol's).
absl::Status Explain(ClientStream& stream, grpc::ClientContext& ctx, bool peer_ended,
                     const absl::Status& local) {
  if (!peer_ended) ctx.TryCancel();  // we stop; the node would wait for us otherwise
  // Finish waits for messages nobody reads: a Write can fail while the node's last messages
  // (e.g. its protocol's abort) are still queued. The call has ended, so this drains quickly.
  tds::ComputeMessage unread;
  while (stream.Read(&unread)) {
  }
  const grpc::Status status = stream.Finish();
  if (!status.ok() && status.error_code() != grpc::StatusCode::CANCELLED) {
    return FromGrpc(status, "Compute.Run");
  }
  return local;
}

}  // namespace

absl::StatusOr<tds::ComputeResult> RunOverStream(
    const std::shared_ptr<grpc::Channel>& channel, int64_t timeout_ms, const std::string& request,
    const std::string& params, const std::function<absl::Status(compute::Link&)>& protocol) {
  std::unique_ptr<tds::Compute::Stub> stub = tds::Compute::NewStub(channel);
  grpc::ClientContext ctx;
  PrepareContext(&ctx, timeout_ms);
  std::unique_ptr<ClientStream> stream = stub->Run(&ctx);

  tds::ComputeMessage start;
  start.mutable_start()->set_request(request);
  start.mutable_start()->set_params(params);
  if (!stream->Write(start)) {
    return Explain(*stream, ctx, true,
                   absl::UnavailableError("Compute.Run: the node ended the call"));
  }
  compute::StreamLink<ClientStream> link(stream.get(), [&ctx] { ctx.TryCancel(); });
  if (absl::Status s = protocol(link); !s.ok()) {
    return Explain(*stream, ctx, link.peer_ended(), s);
  }
  tds::ComputeMessage last;
  if (!stream->Read(&last)) {
    return Explain(*stream, ctx, true,
                   absl::DataLossError("Compute.Run: the node ended the call without a result"));
  }
  if (last.kind_case() != tds::ComputeMessage::kResult) {
    return Explain(*stream, ctx, false,
                   absl::DataLossError("Compute.Run: expected the result after the protocol"));
  }
  stream->WritesDone();
  const grpc::Status status = stream->Finish();
  if (!status.ok()) return FromGrpc(status, "Compute.Run");
  return std::move(*last.mutable_result());
}

absl::StatusOr<compute::psi::PsiResult> RunPsiReceiver(
    compute::psi::PsiOutput output, const std::string& protocol,
    const std::vector<std::string>& ids,
    const std::function<void(const compute::psi::PsiProgress&)>& progress, compute::Link& link) {
  if (protocol == compute::kPsiOt) {
    compute::psi::KkrtPsiOptions options;
    options.output = output;
    options.progress = progress;
    return compute::psi::RunKkrtPsi(compute::psi::PsiRole::kReceiver, ids, options, link);
  }
  compute::psi::EcdhPsiOptions options;
  options.output = output;
  options.progress = progress;
  return compute::psi::RunEcdhPsi(compute::psi::PsiRole::kReceiver, ids, options, link);
}

}  // namespace tds::sdk
