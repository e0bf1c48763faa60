#pragma once
// The plumbing every two-party protocol session in compute/ shares (ECDH-PSI, OT-extension PSI,
// anonymous query): errors that name the protocol and the party, sends and receives that say
// what was being sent or awaited, checks of a message's tag and exact length, and the session's
// first error, which also closes the link so that the peer (and this party's other thread)
// stops instead of waiting. Wire integers are big-endian (common/bytes.h); TagText prints a
// message tag for errors.

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "compute/link.h"

namespace tds::compute {

// "0x1f": a message tag as errors print it.
std::string TagText(uint8_t tag);

class ProtocolSession {
 public:
  // Errors read "<protocol> <party>: <text>" (e.g. "ecdh psi receiver: ..."); `peer` names the
  // other party in the texts that mention it. `link` must outlive the session.
  ProtocolSession(std::string_view protocol, std::string_view party, std::string_view peer,
                  Link& link);
  ProtocolSession(const ProtocolSession&) = delete;
  ProtocolSession& operator=(const ProtocolSession&) = delete;

  absl::Status Error(absl::StatusCode code, std::string_view text) const;
  // A malformed, truncated or unexpected message from the peer.
  absl::Status DataLoss(std::string_view text) const {
    return Error(absl::StatusCode::kDataLoss, text);
  }

  // Receives the next message into `out`: never empty. On failure the error names `what` was
  // awaited ("waiting for <what>: ...", "empty message instead of <what>").
  absl::Status Recv(std::string_view what, std::string& out);
  // Sends `message`; on failure the error says "sending <what>: ...".
  absl::Status Send(std::string message, std::string_view what);

  // DataLoss "<what>: expected tag T, got G" unless `m` (non-empty) starts with `tag`.
  absl::Status ExpectTag(const std::string& m, uint8_t tag, std::string_view what) const;
  // DataLoss unless `m` (non-empty) has tag `tag` and exactly `bytes` bytes:
  // "malformed <name>: tag G, N bytes (expected tag T, B bytes<detail>)<hint>".
  absl::Status ExpectMessage(const std::string& m, uint8_t tag, size_t bytes, std::string_view name,
                             std::string_view detail = {}, std::string_view hint = {}) const;
  // That DataLoss error, unconditionally (for a message whose content is wrong as well).
  absl::Status MalformedMessage(const std::string& m, uint8_t tag, size_t bytes,
                                std::string_view name, std::string_view detail = {},
                                std::string_view hint = {}) const;

  // Option checks shared by the protocols (InvalidArgument naming the option).
  absl::Status CheckChunkItems(uint64_t chunk_items, uint64_t max_chunk_items) const;
  absl::Status CheckItemCount(uint64_t items, uint64_t max_items) const;
  absl::Status CheckThreads(int threads) const;

  // Records the session's first error (later ones are mostly its consequences) and closes the
  // link, which unblocks the peer and this party's other thread. Thread-safe.
  void Abort(absl::Status status);
  absl::Status FirstError() const;
  // Abort(status), then the first error: what a failed session returns.
  absl::Status Fail(absl::Status status);
  bool failed() const { return failed_.load(std::memory_order_relaxed); }

  const std::string& peer() const { return peer_; }
  Link& link() { return link_; }

 private:
  const std::string prefix_;  // "<protocol> <party>"
  const std::string peer_;
  Link& link_;

  mutable std::mutex error_mu_;
  absl::Status first_error_;  // GUARDED_BY(error_mu_)
  std::atomic<bool> failed_{false};
};

}  // namespace tds::compute
