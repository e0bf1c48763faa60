#pragma once
// The driver around a consensus Core: one thread that feeds it events (messages, timer expiry,
// "work is waiting") and carries out its actions in order — safety record synced before any
// message after it leaves, commits handed to the ledger, sends handed to the transport.
//
// Epochs: the replica runs one core per validator epoch. Messages carry the sender's epoch; the
// core sees only those of the current one. A block request from an earlier epoch is answered
// by the application (hooks.serve_earlier); a message from a later epoch makes this replica
// catch up from its sender. When the ledger commits the block that ends the epoch it calls
// BeginEpoch, and once that event's commits are done a fresh core starts at that block.

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "ledger/consensus/core.h"
#include "ledger/consensus/safety_store.h"

namespace tds::consensus {

struct ReplicaHooks {
  // Carries a message to the replica with member id `to` ("" = every other replica: the
  // validators and the peers following without a vote). Must not block.
  std::function<void(const std::string& to, const tds::ConsensusMessage&)> send;
  // Makes a committed block durable; runs on the replica thread, in commit order.
  std::function<void(const CommitAction&)> commit;
  // After every event: the view may have changed (e.g. to re-route waiting transactions).
  std::function<void(const CoreStatus&)> after_event;
  // The answer to a block request from a replica still in the earlier epoch `epoch`, or
  // nothing; runs on the replica thread.
  std::function<std::optional<tds::BlockResponse>(uint64_t epoch, const tds::BlockRequest&)>
      serve_earlier;
  // After BeginEpoch, once the ended epoch's commits are done and before the new core starts.
  std::function<void(uint64_t epoch)> epoch_started;
};

class Replica {
 public:
  // `key` and `app` must outlive the replica; `app` is called on its thread only.
  Replica(const SigningKey* key, BlockApp* app, SafetyStore store, bool sync, ReplicaHooks hooks,
          CoreOptions options = {});
  ~Replica();  // Stop()

  // Loads the safety record (DataLoss if it is unreadable; a record of an earlier epoch counts
  // as none) and starts the thread with a core for `set` rooted at `root`. `set` must outlive
  // the replica; `self` indexes it or is kNotMember.
  absl::Status Start(const ValidatorSet* set, size_t self, const Root& root);
  void Stop();

  // Replica thread only (from hooks.commit): the block just committed ends the epoch; `set`
  // (which must outlive the replica) orders the next one from `root`.
  void BeginEpoch(const ValidatorSet* set, size_t self, Root root);

  void Deliver(const std::string& from, tds::ConsensusMessage msg);  // thread-safe
  void NotifyWork();                                                 // thread-safe
  CoreStatus status() const;                                         // thread-safe
  uint64_t epoch() const;                                            // thread-safe
  absl::Status last_refusal() const;

 private:
  struct Pending {
    const ValidatorSet* set;
    size_t self;
    Root root;
  };

  void Run();
  void Execute(Actions actions);
  void StartCore(const ValidatorSet* set, size_t self, const Root& root,
                 const tds::SafetyState& safety);
  void Handle(const std::string& from, const tds::ConsensusMessage& msg);
  // The core's number for peer `id`: its validator index, else one from set size on.
  size_t PeerIndex(const std::string& id);
  std::string PeerId(int index) const;
  void Send(const std::string& to, tds::ConsensusMessage msg, uint64_t epoch);

  const SigningKey* key_;
  BlockApp* app_;
  SafetyStore store_;
  const bool sync_;
  ReplicaHooks hooks_;
  const CoreOptions options_;

  // Replica thread only (and Start before it runs).
  const ValidatorSet* set_ = nullptr;
  size_t self_ = kNotMember;
  std::unique_ptr<Core> core_;
  std::optional<Pending> next_;
  std::vector<std::string> others_;  // peers outside the set, numbered set size + i
  uint64_t timer_view_ = 0;
  std::chrono::steady_clock::time_point timer_at_ = std::chrono::steady_clock::time_point::max();
  std::chrono::steady_clock::time_point last_catch_up_{};
  std::map<std::string, std::chrono::steady_clock::time_point> last_nudge_;  // per peer

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::pair<std::string, tds::ConsensusMessage>> inbox_;  // GUARDED_BY(mu_)
  bool work_ = false;                                                // GUARDED_BY(mu_)
  bool stop_ = false;                                                // GUARDED_BY(mu_)
  CoreStatus status_;                                                // GUARDED_BY(mu_)
  uint64_t epoch_ = 0;                                               // GUARDED_BY(mu_)
  absl::Status last_refusal_;                                        // GUARDED_BY(mu_)
  std::thread thread_;
};

}  // namespace tds::consensus
