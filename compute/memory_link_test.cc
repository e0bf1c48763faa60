#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "compute/link.h"

namespace tds::compute {
namespace {

using ::testing::HasSubstr;

TEST(MemoryLinkTest, MessagesArriveWholeAndInOrderBothWays) {
  auto [a, b] = MemoryLinkPair();
  ASSERT_TRUE(a->Send("one").ok());
  ASSERT_TRUE(a->Send("").ok());
  ASSERT_TRUE(a->Send("three").ok());
  ASSERT_TRUE(b->Send("back").ok());
  EXPECT_EQ(*b->Recv(), "one");
  EXPECT_EQ(*b->Recv(), "");
  EXPECT_EQ(*b->Recv(), "three");
  EXPECT_EQ(*a->Recv(), "back");
  EXPECT_EQ(a->bytes_sent(), 8u);
  EXPECT_EQ(b->bytes_received(), 8u);
  EXPECT_EQ(b->bytes_sent(), 4u);
  EXPECT_EQ(a->bytes_received(), 4u);
}

TEST(MemoryLinkTest, SendBlocksWhileThePeersQueueIsFull) {
  auto [a, b] = MemoryLinkPair(/*max_queued_bytes=*/100);
  ASSERT_TRUE(a->Send(std::string(60, 'x')).ok());
  std::atomic<bool> second_sent{false};
  std::thread t([&] {
    EXPECT_TRUE(a->Send(std::string(60, 'y')).ok());  // 120 > 100: waits
    second_sent = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_FALSE(second_sent);
  EXPECT_EQ(*b->Recv(), std::string(60, 'x'));  // makes room
  t.join();
  EXPECT_TRUE(second_sent);
  EXPECT_EQ(*b->Recv(), std::string(60, 'y'));
}

TEST(MemoryLinkTest, AMessageLargerThanTheBoundPassesAnEmptyQueue) {
  auto [a, b] = MemoryLinkPair(/*max_queued_bytes=*/10);
  ASSERT_TRUE(a->Send(std::string(1000, 'x')).ok());
  EXPECT_EQ(b->Recv()->size(), 1000u);
}

TEST(MemoryLinkTest, CloseUnblocksAPeerWaitingInRecv) {
  auto [a, b] = MemoryLinkPair();
  absl::StatusOr<std::string> got = std::string("unset");
  std::thread t([&, &b = b] { got = b->Recv(); });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  a->Close();
  t.join();
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(got.status().message()), HasSubstr("peer closed the link"));
}

TEST(MemoryLinkTest, CloseUnblocksOwnRecvInAnotherThread) {
  auto [a, b] = MemoryLinkPair();
  absl::StatusOr<std::string> got = std::string("unset");
  std::thread t([&, &a = a] { got = a->Recv(); });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  a->Close();
  t.join();
  EXPECT_EQ(got.status().code(), absl::StatusCode::kCancelled);
}

TEST(MemoryLinkTest, CloseUnblocksASendWaitingForRoom) {
  auto [a, b] = MemoryLinkPair(/*max_queued_bytes=*/10);
  ASSERT_TRUE(a->Send(std::string(10, 'x')).ok());
  absl::Status sent;
  std::thread t([&, &a = a] { sent = a->Send(std::string(10, 'y')); });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  b->Close();
  t.join();
  EXPECT_EQ(sent.code(), absl::StatusCode::kUnavailable);
}

TEST(MemoryLinkTest, PeerStillReadsWhatWasSentBeforeTheClose) {
  auto [a, b] = MemoryLinkPair();
  ASSERT_TRUE(a->Send("last words").ok());
  a.reset();  // destroying an end closes it
  EXPECT_EQ(*b->Recv(), "last words");
  EXPECT_EQ(b->Recv().status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(b->Send("anyone?").code(), absl::StatusCode::kUnavailable);
}

TEST(MemoryLinkTest, CallsAfterOwnCloseFail) {
  auto [a, b] = MemoryLinkPair();
  ASSERT_TRUE(b->Send("queued").ok());
  a->Close();
  EXPECT_EQ(a->Send("x").code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(a->Recv().status().code(), absl::StatusCode::kCancelled);
}

}  // namespace
}  // namespace tds::compute
