#pragma once
// A Link over a stream of tds.ComputeMessage — the framing of Compute.Run
// (proto/compute_service.proto): every protocol message travels as ComputeMessage{protocol}.
// One adapter serves both ends, the node's gateway over its server stream and the SDK over its
// client stream, so the framing lives in one place. It knows nothing of gRPC: `Stream` is any
// type with
//     bool Read(tds::ComputeMessage*)   and   bool Write(const tds::ComputeMessage&)
// (grpc::ServerReaderWriter, grpc::ClientReaderWriter), and `cancel` ends the call
// (ServerContext / ClientContext TryCancel).
//
// Recv returns protocol bytes only. A message of any other kind (the provider's ComputeResult,
// a second ComputeStart) is not the protocol's: Recv fails FailedPrecondition and keeps the
// message for TakeOther(). When the peer ends the stream, Recv fails Unavailable and
// peer_ended() turns true — the call's status then says why, so read it rather than the
// protocol's error. A failed Write sets it too.
//
// Close() makes later Send/Recv fail. It cancels the call only when a Recv is blocked in Read
// (nothing else would wake it); a link closed between reads leaves the call alive, so the
// owner can still finish it with a meaningful status.
//
// Thread safety as Link: one thread Sends while another Recvs; Close from any thread.

#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "compute/link.h"
#include "proto/compute_service.pb.h"

namespace tds::compute {

template <typename Stream>
class StreamLink : public Link {
 public:
  // `stream` must outlive the link; `cancel` may be empty (then Close never cancels).
  StreamLink(Stream* stream, std::function<void()> cancel)
      : stream_(stream), cancel_(std::move(cancel)) {}

  absl::Status Send(std::string message) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (closed_) return absl::CancelledError("link closed");
    }
    tds::ComputeMessage m;
    const size_t size = message.size();
    m.set_protocol(std::move(message));
    if (!stream_->Write(m)) {
      std::lock_guard<std::mutex> lock(mu_);
      peer_ended_ = true;
      return absl::UnavailableError("the peer ended the stream (sending a protocol message)");
    }
    bytes_sent_ += size;
    return absl::OkStatus();
  }

  absl::StatusOr<std::string> Recv() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (closed_) return absl::CancelledError("link closed");
      reading_ = true;
    }
    tds::ComputeMessage m;
    const bool got = stream_->Read(&m);
    std::lock_guard<std::mutex> lock(mu_);
    reading_ = false;
    if (!got) {
      peer_ended_ = true;
      return absl::UnavailableError("the peer ended the stream");
    }
    if (m.kind_case() != tds::ComputeMessage::kProtocol) {
      const char* kind = m.kind_case() == tds::ComputeMessage::kResult ? "result" : "start";
      other_ = std::move(m);
      return absl::FailedPreconditionError(std::string("expected a protocol message, got a ") +
                                           kind + " message");
    }
    bytes_received_ += m.protocol().size();
    return std::move(*m.mutable_protocol());
  }

  void Close() override {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
    if (reading_ && cancel_) cancel_();
  }

  bool peer_ended() const {
    std::lock_guard<std::mutex> lock(mu_);
    return peer_ended_;
  }
  // The non-protocol message Recv stopped at, if any (once).
  std::optional<tds::ComputeMessage> TakeOther() {
    std::lock_guard<std::mutex> lock(mu_);
    return std::exchange(other_, std::nullopt);
  }

 private:
  Stream* const stream_;
  const std::function<void()> cancel_;
  mutable std::mutex mu_;
  bool closed_ = false;                       // GUARDED_BY(mu_)
  bool reading_ = false;                      // GUARDED_BY(mu_): a Read is in progress
  bool peer_ended_ = false;                   // GUARDED_BY(mu_)
  std::optional<tds::ComputeMessage> other_;  // GUARDED_BY(mu_)
};

}  // namespace tds::compute
