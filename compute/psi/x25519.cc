#include "compute/psi/x25519.h"

#include <sodium.h>

namespace tds::compute::psi {
namespace {

constexpr char kDomain[] = "tds-psi-v1";  // followed by one 0x00 byte in the hash input

static_assert(crypto_scalarmult_BYTES == kPointBytes);
static_assert(crypto_scalarmult_SCALARBYTES == kPointBytes);

// SHA-256 state after absorbing the domain prefix, copied for each item.
const crypto_hash_sha256_state& PrefixState() {
  static const crypto_hash_sha256_state state = [] {
    crypto_hash_sha256_state s;
    crypto_hash_sha256_init(&s);
    // sizeof(kDomain) includes the terminating 0x00: the separator.
    crypto_hash_sha256_update(&s, reinterpret_cast<const unsigned char*>(kDomain), sizeof(kDomain));
    return s;
  }();
  return state;
}

}  // namespace

void HashToPoint(std::string_view item, uint8_t out[kPointBytes]) {
  crypto_hash_sha256_state s = PrefixState();
  crypto_hash_sha256_update(&s, reinterpret_cast<const unsigned char*>(item.data()), item.size());
  crypto_hash_sha256_final(&s, out);
  out[31] &= 0x7f;
}

bool IsCanonicalPoint(const uint8_t u[kPointBytes]) {
  if (u[31] & 0x80) return false;
  // p = 2^255 - 19 = 0x7fff...ffed (little-endian: ed ff .. ff 7f). u >= p only if u's top 31
  // bytes equal p's and its low byte is >= 0xed.
  if (u[31] != 0x7f) return true;
  for (int i = 30; i >= 1; --i) {
    if (u[i] != 0xff) return true;
  }
  return u[0] < 0xed;
}

MaskingKey::MaskingKey() {
  EnsureSodium();
  randombytes_buf(scalar_, sizeof(scalar_));
}

MaskingKey::~MaskingKey() { sodium_memzero(scalar_, sizeof(scalar_)); }

bool MaskingKey::Mask(const uint8_t u[kPointBytes], uint8_t out[kPointBytes]) const {
  // crypto_scalarmult clamps the scalar and returns -1 when the output is all zeros.
  return crypto_scalarmult(out, scalar_, u) == 0;
}

}  // namespace tds::compute::psi
