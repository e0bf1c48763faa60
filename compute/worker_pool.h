#pragma once
// A fixed set of worker threads for the CPU-bound parts of a protocol (scalar multiplications,
// hashing), and Batch: one unit of work split into slices that run on the pool in parallel.

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/status/status.h"

namespace tds::compute {

class WorkerPool {
 public:
  // Starts `threads` workers; 0 means std::thread::hardware_concurrency() (at least 1).
  explicit WorkerPool(int threads);
  // Discards the tasks not yet started and joins the workers (waiting for running tasks).
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Queues `task`; tasks start in submission order. Thread-safe.
  void Submit(std::function<void()> task);
  int size() const { return static_cast<int>(workers_.size()); }

 private:
  void Work();

  std::mutex mu_;
  std::condition_variable ready_;
  std::deque<std::function<void()>> tasks_;  // GUARDED_BY(mu_)
  bool stopping_ = false;                    // GUARDED_BY(mu_)
  std::vector<std::thread> workers_;
};

// Runs fn(begin, end) over [0, n) in slices on a pool. The Batch is shared with its slices, so
// it (and whatever `fn` captures) stays alive until the last slice ran, even if the caller
// gives up on it.
class Batch {
 public:
  using SliceFn = std::function<absl::Status(size_t begin, size_t end)>;

  // Splits [0, n) into about `slices` equal slices of at least `min_slice` items and queues
  // them. n == 0 completes at once.
  static std::shared_ptr<Batch> Start(WorkerPool& pool, size_t n, size_t slices, size_t min_slice,
                                      SliceFn fn);

  // Blocks until every slice ran; the first failure among the slices, or OK.
  // REQUIRES: the pool is still alive (a destroyed pool discards the slices not yet started).
  absl::Status Wait();

 private:
  explicit Batch(SliceFn fn) : fn_(std::move(fn)) {}
  void RunSlice(size_t begin, size_t end);

  SliceFn fn_;
  std::mutex mu_;
  std::condition_variable done_;
  size_t remaining_ = 0;  // GUARDED_BY(mu_)
  absl::Status status_;   // GUARDED_BY(mu_)
};

}  // namespace tds::compute
