#pragma once
// A thread that hands items pushed from any thread to `run` in batches: everything queued when
// it wakes, at most max_batch at a time. Idle, an item is run at once (no added wait); under
// load the batches grow by themselves, which is what makes batched work (e.g. Ed25519 batch
// verification) pay off exactly when throughput matters.

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

namespace tds {

template <typename T>
class BatchWorker {
 public:
  BatchWorker(size_t max_batch, std::function<void(std::vector<T>&)> run)
      : max_batch_(max_batch == 0 ? 1 : max_batch), run_(std::move(run)) {
    thread_ = std::thread([this] { Loop(); });
  }
  // Runs what is still queued, then joins.
  ~BatchWorker() {
    {
      std::lock_guard<std::mutex> l(mu_);
      stopping_ = true;
    }
    cv_.notify_one();
    thread_.join();
  }
  BatchWorker(const BatchWorker&) = delete;
  BatchWorker& operator=(const BatchWorker&) = delete;

  void Push(T item) {
    {
      std::lock_guard<std::mutex> l(mu_);
      queue_.push_back(std::move(item));
    }
    cv_.notify_one();
  }

 private:
  void Loop() {
    std::vector<T> batch;
    for (;;) {
      {
        std::unique_lock<std::mutex> l(mu_);
        cv_.wait(l, [this] { return stopping_ || !queue_.empty(); });
        if (queue_.empty()) return;  // stopping, nothing left
        while (!queue_.empty() && batch.size() < max_batch_) {
          batch.push_back(std::move(queue_.front()));
          queue_.pop_front();
        }
      }
      run_(batch);
      batch.clear();
    }
  }

  const size_t max_batch_;
  const std::function<void(std::vector<T>&)> run_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<T> queue_;    // GUARDED_BY(mu_)
  bool stopping_ = false;  // GUARDED_BY(mu_)
  std::thread thread_;
};

}  // namespace tds
