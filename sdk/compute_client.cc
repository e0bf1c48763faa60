#include "sdk/compute_client.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/sha256.h"
#include "compute/psi_params.h"
#include "sdk/compute_stream.h"
#include "sdk/tx_builders.h"

namespace tds::sdk {

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
        psi = RunPsiReceiver(*output, *protocol, ids, progress, link);
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
