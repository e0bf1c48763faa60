#include "node/gateway/joint_runs.h"

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "compute/fl/hetero_lr.h"
#include "compute/fl/paillier.h"
#include "compute/joint/alignment.h"
#include "compute/joint/joint_params.h"
#include "compute/joint/scaling.h"
#include "compute/worker_pool.h"

namespace tds::node::gateway {
namespace {

const compute::stats::ColumnValues& ColumnOf(const AlignedRows& rows, const std::string& name) {
  static const compute::stats::ColumnValues kNone;
  auto it = rows.values->find(name);
  return it == rows.values->end() ? kNone : it->second;
}

// The named columns of the aligned rows, as a row-major matrix.
absl::StatusOr<compute::fl::Matrix> AlignedMatrix(const std::vector<std::string>& columns,
                                                  const AlignedRows& rows) {
  compute::fl::Matrix x(rows.order.size(), columns.size());
  for (size_t j = 0; j < columns.size(); ++j) {
    TDS_ASSIGN_OR_RETURN(
        std::vector<double> v,
        compute::joint::AlignedNumbers(ColumnOf(rows, columns[j]), rows.order, columns[j]));
    for (size_t i = 0; i < v.size(); ++i) x.row(i)[j] = v[i];
  }
  return x;
}

}  // namespace

absl::StatusOr<compute::mpc::ProviderSummary> RunJointStatsProvider(
    const tds::JointStatsParams& params, uint32_t min_group_size, const AlignedRows& rows,
    compute::Link& link) {
  TDS_ASSIGN_OR_RETURN(compute::mpc::SecretStatsOptions options,
                       compute::joint::SecretStatsOptionsFrom(params, min_group_size));
  compute::mpc::ProviderInput input;
  input.rows = rows.order.size();
  for (const compute::mpc::StatRequest& r : options.requests) {
    if (r.kind == compute::mpc::StatKind::kCount || input.columns.count(r.column) > 0) continue;
    TDS_ASSIGN_OR_RETURN(
        input.columns[r.column],
        compute::joint::AlignedNumbers(ColumnOf(rows, r.column), rows.order, r.column));
  }
  return compute::mpc::RunProvider(options, input, link);
}

absl::StatusOr<tds::LrModelHalf> RunLrTrainHost(const tds::LrTrainParams& params,
                                                const std::vector<std::string>& columns,
                                                const AlignedRows& rows,
                                                const LrHostOptions& options, compute::Link& link) {
  TDS_ASSIGN_OR_RETURN(compute::fl::HeteroLrOptions lr, compute::joint::LrOptionsFrom(params));
  lr.min_key_bits = options.key_bits;
  TDS_ASSIGN_OR_RETURN(compute::fl::Matrix x, AlignedMatrix(columns, rows));
  const compute::joint::Scaling scaling = compute::joint::FitScaling(x);
  compute::joint::ApplyScaling(scaling, &x);
  TDS_ASSIGN_OR_RETURN(compute::fl::PaillierPrivateKey key,
                       compute::fl::PaillierPrivateKey::Generate(options.key_bits));
  compute::WorkerPool workers(options.threads);
  TDS_ASSIGN_OR_RETURN(compute::fl::LrWeights w,
                       compute::fl::RunHeteroLrHost(lr, x, key, link, workers));
  tds::LrModelHalf model;
  for (const std::string& c : columns) model.add_columns(c);
  for (double v : w.w) model.add_weights(v);
  for (double v : scaling.means) model.add_means(v);
  for (double v : scaling.scales) model.add_scales(v);
  model.set_trained_rows(rows.order.size());
  return model;
}

absl::Status RunLrScoreHost(const tds::LrModelHalf& model, const AlignedRows& rows,
                            compute::Link& link) {
  const std::vector<std::string> columns(model.columns().begin(), model.columns().end());
  TDS_ASSIGN_OR_RETURN(compute::fl::Matrix x, AlignedMatrix(columns, rows));
  compute::joint::Scaling scaling;
  scaling.means.assign(model.means().begin(), model.means().end());
  scaling.scales.assign(model.scales().begin(), model.scales().end());
  compute::joint::ApplyScaling(scaling, &x);
  compute::fl::LrWeights w;
  w.w.assign(model.weights().begin(), model.weights().end());
  return compute::fl::ScoreLrHost(w, x, link);
}

}  // namespace tds::node::gateway
