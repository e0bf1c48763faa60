#pragma once
// `tds audit watch`: detects a rewritten history. Every checkpoint a node has shown is kept in a
// local state file; each round fetches the node's latest checkpoint, verifies its quorum of
// validator signatures (from the genesis file, through epoch changes), and checks it against
// every checkpoint kept (RFC 9162 §2.1.4 consistency proofs fetched from the node):
//
//   same size       the roots must be equal                 (else: conflicting checkpoints)
//   kept smaller    PROOF(kept, latest) must verify         (else: the latest does not extend it)
//   kept larger     PROOF(latest, kept) must verify         (else: the node went back to
//                                                            another history)
//
// One state file may be shared by rounds against several nodes of the same data space: two
// nodes showing different histories then conflict like one node rewriting its own.
//
// State file: append-only, one JSON object per line, each append fsynced:
//   {"size":n, "root":hex, "height":n, "epoch":n, "seen_ms":n, "node":"ADDR",
//    "checkpoint":"signed note text"}
// A torn last line (a crash mid-append) is ignored, and cut off by the next append; any other
// malformed line is an error. One watch at a time per state file (rounds against several
// nodes in turn may share it).

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/bytes.h"
#include "ledger/genesis.h"
#include "sdk/cli/audit_replay.h"

namespace tds::cli {

struct SeenCheckpoint {
  uint64_t size = 0;
  Hash root{};
  uint64_t height = 0;
  uint64_t epoch = 0;
  int64_t seen_ms = 0;
  std::string node;
  std::string note;  // the signed note as the node served it
};

// The checkpoints kept in `path` (none if it does not exist). Errors name the line.
absl::StatusOr<std::vector<SeenCheckpoint>> LoadSeenCheckpoints(const std::string& path,
                                                                const ledger::GenesisInfo& genesis);

struct WatchRound {
  // Empty when the latest checkpoint verifies and agrees with every kept one; otherwise what
  // is wrong, naming both checkpoints ("conflicting checkpoints: ...").
  std::string alert;
  SeenCheckpoint latest;
  size_t compared = 0;    // kept checkpoints it was checked against
  bool recorded = false;  // appended to the state file (new size or root)
};

// One round against `source` (served by `node`, recorded with the checkpoint). A checkpoint
// that conflicts is recorded too (signed evidence), so every later round alerts again. Errors
// (not alerts): the node unreachable, the state file unreadable or unwritable.
absl::StatusOr<WatchRound> WatchOnce(LedgerSource& source, const ledger::GenesisInfo& genesis,
                                     const std::string& state_file, const std::string& node);

}  // namespace tds::cli
