#pragma once
// The channel between the two parties of a protocol: reliable, ordered, message-oriented.
// Protocols never see sockets or gRPC; the node adapts a gRPC stream to a Link, tests and
// benchmarks use an in-memory pair. A Link counts bytes both ways for metering.
//
// Thread safety: one thread may Send while another Recvs (protocols overlap the two so neither
// party blocks the other on a full buffer); Close may be called from any thread at any time.
// The byte counters are exact once both directions are idle.

#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace tds::compute {

class Link {
 public:
  virtual ~Link() = default;
  // Fails once the link is closed or broken; the message is then lost.
  virtual absl::Status Send(std::string message) = 0;
  // Blocks for the next message; fails (Unavailable / Cancelled / DeadlineExceeded) when the
  // peer closed or the link broke. Never returns a partial message.
  virtual absl::StatusOr<std::string> Recv() = 0;
  // Unblocks both parties; later calls fail.
  virtual void Close() = 0;

  uint64_t bytes_sent() const { return bytes_sent_; }
  uint64_t bytes_received() const { return bytes_received_; }

 protected:
  uint64_t bytes_sent_ = 0;      // maintained by implementations
  uint64_t bytes_received_ = 0;  // maintained by implementations
};

// Two connected in-memory links. Send blocks while more than `max_queued_bytes` are queued
// towards the peer (back-pressure, so a fast sender cannot exhaust memory).
std::pair<std::unique_ptr<Link>, std::unique_ptr<Link>> MemoryLinkPair(
    size_t max_queued_bytes = 64 << 20);

}  // namespace tds::compute
