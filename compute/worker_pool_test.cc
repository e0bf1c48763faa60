#include "compute/worker_pool.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <vector>

namespace tds::compute {
namespace {

TEST(WorkerPoolTest, BatchRunsEveryIndexExactlyOnce) {
  WorkerPool pool(3);
  std::vector<std::atomic<int>> seen(1000);
  auto batch = Batch::Start(pool, seen.size(), 7, 10, [&](size_t begin, size_t end) {
    for (size_t i = begin; i < end; ++i) seen[i]++;
    return absl::OkStatus();
  });
  ASSERT_TRUE(batch->Wait().ok());
  for (size_t i = 0; i < seen.size(); ++i) EXPECT_EQ(seen[i], 1) << i;
}

TEST(WorkerPoolTest, BatchReportsAFailingSlice) {
  WorkerPool pool(2);
  auto batch = Batch::Start(pool, 100, 4, 1, [](size_t begin, size_t end) {
    return begin <= 50 && 50 < end ? absl::InvalidArgumentError("item 50 is bad")
                                   : absl::OkStatus();
  });
  absl::Status s = batch->Wait();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(s.message()), "item 50 is bad");
}

TEST(WorkerPoolTest, EmptyBatchIsDoneAtOnce) {
  WorkerPool pool(1);
  bool called = false;
  auto batch = Batch::Start(pool, 0, 4, 1, [&](size_t, size_t) {
    called = true;
    return absl::OkStatus();
  });
  EXPECT_TRUE(batch->Wait().ok());
  EXPECT_FALSE(called);
}

TEST(WorkerPoolTest, ZeroThreadsMeansHardwareConcurrency) {
  WorkerPool pool(0);
  EXPECT_GE(pool.size(), 1);
}

}  // namespace
}  // namespace tds::compute
