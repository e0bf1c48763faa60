#pragma once
// The primitives of anonymous query (compute/query/README.md): a Diffie–Hellman OPRF over
// ristretto255 keyed by the provider, the public bucket hash, and the derivation of a row's
// tag and encryption key from the OPRF output.
//
//   [JKK14] S. Jarecki, A. Kiayias, H. Krawczyk. Round-optimal password-protected secret
//           sharing and T-PAKE in the password-only model. ASIACRYPT 2014 (2HashDH OPRF).
//
// F(k, id) = k·H2(id). The consumer computes it without revealing id: it sends r·H2(id) for a
// random scalar r, the provider returns k·(r·H2(id)), and the consumer multiplies by r^-1.
// ristretto255 is a prime-order group (no cofactor), so every valid non-identity point has
// order ℓ and the blinded point r·H2(id) is uniformly distributed over the group's non-identity
// elements, whatever id is.

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "absl/status/statusor.h"
#include "compute/sodium_init.h"

namespace tds::compute::query {

inline constexpr size_t kPointBytes = 32;         // a ristretto255 element
inline constexpr size_t kScalarBytes = 32;        // a scalar mod ℓ
inline constexpr size_t kMasterSecretBytes = 32;  // the provider's master secret
inline constexpr size_t kSaltBytes = 16;          // per prepared table, public
inline constexpr size_t kTagBytes = 16;           // a row's lookup tag
inline constexpr size_t kRowKeyBytes = 32;        // a row's ChaCha20-Poly1305 key
inline constexpr size_t kFingerprintBytes = 32;   // identifies a provider key, public

using Fingerprint = std::array<uint8_t, kFingerprintBytes>;

// Initialises libsodium once (compute/sodium_init.h); aborts if it cannot start.
using ::tds::compute::EnsureSodium;

// H2(id) = ristretto255_from_hash(SHA-512("tds-query-h2-v1" 0x00 || id)): a uniformly
// distributed group element (Elligator on two halves, added), never the identity in practice.
void HashToGroup(std::string_view id, uint8_t out[kPointBytes]);

// True when `p` is the canonical encoding of a ristretto255 element other than the identity
// (whose encoding is all zeros). Every point received from a peer passes this first.
bool IsUsablePoint(const uint8_t p[kPointBytes]);

// The public bucket hash: the first 8 bytes of SHA-256("tds-query-bucket-v1" 0x00 || id),
// big-endian. An identifier's bucket among B is BucketHash(id) mod B (bias < B / 2^64).
uint64_t BucketHash(std::string_view id);
inline uint32_t BucketOf(uint64_t bucket_hash, uint32_t buckets) {
  return static_cast<uint32_t>(bucket_hash % buckets);
}

// The provider's OPRF key for one contract. Derived, so the provider stores only its master
// secret; a different contract id gives an independent key (rotation per contract):
//   k = reduce(BLAKE2b-512(key = master_secret, "tds-query-key-v1" 0x00 || contract_id)) mod ℓ
// Wiped on destruction; there is no accessor for the scalar.
class ProviderKey {
 public:
  // InvalidArgument unless `master_secret` is exactly kMasterSecretBytes and `contract_id` is
  // not empty.
  static absl::StatusOr<ProviderKey> Derive(std::string_view master_secret,
                                            std::string_view contract_id);
  ~ProviderKey();
  ProviderKey(ProviderKey&& other) noexcept;
  ProviderKey& operator=(ProviderKey&&) = delete;
  ProviderKey(const ProviderKey&) = delete;
  ProviderKey& operator=(const ProviderKey&) = delete;

  // out = k·p. False (out unusable) when `p` is not a usable point (see IsUsablePoint).
  bool Evaluate(const uint8_t p[kPointBytes], uint8_t out[kPointBytes]) const;

  // BLAKE2b-256("tds-query-fingerprint-v1" 0x00 || k·G): names the key a table was prepared
  // under without revealing more than the public key k·G would.
  const Fingerprint& fingerprint() const { return fingerprint_; }

 private:
  ProviderKey() = default;
  unsigned char scalar_[kScalarBytes];
  Fingerprint fingerprint_{};
};

// The consumer's blinding of one identifier. Holds only r^-1 after Blind (r is wiped); wiped on
// destruction.
class Blinding {
 public:
  Blinding() = default;
  ~Blinding();
  Blinding(Blinding&& other) noexcept;
  Blinding& operator=(Blinding&&) = delete;
  Blinding(const Blinding&) = delete;
  Blinding& operator=(const Blinding&) = delete;

  // Draws a fresh random r and writes r·H2(id). False only on a negligible-probability
  // failure (r or the result degenerate); retrying is safe.
  bool Blind(std::string_view id, uint8_t blinded[kPointBytes]);
  // out = r^-1 · evaluated = k·H2(id) when the provider evaluated honestly. False when
  // `evaluated` is not a usable point. REQUIRES: Blind succeeded.
  bool Unblind(const uint8_t evaluated[kPointBytes], uint8_t out[kPointBytes]) const;

 private:
  unsigned char inverse_[kScalarBytes] = {};
};

// A row's lookup tag and AEAD key from its OPRF output y = k·H2(id), the id and the table's salt
// (2HashDH: the id enters the outer hash too):
//   tag = BLAKE2b-128("tds-query-tag-v1" 0x00 || salt || u32(len id) || id || y)
//   key = BLAKE2b-256("tds-query-row-key-v1" 0x00 || salt || u32(len id) || id || y)
// Both look random to anyone without y; y is computable only with k (provider) or by
// unblinding an evaluation of one's own blinded id (consumer).
void DeriveRowSecrets(const uint8_t salt[kSaltBytes], std::string_view id,
                      const uint8_t oprf_output[kPointBytes], uint8_t tag[kTagBytes],
                      uint8_t key[kRowKeyBytes]);

}  // namespace tds::compute::query
