#include "compute/worker_pool.h"

#include <algorithm>

namespace tds::compute {

WorkerPool::WorkerPool(int threads) {
  if (threads <= 0) threads = static_cast<int>(std::thread::hardware_concurrency());
  threads = std::max(threads, 1);
  workers_.reserve(threads);
  for (int i = 0; i < threads; ++i) workers_.emplace_back([this] { Work(); });
}

WorkerPool::~WorkerPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    tasks_.clear();
  }
  ready_.notify_all();
  for (std::thread& t : workers_) t.join();
}

void WorkerPool::Submit(std::function<void()> task) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    tasks_.push_back(std::move(task));
  }
  ready_.notify_one();
}

void WorkerPool::Work() {
  while (true) {
    std::function<void()> task;
    {
      std::unique_lock<std::mutex> lock(mu_);
      ready_.wait(lock, [this] { return stopping_ || !tasks_.empty(); });
      if (stopping_) return;
      task = std::move(tasks_.front());
      tasks_.pop_front();
    }
    task();
  }
}

std::shared_ptr<Batch> Batch::Start(WorkerPool& pool, size_t n, size_t slices, size_t min_slice,
                                    SliceFn fn) {
  std::shared_ptr<Batch> batch(new Batch(std::move(fn)));
  if (n == 0) return batch;
  slices = std::max<size_t>(slices, 1);
  size_t slice = std::max<size_t>((n + slices - 1) / slices, std::max<size_t>(min_slice, 1));
  batch->remaining_ = (n + slice - 1) / slice;
  for (size_t begin = 0; begin < n; begin += slice) {
    const size_t end = std::min(n, begin + slice);
    pool.Submit([batch, begin, end] { batch->RunSlice(begin, end); });
  }
  return batch;
}

void Batch::RunSlice(size_t begin, size_t end) {
  absl::Status status = fn_(begin, end);
  std::lock_guard<std::mutex> lock(mu_);
  if (status_.ok() && !status.ok()) status_ = std::move(status);
  if (--remaining_ == 0) done_.notify_all();
}

absl::Status Batch::Wait() {
  std::unique_lock<std::mutex> lock(mu_);
  done_.wait(lock, [this] { return remaining_ == 0; });
  return status_;
}

}  // namespace tds::compute
