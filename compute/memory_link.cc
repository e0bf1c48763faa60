// In-memory Link pair: two byte-bounded queues, one per direction, under one mutex.
//
// Closing either end (explicitly or by destroying it) closes the pair: the closer's later calls
// fail with Cancelled; the peer still receives what was queued before the close (like a TCP
// FIN), then fails with Unavailable.

#include <condition_variable>
#include <deque>
#include <mutex>

#include "compute/link.h"

namespace tds::compute {
namespace {

struct SharedState {
  std::mutex mu;
  std::condition_variable changed;
  std::deque<std::string> queue[2];  // queue[i]: messages waiting for endpoint i
  size_t queued_bytes[2] = {0, 0};
  bool closed_by[2] = {false, false};
  size_t max_queued_bytes = 0;

  bool closed() const { return closed_by[0] || closed_by[1]; }
};

class MemoryLink final : public Link {
 public:
  MemoryLink(std::shared_ptr<SharedState> state, int self)
      : state_(std::move(state)), self_(self), peer_(1 - self) {}
  ~MemoryLink() override { Close(); }

  absl::Status Send(std::string message) override {
    const size_t size = message.size();
    std::unique_lock<std::mutex> lock(state_->mu);
    // Waits while the peer's queue is over the bound; a message larger than the bound still
    // goes through once the queue is empty, so no message size can deadlock the pair.
    state_->changed.wait(lock, [&] {
      return state_->closed() || state_->queued_bytes[peer_] == 0 ||
             state_->queued_bytes[peer_] + size <= state_->max_queued_bytes;
    });
    if (state_->closed_by[self_]) return absl::CancelledError("link closed locally");
    if (state_->closed_by[peer_]) return absl::UnavailableError("peer closed the link");
    state_->queue[peer_].push_back(std::move(message));
    state_->queued_bytes[peer_] += size;
    bytes_sent_ += size;
    state_->changed.notify_all();
    return absl::OkStatus();
  }

  absl::StatusOr<std::string> Recv() override {
    std::unique_lock<std::mutex> lock(state_->mu);
    state_->changed.wait(lock, [&] { return state_->closed() || !state_->queue[self_].empty(); });
    if (state_->closed_by[self_]) return absl::CancelledError("link closed locally");
    if (state_->queue[self_].empty()) return absl::UnavailableError("peer closed the link");
    std::string message = std::move(state_->queue[self_].front());
    state_->queue[self_].pop_front();
    state_->queued_bytes[self_] -= message.size();
    bytes_received_ += message.size();
    state_->changed.notify_all();
    return message;
  }

  void Close() override {
    std::lock_guard<std::mutex> lock(state_->mu);
    if (state_->closed_by[self_]) return;
    state_->closed_by[self_] = true;
    state_->changed.notify_all();
  }

 private:
  std::shared_ptr<SharedState> state_;
  const int self_;
  const int peer_;
};

}  // namespace

std::pair<std::unique_ptr<Link>, std::unique_ptr<Link>> MemoryLinkPair(size_t max_queued_bytes) {
  auto state = std::make_shared<SharedState>();
  state->max_queued_bytes = max_queued_bytes;
  return {std::make_unique<MemoryLink>(state, 0), std::make_unique<MemoryLink>(state, 1)};
}

}  // namespace tds::compute
