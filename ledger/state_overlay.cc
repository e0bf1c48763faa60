#include "ledger/state_overlay.h"

#include <vector>

namespace tds::ledger {

absl::StatusOr<std::optional<std::string>> StateOverlay::Get(std::string_view key) const {
  auto it = writes_.find(key);
  if (it != writes_.end()) return it->second;
  return parent_->Get(key);
}

absl::Status StateOverlay::Scan(
    std::string_view prefix, std::string_view start_after, size_t limit,
    const std::function<bool(std::string_view, std::string_view)>& fn) const {
  // Local writes in range can shadow or delete parent entries: read enough of the parent that
  // `limit` survivors are guaranteed, then merge the two ordered sequences.
  auto in_range = [&](const std::string& k) {
    return k.compare(0, prefix.size(), prefix) == 0 && (start_after.empty() || k > start_after);
  };
  size_t local_in_range = 0;
  for (const auto& [k, v] : writes_) local_in_range += in_range(k) ? 1 : 0;
  std::map<std::string, std::string> merged;
  absl::Status s = parent_->Scan(prefix, start_after, limit + local_in_range,
                                 [&](std::string_view k, std::string_view v) {
                                   merged.emplace(std::string(k), std::string(v));
                                   return true;
                                 });
  if (!s.ok()) return s;
  for (const auto& [k, v] : writes_) {
    if (!in_range(k)) continue;
    if (v.has_value()) {
      merged[k] = *v;
    } else {
      merged.erase(k);
    }
  }
  size_t n = 0;
  for (const auto& [k, v] : merged) {
    if (n++ >= limit || !fn(k, v)) break;
  }
  return absl::OkStatus();
}

void StateOverlay::Put(std::string_view key, std::string_view value) {
  writes_.insert_or_assign(std::string(key), std::string(value));
}

void StateOverlay::Delete(std::string_view key) {
  writes_.insert_or_assign(std::string(key), std::nullopt);
}

void StateOverlay::MergeInto(StateOverlay* target) {
  for (auto& [k, v] : writes_) target->writes_.insert_or_assign(k, std::move(v));
  writes_.clear();
}

}  // namespace tds::ledger
