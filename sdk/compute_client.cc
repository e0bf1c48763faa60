#include "sdk/compute_client.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/sha256.h"
#include "compute/psi/kkrt_psi.h"
#include "compute/psi_params.h"
#include "compute/stream_link.h"
#include "proto/compute_service.grpc.pb.h"
#include "sdk/tx_builders.h"

namespace tds::sdk {
namespace {

using ClientStream = grpc::ClientReaderWriter<tds::ComputeMessage, tds::ComputeMessage>;

// The status that explains a failed run: the node's, when it ended the call with an error
// (its message names what failed); else `local` (ours, or the protocol's).
absl::Status Explain(ClientStream& stream, grpc::ClientContext& ctx, bool peer_ended,
                     const absl::Status& local) {
  if (!peer_ended) ctx.TryCancel();  // we stop; the node would wait for us otherwise
  const grpc::Status status = stream.Finish();
  if (!status.ok() && status.error_code() != grpc::StatusCode::CANCELLED) {
    return FromGrpc(status, "Compute.Run");
  }
  return local;
}

// Opens Compute.Run on `stream` with ComputeStart{request, params}; runs `protocol` over the
// stream; then reads the node's ComputeResult. Errors explain themselves (Explain).
template <typename Protocol>
absl::StatusOr<tds::ComputeResult> RunOverStream(const std::shared_ptr<grpc::Channel>& channel,
                                                 int64_t timeout_ms, const std::string& request,
                                                 const std::string& params, Protocol protocol) {
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

}  // namespace

PreparedRun PreparePsi(const SigningKey& consumer_key, const std::string& consumer_id,
                       const std::string& contract_id, const std::string& purpose,
                       const tds::PsiParams& params, const std::string& nonce) {
  std::vector<std::string> columns;
  for (const tds::StatSpec& s : params.stats()) {
    if (std::find(columns.begin(), columns.end(), s.column()) == columns.end()) {
      columns.push_back(s.column());
    }
  }
  PreparedRun run;
  run.psi = params;
  run.params = params.SerializeAsString();
  run.request = BuildUsageRequest(consumer_key, consumer_id, contract_id,
                                  params.stats().empty() ? "psi" : "stats", purpose, columns,
                                  std::string(AsBytes(Sha256(run.params))), nonce);
  return run;
}

absl::StatusOr<PsiRunResult> RunPrepared(const std::shared_ptr<grpc::Channel>& channel,
                                         int64_t timeout_ms, const PreparedRun& run,
                                         const std::vector<std::string>& ids,
                                         const PsiProgressFn& progress) {
  absl::StatusOr<compute::psi::PsiOutput> output = compute::PsiOutputFromName(run.psi.output());
  if (!output.ok()) return output.status();
  absl::StatusOr<std::string> protocol = compute::StatedPsiProtocol(run.psi.protocol());
  if (!protocol.ok()) return protocol.status();
  absl::StatusOr<compute::psi::PsiResult> psi =
      absl::InternalError("Compute.Run: the protocol did not run");
  absl::StatusOr<tds::ComputeResult> result = RunOverStream(
      channel, timeout_ms, run.request, run.params, [&](compute::Link& link) -> absl::Status {
        if (*protocol == compute::kPsiOt) {
          compute::psi::KkrtPsiOptions options;
          options.output = *output;
          options.progress = progress;
          psi = compute::psi::RunKkrtPsi(compute::psi::PsiRole::kReceiver, ids, options, link);
        } else {
          compute::psi::EcdhPsiOptions options;
          options.output = *output;
          options.progress = progress;
          psi = compute::psi::RunEcdhPsi(compute::psi::PsiRole::kReceiver, ids, options, link);
        }
        return psi.status();
      });
  if (!result.ok()) return result.status();

  PsiRunResult out;
  out.matched = std::move(psi->matched);
  out.intersection_size = psi->intersection_size;
  out.result = *std::move(result);
  out.stats.assign(out.result.stats().begin(), out.result.stats().end());
  out.request = run.request;
  out.protocol = *protocol;
  return out;
}

absl::StatusOr<PsiRunResult> RunPsi(const ClientOptions& options, const SigningKey& consumer_key,
                                    const std::string& consumer_id, const std::string& contract_id,
                                    const std::string& purpose, const std::vector<std::string>& ids,
                                    tds::PsiParams params, const PsiProgressFn& progress) {
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = OpenChannel(options);
  if (!channel.ok()) return channel.status();
  params.set_items(ids.size());
  return RunPrepared(*channel, options.timeout_ms,
                     PreparePsi(consumer_key, consumer_id, contract_id, purpose, params), ids,
                     progress);
}

PreparedQuery PrepareQuery(const SigningKey& consumer_key, const std::string& consumer_id,
                           const std::string& contract_id, const std::string& purpose,
                           const tds::QueryParams& params, const std::string& nonce) {
  PreparedQuery run;
  run.query = params;
  run.params = params.SerializeAsString();
  run.request =
      BuildUsageRequest(consumer_key, consumer_id, contract_id, "query", purpose,
                        std::vector<std::string>(params.columns().begin(), params.columns().end()),
                        std::string(AsBytes(Sha256(run.params))), nonce);
  return run;
}

absl::StatusOr<QueryRunResult> RunPreparedQuery(const std::shared_ptr<grpc::Channel>& channel,
                                                int64_t timeout_ms, const PreparedQuery& run,
                                                const std::vector<std::string>& ids) {
  if (ids.empty()) return absl::InvalidArgumentError("query: no identifiers to look up");
  absl::StatusOr<std::vector<compute::query::QueryAnswer>> answers =
      absl::InternalError("Compute.Run: the protocol did not run");
  absl::StatusOr<tds::ComputeResult> result = RunOverStream(
      channel, timeout_ms, run.request, run.params, [&](compute::Link& link) -> absl::Status {
        compute::query::QueryConsumerOptions options;
        options.required_k = std::max<uint64_t>(run.query.min_k(), 1);
        answers = compute::query::RunQueryConsumer(ids, options, link);
        return answers.status();
      });
  if (!result.ok()) return result.status();
  QueryRunResult out;
  out.answers = *std::move(answers);
  out.columns.assign(run.query.columns().begin(), run.query.columns().end());
  out.result = *std::move(result);
  out.request = run.request;
  return out;
}

absl::StatusOr<QueryRunResult> RunQuery(const ClientOptions& options,
                                        const SigningKey& consumer_key,
                                        const std::string& consumer_id,
                                        const std::string& contract_id, const std::string& purpose,
                                        const std::vector<std::string>& ids,
                                        tds::QueryParams params) {
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = OpenChannel(options);
  if (!channel.ok()) return channel.status();
  params.set_identifiers(ids.size());
  return RunPreparedQuery(*channel, options.timeout_ms,
                          PrepareQuery(consumer_key, consumer_id, contract_id, purpose, params),
                          ids);
}

}  // namespace tds::sdk
