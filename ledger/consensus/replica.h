#pragma once
// The driver around a consensus Core: one thread that feeds it events (messages, timer expiry,
// "work is waiting") and carries out its actions in order — safety record synced before any
// message after it leaves, commits handed to the ledger, sends handed to the transport.

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include "ledger/consensus/core.h"
#include "ledger/consensus/safety_store.h"

namespace tds::consensus {

struct ReplicaHooks {
  // Carries a message to validator `to` (-1 = every other validator). Must not block.
  std::function<void(int to, const tds::ConsensusMessage&)> send;
  // Makes a committed block durable; runs on the replica thread, in commit order.
  std::function<void(const CommitAction&)> commit;
  // After every event: the view may have changed (e.g. to re-route waiting transactions).
  std::function<void(const CoreStatus&)> after_event;
};

class Replica {
 public:
  // `set`, `key` and `app` must outlive the replica; `app` is called on its thread only.
  Replica(const ValidatorSet* set, size_t self, const SigningKey* key, BlockApp* app,
          SafetyStore store, bool sync, ReplicaHooks hooks, CoreOptions options = {});
  ~Replica();  // Stop()

  // Loads the safety record (DataLoss if it is unreadable) and starts the thread.
  absl::Status Start(const Root& root);
  void Stop();

  void Deliver(size_t from, tds::ConsensusMessage msg);  // thread-safe
  void NotifyWork();                                     // thread-safe
  CoreStatus status() const;                             // thread-safe
  absl::Status last_refusal() const;

 private:
  void Run();
  void Execute(Actions actions);

  const ValidatorSet& set_;
  const size_t self_;
  SafetyStore store_;
  const bool sync_;
  ReplicaHooks hooks_;
  Core core_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::pair<size_t, tds::ConsensusMessage>> inbox_;  // GUARDED_BY(mu_)
  bool work_ = false;                                           // GUARDED_BY(mu_)
  bool stop_ = false;                                           // GUARDED_BY(mu_)
  CoreStatus status_;                                           // GUARDED_BY(mu_)
  absl::Status last_refusal_;                                   // GUARDED_BY(mu_)
  // Replica thread only.
  uint64_t timer_view_ = 0;
  std::chrono::steady_clock::time_point timer_at_ = std::chrono::steady_clock::time_point::max();
  std::thread thread_;
};

}  // namespace tds::consensus
