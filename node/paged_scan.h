#pragma once
// One page of a filtered state scan, shared by the query services' listings.
//
// Scans the keys under `prefix` after `start_after`; `match` turns each entry into an item or
// skips it. Stops when `limit` items are taken and one more entry would match (more = true),
// after `budget` entries have been visited (more = true: a very selective filter over a large
// keyspace still answers promptly, possibly with a short or empty page), or at the end of the
// prefix (more = false). `last_key` is the key of the last entry consumed — the resume point
// for the next page — whenever more is true.

#include <cstddef>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "ledger/application.h"

namespace tds::node {

// Entries one listing call visits at most.
inline constexpr size_t kScanBudget = 20000;

template <typename T>
struct ScanPage {
  std::vector<T> items;
  bool more = false;
  std::string last_key;
};

template <typename T>
using ScanMatch =
    std::function<absl::StatusOr<std::optional<T>>(std::string_view key, std::string_view value)>;

// REQUIRES: start_after is empty or starts with prefix; limit > 0.
template <typename T>
absl::StatusOr<ScanPage<T>> ScanPaged(const ledger::StateReader& state, std::string_view prefix,
                                      std::string_view start_after, size_t limit, size_t budget,
                                      const ScanMatch<T>& match) {
  ScanPage<T> page;
  absl::Status error;
  size_t visited = 0;
  std::string last;
  absl::Status scanned = state.Scan(prefix, start_after, std::numeric_limits<size_t>::max(),
                                    [&](std::string_view key, std::string_view value) {
                                      if (visited == budget) {
                                        page.more = true;
                                        return false;
                                      }
                                      ++visited;
                                      absl::StatusOr<std::optional<T>> item = match(key, value);
                                      if (!item.ok()) {
                                        error = item.status();
                                        return false;
                                      }
                                      if (item->has_value()) {
                                        if (page.items.size() == limit) {
                                          page.more = true;  // this entry starts the next page
                                          return false;
                                        }
                                        page.items.push_back(**std::move(item));
                                      }
                                      last.assign(key.data(), key.size());
                                      return true;
                                    });
  if (!error.ok()) return error;
  if (!scanned.ok()) return scanned;
  if (page.more) page.last_key = std::move(last);
  return page;
}

}  // namespace tds::node
