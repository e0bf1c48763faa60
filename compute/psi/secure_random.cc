#include "compute/psi/secure_random.h"

#include <sodium.h>

#include <cstring>

#include "compute/psi/x25519.h"

namespace tds::compute::psi {

SecureRandom::SecureRandom() {
  EnsureSodium();
  randombytes_buf(key_, sizeof(key_));
}

SecureRandom::~SecureRandom() {
  sodium_memzero(key_, sizeof(key_));
  sodium_memzero(buffer_, sizeof(buffer_));
}

void SecureRandom::Refill() {
  // Each refill uses a fresh nonce under the same key, so no keystream is ever reused.
  unsigned char nonce[crypto_stream_chacha20_ietf_NONCEBYTES] = {};
  static_assert(sizeof(block_) <= sizeof(nonce));
  std::memcpy(nonce, &block_, sizeof(block_));
  ++block_;
  crypto_stream_chacha20_ietf(buffer_, sizeof(buffer_), nonce, key_);
  used_ = 0;
}

uint64_t SecureRandom::Next64() {
  if (used_ + sizeof(uint64_t) > kBufferBytes) Refill();
  uint64_t v;
  std::memcpy(&v, buffer_ + used_, sizeof(v));
  sodium_memzero(buffer_ + used_, sizeof(v));  // a value handed out is not kept here
  used_ += sizeof(v);
  return v;
}

uint64_t SecureRandom::Uniform(uint64_t bound) {
  // Values below `threshold` would make some residues more likely than others: redraw them
  // (probability < bound / 2^64).
  const uint64_t threshold = (0 - bound) % bound;
  while (true) {
    const uint64_t r = Next64();
    if (r >= threshold) return r % bound;
  }
}

}  // namespace tds::compute::psi
