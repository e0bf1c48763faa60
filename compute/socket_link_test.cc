#include "compute/socket_link.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <thread>

namespace tds::compute {
namespace {

using ::testing::HasSubstr;

// A connected Unix socket pair: one end a SocketLink, the other a raw descriptor the test
// writes arbitrary bytes to. Returns the raw descriptor (closed by the caller).
int RawPair(std::unique_ptr<SocketLink>* link, SocketLinkOptions options = {}) {
  int fds[2];
  EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
  *link = std::make_unique<SocketLink>(fds[0], options);
  return fds[1];
}

void WriteRaw(int fd, const std::string& bytes) {
  ASSERT_EQ(::write(fd, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
}

TEST(SocketLinkTest, FramesArriveWholeAndInOrder) {
  auto pair = LoopbackSocketPair();
  ASSERT_TRUE(pair.ok()) << pair.status();
  auto& [a, b] = *pair;
  ASSERT_TRUE(a->Send("hello").ok());
  ASSERT_TRUE(a->Send("").ok());
  ASSERT_TRUE(a->Send(std::string("\0\1\2", 3)).ok());
  ASSERT_TRUE(b->Send("reply").ok());
  EXPECT_EQ(*b->Recv(), "hello");
  EXPECT_EQ(*b->Recv(), "");
  EXPECT_EQ(*b->Recv(), std::string("\0\1\2", 3));
  EXPECT_EQ(*a->Recv(), "reply");
  EXPECT_EQ(a->bytes_sent(), 8u);
  EXPECT_EQ(b->bytes_received(), 8u);
}

TEST(SocketLinkTest, FrameIsBigEndianLengthThenPayload) {
  std::unique_ptr<SocketLink> link;
  const int raw = RawPair(&link);
  ASSERT_TRUE(link->Send("abc").ok());
  char buf[7];
  ASSERT_EQ(::read(raw, buf, sizeof(buf)), 7);
  EXPECT_EQ(std::string(buf, 7), std::string("\0\0\0\3abc", 7));
  WriteRaw(raw, std::string("\0\0\0\2hi", 6));
  EXPECT_EQ(*link->Recv(), "hi");
  ::close(raw);
}

TEST(SocketLinkTest, LargeMessagesCrossWhileBothSidesSend) {
  auto pair = LoopbackSocketPair();
  ASSERT_TRUE(pair.ok()) << pair.status();
  auto& [a, b] = *pair;
  std::string big(20 << 20, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 131);
  // Both send 20 MiB at once, far beyond the socket buffers, each end sending from one thread
  // while another receives (as a protocol's send and receive threads do).
  absl::StatusOr<std::string> at_b = std::string();
  std::thread b_sends([&, &b = b] { EXPECT_TRUE(b->Send(big).ok()); });
  std::thread b_receives([&, &b = b] { at_b = b->Recv(); });
  EXPECT_TRUE(a->Send(big).ok());
  absl::StatusOr<std::string> at_a = a->Recv();
  b_sends.join();
  b_receives.join();
  ASSERT_TRUE(at_b.ok()) << at_b.status();
  ASSERT_TRUE(at_a.ok()) << at_a.status();
  EXPECT_TRUE(*at_b == big);
  EXPECT_TRUE(*at_a == big);
}

TEST(SocketLinkTest, OversizedFrameIsRefusedBeforeAllocating) {
  std::unique_ptr<SocketLink> link;
  const int raw = RawPair(&link, SocketLinkOptions{.max_frame_bytes = 1024});
  WriteRaw(raw, std::string("\x7f\xff\xff\xff", 4));  // announces 2 GiB
  absl::StatusOr<std::string> got = link->Recv();
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(got.status().message()),
              HasSubstr("peer announced a frame of 2147483647 bytes, over the limit of 1024"));
  // The stream cannot be trusted any more: the link is closed.
  EXPECT_EQ(link->Recv().status().code(), absl::StatusCode::kCancelled);
  ::close(raw);
}

TEST(SocketLinkTest, SendingOverTheFrameLimitIsRefused) {
  std::unique_ptr<SocketLink> link;
  const int raw = RawPair(&link, SocketLinkOptions{.max_frame_bytes = 16});
  absl::Status s = link->Send(std::string(17, 'x'));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr("message of 17 bytes exceeds the frame limit"));
  EXPECT_TRUE(link->Send(std::string(16, 'x')).ok());
  ::close(raw);
}

TEST(SocketLinkTest, PeerCloseAtAFrameBoundaryIsUnavailable) {
  auto pair = LoopbackSocketPair();
  ASSERT_TRUE(pair.ok()) << pair.status();
  auto& [a, b] = *pair;
  ASSERT_TRUE(a->Send("bye").ok());
  a.reset();
  EXPECT_EQ(*b->Recv(), "bye");
  absl::StatusOr<std::string> got = b->Recv();
  EXPECT_EQ(got.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(got.status().message()), HasSubstr("peer closed the connection"));
}

TEST(SocketLinkTest, PeerCloseInsideAFrameIsDataLoss) {
  std::unique_ptr<SocketLink> link;
  const int raw = RawPair(&link);
  WriteRaw(raw, std::string("\0\0\0\x0a"
                            "abc",
                            7));  // 10 announced, 3 sent
  ::close(raw);
  absl::StatusOr<std::string> got = link->Recv();
  EXPECT_EQ(got.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(got.status().message()),
              HasSubstr("connection closed inside a frame (3 of 10 bytes)"));
}

TEST(SocketLinkTest, PeerCloseInsideAHeaderIsDataLoss) {
  std::unique_ptr<SocketLink> link;
  const int raw = RawPair(&link);
  WriteRaw(raw, std::string("\0\0", 2));
  ::close(raw);
  EXPECT_EQ(link->Recv().status().code(), absl::StatusCode::kDataLoss);
}

TEST(SocketLinkTest, SendToAClosedPeerFailsWithoutSigpipe) {
  std::unique_ptr<SocketLink> link;
  const int raw = RawPair(&link);
  ::close(raw);
  absl::Status s;
  // The first write may still be buffered; keep writing until the kernel reports the close.
  for (int i = 0; i < 100 && s.ok(); ++i) s = link->Send(std::string(1 << 16, 'x'));
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
}

TEST(SocketLinkTest, CloseUnblocksARecvInAnotherThread) {
  auto pair = LoopbackSocketPair();
  ASSERT_TRUE(pair.ok()) << pair.status();
  auto& [a, b] = *pair;
  absl::StatusOr<std::string> got = std::string("unset");
  std::thread t([&, &a = a] { got = a->Recv(); });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  a->Close();
  t.join();
  EXPECT_EQ(got.status().code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(a->Send("x").code(), absl::StatusCode::kCancelled);
}

TEST(SocketLinkTest, IoTimeoutEndsAStalledRecv) {
  std::unique_ptr<SocketLink> link;
  const int raw = RawPair(&link, SocketLinkOptions{.io_timeout = std::chrono::milliseconds(50)});
  absl::StatusOr<std::string> got = link->Recv();
  EXPECT_EQ(got.status().code(), absl::StatusCode::kDeadlineExceeded);
  ::close(raw);
}

}  // namespace
}  // namespace tds::compute
