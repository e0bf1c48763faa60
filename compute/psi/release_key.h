#pragma once
// The key that holds back the sender's answers until its release gate opens
// (EcdhPsiOptions::before_release). The sender seals every reply chunk with it
// (ChaCha20-Poly1305-IETF, libsodium), sends the key only once the gate returned OK, and the
// receiver opens the chunks then. Until then the receiver holds nothing it can compare.
//
// Nonce: the chunk's index in the reply stream (little-endian, zero-padded to 12 bytes), so no
// nonce repeats under a key, which is fresh per session. Associated data: the chunk's header
// bytes, so a count cannot be changed either.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace tds::compute::psi {

inline constexpr size_t kReleaseKeyBytes = 32;
inline constexpr size_t kSealTagBytes = 16;

class ReleaseKey {
 public:
  // A fresh random key.
  ReleaseKey();
  // The key the sender released; InvalidArgument unless exactly kReleaseKeyBytes.
  static absl::StatusOr<ReleaseKey> FromBytes(std::string_view bytes);
  ~ReleaseKey();  // wipes the key
  ReleaseKey(ReleaseKey&& other) noexcept;
  ReleaseKey& operator=(ReleaseKey&&) = delete;
  ReleaseKey(const ReleaseKey&) = delete;
  ReleaseKey& operator=(const ReleaseKey&) = delete;

  // Encrypts data[0, size) in place and writes its tag.
  void Seal(uint64_t chunk_index, std::string_view header, uint8_t* data, size_t size,
            uint8_t tag[kSealTagBytes]) const;
  // Decrypts in place; false when the tag does not verify (data is then unusable).
  bool Open(uint64_t chunk_index, std::string_view header, uint8_t* data, size_t size,
            const uint8_t tag[kSealTagBytes]) const;

  // The key itself, for the one message that releases it.
  std::string Release() const;

 private:
  unsigned char key_[kReleaseKeyBytes];
};

}  // namespace tds::compute::psi
