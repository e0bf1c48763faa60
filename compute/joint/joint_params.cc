#include "compute/joint/joint_params.h"

#include <cmath>
#include <string>

#include "absl/strings/str_cat.h"

namespace tds::compute::joint {
namespace {

constexpr uint32_t kMaxEpochs = 100;
constexpr uint32_t kMaxBatch = 1 << 16;

absl::StatusOr<mpc::StatKind> KindFromName(const std::string& name, size_t i) {
  for (mpc::StatKind k :
       {mpc::StatKind::kCount, mpc::StatKind::kSum, mpc::StatKind::kMean, mpc::StatKind::kVariance,
        mpc::StatKind::kHistogram, mpc::StatKind::kWoeIv}) {
    if (name == mpc::StatKindName(k)) return k;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("params.stats[", i, "].kind: '", name,
                   "' is not one of count, sum, mean, variance, histogram, woe_iv"));
}

}  // namespace

absl::StatusOr<mpc::SecretStatsOptions> SecretStatsOptionsFrom(const tds::JointStatsParams& params,
                                                               uint32_t min_group_size) {
  mpc::SecretStatsOptions o;
  for (int i = 0; i < params.stats_size(); ++i) {
    const tds::JointStatSpec& spec = params.stats(i);
    mpc::StatRequest r;
    auto kind = KindFromName(spec.kind(), static_cast<size_t>(i));
    if (!kind.ok()) return kind.status();
    r.kind = *kind;
    r.column = spec.column();
    r.bounds.assign(spec.bounds().begin(), spec.bounds().end());
    r.quantiles = spec.quantiles();
    o.requests.push_back(std::move(r));
  }
  o.min_group_size = min_group_size;
  if (params.frac_bits() != 0) o.frac_bits = static_cast<int>(params.frac_bits());
  if (params.frac_bits() > mpc::kMaxFracBits) {
    return absl::InvalidArgumentError(
        absl::StrCat("params.frac_bits: ", params.frac_bits(), " exceeds ", mpc::kMaxFracBits));
  }
  if (absl::Status s = mpc::ValidateOptions(o); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("params.stats: ", std::string(s.message())));
  }
  return o;
}

absl::StatusOr<fl::HeteroLrOptions> LrOptionsFrom(const tds::LrTrainParams& params) {
  fl::HeteroLrOptions o;
  if (params.epochs() > kMaxEpochs) {
    return absl::InvalidArgumentError(
        absl::StrCat("params.epochs: ", params.epochs(), " exceeds ", kMaxEpochs));
  }
  if (params.batch_size() > kMaxBatch) {
    return absl::InvalidArgumentError(
        absl::StrCat("params.batch_size: ", params.batch_size(), " exceeds ", kMaxBatch));
  }
  if (!std::isfinite(params.learning_rate()) || params.learning_rate() < 0 ||
      params.learning_rate() > 10) {
    return absl::InvalidArgumentError(
        absl::StrCat("params.learning_rate: ", params.learning_rate(), " is not in (0, 10]"));
  }
  if (!std::isfinite(params.l2()) || params.l2() < 0 || params.l2() > 100) {
    return absl::InvalidArgumentError(
        absl::StrCat("params.l2: ", params.l2(), " is not in [0, 100]"));
  }
  if (params.epochs() != 0) o.epochs = static_cast<int>(params.epochs());
  if (params.batch_size() != 0) o.batch_size = params.batch_size();
  if (params.learning_rate() != 0) o.learning_rate = params.learning_rate();
  o.l2 = params.l2();
  o.batch_seed = params.batch_seed();
  return o;
}

}  // namespace tds::compute::joint
