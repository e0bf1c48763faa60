#pragma once
// The gateway's view of the link to the consumer: forwards to another Link and meters it for
// the usage record — bytes both ways, and a digest of every protocol message the provider
// sent, chained per message:
//     d_0 = 32 zero bytes;   d_i = SHA-256(d_{i-1} || be64(len(m_i)) || m_i)
// Measurement.result_digest is the chain at the moment the record is made: a commitment to
// exactly what the consumer had been sent by then. The consumer can compute the same chain
// over what it received (ChainDigest).
//
// Thread safety as compute::Link; the accessors may be called from any thread.

#include <mutex>
#include <string>
#include <string_view>

#include "common/bytes.h"
#include "common/sha256.h"
#include "compute/link.h"

namespace tds::node::gateway {

// The next link of the chain above.
inline Hash ChainDigest(const Hash& previous, std::string_view message) {
  std::string length;
  PutFixed64BE(&length, message.size());
  Sha256Hasher h;
  h.Update(AsBytes(previous)).Update(length).Update(message);
  return h.Finish();
}

class MeteredLink : public compute::Link {
 public:
  // `inner` must outlive this link.
  explicit MeteredLink(compute::Link* inner) : inner_(inner) {}

  absl::Status Send(std::string message) override {
    const size_t size = message.size();
    // Digest first: Send consumes the message.
    Hash next;
    {
      std::lock_guard<std::mutex> lock(mu_);
      next = ChainDigest(digest_, message);
    }
    absl::Status s = inner_->Send(std::move(message));
    if (!s.ok()) return s;
    std::lock_guard<std::mutex> lock(mu_);
    digest_ = next;
    sent_ += size;
    bytes_sent_ = sent_;
    return s;
  }

  absl::StatusOr<std::string> Recv() override {
    absl::StatusOr<std::string> m = inner_->Recv();
    if (m.ok()) {
      std::lock_guard<std::mutex> lock(mu_);
      received_ += m->size();
      bytes_received_ = received_;
    }
    return m;
  }

  void Close() override { inner_->Close(); }

  uint64_t sent() const {
    std::lock_guard<std::mutex> lock(mu_);
    return sent_;
  }
  uint64_t received() const {
    std::lock_guard<std::mutex> lock(mu_);
    return received_;
  }
  Hash sent_digest() const {
    std::lock_guard<std::mutex> lock(mu_);
    return digest_;
  }

 private:
  compute::Link* const inner_;
  mutable std::mutex mu_;
  uint64_t sent_ = 0;      // GUARDED_BY(mu_)
  uint64_t received_ = 0;  // GUARDED_BY(mu_)
  Hash digest_{};          // GUARDED_BY(mu_)
};

}  // namespace tds::node::gateway
