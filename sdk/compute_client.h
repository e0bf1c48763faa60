#pragma once
// The consumer's side of the metered gateway (proto/compute_service.proto, node/gateway):
// private set intersection, joint statistics over the intersection, and anonymous query, with a
// provider's node.
//
//   tds::PsiParams params;
//   params.set_output("both");                       // must equal the contract's psi_output
//   params.set_protocol("ot");                       // must equal compute::ChoosePsiProtocol
//   auto r = sdk::RunPsi(options, *key, "bank", "c-…", "credit_risk", ids, params);
//   r->matched            positions in `ids` the provider also holds
//   r->result.receipt()   strict metering: proof that the usage record committed
//                         (ledger::VerifyReceipt against the genesis, offline)
//
// A run signs a UsageRequest (sdk::BuildUsageRequest: operation "psi", or "stats" when
// params.stats is set, columns = the stat columns, a random nonce, the SHA-256 of the
// serialized params), opens Compute.Run, sends ComputeStart and runs the PSI protocol that
// params.protocol names (ECDH-PSI for "" or ecdh, OT-PSI for ot) as the receiver over the
// stream (compute/stream_link.h); the provider's node ends the stream with the
// ComputeResult. A refusal comes back as the node's status, message intact, prefixed
// "Compute.Run: " ("Compute.Run: terms.purposes: 'marketing' is not permitted by contract
// c-…"). Under strict metering the provider releases the result only once its usage record
// has committed; the result then carries the record's receipt.
//
// Anonymous query (operation "query"): PrepareQuery / RunPreparedQuery / RunQuery look up a
// batch of identifiers in the provider's table (compute/query/anonymous_query.h): the consumer
// learns the requested columns of the rows it finds, the provider neither the identifiers nor
// whether they matched.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/keys.h"
#include "compute/psi/ecdh_psi.h"
#include "compute/query/anonymous_query.h"
#include "grpcpp/grpcpp.h"
#include "proto/compute_service.pb.h"
#include "sdk/channel.h"

namespace tds::sdk {

struct PsiRunResult {
  // Positions in `ids` whose item the provider holds, ascending (empty with size_only).
  std::vector<uint64_t> matched;
  // The number of positions in `ids` whose item the provider holds (every output mode).
  uint64_t intersection_size = 0;
  // "stats": the aggregates over the provider's matched rows.
  std::vector<tds::StatValue> stats;
  // The provider's result: measurement, usage_txid, receipt (strict), violations.
  tds::ComputeResult result;
  // The signed request this run sent (its nonce is now spent).
  std::string request;
  // The protocol that ran: ecdh or ot.
  std::string protocol;
};

// What a run sends: the consumer-signed UsageRequest envelope and the serialized parameters
// whose SHA-256 the request carries. Plain data: callers may keep, inspect or resend it.
struct PreparedRun {
  std::string request;
  std::string params;
  tds::PsiParams psi;
};

// Signs a request for `params` (operation "stats" when params.stats is non-empty, else "psi";
// columns: the stat columns, distinct, in order). `params.items` should be the number of ids
// the run will use (the provider refuses a set larger than announced). nonce empty → random.
PreparedRun PreparePsi(const SigningKey& consumer_key, const std::string& consumer_id,
                       const std::string& contract_id, const std::string& purpose,
                       const tds::PsiParams& params, const std::string& nonce = "");

using PsiProgressFn = std::function<void(const compute::psi::PsiProgress&)>;

// Runs a prepared request over `channel` (deadline timeout_ms, 0 = none). `progress` is called
// from the protocol's thread now and then.
absl::StatusOr<PsiRunResult> RunPrepared(const std::shared_ptr<grpc::Channel>& channel,
                                         int64_t timeout_ms, const PreparedRun& run,
                                         const std::vector<std::string>& ids,
                                         const PsiProgressFn& progress = {});

// PreparePsi with params.items = ids.size(), then RunPrepared over a channel to
// options.address. params.protocol must be the protocol the contract's node will choose
// (compute::ChoosePsiProtocol over the contract's terms; DataSpaceClient::RunPsi does that).
absl::StatusOr<PsiRunResult> RunPsi(const ClientOptions& options, const SigningKey& consumer_key,
                                    const std::string& consumer_id, const std::string& contract_id,
                                    const std::string& purpose, const std::vector<std::string>& ids,
                                    tds::PsiParams params, const PsiProgressFn& progress = {});

// --- Anonymous query (operation "query") ---

struct QueryRunResult {
  // One answer per identifier, in the order given (found, and the columns when found).
  std::vector<compute::query::QueryAnswer> answers;
  // The names of the answers' columns (params.columns).
  std::vector<std::string> columns;
  // The provider's result: measurement (rows_out = identifiers asked), usage_txid, receipt
  // (strict), violations.
  tds::ComputeResult result;
  std::string request;  // the signed request this run sent (its nonce is now spent)
};

struct PreparedQuery {
  std::string request;
  std::string params;
  tds::QueryParams query;
};

// Signs a "query" request for `params` (columns: params.columns, which the contract must
// permit; params.identifiers should be the batch size). nonce empty → random.
PreparedQuery PrepareQuery(const SigningKey& consumer_key, const std::string& consumer_id,
                           const std::string& contract_id, const std::string& purpose,
                           const tds::QueryParams& params, const std::string& nonce = "");

// Runs a prepared query for `ids` (1..the node's limit) over `channel`. The consumer's protocol
// refuses a provider announcing buckets smaller than max(params.min_k, 1).
absl::StatusOr<QueryRunResult> RunPreparedQuery(const std::shared_ptr<grpc::Channel>& channel,
                                                int64_t timeout_ms, const PreparedQuery& run,
                                                const std::vector<std::string>& ids);

// PrepareQuery with params.identifiers = ids.size(), then RunPreparedQuery over a channel to
// options.address.
absl::StatusOr<QueryRunResult> RunQuery(const ClientOptions& options,
                                        const SigningKey& consumer_key,
                                        const std::string& consumer_id,
                                        const std::string& contract_id, const std::string& purpose,
                                        const std::vector<std::string>& ids,
                                        tds::QueryParams params);

}  // namespace tds::sdk
