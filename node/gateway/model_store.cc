#include "node/gateway/model_store.h"

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "common/file.h"

namespace tds::node::gateway {
namespace {

// Ids come from the ledger (contract ids) and from hex digests (model ids); checked anyway,
// since they become path components.
bool SafeComponent(const std::string& s) {
  if (s.empty() || s.size() > 128 || s == "." || s == "..") return false;
  for (char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
                    c == '.' || (c >= 'A' && c <= 'Z');
    if (!ok) return false;
  }
  return true;
}

}  // namespace

std::string ModelStore::Path(const std::string& contract_id, const std::string& model_id) const {
  return absl::StrCat(dir_, "/models/", contract_id, "/", model_id);
}

absl::Status ModelStore::Save(const tds::LrModelHalf& model) {
  if (!SafeComponent(model.contract_id()) || !SafeComponent(model.model_id())) {
    return absl::InvalidArgumentError(absl::StrCat("model id '", model.model_id(),
                                                   "' or contract id '", model.contract_id(),
                                                   "' is not usable as a file name"));
  }
  const std::string path = Path(model.contract_id(), model.model_id());
  const std::string bytes = model.SerializeAsString();
  std::lock_guard<std::mutex> lock(mu_);
  if (dir_.empty()) {
    if (!memory_.emplace(path, bytes).second) {
      return absl::AlreadyExistsError(absl::StrCat("model ", model.model_id(), " exists"));
    }
    return absl::OkStatus();
  }
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  if (ec) return absl::InternalError(absl::StrCat("creating ", path, ": ", ec.message()));
  return WriteFileExclusive(path, bytes, 0600);
}

absl::StatusOr<tds::LrModelHalf> ModelStore::Load(const std::string& contract_id,
                                                  const std::string& model_id) const {
  const auto not_found = [&] {
    return absl::NotFoundError(
        absl::StrCat("params.model_id: no model '", model_id, "' under contract ", contract_id,
                     " on this node (a model is scored under the contract it was trained under)"));
  };
  if (!SafeComponent(contract_id) || !SafeComponent(model_id)) return not_found();
  const std::string path = Path(contract_id, model_id);
  std::string bytes;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (dir_.empty()) {
      auto it = memory_.find(path);
      if (it == memory_.end()) return not_found();
      bytes = it->second;
    }
  }
  if (!dir_.empty()) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) return not_found();
    absl::StatusOr<std::string> read = ReadFile(path);
    if (!read.ok()) return read.status();
    bytes = *std::move(read);
  }
  tds::LrModelHalf model;
  if (!model.ParseFromString(bytes) || model.model_id() != model_id ||
      model.contract_id() != contract_id || model.weights_size() != model.columns_size() ||
      model.means_size() != model.columns_size() || model.scales_size() != model.columns_size()) {
    return absl::DataLossError(absl::StrCat("model file ", path, " is corrupt"));
  }
  return model;
}

}  // namespace tds::node::gateway
