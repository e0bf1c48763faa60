#include "compute/mpc/prg.h"

#include <sodium.h>

#include <bit>
#include <cstring>

#include "compute/sodium_init.h"

namespace tds::compute::mpc {

// Words are read from the keystream in host order; both ends of a seed must agree on it.
static_assert(std::endian::native == std::endian::little, "secret sharing assumes little endian");

SeededPrg::SeededPrg(const unsigned char (&seed)[kSeedBytes]) {
  EnsureSodium();
  std::memcpy(key_, seed, kSeedBytes);
}

SeededPrg::~SeededPrg() { sodium_memzero(key_, sizeof(key_)); }

void SeededPrg::Fill(uint64_t* out, size_t n) {
  if (n == 0) return;
  unsigned char nonce[crypto_stream_chacha20_ietf_NONCEBYTES] = {};
  std::memcpy(nonce, &calls_, sizeof(calls_));
  ++calls_;
  // One call stays far below ChaCha20-IETF's 256 GiB per nonce (callers fill one chunk).
  crypto_stream_chacha20_ietf(reinterpret_cast<unsigned char*>(out), n * sizeof(uint64_t), nonce,
                              key_);
}

void RandomSeed(unsigned char (&seed)[kSeedBytes]) {
  EnsureSodium();
  randombytes_buf(seed, kSeedBytes);
}

}  // namespace tds::compute::mpc
