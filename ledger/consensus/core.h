#pragma once
// The consensus core: chained two-phase HotStuff (the HotStuff-2 / Jolteon family) as a pure
// state machine. It takes events — a message from a validator, a timer firing, "transactions are
// waiting" — and returns actions — send, persist, commit, set a timer — in the order the driver
// must carry them out. No threads, clocks, randomness or I/O inside: the same events give the
// same actions, which is what lets a seeded simulator explore it (tests/consensus_sim*).
//
// Safety rules (ledger/consensus/README.md has the argument):
//   vote for block B at round r   iff  r > highest_vote_round, B extends the committed chain, and
//        B.justify.round + 1 == r                                         (consecutive), or
//        r == FirstRound(tc.view + 1) and B.justify.round >= max(tc high_qc_rounds)
//   time out view v               sets highest_vote_round to LastRound(v) (no more votes in v)
//   commit B                      when B and its child at round B.round + 1 are both certified
// The PersistAction carrying highest_vote_round and the high QC always precedes the vote or
// timeout it protects; the driver must sync it (file and directory) before sending anything after.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "common/bytes.h"
#include "common/keys.h"
#include "ledger/consensus/certificates.h"
#include "proto/consensus.pb.h"

namespace tds::consensus {

// The application behind the blocks (the ledger, or the simulator's toy). Deterministic; the
// core calls it synchronously.
class BlockApp {
 public:
  virtual ~BlockApp() = default;
  // Id and vote body of a block with transactions, from ref.header, which must state ref's round
  // and parent. (Empty blocks never reach this: the core describes them itself.)
  virtual absl::StatusOr<BlockInfo> DescribeHeader(const tds::BlockRef& ref) const = 0;
  // True while transactions wait to be ordered.
  virtual bool HasWork() const = 0;
  // Leader: fills p->block.header and p->entries with waiting transactions on top of
  // p->block.parent (an executed block) at p->block.round. Leaves both empty when nothing
  // qualifies; the core then proposes an empty block.
  virtual absl::Status Build(tds::BlockProposal* p) = 0;
  // Executes block `id` over its parent's result (executed before, or the root). OK means this
  // replica computes exactly what the header claims. Called at most once per id unless the
  // block was forgotten; a block this replica built may already be executed.
  virtual absl::Status Execute(const Hash& id, const tds::BlockProposal& p) = 0;
  // The block lost (a conflicting block committed); its speculative state can go.
  virtual void Forget(const Hash& id) = 0;
  // Up to `max` committed blocks following committed block `id`, oldest first, each with
  // entries and justify — for lagging peers, beyond the blocks the core keeps in memory.
  // Empty if `id` is not on this replica's durable committed chain.
  virtual std::vector<tds::BlockProposal> CommittedAfter(const Hash& id, size_t max) const {
    (void)id;
    (void)max;
    return {};
  }
};

struct CoreOptions {
  int64_t base_timeout_ms = 1000;  // a view's first timeout; doubles per consecutive timeout
  int64_t max_timeout_ms = 16000;
  uint32_t max_fetch_blocks = 64;  // blocks per BlockResponse
  size_t committed_window = 1024;  // committed blocks kept to serve lagging peers
  size_t max_entries = 8192;       // per proposal; more is refused
  size_t max_pending = 2048;       // blocks parked while their ancestors are fetched
};

// The last committed block: the chain's root after a (re)start.
struct Root {
  // Its ref (round, parent, header), entries and justify: the core serves it to lagging peers.
  tds::BlockProposal block;
  tds::QuorumCert qc;  // certifies it; for the genesis root (round 0) an empty certificate
};
// The genesis root: round 0, id = set.genesis_id().
Root GenesisRoot();

struct SendAction {
  // A validator index, an index >= the set's size that the driver gave a non-member peer (an
  // answer to its block request), or -1: every other replica, validators and not.
  int to = -1;
  tds::ConsensusMessage msg;
};
struct PersistAction {
  tds::SafetyState state;
};
struct CommitAction {
  Hash id{};
  tds::BlockProposal block;  // ref + entries (executed earlier through BlockApp::Execute)
  tds::QuorumCert qc;        // certifies this block: for a block with transactions, its checkpoint
  tds::CommitProof proof;    // why it is committed (the ledger keeps it for epoch-ending blocks)
};
struct TimerAction {
  uint64_t view = 0;  // deliver OnTimer(view) after `after_ms`; a later TimerAction replaces it
  int64_t after_ms = 0;
};
using Action = std::variant<SendAction, PersistAction, CommitAction, TimerAction>;
using Actions = std::vector<Action>;

struct CoreStatus {
  uint64_t view = 0;
  uint64_t round = 0;  // the round this replica is in (high QC round + 1 or a view's first)
  uint64_t highest_vote_round = 0;
  uint64_t high_qc_round = 0;
  uint64_t committed_round = 0;
  Hash committed_id{};
  uint64_t timeouts = 0;  // timeout certificates this replica formed or adopted
  uint64_t refused = 0;   // messages refused as malformed, badly signed or out of place
  size_t blocks = 0;      // uncommitted blocks held
};

// `self` of a replica that is not a validator of the epoch: it follows the chain (executes
// and commits certified blocks, asks validators for what it misses) but never votes or times
// out — a validator added by governance catching up, or one that was removed.
inline constexpr size_t kNotMember = SIZE_MAX;

class Core {
 public:
  // `set` and `app` must outlive the core. `self` indexes `set` (or is kNotMember); `key` is
  // that validator's. `from` in OnMessage indexes `set`; the driver numbers other peers from
  // set->size() on, and they may only send block requests.
  Core(const ValidatorSet* set, size_t self, const SigningKey* key, BlockApp* app,
       CoreOptions options = {});
  ~Core();

  // From durable state: the safety record (default-constructed on first start) and the last
  // committed block. Arms the view timer.
  Actions Start(const tds::SafetyState& safety, const Root& root);
  // A message from validator `from` (authenticated by the transport). Malformed, badly signed,
  // stale or impossible messages are refused: counted, logged by the caller, never stored.
  Actions OnMessage(size_t from, const tds::ConsensusMessage& msg);
  Actions OnTimer(uint64_t view);
  // Transactions arrived; a leader with nothing in flight proposes.
  Actions OnWork();
  // Asks validator `peer` for the committed blocks after this replica's root: it saw that
  // peer in a later epoch (or ahead), and must reach the end of its own epoch first.
  Actions CatchUp(size_t peer);

  // Why the last OnMessage refused its message (OK if it did not).
  const absl::Status& last_refusal() const;
  CoreStatus status() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tds::consensus
