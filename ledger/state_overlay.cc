#include "ledger/state_overlay.h"

#include <cstdint>
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
  // `limit` survivors are guaranteed, then merge the two ordered sequences. Only the writes in
  // range are visited (seek, not a walk over the whole overlay).
  const std::string begin_key =
      start_after.empty() ? std::string(prefix) : std::string(start_after);
  auto in_range_begin = writes_.lower_bound(begin_key);
  if (!start_after.empty() && in_range_begin != writes_.end() &&
      in_range_begin->first == start_after) {
    ++in_range_begin;
  }
  auto in_prefix = [&](const std::string& k) { return k.compare(0, prefix.size(), prefix) == 0; };
  auto in_range_end = in_range_begin;
  size_t local_in_range = 0;
  while (in_range_end != writes_.end() && in_prefix(in_range_end->first)) {
    ++in_range_end;
    ++local_in_range;
  }
  const size_t parent_limit = limit > SIZE_MAX - local_in_range ? SIZE_MAX : limit + local_in_range;
  std::map<std::string, std::string, std::less<>> merged;
  absl::Status s =
      parent_->Scan(prefix, start_after, parent_limit, [&](std::string_view k, std::string_view v) {
        merged.emplace(std::string(k), std::string(v));
        return true;
      });
  if (!s.ok()) return s;
  for (auto it = in_range_begin; it != in_range_end; ++it) {
    if (it->second.has_value()) {
      merged[it->first] = *it->second;
    } else {
      merged.erase(it->first);
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
