#pragma once
// The provider's second phase of the joint operations (proto/compute_service.proto): after PSI
// the gateway hands over its rows in the aligned order (compute/joint/alignment.h), and each
// function runs the provider's side of the protocol with the consumer over `link`. Metering is
// the gateway's (it recorded at PSI's release gate); these only compute.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "compute/link.h"
#include "compute/mpc/secret_stats.h"
#include "compute/stats/stats.h"
#include "proto/compute_service.pb.h"

namespace tds::node::gateway {

// The provider's columns as read (by name, one value per source row) and the aligned order.
struct AlignedRows {
  const compute::stats::Columns* values = nullptr;
  std::vector<uint64_t> order;
};

// joint_stats (compute/mpc, two parties): the provider enforces k = min_group_size itself and
// refuses, naming the group, when a reported group is smaller.
absl::StatusOr<compute::mpc::ProviderSummary> RunJointStatsProvider(
    const tds::JointStatsParams& params, uint32_t min_group_size, const AlignedRows& rows,
    compute::Link& link);

struct LrHostOptions {
  int key_bits = 2048;  // the provider's Paillier key, and the least it accepts from the consumer
  int threads = 0;      // 0 = hardware concurrency
};

// lr_train (compute/fl, host side) over `columns`, standardized on the aligned rows. Returns the
// provider's half of the model (weights and scaling), to be stored under `model_id`.
absl::StatusOr<tds::LrModelHalf> RunLrTrainHost(const tds::LrTrainParams& params,
                                                const std::vector<std::string>& columns,
                                                const AlignedRows& rows,
                                                const LrHostOptions& options, compute::Link& link);

// lr_score (host side): the model's partial scores of the aligned rows.
absl::Status RunLrScoreHost(const tds::LrModelHalf& model, const AlignedRows& rows,
                            compute::Link& link);

}  // namespace tds::node::gateway
