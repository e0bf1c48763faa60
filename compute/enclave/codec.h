#pragma once
// The canonical byte encoding of compute/enclave's wire and signed structures (job spec,
// attestation report, result statement, host<->enclave messages). One encoding for all of them,
// so what is signed is exactly what is carried:
//
//   u8      := 1 byte
//   u32     := 4 bytes big-endian
//   u64     := 8 bytes big-endian
//   bytes   := length:u32 || data[length]
//   fixed N := data[N]                       (length known from context)
//
// A ByteReader never reads past its input: every read checks the remaining length first and
// fails DataLoss naming the structure, the field and the offset.

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace tds::compute::enclave {

class ByteWriter {
 public:
  // `out` must outlive the writer; bytes are appended.
  explicit ByteWriter(std::string* out) : out_(out) {}
  void U8(uint8_t v) { out_->push_back(static_cast<char>(v)); }
  void U32(uint32_t v);
  void U64(uint64_t v);
  void Bytes(std::string_view v);  // REQUIRES: v.size() < 2^32
  void Fixed(std::string_view v) { out_->append(v); }

 private:
  std::string* const out_;
};

class ByteReader {
 public:
  // `data` must outlive the reader; `what` names the structure in errors ("job spec").
  ByteReader(std::string_view data, std::string_view what) : data_(data), what_(what) {}

  absl::StatusOr<uint8_t> U8(std::string_view field);
  absl::StatusOr<uint32_t> U32(std::string_view field);
  absl::StatusOr<uint64_t> U64(std::string_view field);
  // A length-prefixed field of at most `max` bytes (a larger announced length is refused
  // before anything is copied).
  absl::StatusOr<std::string_view> Bytes(std::string_view field, size_t max);
  absl::StatusOr<std::string_view> Fixed(std::string_view field, size_t n);
  // A count announced by the peer, refused above `max` (bounds the allocations it causes).
  absl::StatusOr<uint32_t> Count(std::string_view field, uint32_t max);
  // DataLoss unless every byte was consumed (trailing bytes would be unsigned/unchecked).
  absl::Status ExpectEnd() const;

  size_t offset() const { return pos_; }
  size_t remaining() const { return data_.size() - pos_; }

 private:
  absl::Status Truncated(std::string_view field, size_t need) const;

  const std::string_view data_;
  const std::string what_;
  size_t pos_ = 0;
};

}  // namespace tds::compute::enclave
