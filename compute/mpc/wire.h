#pragma once
// Message helpers shared by the secret-shared statistics protocol files (secret_stats.cc,
// beaver_products.cc, ot_products.cc): byte encoding, a bounds-checked reader, aborts, and a
// sender thread. Internal to compute/mpc. The wire grammar is at the top of secret_stats.cc.

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "compute/link.h"

namespace tds::compute::mpc {

// Version 2: hello carries the mode (with or without a dealer).
inline constexpr uint8_t kProtocolVersion = 2;
inline constexpr uint32_t kMaxVectors = 1 << 16;
inline constexpr uint32_t kMaxProducts = 1 << 16;
// Largest chunk or triples message (well under SocketLink's default 64 MiB frame): wide plans
// get fewer rows per chunk.
inline constexpr size_t kMaxMessageBytes = 16 << 20;

inline constexpr uint8_t kRoleBank = 0;
inline constexpr uint8_t kRoleProvider = 1;
inline const char* RoleName(uint8_t role) { return role == kRoleBank ? "bank" : "provider"; }

// Rows per chunk for a plan's widths: `requested` unless a message of `words_per_row` words per
// row would exceed kMaxMessageBytes. Every party derives the same number.
uint32_t ChunkRows(uint32_t requested, size_t words_per_row);

void PutU8(std::string* out, uint8_t v);
void PutU32(std::string* out, uint32_t v);
void PutU64(std::string* out, uint64_t v);
void PutWords(std::string* out, const uint64_t* w, size_t n);

// Reads a received message front to back; any read past the end marks it short.
class Reader {
 public:
  explicit Reader(const std::string& s) : s_(s) {}
  uint8_t U8();
  uint32_t U32();
  uint64_t U64();
  void Bytes(void* out, size_t n) { Copy(out, n); }
  size_t remaining() const { return ok_ ? s_.size() - pos_ : 0; }
  const char* here() const { return s_.data() + pos_; }
  void Skip(size_t n);
  bool ok() const { return ok_; }
  bool done() const { return ok_ && pos_ == s_.size(); }

 private:
  void Copy(void* out, size_t n);
  const std::string& s_;
  size_t pos_ = 0;
  bool ok_ = true;
};

// 'X' code:u8 text — what a failing party sends its peers before it closes.
std::string AbortMessage(const absl::Status& status);

// Receives one message; an abort from the peer becomes its status ("the <who> aborted: ...").
// A broken link becomes "waiting for <what> from the <who>: ...".
absl::StatusOr<std::string> RecvFrom(Link& link, const char* who, const std::string& what);

// DataLoss "malformed <what> from the <who>".
absl::Status Malformed(const char* who, const std::string& what);

// Receives chunk `k`'s words from `who`: tag || index:u32 || n:u32 || words[words], with index
// k and n the chunk's rows; copies the words to `out`. `what` names the message in errors.
absl::Status RecvChunkWords(Link& link, const char* who, const std::string& what, uint8_t tag,
                            uint64_t k, size_t n, size_t words, uint64_t* out);

// tag || index:u32 || n:u32 || words[words].
std::string ChunkMessage(uint8_t tag, uint64_t k, size_t n, const uint64_t* words, size_t count);

// Sends a party's chunk messages from a thread of its own, so that both parties can send a
// chunk while the other is sending too (a full socket buffer would otherwise deadlock them).
class Sender {
 public:
  explicit Sender(Link& link) : link_(link), thread_([this] { Run(); }) {}
  // An unfinished sender closes the link first, so a Send blocked on a stuck peer returns.
  ~Sender();
  Sender(const Sender&) = delete;
  Sender& operator=(const Sender&) = delete;

  void Push(std::string message);

  // Waits until everything queued was sent; the first send failure, or OK.
  absl::Status Finish();

 private:
  void Stop();
  void Run();

  Link& link_;
  std::mutex mu_;
  std::condition_variable changed_;
  std::deque<std::string> queue_;  // GUARDED_BY(mu_)
  bool stopping_ = false;          // GUARDED_BY(mu_)
  absl::Status status_;            // GUARDED_BY(mu_)
  std::thread thread_;
};

}  // namespace tds::compute::mpc
