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

// One epoch's validators, in genesis order. quorum = n - f where f = floor((n - 1) / 3).
class ValidatorSet {
 public:
  // `genesis_id` names the root block (round 0) every chain starts from.
  ValidatorSet(std::string origin, Hash genesis_id, std::vector<std::string> ids,
               std::vector<PublicKey> keys);

  size_t size() const { return ids_.size(); }
  size_t quorum() const { return quorum_; }
  const std::string& origin() const { return origin_; }
  const Hash& genesis_id() const { return genesis_id_; }
  const std::string& id(size_t i) const { return ids_[i]; }
  const PublicKey& key(size_t i) const { return keys_[i]; }
  // Index of the validator with this member id, or -1.
  int IndexOf(std::string_view id) const;
  size_t LeaderOf(uint64_t view) const { return static_cast<size_t>(view % ids_.size()); }

 private:
  std::string origin_;
  Hash genesis_id_{};
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
//   origin "\n" "tds-empty " round " " base64(parent) "\n"
// and its id the SHA-256 of that body.
BlockInfo EmptyBlockInfo(std::string_view origin, uint64_t round, const Hash& parent);

// origin "\n" "tds-timeout " view " " high_qc_round "\n"
std::string TimeoutBody(std::string_view origin, uint64_t view, uint64_t high_qc_round);

// Checks that `sigs` hold a quorum of distinct, valid validator signatures over `body`.
// Errors name the first bad signer. `what` prefixes messages ("QC for round 7").
absl::Status VerifyQuorum(const ValidatorSet& set, std::string_view body,
                          const google::protobuf::RepeatedPtrField<tds::ValidatorSignature>& sigs,
                          std::string_view what);

// A TC's signatures, each over its own high_qc_round. Returns the highest high_qc_round.
absl::StatusOr<uint64_t> VerifyTimeoutCert(const ValidatorSet& set, const tds::TimeoutCert& tc);

}  // namespace tds::consensus
