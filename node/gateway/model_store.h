#pragma once
// The provider's halves of jointly trained models (operation lr_train), kept by its node until
// the consumer scores with them (lr_score). `<dir>/models/<contract id>/<model id>` holds one
// serialized tds.LrModelHalf, written atomically (mode 0600: the weights are the provider's);
// with an empty `dir` (tests) models live in memory only. A model is usable only under the
// contract it was trained under.

#include <map>
#include <mutex>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "proto/compute_service.pb.h"

namespace tds::node::gateway {

class ModelStore {
 public:
  explicit ModelStore(std::string dir) : dir_(std::move(dir)) {}

  // AlreadyExists when the contract already has a model of that id.
  absl::Status Save(const tds::LrModelHalf& model);
  // NotFound naming the model and the contract.
  absl::StatusOr<tds::LrModelHalf> Load(const std::string& contract_id,
                                        const std::string& model_id) const;

 private:
  std::string Path(const std::string& contract_id, const std::string& model_id) const;

  const std::string dir_;
  mutable std::mutex mu_;
  std::map<std::string, std::string> memory_;  // GUARDED_BY(mu_): path → bytes, when dir_ is empty
};

}  // namespace tds::node::gateway
