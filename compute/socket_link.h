#pragma once
// A Link over a connected stream socket (TCP). Used by benchmarks and integration tests to put
// a real network stack between two parties; the node's links are gRPC streams instead.
//
// Frame format, one per message:
//   frame := length:u32 big-endian || payload[length]      (length <= max_frame_bytes)
// A frame announcing more than max_frame_bytes is refused (DataLoss) before anything is
// allocated; an end of stream inside a frame is DataLoss, at a frame boundary Unavailable.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <utility>

#include "absl/status/statusor.h"
#include "compute/link.h"

namespace tds::compute {

struct SocketLinkOptions {
  // Largest message accepted or sent (bytes). Bounds the memory a peer can make us allocate.
  size_t max_frame_bytes = 64 << 20;
  // Send/Recv fail with DeadlineExceeded after this long without progress (0 = wait forever).
  std::chrono::milliseconds io_timeout{0};
};

class SocketLink final : public Link {
 public:
  // Takes ownership of `fd`, a connected stream socket (closed on destruction). SIGPIPE is not
  // raised on a write to a closed peer (MSG_NOSIGNAL); the error is returned instead.
  explicit SocketLink(int fd, SocketLinkOptions options = {});
  ~SocketLink() override;
  SocketLink(const SocketLink&) = delete;
  SocketLink& operator=(const SocketLink&) = delete;

  absl::Status Send(std::string message) override;
  absl::StatusOr<std::string> Recv() override;
  // Shuts the socket down both ways, which unblocks a Send or Recv in progress in another
  // thread; the descriptor itself is closed by the destructor.
  void Close() override;

 private:
  absl::Status WriteAll(const char* data, size_t size);
  // Reads exactly `size` bytes; `*got` counts what arrived before an error or end of stream.
  absl::Status ReadAll(char* data, size_t size, size_t* got);
  absl::Status ClosedError() const;

  const int fd_;
  const SocketLinkOptions options_;
  std::atomic<bool> closed_{false};
};

// Two SocketLinks connected over loopback TCP: listens on 127.0.0.1 port 0 (any free port),
// connects, accepts, and closes the listener.
absl::StatusOr<std::pair<std::unique_ptr<Link>, std::unique_ptr<Link>>> LoopbackSocketPair(
    SocketLinkOptions options = {});

}  // namespace tds::compute
