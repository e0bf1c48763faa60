#pragma once
// The joint operations' parameters (proto/compute_service.proto) as the protocol libraries'
// options: one conversion, used by the provider's gateway and the consumer's SDK alike, so both
// sides run with identical options (the protocols check a digest of them).

#include <cstdint>

#include "absl/status/statusor.h"
#include "compute/fl/hetero_lr.h"
#include "compute/mpc/secret_stats.h"
#include "proto/compute_service.pb.h"

namespace tds::compute::joint {

// InvalidArgument naming the field ("params.stats[2].kind: 'median' is not one of ...").
absl::StatusOr<mpc::SecretStatsOptions> SecretStatsOptionsFrom(const tds::JointStatsParams& params,
                                                               uint32_t min_group_size);

// Defaults for zero fields (epochs 10, batch 64, learning rate 0.15); InvalidArgument naming
// the field when out of range.
absl::StatusOr<fl::HeteroLrOptions> LrOptionsFrom(const tds::LrTrainParams& params);

}  // namespace tds::compute::joint
