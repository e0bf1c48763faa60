#pragma once
// Hashes as values, and the text encodings used in files, receipts and the CLI.

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace tds {

// A SHA-256 digest.
using Hash = std::array<uint8_t, 32>;

inline std::string_view AsBytes(const Hash& h) {
  return {reinterpret_cast<const char*>(h.data()), h.size()};
}
// REQUIRES: nothing; fails unless `bytes` is exactly 32 bytes. `what` names the field in the error.
absl::StatusOr<Hash> HashFromBytes(std::string_view bytes, std::string_view what = "hash");

// Lowercase hex.
std::string HexEncode(std::string_view bytes);
inline std::string HexEncode(const Hash& h) { return HexEncode(AsBytes(h)); }
// Accepts upper or lower case; fails on odd length or a non-hex character (named by position).
absl::StatusOr<std::string> HexDecode(std::string_view hex);
absl::StatusOr<Hash> HashFromHex(std::string_view hex, std::string_view what = "hash");

// Standard base64 (RFC 4648 §4) with padding, as C2SP checkpoints use.
std::string Base64Encode(std::string_view bytes);
// Strict: rejects missing padding, whitespace and non-alphabet characters.
absl::StatusOr<std::string> Base64Decode(std::string_view text);

// Big-endian fixed-width integers, for keys that sort in numeric order.
void PutFixed64BE(std::string* dst, uint64_t v);
uint64_t DecodeFixed64BE(const char* p);  // REQUIRES: 8 readable bytes at p.
void PutFixed32BE(std::string* dst, uint32_t v);
uint32_t DecodeFixed32BE(const char* p);  // REQUIRES: 4 readable bytes at p.

}  // namespace tds
