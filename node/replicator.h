#pragma once
// A follower node's link to the validators: the Replicator streams committed blocks from one
// of them and applies them, verified, to this node's own ledger replica; the Forwarder sends
// this node's submissions to one of them and answers them once the block that holds them has
// been applied here (read-your-writes). Given several validators, both move on to the next
// when the one they use is unreachable.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "grpcpp/grpcpp.h"
#include "ledger/ledger.h"
#include "proto/ledger_service.grpc.pb.h"

namespace tds::node {

struct ReplicatorStatus {
  bool connected = false;
  uint64_t applied_height = 0;
  uint64_t validator_height = 0;  // last height seen on the stream
  absl::Status last_error;        // last stream or verification error (OK if none)
  bool halted = false;            // a divergence: replication stopped for an operator to look
};

class Replicator {
 public:
  // `ledger` (a follower) must outlive the replicator. REQUIRES: at least one validator.
  Replicator(ledger::Ledger* ledger, std::vector<std::shared_ptr<grpc::Channel>> validators);
  ~Replicator();  // Stop()

  // Streams from height + 1 and applies each block; on a broken stream reconnects with
  // capped exponential backoff. A block that fails verification with DataLoss (a fork or a
  // divergent state) halts replication and logs why; other failures retry.
  void Start();
  void Stop();
  ReplicatorStatus status() const;

 private:
  void Run();
  // One streaming session; returns why it ended.
  absl::Status Session();

  ledger::Ledger* const ledger_;
  std::vector<std::unique_ptr<tds::Ledger::Stub>> stubs_;
  size_t current_ = 0;  // replication thread only: the validator streamed from
  mutable std::mutex mu_;
  bool stop_ = false;                      // GUARDED_BY(mu_)
  grpc::ClientContext* active_ = nullptr;  // GUARDED_BY(mu_): the open stream, to cancel
  ReplicatorStatus status_;                // GUARDED_BY(mu_)
  std::condition_variable cv_;
  std::thread thread_;
};

class Forwarder {
 public:
  // `ledger` (a follower) must outlive the forwarder. Registers a commit observer, so no block
  // may be applied (stop the Replicator) once the forwarder is destroyed.
  Forwarder(ledger::Ledger* ledger, std::vector<std::shared_ptr<grpc::Channel>> validators,
            int64_t timeout_ms = 30000);
  ~Forwarder();  // answers whatever still waits (those transactions are committed)

  // Sends `envelope` to a validator (the next one if that one is unreachable); `done` runs with
  // the validator's ack once this node has applied the block holding it, or with the
  // validator's refusal, or DeadlineExceeded if the block does not arrive here within the
  // timeout.
  void Submit(std::string envelope, ledger::Ledger::Done done);

 private:
  void OnCommit(uint64_t height);
  void Sweep();
  void Send(std::string envelope, ledger::Ledger::Done done, size_t attempt);

  struct Waiter {
    std::chrono::steady_clock::time_point deadline;
    std::function<void()> fire;
  };
  ledger::Ledger* const ledger_;
  std::vector<std::unique_ptr<tds::Ledger::Stub>> stubs_;
  std::atomic<size_t> current_{0};  // the validator submissions go to
  const int64_t timeout_ms_;
  std::mutex mu_;
  uint64_t applied_ = 0;                     // GUARDED_BY(mu_)
  std::multimap<uint64_t, Waiter> waiting_;  // GUARDED_BY(mu_): acks awaiting their block here
  bool stop_ = false;                        // GUARDED_BY(mu_)
  std::condition_variable sweep_cv_;
  std::thread sweeper_;  // answers waiters past their deadline
};

}  // namespace tds::node
