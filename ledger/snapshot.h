#pragma once
// State snapshots for fast sync. Every genesis.snapshot_interval()-th block's header carries
// state_root: a hash over the full application state after that block and over the transaction
// index (which ids the log holds, where: what execution checks for duplicates), so the block's
// quorum certificate vouches for everything execution reads, not only for the block's writes.
// A node with an empty
// store then starts from the latest snapshot a peer offers — that block (verified through the
// epoch changes from genesis), the log's Merkle frontier at its size (checked against the log
// root), and the state in key-ordered chunks (checked against state_root) — instead of replaying
// every block since genesis. Entries, receipts and proofs of the log before the snapshot are not
// on such a node; it serves everything from the snapshot on.
//
//   state_root := SHA-256("tds-state-v1" 0x00 || for each store entry with key in [S, U) —
//                          the "S" state and "T" transaction index entries (ledger/store.h) —
//                          in key order: be32(len key) key be32(len value) value)

#include <cstdint>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "common/bytes.h"
#include "common/sha256.h"
#include "ledger/application.h"
#include "ledger/genesis.h"
#include "ledger/merkle.h"
#include "proto/consensus.pb.h"
#include "proto/ledger.pb.h"

namespace tds::ledger {

// The store keys a snapshot covers: [kSnapshotBegin, kSnapshotEnd).
inline constexpr std::string_view kSnapshotBegin = "S";
inline constexpr std::string_view kSnapshotEnd = "U";

// Hashes store entries fed in strictly ascending key order (Add refuses anything else).
class StateRootHasher {
 public:
  StateRootHasher();
  absl::Status Add(std::string_view key, std::string_view value);
  Hash Finish();
  uint64_t entries() const { return entries_; }

 private:
  Sha256Hasher h_;
  std::string last_key_;
  uint64_t entries_ = 0;
};

inline bool IsSnapshotHeight(uint64_t height, uint64_t interval) {
  return height > 0 && height % interval == 0;
}

// The Merkle frontier of a log of `size` leaves as (level, index) positions, largest first.
std::vector<merkle::StoredNode> FrontierPositions(uint64_t size);

struct VerifiedOffer {
  tds::BlockHeader header;
  Hash block_hash{};
  Hash state_root{};
  std::vector<merkle::StoredNode> frontier;  // with hashes, ready to store
};

// Checks an offer from a peer: a snapshot block whose checkpoint a quorum of its epoch's
// validators signed (epochs followed from `genesis`), with a state root, and a frontier whose
// root is the block's log root. Errors say which part failed ("snapshot offer: ...").
absl::StatusOr<VerifiedOffer> VerifySnapshotOffer(const GenesisInfo& genesis,
                                                  const tds::SnapshotOffer& offer);

}  // namespace tds::ledger
