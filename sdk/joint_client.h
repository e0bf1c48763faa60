#pragma once
// The consumer's side of the joint operations (proto/compute_service.proto): the bank aligns its
// customers with the provider's by PSI (output "both"), then, over the same Compute.Run stream,
//   RunJointStats  statistics of provider columns over the bank's selection, WOE/IV against the
//                  bank's labels (compute/mpc, two-party secret sharing);
//   TrainLr        a logistic regression on the bank's labels and features plus the provider's
//                  columns (compute/fl, Paillier); each side keeps its half of the model;
//   ScoreLr        joint scores of customers with such a model.
// Neither side sees the other's per-row values. The provider's node meters each call at PSI's
// release gate (lr_score per customer asked) and ends with its ComputeResult, as for psi.
//
// params.psi.protocol must be the one the contract's node chooses (compute::ChoosePsiProtocol
// over the contract's terms, output "both", ids.size() items); the SDK sets output and items.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/keys.h"
#include "compute/fl/dataset.h"
#include "compute/mpc/secret_stats.h"
#include "grpcpp/grpcpp.h"
#include "proto/compute_service.pb.h"

namespace tds::sdk {

// Who asks, under which contract, over which connection.
struct JointCall {
  std::shared_ptr<grpc::Channel> channel;
  int64_t timeout_ms = 0;  // 0 = no deadline
  const SigningKey* key = nullptr;
  std::string consumer_id;
  std::string contract_id;
  std::string purpose;
  std::string nonce;  // empty = random
};

struct JointRunInfo {
  uint64_t aligned_rows = 0;  // customers both sides hold
  tds::ComputeResult result;  // the provider's: measurement, usage_txid, receipt (strict), ...
  std::string request;        // the signed request this run sent (its nonce is now spent)
};

struct JointStatsRunResult {
  compute::mpc::SecretStatsResult stats;
  JointRunInfo info;
};

// `labels` (0/1 per id; needed for woe_iv) and `selection` (0/1 per id; used when
// params.selection) are the bank's. min_group_size: the contract's terms.min_group_size (both
// sides run with identical options; the protocol checks).
absl::StatusOr<JointStatsRunResult> RunJointStats(
    const JointCall& call, const std::vector<std::string>& ids, const std::vector<uint8_t>& labels,
    const std::vector<uint8_t>& selection, tds::JointStatsParams params, uint32_t min_group_size);

struct LrTrainRunResult {
  tds::LrModelHalf model;  // the bank's half (model_id names the provider's)
  JointRunInfo info;
};

// x: one row per id, columns named `feature_names`; y: 0/1 per id. The provider trains on
// `provider_columns`. key_bits: the bank's Paillier key, and the least it accepts.
absl::StatusOr<LrTrainRunResult> TrainLr(const JointCall& call,
                                         const std::vector<std::string>& provider_columns,
                                         const std::vector<std::string>& ids,
                                         const std::vector<std::string>& feature_names,
                                         const compute::fl::Matrix& x, const std::vector<int>& y,
                                         tds::LrTrainParams params, int key_bits = 2048);

struct LrScoreRunResult {
  // Per id: the score, for ids the provider holds (matched[i]); 0 elsewhere.
  std::vector<double> scores;
  std::vector<bool> matched;
  JointRunInfo info;
};

// Scores the customers `ids` (x: one row per id, the model's columns) with the bank's half
// `model` and the provider's half it names.
absl::StatusOr<LrScoreRunResult> ScoreLr(const JointCall& call, const tds::LrModelHalf& model,
                                         const std::vector<std::string>& ids,
                                         const compute::fl::Matrix& x, tds::PsiParams psi);

}  // namespace tds::sdk
