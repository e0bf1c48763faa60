#include "sdk/joint_client.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/sha256.h"
#include "common/status_macros.h"
#include "compute/fl/hetero_lr.h"
#include "compute/fl/paillier.h"
#include "compute/joint/alignment.h"
#include "compute/joint/joint_params.h"
#include "compute/joint/scaling.h"
#include "compute/psi_params.h"
#include "compute/worker_pool.h"
#include "sdk/compute_stream.h"
#include "sdk/tx_builders.h"

namespace tds::sdk {
namespace {

// Signs the request, runs PSI (both) over the stream, aligns, and hands the aligned order to
// `second` for the operation's own protocol.
absl::StatusOr<JointRunInfo> RunJoint(
    const JointCall& call, const std::string& operation, const std::vector<std::string>& columns,
    const std::string& params, const tds::PsiParams& psi, const std::vector<std::string>& ids,
    const std::function<absl::Status(const std::vector<uint64_t>& order, compute::Link&)>& second) {
  if (call.key == nullptr) return absl::InvalidArgumentError("joint run: no consumer key");
  if (ids.empty()) return absl::InvalidArgumentError(absl::StrCat(operation, ": no identifiers"));
  TDS_ASSIGN_OR_RETURN(const std::string protocol, compute::StatedPsiProtocol(psi.protocol()));
  JointRunInfo info;
  info.request =
      BuildUsageRequest(*call.key, call.consumer_id, call.contract_id, operation, call.purpose,
                        columns, std::string(AsBytes(Sha256(params))), call.nonce);
  TDS_ASSIGN_OR_RETURN(
      info.result,
      RunOverStream(call.channel, call.timeout_ms, info.request, params,
                    [&](compute::Link& link) -> absl::Status {
                      TDS_ASSIGN_OR_RETURN(
                          compute::psi::PsiResult matched,
                          RunPsiReceiver(compute::psi::PsiOutput::kBoth, protocol, ids, {}, link));
                      TDS_ASSIGN_OR_RETURN(std::vector<uint64_t> order,
                                           compute::joint::AlignedOrder(ids, matched.matched));
                      info.aligned_rows = order.size();
                      return second(order, link);
                    }));
  return info;
}

tds::PsiParams BothOver(tds::PsiParams psi, size_t items) {
  psi.set_output(std::string(compute::kPsiBoth));
  psi.set_items(items);
  return psi;
}

std::vector<uint8_t> Reordered(const std::vector<uint8_t>& v, const std::vector<uint64_t>& order) {
  std::vector<uint8_t> out;
  if (v.empty()) return out;
  out.reserve(order.size());
  for (uint64_t p : order) out.push_back(v[p]);
  return out;
}

compute::fl::Matrix Rows(const compute::fl::Matrix& x, const std::vector<uint64_t>& order) {
  compute::fl::Matrix out(order.size(), x.cols);
  for (size_t i = 0; i < order.size(); ++i) {
    std::copy(x.row(order[i]), x.row(order[i]) + x.cols, out.row(i));
  }
  return out;
}

absl::Status CheckRows(const char* what, size_t rows, size_t ids) {
  if (rows != ids) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": ", rows, " rows for ", ids, " identifiers; one per identifier"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<JointStatsRunResult> RunJointStats(
    const JointCall& call, const std::vector<std::string>& ids, const std::vector<uint8_t>& labels,
    const std::vector<uint8_t>& selection, tds::JointStatsParams params, uint32_t min_group_size) {
  if (!labels.empty()) TDS_RETURN_IF_ERROR(CheckRows("labels", labels.size(), ids.size()));
  if (params.selection()) TDS_RETURN_IF_ERROR(CheckRows("selection", selection.size(), ids.size()));
  *params.mutable_psi() = BothOver(params.psi(), ids.size());
  TDS_ASSIGN_OR_RETURN(compute::mpc::SecretStatsOptions options,
                       compute::joint::SecretStatsOptionsFrom(params, min_group_size));
  std::vector<std::string> columns;
  for (const compute::mpc::StatRequest& r : options.requests) {
    if (r.kind != compute::mpc::StatKind::kCount &&
        std::find(columns.begin(), columns.end(), r.column) == columns.end()) {
      columns.push_back(r.column);
    }
  }
  JointStatsRunResult out;
  TDS_ASSIGN_OR_RETURN(
      out.info,
      RunJoint(call, "joint_stats", columns, params.SerializeAsString(), params.psi(), ids,
               [&](const std::vector<uint64_t>& order, compute::Link& link) -> absl::Status {
                 compute::mpc::BankInput input;
                 input.rows = order.size();
                 input.label = Reordered(labels, order);
                 if (params.selection()) input.selection = Reordered(selection, order);
                 TDS_ASSIGN_OR_RETURN(out.stats, compute::mpc::RunBank(options, input, link));
                 return absl::OkStatus();
               }));
  return out;
}

absl::StatusOr<LrTrainRunResult> TrainLr(const JointCall& call,
                                         const std::vector<std::string>& provider_columns,
                                         const std::vector<std::string>& ids,
                                         const std::vector<std::string>& feature_names,
                                         const compute::fl::Matrix& x, const std::vector<int>& y,
                                         tds::LrTrainParams params, int key_bits) {
  TDS_RETURN_IF_ERROR(CheckRows("features", x.rows, ids.size()));
  TDS_RETURN_IF_ERROR(CheckRows("labels", y.size(), ids.size()));
  if (feature_names.size() != x.cols) {
    return absl::InvalidArgumentError(
        absl::StrCat("features: ", feature_names.size(), " names for ", x.cols, " columns"));
  }
  *params.mutable_psi() = BothOver(params.psi(), ids.size());
  TDS_ASSIGN_OR_RETURN(compute::fl::HeteroLrOptions options, compute::joint::LrOptionsFrom(params));
  options.min_key_bits = key_bits;
  LrTrainRunResult out;
  TDS_ASSIGN_OR_RETURN(
      out.info,
      RunJoint(call, "lr_train", provider_columns, params.SerializeAsString(), params.psi(), ids,
               [&](const std::vector<uint64_t>& order, compute::Link& link) -> absl::Status {
                 compute::fl::Matrix aligned = Rows(x, order);
                 const compute::joint::Scaling scaling = compute::joint::FitScaling(aligned);
                 compute::joint::ApplyScaling(scaling, &aligned);
                 std::vector<int> labels;
                 labels.reserve(order.size());
                 for (uint64_t p : order) labels.push_back(y[p]);
                 TDS_ASSIGN_OR_RETURN(compute::fl::PaillierPrivateKey key,
                                      compute::fl::PaillierPrivateKey::Generate(key_bits));
                 compute::WorkerPool workers(0);
                 TDS_ASSIGN_OR_RETURN(
                     compute::fl::LrWeights w,
                     compute::fl::RunHeteroLrGuest(options, aligned, labels, key, link, workers));
                 tds::LrModelHalf& m = out.model;
                 for (const std::string& c : feature_names) m.add_columns(c);
                 for (double v : w.w) m.add_weights(v);
                 m.set_bias(w.bias);
                 for (double v : scaling.means) m.add_means(v);
                 for (double v : scaling.scales) m.add_scales(v);
                 m.set_trained_rows(order.size());
                 return absl::OkStatus();
               }));
  out.model.set_contract_id(call.contract_id);
  out.model.set_model_id(out.info.result.model_id());
  for (const std::string& c : provider_columns) out.model.add_provider_columns(c);
  return out;
}

absl::StatusOr<LrScoreRunResult> ScoreLr(const JointCall& call, const tds::LrModelHalf& model,
                                         const std::vector<std::string>& ids,
                                         const compute::fl::Matrix& x, tds::PsiParams psi) {
  TDS_RETURN_IF_ERROR(CheckRows("features", x.rows, ids.size()));
  if (static_cast<size_t>(model.columns_size()) != x.cols ||
      model.weights_size() != model.columns_size() || model.means_size() != model.columns_size() ||
      model.scales_size() != model.columns_size()) {
    return absl::InvalidArgumentError(absl::StrCat("model ", model.model_id(), ": ",
                                                   model.columns_size(), " columns, the rows have ",
                                                   x.cols));
  }
  if (model.contract_id() != call.contract_id) {
    return absl::InvalidArgumentError(
        absl::StrCat("model ", model.model_id(), " was trained under contract ",
                     model.contract_id(), ", not ", call.contract_id));
  }
  tds::LrScoreParams params;
  *params.mutable_psi() = BothOver(std::move(psi), ids.size());
  params.set_model_id(model.model_id());
  const std::vector<std::string> columns(model.provider_columns().begin(),
                                         model.provider_columns().end());
  LrScoreRunResult out;
  out.scores.assign(ids.size(), 0.0);
  out.matched.assign(ids.size(), false);
  TDS_ASSIGN_OR_RETURN(
      out.info,
      RunJoint(call, "lr_score", columns, params.SerializeAsString(), params.psi(), ids,
               [&](const std::vector<uint64_t>& order, compute::Link& link) -> absl::Status {
                 compute::fl::Matrix aligned = Rows(x, order);
                 compute::joint::Scaling scaling;
                 scaling.means.assign(model.means().begin(), model.means().end());
                 scaling.scales.assign(model.scales().begin(), model.scales().end());
                 compute::joint::ApplyScaling(scaling, &aligned);
                 compute::fl::LrWeights w;
                 w.w.assign(model.weights().begin(), model.weights().end());
                 w.bias = model.bias();
                 TDS_ASSIGN_OR_RETURN(std::vector<double> scores,
                                      compute::fl::ScoreLrGuest(w, aligned, link));
                 for (size_t i = 0; i < order.size(); ++i) {
                   out.scores[order[i]] = scores[i];
                   out.matched[order[i]] = true;
                 }
                 return absl::OkStatus();
               }));
  return out;
}

}  // namespace tds::sdk
