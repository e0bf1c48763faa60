#pragma once
// `tds audit replay`: an auditor's independent re-verification of a node's ledger, block by
// block, trusting nothing but the genesis file. For each block, in this order (the first
// failure is reported as "block H: <check>: <what, with both values>"):
//
//   link        height is the previous one + 1; prev_block_hash is SHA-256 of the previous
//               header (block 1: of the genesis file); entry count equals tx_count; log size
//               grows by tx_count
//   checkpoint  the block's signed note carries a quorum of its epoch's validators (epochs
//               followed from the genesis validators through each epoch-ending block's
//               header, checkpoint and commit proof) and certifies exactly this header
//   log root    the RFC 9162 root recomputed from the entries (a Merkle frontier carried from
//               genesis) equals the header's
//   envelope    every entry is a tds.tx.v1 envelope whose signature verifies over a
//               tds.Transaction
//   epoch       an epoch-ending block's change verifies (ledger/epochs.h)
//   state       (execution, replays from block 1 only) the block re-executed by the node's own
//               application in a scratch follower ledger (ledger::Ledger::ApplyBlock): every
//               transaction's submitter is a current member with the signing key and its
//               handler accepts it, the state digest, the snapshot state root and the next
//               validators equal the header's
//
// Starting at --from H > 1 (bootstrap): block H-1 is verified through a receipt of its first
// transaction (ledger::VerifyReceipt: the epoch changes from genesis, the checkpoint's quorum,
// the inclusion), its checkpoint must be the block's own, and the Merkle frontier at its log
// size is taken from the node's consistency proof to block H's size and accepted only if it
// folds to block H-1's certified log root. Application state cannot be rebuilt without the
// blocks before, so such a replay skips the "state" check (and says so). Failures there are
// reported against block H-1 as "start" (its receipt or epochs), "checkpoint" or "log root"
// (the frontier does not fold to its root).

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/bytes.h"
#include "ledger/application.h"
#include "ledger/genesis.h"
#include "proto/ledger.pb.h"
#include "proto/ledger_service.pb.h"
#include "sdk/channel.h"

namespace tds::cli {

// What the audit commands read from a node. Tests wrap it to tamper with what it returns.
class LedgerSource {
 public:
  virtual ~LedgerSource() = default;
  // Calls fn(block) for heights from..to (inclusive, committed blocks) in order; stops at fn's
  // first error and returns it.
  virtual absl::Status Blocks(uint64_t from, uint64_t to,
                              const std::function<absl::Status(tds::Block)>& fn) = 0;
  virtual absl::StatusOr<tds::Block> GetBlock(uint64_t height) = 0;
  virtual absl::StatusOr<tds::Receipt> GetReceipt(const Hash& txid) = 0;
  virtual absl::StatusOr<tds::GetLatestCheckpointResponse> GetLatestCheckpoint() = 0;
  virtual absl::StatusOr<std::vector<Hash>> GetConsistencyProof(uint64_t size1, uint64_t size2) = 0;
  virtual absl::StatusOr<uint64_t> Height() = 0;
};

// The node's Ledger service over gRPC (blocks through StreamBlocks). Connects lazily.
absl::StatusOr<std::unique_ptr<LedgerSource>> ConnectLedgerSource(
    const sdk::ClientOptions& options);

// The application tdsd hosts (evidence, governance, catalog, contracts), for re-execution.
std::unique_ptr<ledger::Application> NodeApplication();

// The validators whose quorum signs `block`'s checkpoint: the genesis ones in epoch 0; later,
// those reached through the epoch changes a receipt of the block's first transaction carries
// (each verified, ledger::ValidatorsAfter). The receipt's checkpoint must be the block's own.
absl::StatusOr<std::vector<ledger::Validator>> ValidatorsOfBlock(LedgerSource& source,
                                                                 const ledger::GenesisInfo& genesis,
                                                                 const tds::Block& block);

struct ReplayOptions {
  uint64_t from = 1;
  uint64_t to = 0;  // 0: the node's height when the replay starts
  // Re-execute with this application (the "state" check); null skips it. Ignored (no state
  // check) when from > 1. `scratch_dir` holds the scratch follower ledger; it must not exist
  // or be empty, and is left for the caller to remove.
  const ledger::Application* app = nullptr;
  std::string scratch_dir;
  // Called after each block with its height and the records (entries) checked so far.
  std::function<void(uint64_t height, uint64_t records)> progress;
};

struct ReplaySummary {
  uint64_t from = 0, to = 0;
  uint64_t blocks = 0;
  uint64_t records = 0;  // log entries verified
  uint64_t log_size = 0;
  Hash log_root{};
  Hash state_digest{};        // of block `to` (as its header claims; re-executed if executed)
  uint64_t epochs_ended = 0;  // epoch changes verified
  bool executed = false;      // the "state" check ran
  double seconds = 0;         // wall time of the block loop
  double cpu_seconds = 0;     // process CPU time of the block loop
};

// Verifies blocks options.from..to. DataLoss "block H: <check>: ..." at the first divergence;
// other codes for failures to read (node unreachable, missing block).
absl::StatusOr<ReplaySummary> Replay(LedgerSource& source, const ledger::GenesisInfo& genesis,
                                     const ReplayOptions& options);

}  // namespace tds::cli
