#include "compute/psi/release_key.h"

#include <sodium.h>

#include <cstring>

#include "absl/strings/str_cat.h"
#include "compute/psi/x25519.h"

namespace tds::compute::psi {
namespace {

static_assert(crypto_aead_chacha20poly1305_ietf_KEYBYTES == kReleaseKeyBytes);
static_assert(crypto_aead_chacha20poly1305_ietf_ABYTES == kSealTagBytes);

void Nonce(uint64_t chunk_index, unsigned char nonce[crypto_aead_chacha20poly1305_ietf_NPUBBYTES]) {
  std::memset(nonce, 0, crypto_aead_chacha20poly1305_ietf_NPUBBYTES);
  for (int i = 0; i < 8; ++i) nonce[i] = static_cast<unsigned char>(chunk_index >> (8 * i));
}

}  // namespace

ReleaseKey::ReleaseKey() {
  EnsureSodium();
  crypto_aead_chacha20poly1305_ietf_keygen(key_);
}

absl::StatusOr<ReleaseKey> ReleaseKey::FromBytes(std::string_view bytes) {
  if (bytes.size() != kReleaseKeyBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("release key is ", bytes.size(), " bytes, expected ", kReleaseKeyBytes));
  }
  ReleaseKey key;
  std::memcpy(key.key_, bytes.data(), kReleaseKeyBytes);
  return key;
}

ReleaseKey::ReleaseKey(ReleaseKey&& other) noexcept {
  std::memcpy(key_, other.key_, kReleaseKeyBytes);
  sodium_memzero(other.key_, kReleaseKeyBytes);
}

ReleaseKey::~ReleaseKey() { sodium_memzero(key_, kReleaseKeyBytes); }

void ReleaseKey::Seal(uint64_t chunk_index, std::string_view header, uint8_t* data, size_t size,
                      uint8_t tag[kSealTagBytes]) const {
  unsigned char nonce[crypto_aead_chacha20poly1305_ietf_NPUBBYTES];
  Nonce(chunk_index, nonce);
  crypto_aead_chacha20poly1305_ietf_encrypt_detached(
      data, tag, nullptr, data, size, reinterpret_cast<const unsigned char*>(header.data()),
      header.size(), nullptr, nonce, key_);
}

bool ReleaseKey::Open(uint64_t chunk_index, std::string_view header, uint8_t* data, size_t size,
                      const uint8_t tag[kSealTagBytes]) const {
  unsigned char nonce[crypto_aead_chacha20poly1305_ietf_NPUBBYTES];
  Nonce(chunk_index, nonce);
  return crypto_aead_chacha20poly1305_ietf_decrypt_detached(
             data, nullptr, data, size, tag, reinterpret_cast<const unsigned char*>(header.data()),
             header.size(), nonce, key_) == 0;
}

std::string ReleaseKey::Release() const {
  return std::string(reinterpret_cast<const char*>(key_), kReleaseKeyBytes);
}

}  // namespace tds::compute::psi
