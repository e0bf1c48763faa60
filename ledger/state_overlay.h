#pragma once
// Buffered writes over a StateReader: a transaction's writes stay in its overlay until it is
// accepted, then merge into the block's overlay, which the committer writes with the block.

#include <map>
#include <optional>
#include <string>

#include "ledger/application.h"

namespace tds::ledger {

class StateOverlay : public StateWriter {
 public:
  // `parent` must outlive the overlay.
  explicit StateOverlay(const StateReader* parent) : parent_(parent) {}

  absl::StatusOr<std::optional<std::string>> Get(std::string_view key) const override;
  absl::Status Scan(
      std::string_view prefix, std::string_view start_after, size_t limit,
      const std::function<bool(std::string_view, std::string_view)>& fn) const override;
  void Put(std::string_view key, std::string_view value) override;
  void Delete(std::string_view key) override;

  // Reads go to `parent` from now on (which must hold what the old parent held).
  void Rebase(const StateReader* parent) { parent_ = parent; }
  // Moves every write into `target` (later writes win).
  void MergeInto(StateOverlay* target);
  // Writes in key order; nullopt marks a deletion.
  const std::map<std::string, std::optional<std::string>, std::less<>>& writes() const {
    return writes_;
  }

 private:
  const StateReader* parent_;
  std::map<std::string, std::optional<std::string>, std::less<>> writes_;
};

}  // namespace tds::ledger
