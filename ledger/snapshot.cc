#include "ledger/snapshot.h"

#include <bit>
#include <map>

#include "absl/strings/str_cat.h"
#include "common/strings.h"
#include "ledger/checkpoint.h"
#include "ledger/epochs.h"

namespace tds::ledger {
namespace {

absl::Status Bad(const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat("snapshot offer: ", what));
}

void PutLength(Sha256Hasher* h, size_t n) {
  std::string be;
  PutFixed32BE(&be, static_cast<uint32_t>(n));
  h->Update(be);
}

class MapNodeStore : public merkle::NodeStore {
 public:
  void Put(const merkle::StoredNode& n) { nodes_[{n.level, n.index}] = n.hash; }
  absl::StatusOr<Hash> Get(uint32_t level, uint64_t index) const override {
    auto it = nodes_.find({level, index});
    if (it == nodes_.end()) return absl::NotFoundError("frontier node missing");
    return it->second;
  }

 private:
  std::map<std::pair<uint32_t, uint64_t>, Hash> nodes_;
};

}  // namespace

StateRootHasher::StateRootHasher() { h_.Update(std::string_view("tds-state-v1\0", 13)); }

absl::Status StateRootHasher::Add(std::string_view key, std::string_view value) {
  if (entries_ > 0 && key <= last_key_) {
    return absl::InvalidArgumentError("state entries out of key order");
  }
  last_key_ = std::string(key);
  ++entries_;
  PutLength(&h_, key.size());
  h_.Update(key);
  PutLength(&h_, value.size());
  h_.Update(value);
  return absl::OkStatus();
}

Hash StateRootHasher::Finish() { return h_.Finish(); }

std::vector<merkle::StoredNode> FrontierPositions(uint64_t size) {
  std::vector<merkle::StoredNode> out;
  uint64_t offset = 0;
  for (int level = std::bit_width(size) - 1; level >= 0; --level) {
    const uint64_t width = uint64_t{1} << level;
    if ((size & width) == 0) continue;
    out.push_back({static_cast<uint32_t>(level), offset >> level, Hash{}});
    offset += width;
  }
  return out;
}

absl::StatusOr<VerifiedOffer> VerifySnapshotOffer(const GenesisInfo& genesis,
                                                  const tds::SnapshotOffer& offer) {
  VerifiedOffer out;
  if (!out.header.ParseFromString(offer.block().header())) return Bad("header does not parse");
  if (!IsSnapshotHeight(out.header.height(), genesis.snapshot_interval()) ||
      out.header.state_root().size() != 32) {
    return Bad(absl::StrCat("block ", out.header.height(), " is not a snapshot block"));
  }
  if (static_cast<uint64_t>(offer.epoch_changes_size()) != out.header.epoch()) {
    return Bad(absl::StrCat("block of epoch ", out.header.epoch(), " comes with ",
                            offer.epoch_changes_size(), " epoch change(s)"));
  }
  auto validators = ValidatorsAfter(genesis, offer.epoch_changes());
  if (!validators.ok()) return Bad(std::string(validators.status().message()));
  auto cp = VerifyCheckpointBy(offer.block().checkpoint(), genesis.origin(), *validators);
  if (!cp.ok()) return Bad(std::string(cp.status().message()));
  out.block_hash = Sha256(offer.block().header());
  if (absl::Status s = CheckpointMatchesHeader(*cp, out.header, offer.block().header()); !s.ok()) {
    return Bad(absl::StrCat("the checkpoint is of another block: ", std::string(s.message())));
  }
  out.frontier = FrontierPositions(out.header.log_size());
  if (static_cast<size_t>(offer.frontier_size()) != out.frontier.size()) {
    return Bad(absl::StrCat(offer.frontier_size(), " frontier hashes for a log of ",
                            out.header.log_size(), " entries, expected ", out.frontier.size()));
  }
  MapNodeStore nodes;
  for (size_t i = 0; i < out.frontier.size(); ++i) {
    auto h = HashFromBytes(offer.frontier(static_cast<int>(i)), "frontier hash");
    if (!h.ok()) return Bad(std::string(h.status().message()));
    out.frontier[i].hash = *h;
    nodes.Put(out.frontier[i]);
  }
  auto frontier = merkle::Frontier::Load(nodes, out.header.log_size());
  if (!frontier.ok() || AsBytes(frontier->Root()) != out.header.log_root()) {
    return Bad("the frontier does not give the block's log root");
  }
  out.state_root = *HashFromBytes(out.header.state_root(), "state root");
  return out;
}

}  // namespace tds::ledger
