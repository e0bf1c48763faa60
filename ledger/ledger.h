#pragma once
// The embedded ledger: admission, ordering into blocks, durable storage, proofs and receipts.
//
// Submissions are admitted concurrently (envelope signature, membership, size, duplicate id)
// and queued; one committer thread takes everything queued (group commit), applies each
// transaction through the Application, appends the accepted ones to the Merkle log, signs the
// block's checkpoint, writes block + log nodes + state writes in one synced LevelDB batch, and
// only then acknowledges them. A crash loses nothing acknowledged; restart resumes at the last
// durable block.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/bytes.h"
#include "common/keys.h"
#include "ledger/application.h"
#include "ledger/genesis.h"
#include "proto/ledger.pb.h"

namespace tds {
class ConsensusMessage;
namespace consensus {
class ValidatorSet;
}
}  // namespace tds
namespace tds::ledger {

struct LedgerOptions {
  std::string data_dir;
  size_t max_block_txs = 4096;
  size_t max_entry_bytes = 64 * 1024;
  // fsync every block before acknowledging; false only for experiments.
  bool sync = true;
  // Proposer clock (ms since epoch); tests inject a deterministic one.
  std::function<int64_t()> clock;
  // A follower proposes nothing: it stores only blocks a validator committed (ApplyBlock),
  // after re-executing and verifying them. Its key may be any member's, or none.
  bool follower = false;
  // A validator orders blocks by BFT consensus among the validators of the current epoch
  // (ledger/consensus/README.md); with one validator it runs alone. With more, `send` carries
  // its messages (to = member id, "" = every peer; must not block) and the node passes theirs
  // to DeliverConsensus. A node whose member does not hold the validator role in the current
  // epoch runs the same way but only follows (it starts voting once governance makes it a
  // validator).
  std::function<void(const std::string& to, const tds::ConsensusMessage&)> send;
  // This node's member id when its key is not in the genesis (a member admitted later by
  // governance); otherwise found from the key.
  std::string member_id;
  int64_t consensus_timeout_ms = 1000;  // a view's first timeout; doubles while views fail
  // A replica with an empty store among peers first asks them for a state snapshot
  // (ledger/snapshot.h) and starts from it instead of replaying every block since genesis.
  bool state_sync = true;
};

struct ConsensusStatus {
  uint64_t epoch = 0;
  size_t validators = 0;  // in the current epoch
  bool voting = false;    // this node is one of them
  uint64_t view = 0;
  uint64_t round = 0;
  std::string leader;
  uint64_t committed_round = 0;
  uint64_t timeouts = 0;
  uint64_t refused = 0;
  std::string last_refusal;
};

struct SubmitAck {
  Hash txid{};
  uint64_t index = 0;
  uint64_t height = 0;
  std::string result;
};

struct TxRecord {
  std::string entry;  // serialized Envelope as submitted
  uint64_t index = 0;
  uint64_t height = 0;
  std::string result;
};

struct LedgerStatus {
  uint64_t height = 0;
  uint64_t log_size = 0;
  Hash log_root{};
  Hash state_digest{};
  Hash last_block_hash{};
  int64_t last_block_time_ms = 0;
  uint64_t pending = 0;
};

class Ledger {
 public:
  using Done = std::function<void(absl::StatusOr<SubmitAck>)>;

  // Opens or creates the store in options.data_dir, bound to `genesis` (a store made under a
  // different genesis is refused). `validator_key` must belong to a genesis validator (a
  // follower's may be any member's key, or null).
  // `app` must outlive the ledger.
  static absl::StatusOr<std::unique_ptr<Ledger>> Open(const LedgerOptions& options,
                                                      GenesisInfo genesis,
                                                      std::unique_ptr<SigningKey> validator_key,
                                                      const Application* app);
  ~Ledger();  // stops the committer after draining what is queued

  // Thread-safe. Admission errors are returned through `done` at once; otherwise `done` runs
  // on the committer thread once the block is durable (or with the apply rejection).
  // A follower refuses (FailedPrecondition): its transactions go to the validator.
  void Submit(std::string envelope_bytes, Done done);
  absl::StatusOr<SubmitAck> SubmitAndWait(std::string envelope_bytes);

  // Answers every submission still waiting for its block with `why` (a node shutting down
  // while its validators cannot commit); the transactions may still commit later.
  void AbortWaiting(const absl::Status& why);

  // Validators: a consensus message from peer `from` (member id, authenticated by the
  // transport). Thread-safe; ignored by a follower.
  void DeliverConsensus(const std::string& from, tds::ConsensusMessage msg);
  // Validators: where consensus stands (zero for a follower).
  ConsensusStatus consensus_status() const;

  // Follower: verifies and stores the next block a validator committed — chain link, quorum
  // checkpoint of the block's epoch, every transaction re-executed, log root, state digest and
  // next validators equal to the header's (and an epoch-ending block's commit proof).
  // DataLoss names the first divergence; nothing is stored then. REQUIRES: heights in order,
  // from one thread.
  absl::Status ApplyBlock(const tds::Block& block);

  absl::StatusOr<TxRecord> GetTransaction(const Hash& txid) const;
  // Receipt against the checkpoint of the block that committed the transaction.
  absl::StatusOr<tds::Receipt> GetReceipt(const Hash& txid) const;
  absl::StatusOr<tds::Block> GetBlock(uint64_t height) const;
  // Signed note of the latest block (empty before the first block).
  std::string LatestCheckpoint() const;
  absl::StatusOr<std::vector<Hash>> ConsistencyProof(uint64_t size1, uint64_t size2) const;
  absl::StatusOr<std::optional<std::string>> GetState(std::string_view key) const;
  // Committed application state. Each read sees durable blocks only; a sequence of reads may
  // straddle a commit.
  const StateReader& state() const;

  // One committed block's state writes, in key order (nullopt = deleted).
  using StateWrites = std::map<std::string, std::optional<std::string>, std::less<>>;
  using CommitObserver =
      std::function<void(uint64_t height, int64_t block_time_ms, const StateWrites& writes)>;
  // Runs init(committed state), then registers on_commit, with no block committing in between:
  // an observer that builds a view in init and updates it in on_commit misses nothing.
  // on_commit runs on the committer thread after each block is durable, before its acks; it
  // must be quick and must not call Submit*/Wait* on this ledger.
  void Observe(const std::function<void(const StateReader&)>& init, CommitObserver on_commit);
  LedgerStatus Status() const;
  const GenesisInfo& genesis() const;
  const std::string& node_id() const;

  // Blocks until height >= h or the deadline passes or the ledger closes; returns the height.
  uint64_t WaitForHeight(uint64_t h, int64_t timeout_ms) const;

 private:
  class Impl;
  explicit Ledger(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The genesis validators, in genesis order, as consensus sees them (epoch 0).
std::unique_ptr<consensus::ValidatorSet> MakeValidatorSet(const GenesisInfo& genesis);

// The transaction id: SHA-256 of the envelope payload (the signed Transaction bytes).
absl::StatusOr<Hash> TxIdOfEntry(std::string_view envelope_bytes);

}  // namespace tds::ledger
