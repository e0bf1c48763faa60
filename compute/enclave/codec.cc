#include "compute/enclave/codec.h"

#include "absl/strings/str_cat.h"
#include "common/bytes.h"

namespace tds::compute::enclave {

void ByteWriter::U32(uint32_t v) { PutFixed32BE(out_, v); }
void ByteWriter::U64(uint64_t v) { PutFixed64BE(out_, v); }
void ByteWriter::Bytes(std::string_view v) {
  U32(static_cast<uint32_t>(v.size()));
  out_->append(v);
}

absl::Status ByteReader::Truncated(std::string_view field, size_t need) const {
  return absl::DataLossError(absl::StrCat("truncated ", what_, ": field ", std::string(field),
                                          " needs ", need, " bytes at offset ", pos_, ", ",
                                          remaining(), " left"));
}

absl::StatusOr<uint8_t> ByteReader::U8(std::string_view field) {
  if (remaining() < 1) return Truncated(field, 1);
  return static_cast<uint8_t>(data_[pos_++]);
}

absl::StatusOr<uint32_t> ByteReader::U32(std::string_view field) {
  if (remaining() < 4) return Truncated(field, 4);
  const uint32_t v = DecodeFixed32BE(data_.data() + pos_);
  pos_ += 4;
  return v;
}

absl::StatusOr<uint64_t> ByteReader::U64(std::string_view field) {
  if (remaining() < 8) return Truncated(field, 8);
  const uint64_t v = DecodeFixed64BE(data_.data() + pos_);
  pos_ += 8;
  return v;
}

absl::StatusOr<std::string_view> ByteReader::Bytes(std::string_view field, size_t max) {
  auto n = U32(field);
  if (!n.ok()) return n.status();
  if (*n > max) {
    return absl::DataLossError(absl::StrCat(what_, ": field ", std::string(field), " announces ",
                                            *n, " bytes, more than the limit ", max));
  }
  return Fixed(field, *n);
}

absl::StatusOr<std::string_view> ByteReader::Fixed(std::string_view field, size_t n) {
  if (remaining() < n) return Truncated(field, n);
  std::string_view v = data_.substr(pos_, n);
  pos_ += n;
  return v;
}

absl::StatusOr<uint32_t> ByteReader::Count(std::string_view field, uint32_t max) {
  auto n = U32(field);
  if (!n.ok()) return n.status();
  if (*n > max) {
    return absl::DataLossError(absl::StrCat(what_, ": field ", std::string(field), " count ", *n,
                                            " exceeds the limit ", max));
  }
  return *n;
}

absl::Status ByteReader::ExpectEnd() const {
  if (remaining() == 0) return absl::OkStatus();
  return absl::DataLossError(
      absl::StrCat(what_, ": ", remaining(), " trailing bytes after offset ", pos_));
}

}  // namespace tds::compute::enclave
