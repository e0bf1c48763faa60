#pragma once
// A seeded, deterministic simulator for the consensus core (ledger/consensus/core.h).
//
// n replicas, each a real Core over a toy BlockApp, talk through a simulated network that
// delays, loses, duplicates and reorders messages and cuts partitions; replicas crash (also in
// the middle of an action list) and restart from what they persisted; up to f Byzantine
// replicas equivocate, double-vote, forge signatures and send stale, oversized or malformed
// messages. Simulated time jumps to the next event. Every run is a pure function of its 64-bit
// seed and options, so a failing seed replays exactly.
//
// Checked after every step, over honest replicas:
//   - no two different blocks are committed at the same height (height = distance from genesis
//     through the parent links of every block seen), nor with different execution results;
//   - a replica's committed chain only grows, across restarts too: each commit extends its tip,
//     and the core's committed root is that tip;
//   - every commit carries a valid QC for exactly that block;
//   - no honest validator signs two votes in one round, nor votes at or below a round it gave up
//     by a timeout; every vote or timeout leaves only after the PersistAction that covers it,
//     and the persisted highest_vote_round never goes down;
//   - every QC and TC an honest replica sends verifies;
//   - messages that must be refused (bad signatures, oversized proposals) are refused.
// Liveness, at the end of RunScenario: once the network heals and every honest replica is up,
// fresh transactions given to all honest replicas commit everywhere within a bounded time.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "ledger/consensus/core.h"

namespace tds::consensus::sim {

// What Byzantine replicas may do (bit set). Each Byzantine replica picks a non-empty subset
// from the seed.
enum Attack : uint32_t {
  kEquivocate = 1 << 0,  // two proposals per round to two halves; builds on QCs it assembles
  kDoubleVote = 1 << 1,  // a second vote, for another block, in each round it votes
  kBadSignature = 1 << 2,
  kStaleFuture = 1 << 3,  // replays, far-future timeouts and votes
  kOversized = 1 << 4,    // proposals beyond CoreOptions::max_entries
  kMalformed = 1 << 5,    // random bytes, truncated and bit-flipped serializations
  kSilent = 1 << 6,       // drops some of its own messages
  kCensor = 1 << 7,       // as leader, proposes empty blocks in place of its core's
  kDefaultAttacks = (1 << 8) - 1,
};

struct NetworkOptions {
  int64_t min_delay_ms = 1;
  int64_t max_delay_ms = 20;
  double loss = 0;       // per message copy
  double duplicate = 0;  // chance of a second copy
  double reorder = 0;    // chance of an extra delay of up to reorder_ms
  int64_t reorder_ms = 500;
};

struct SimOptions {
  int n = 0;           // 0: from the seed (mostly 4, some 1 and 7)
  int byzantine = -1;  // how many Byzantine replicas; -1: from the seed, 0..f; capped at f
  std::vector<int> byzantine_ids;  // if set, exactly these (overrides `byzantine`)
  uint32_t attacks = kDefaultAttacks;

  // RunScenario's phases: chaos (loss, duplication, reordering, partitions, crashes, for
  // chaos_ms of simulated time), heal, then final_txs fresh transactions that must commit on
  // every honest replica within liveness_ms.
  bool chaos = true;  // false: the healed network all along (Byzantine replicas still act)
  bool crashes = true;
  int64_t chaos_ms = 15000;
  int chaos_txs = 20;
  int final_txs = 6;
  int64_t liveness_ms = 120000;
  uint64_t max_steps = 200'000;  // a run taking more fails (a message storm is a bug too)

  CoreOptions core = DefaultCoreOptions();
  bool verbose = false;    // every trace line to stderr as it happens
  size_t trace_tail = 40;  // trace lines kept for a failure report

  static CoreOptions DefaultCoreOptions() {
    CoreOptions o;
    o.max_entries = 64;  // small, so oversized proposals stay cheap to build
    return o;
  }
};

struct SimResult {
  bool ok = true;
  std::string failure;        // seed, violated invariant and the trace tail
  uint64_t commits = 0;       // commit actions carried out by honest replicas
  uint64_t view_changes = 0;  // highest view any honest replica reached
  uint64_t steps = 0;
  uint64_t messages = 0;  // delivered to a live replica
  uint64_t refused = 0;   // refusals counted by honest cores
  uint64_t crashes = 0;
  uint64_t block_requests = 0;  // sent by honest replicas
  uint64_t crafted = 0;         // messages Byzantine replicas altered or invented
  uint64_t equivocations = 0;   // rounds in which a Byzantine leader proposed two blocks
  uint64_t must_refuse = 0;     // deliveries to honest cores that had to be (and were) refused
  int64_t sim_ms = 0;
  int n = 0;
  int byzantine = 0;
};

// One seeded run of the full scenario (see SimOptions).
SimResult RunSeed(uint64_t seed, const SimOptions& options = {});

// The command line that replays `seed` in the benchmark (printed with failures).
std::string ReproduceCommand(uint64_t seed);

// The simulation itself, scriptable for focused tests. Not thread-safe; independent instances
// may run on different threads.
class Simulation {
 public:
  Simulation(uint64_t seed, const SimOptions& options);
  ~Simulation();

  int n() const;
  bool byzantine(int r) const;
  uint64_t seed() const;

  // ---- scripting: each takes effect at the current simulated time.
  void SetNetwork(const NetworkOptions& net);
  void Partition(const std::vector<int>& side);  // cuts `side` from the others until Heal()
  void Heal();
  void Crash(int r);
  // Crashes `r` in the middle of a later action list, right after carrying out the first action
  // `when` accepts (the rest of the list is lost).
  void CrashAfter(int r, std::function<bool(const Action&)> when);
  void Restart(int r);  // a new Core and app from r's persisted state and committed chain
  // Puts `tx` in the mempools of `to` (all live replicas if empty) and tells their cores.
  void InjectTx(const std::string& tx, const std::vector<int>& to = {});
  // Delivers `bytes` to `to` as if sent by `from` after `delay_ms`. With must_refuse, the core
  // must refuse them if they parse (a violation otherwise).
  void SendRaw(int from, int to, std::string bytes, bool must_refuse, int64_t delay_ms = 1);
  // Runs until simulated time reaches `until_ms`, `done()` holds (checked before each step), or
  // a violation. True if there was no violation and `done` (if given) holds.
  bool RunUntil(int64_t until_ms, const std::function<bool()>& done = nullptr);
  // The full scenario (RunSeed). Call on a fresh instance.
  SimResult RunScenario();

  // ---- observation
  int64_t now_ms() const;
  bool ok() const;
  const std::string& failure() const;
  bool up(int r) const;
  CoreStatus status(int r) const;  // REQUIRES: up(r)
  uint64_t refused(int r) const;   // over all of r's incarnations
  const tds::SafetyState& persisted(int r) const;
  std::vector<Hash> committed(int r) const;  // r's durable chain, oldest first
  bool HasCommitted(int r, const std::string& tx) const;
  bool AllHonestCommitted(const std::vector<std::string>& txs) const;
  SimResult result() const;  // counters so far

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tds::consensus::sim
