#pragma once
// The validator set and the signed statements of consensus: votes (over a block's checkpoint
// body, or an empty block's note), timeouts, and the certificates that collect 2f + 1 of them.
// Everything here is deterministic and free of I/O, so the core stays a pure state machine.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "common/bytes.h"
#include "common/keys.h"
#include "proto/consensus.pb.h"

namespace tds::consensus {

// Rounds are (view << 32 | sequence): a stable leader proposes consecutive rounds within its
// view; a timeout certificate for view v opens view v + 1 at round FirstRound(v + 1).
inline uint64_t ViewOf(uint64_t round) { return round >> 32; }
inline uint64_t FirstRound(uint64_t view) { return view << 32; }
inline uint64_t LastRound(uint64_t view) { return (view << 32) | 0xffffffffu; }

// Where an epoch starts. Epoch 0 starts at the genesis root (round 0). Epoch e > 0 starts at
// the committed block that ended epoch e - 1 (its `root`, at `root_round`): its first view is
// start_view(), whose first round may justify itself by the root (ledger/consensus/README.md).
struct EpochStart {
  uint64_t epoch = 0;
  Hash root{};
  uint64_t root_round = 0;
};

// One epoch's validators, in epoch order (genesis order in epoch 0, ascending member id
// later). quorum = n - f where f = floor((n - 1) / 3).
class ValidatorSet {
 public:
  // `genesis_id` names the root block (round 0) every chain starts from.
  ValidatorSet(std::string origin, Hash genesis_id, std::vector<std::string> ids,
               std::vector<PublicKey> keys, EpochStart start = {});

  size_t size() const { return ids_.size(); }
  size_t quorum() const { return quorum_; }
  const std::string& origin() const { return origin_; }
  const Hash& genesis_id() const { return genesis_id_; }
  const std::string& id(size_t i) const { return ids_[i]; }
  const PublicKey& key(size_t i) const { return keys_[i]; }
  // Index of the validator with this member id, or -1.
  int IndexOf(std::string_view id) const;
  size_t LeaderOf(uint64_t view) const { return static_cast<size_t>(view % ids_.size()); }

  uint64_t epoch() const { return start_.epoch; }
  const EpochStart& start() const { return start_; }
  // The first view of the epoch: 0, or the view after the root's.
  uint64_t start_view() const { return start_.epoch == 0 ? 0 : ViewOf(start_.root_round) + 1; }
  // Same members with the same keys in the same order.
  bool SameMembers(const ValidatorSet& other) const {
    return ids_ == other.ids_ && keys_ == other.keys_;
  }

 private:
  std::string origin_;
  Hash genesis_id_{};
  EpochStart start_;
  std::vector<std::string> ids_;
  std::vector<PublicKey> keys_;
  size_t quorum_ = 1;
};

// A block's id and the exact bytes its votes sign.
struct BlockInfo {
  Hash id{};
  std::string vote_body;
};

// An empty block (no transactions, not stored by the ledger): its vote body is
//   origin "\n" "tds-empty " round " " base64(parent) "\n" [ "tds-epoch " epoch "\n" ]
// (the epoch line from epoch 1 on) and its id the SHA-256 of that body.
BlockInfo EmptyBlockInfo(std::string_view origin, uint64_t round, const Hash& parent,
                         uint64_t epoch = 0);

// origin "\n" "tds-timeout " view " " high_qc_round "\n" [ "tds-epoch " epoch "\n" ]
// Votes and timeouts of different epochs sign different bytes, so none counts in another epoch.
std::string TimeoutBody(std::string_view origin, uint64_t view, uint64_t high_qc_round,
                        uint64_t epoch = 0);

// Checks that `sigs` hold a quorum of distinct, valid validator signatures over `body`.
// Errors name the first bad signer. `what` prefixes messages ("QC for round 7").
absl::Status VerifyQuorum(const ValidatorSet& set, std::string_view body,
                          const google::protobuf::RepeatedPtrField<tds::ValidatorSignature>& sigs,
                          std::string_view what);

// That block `id` (at `round`) committed in `set`'s epoch, by `proof`: its path and child are
// empty blocks of the epoch (as after an epoch-ending block, which is what this checks), each
// naming the one before as parent at a higher round, the child at the round after the last,
// and the child's certificate a quorum of `set`.
absl::Status VerifyCommitProof(const ValidatorSet& set, const Hash& id, uint64_t round,
                               const tds::CommitProof& proof);

// A TC's signatures, each over its own high_qc_round. Returns the highest high_qc_round.
absl::StatusOr<uint64_t> VerifyTimeoutCert(const ValidatorSet& set, const tds::TimeoutCert& tc);

}  // namespace tds::consensus
