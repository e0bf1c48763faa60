#pragma once
// The X25519 operations of ECDH-PSI (libsodium): hashing an identifier to a u-coordinate and
// multiplying a u-coordinate by a per-session secret scalar.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "compute/sodium_init.h"

namespace tds::compute::psi {

inline constexpr size_t kPointBytes = 32;

// Initialises libsodium once (compute/sodium_init.h; this also selects its fastest X25519 code
// for this CPU). Idempotent and thread-safe; aborts if libsodium cannot start.
using ::tds::compute::EnsureSodium;

// H(x) = SHA-256("tds-psi-v1" 0x00 || x) with bit 255 cleared: a canonical little-endian
// u-coordinate (on the curve or its twist; either is fine, see compute/psi/README.md).
void HashToPoint(std::string_view item, uint8_t out[kPointBytes]);

// True when `u` is the canonical encoding of a field element: bit 255 clear and u < 2^255 - 19.
// Every value this protocol sends is canonical (X25519 outputs are reduced), so anything else
// from a peer is malformed.
bool IsCanonicalPoint(const uint8_t u[kPointBytes]);

// A per-session secret scalar: 32 random bytes (libsodium clamps them in every use). Wiped on
// destruction; there is no accessor for it.
class MaskingKey {
 public:
  MaskingKey();
  ~MaskingKey();
  MaskingKey(const MaskingKey&) = delete;
  MaskingKey& operator=(const MaskingKey&) = delete;

  // out = X25519(key, u). False when the result is all zeros, i.e. `u` is a low-order point
  // (of the curve or of its twist); `out` must then not be used.
  bool Mask(const uint8_t u[kPointBytes], uint8_t out[kPointBytes]) const;

 private:
  unsigned char scalar_[kPointBytes];
};

}  // namespace tds::compute::psi
