#include "compute/mpc/wire.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"

namespace tds::compute::mpc {
namespace {

constexpr size_t kMaxAbortText = 4096;

// The status a peer's abort message carries, attributed to `who`.
absl::Status FromAbort(const std::string& message, const char* who) {
  if (message.size() < 2 || message.size() > 2 + kMaxAbortText) {
    return absl::DataLossError(absl::StrCat("malformed abort message from the ", who));
  }
  int code = static_cast<uint8_t>(message[1]);
  if (code == 0 || code > static_cast<int>(absl::StatusCode::kUnauthenticated)) {
    code = static_cast<int>(absl::StatusCode::kAborted);
  }
  return absl::Status(static_cast<absl::StatusCode>(code),
                      absl::StrCat("the ", who, " aborted: ", message.substr(2)));
}

}  // namespace

uint32_t ChunkRows(uint32_t requested, size_t words_per_row) {
  const size_t fit = kMaxMessageBytes / (sizeof(uint64_t) * std::max<size_t>(words_per_row, 1));
  return static_cast<uint32_t>(std::max<size_t>(1, std::min<size_t>(requested, fit)));
}

void PutU8(std::string* out, uint8_t v) { out->push_back(static_cast<char>(v)); }
void PutU32(std::string* out, uint32_t v) { out->append(reinterpret_cast<const char*>(&v), 4); }
void PutU64(std::string* out, uint64_t v) { out->append(reinterpret_cast<const char*>(&v), 8); }
void PutWords(std::string* out, const uint64_t* w, size_t n) {
  out->append(reinterpret_cast<const char*>(w), n * sizeof(uint64_t));
}

uint8_t Reader::U8() {
  uint8_t v = 0;
  Copy(&v, 1);
  return v;
}

uint32_t Reader::U32() {
  uint32_t v = 0;
  Copy(&v, 4);
  return v;
}

uint64_t Reader::U64() {
  uint64_t v = 0;
  Copy(&v, 8);
  return v;
}

void Reader::Skip(size_t n) {
  if (!ok_ || s_.size() - pos_ < n) {
    ok_ = false;
    return;
  }
  pos_ += n;
}

void Reader::Copy(void* out, size_t n) {
  if (!ok_ || s_.size() - pos_ < n) {
    ok_ = false;
    return;
  }
  std::memcpy(out, s_.data() + pos_, n);
  pos_ += n;
}

std::string AbortMessage(const absl::Status& status) {
  std::string out;
  PutU8(&out, 'X');
  PutU8(&out, static_cast<uint8_t>(status.code()));
  out += std::string(status.message()).substr(0, kMaxAbortText);
  return out;
}

absl::StatusOr<std::string> RecvFrom(Link& link, const char* who, const std::string& what) {
  absl::StatusOr<std::string> m = link.Recv();
  if (!m.ok()) {
    return absl::Status(m.status().code(), absl::StrCat("waiting for ", what, " from the ", who,
                                                        ": ", std::string(m.status().message())));
  }
  if (!m->empty() && (*m)[0] == 'X') return FromAbort(*m, who);
  return m;
}

absl::Status Malformed(const char* who, const std::string& what) {
  return absl::DataLossError(absl::StrCat("malformed ", what, " from the ", who));
}

absl::Status RecvChunkWords(Link& link, const char* who, const std::string& what, uint8_t tag,
                            uint64_t k, size_t n, size_t words, uint64_t* out) {
  absl::StatusOr<std::string> m = RecvFrom(link, who, what);
  if (!m.ok()) return m.status();
  Reader r(*m);
  const uint8_t got_tag = r.U8();
  const uint32_t index = r.U32(), count = r.U32();
  if (!r.ok() || got_tag != tag || index != k || count != n ||
      r.remaining() != words * sizeof(uint64_t)) {
    return Malformed(who, what);
  }
  std::memcpy(out, r.here(), words * sizeof(uint64_t));
  return absl::OkStatus();
}

std::string ChunkMessage(uint8_t tag, uint64_t k, size_t n, const uint64_t* words, size_t count) {
  std::string m;
  m.reserve(9 + count * sizeof(uint64_t));
  PutU8(&m, tag);
  PutU32(&m, static_cast<uint32_t>(k));
  PutU32(&m, static_cast<uint32_t>(n));
  PutWords(&m, words, count);
  return m;
}

Sender::~Sender() {
  if (thread_.joinable()) {
    link_.Close();
    Stop();
  }
}

void Sender::Push(std::string message) {
  std::lock_guard<std::mutex> lock(mu_);
  queue_.push_back(std::move(message));
  changed_.notify_all();
}

absl::Status Sender::Finish() {
  Stop();
  std::lock_guard<std::mutex> lock(mu_);
  return status_;
}

void Sender::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    changed_.notify_all();
  }
  thread_.join();
}

void Sender::Run() {
  while (true) {
    std::string message;
    {
      std::unique_lock<std::mutex> lock(mu_);
      changed_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;
      message = std::move(queue_.front());
      queue_.pop_front();
      if (!status_.ok()) continue;  // drop the rest after a failure
    }
    absl::Status s = link_.Send(std::move(message));
    if (!s.ok()) {
      link_.Close();  // our Recv fails too instead of waiting for a peer that never hears us
      std::lock_guard<std::mutex> lock(mu_);
      status_ = s;
    }
  }
}

}  // namespace tds::compute::mpc
