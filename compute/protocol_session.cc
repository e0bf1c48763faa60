#include "compute/protocol_session.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace tds::compute {

std::string TagText(uint8_t tag) {
  static const char kHex[] = "0123456789abcdef";
  return std::string{'0', 'x', kHex[tag >> 4], kHex[tag & 15]};
}

ProtocolSession::ProtocolSession(std::string_view protocol, std::string_view party,
                                 std::string_view peer, Link& link)
    : prefix_(absl::StrCat(std::string(protocol), " ", std::string(party))),
      peer_(peer),
      link_(link) {}

absl::Status ProtocolSession::Error(absl::StatusCode code, std::string_view text) const {
  return absl::Status(code, absl::StrCat(prefix_, ": ", std::string(text)));
}

absl::Status ProtocolSession::Recv(std::string_view what, std::string& out) {
  absl::StatusOr<std::string> m = link_.Recv();
  if (!m.ok()) {
    return Error(m.status().code(), absl::StrCat("waiting for ", std::string(what), ": ",
                                                 std::string(m.status().message())));
  }
  if (m->empty()) return DataLoss(absl::StrCat("empty message instead of ", std::string(what)));
  out = *std::move(m);
  return absl::OkStatus();
}

absl::Status ProtocolSession::Send(std::string message, std::string_view what) {
  absl::Status s = link_.Send(std::move(message));
  if (!s.ok()) {
    return Error(s.code(),
                 absl::StrCat("sending ", std::string(what), ": ", std::string(s.message())));
  }
  return absl::OkStatus();
}

absl::Status ProtocolSession::ExpectTag(const std::string& m, uint8_t tag,
                                        std::string_view what) const {
  const uint8_t got = static_cast<uint8_t>(m[0]);
  if (got == tag) return absl::OkStatus();
  return DataLoss(
      absl::StrCat(std::string(what), ": expected tag ", TagText(tag), ", got ", TagText(got)));
}

absl::Status ProtocolSession::ExpectMessage(const std::string& m, uint8_t tag, size_t bytes,
                                            std::string_view name, std::string_view detail,
                                            std::string_view hint) const {
  if (static_cast<uint8_t>(m[0]) == tag && m.size() == bytes) return absl::OkStatus();
  return MalformedMessage(m, tag, bytes, name, detail, hint);
}

absl::Status ProtocolSession::MalformedMessage(const std::string& m, uint8_t tag, size_t bytes,
                                               std::string_view name, std::string_view detail,
                                               std::string_view hint) const {
  const uint8_t got = static_cast<uint8_t>(m[0]);
  return DataLoss(absl::StrCat("malformed ", std::string(name), ": tag ", TagText(got), ", ",
                               m.size(), " bytes (expected tag ", TagText(tag), ", ", bytes,
                               " bytes", std::string(detail), ")", std::string(hint)));
}

absl::Status ProtocolSession::CheckChunkItems(uint64_t chunk_items,
                                              uint64_t max_chunk_items) const {
  if (chunk_items >= 1 && chunk_items <= max_chunk_items) return absl::OkStatus();
  return Error(
      absl::StatusCode::kInvalidArgument,
      absl::StrCat("options.chunk_items ", chunk_items, " is outside [1, ", max_chunk_items, "]"));
}

absl::Status ProtocolSession::CheckItemCount(uint64_t items, uint64_t max_items) const {
  if (items <= max_items) return absl::OkStatus();
  return Error(absl::StatusCode::kInvalidArgument,
               absl::StrCat(items, " items exceed the limit of ", max_items));
}

absl::Status ProtocolSession::CheckThreads(int threads) const {
  if (threads >= 0) return absl::OkStatus();
  return Error(absl::StatusCode::kInvalidArgument,
               absl::StrCat("options.threads ", threads, " is negative"));
}

void ProtocolSession::Abort(absl::Status status) {
  {
    std::lock_guard<std::mutex> lock(error_mu_);
    if (first_error_.ok()) first_error_ = std::move(status);
    failed_ = true;
  }
  link_.Close();
}

absl::Status ProtocolSession::FirstError() const {
  std::lock_guard<std::mutex> lock(error_mu_);
  return first_error_;
}

absl::Status ProtocolSession::Fail(absl::Status status) {
  Abort(std::move(status));
  return FirstError();
}

}  // namespace tds::compute
