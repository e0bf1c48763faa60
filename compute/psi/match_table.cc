#include "compute/psi/match_table.h"

#include <sodium.h>

#include <cstring>

#include "compute/psi/x25519.h"

namespace tds::compute::psi {

static_assert(crypto_shorthash_KEYBYTES == 16);

MatchTable::MatchTable(std::string digests) : digests_(std::move(digests)) {
  EnsureSodium();
  randombytes_buf(key_, sizeof(key_));
  const uint64_t n = size();
  uint64_t buckets = 16;
  while (buckets * 3 < n * 4) buckets <<= 1;
  mask_ = buckets - 1;
  slots_.assign(buckets, 0);
  for (uint64_t p = 0; p < n; ++p) {
    uint64_t b = Bucket(At(p));
    while (slots_[b] != 0) b = (b + 1) & mask_;
    slots_[b] = static_cast<uint32_t>(p + 1);
  }
}

MatchTable::~MatchTable() { sodium_memzero(key_, sizeof(key_)); }

uint64_t MatchTable::Bucket(const uint8_t digest[kDigestBytes]) const {
  unsigned char h[crypto_shorthash_BYTES];
  crypto_shorthash(h, digest, kDigestBytes, key_);
  uint64_t v;
  std::memcpy(&v, h, sizeof(v));
  return v & mask_;
}

bool MatchTable::Equal(const uint8_t* a, const uint8_t* b) {
  return std::memcmp(a, b, kDigestBytes) == 0;
}

}  // namespace tds::compute::psi
