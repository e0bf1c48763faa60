#pragma once
// Ed25519 member identities (libsodium).

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace tds {

constexpr size_t kPublicKeyBytes = 32;
constexpr size_t kSignatureBytes = 64;

// An Ed25519 public key. Construction validates length and that the point is a canonical,
// non-small-order curve point, so a PublicKey in hand is always usable.
class PublicKey {
 public:
  static absl::StatusOr<PublicKey> FromBytes(std::string_view raw);
  static absl::StatusOr<PublicKey> FromHex(std::string_view hex);

  // The one Ed25519 predicate of the system (common/ed25519.h: cofactored, canonical encodings,
  // S < L, no small-order keys), through the process-wide cache of verified signatures, so that
  // a signature verified in a batch is not verified again.
  bool Verify(std::string_view message, std::string_view signature) const;

  std::string_view bytes() const {
    return {reinterpret_cast<const char*>(key_.data()), key_.size()};
  }
  std::string hex() const;
  bool operator==(const PublicKey& o) const { return key_ == o.key_; }
  bool operator<(const PublicKey& o) const { return key_ < o.key_; }

 private:
  std::array<uint8_t, kPublicKeyBytes> key_{};
};

// An Ed25519 secret key. The secret lives in sodium-guarded memory, is wiped on destruction,
// and has no accessor: it only signs and writes itself to a 0600 file.
class SigningKey {
 public:
  static std::unique_ptr<SigningKey> Generate();
  // Refuses a file readable or writable by group or others, a wrong size or a corrupt key
  // (the stored public half must match the secret); the error names the path and the check.
  static absl::StatusOr<std::unique_ptr<SigningKey>> LoadFromFile(const std::string& path);
  // Deterministic key from a 32-byte seed (tests and benchmarks only).
  static absl::StatusOr<std::unique_ptr<SigningKey>> FromSeed(std::string_view seed32);

  ~SigningKey();
  SigningKey(const SigningKey&) = delete;
  SigningKey& operator=(const SigningKey&) = delete;

  // Writes the key file atomically with mode 0600. Fails if `path` exists.
  absl::Status WriteToFile(const std::string& path) const;

  const PublicKey& public_key() const { return public_key_; }
  std::string Sign(std::string_view message) const;  // 64 bytes

 private:
  SigningKey() = default;
  uint8_t* secret_ = nullptr;  // 64 bytes (libsodium seed||pk form), sodium_malloc'd
  PublicKey public_key_;
};

}  // namespace tds
