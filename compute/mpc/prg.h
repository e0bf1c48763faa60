#pragma once
// A seeded pseudorandom stream of 64-bit words (ChaCha20-IETF keystream under a 32-byte seed).
// Two parties holding the same seed and calling Fill with the same sizes in the same order get
// the same words: this is how the dealer hands out masks and triple shares without sending them
// (README.md, "Seeds"), and how an OT key becomes one pad word per product (ot_products.h).

#include <cstddef>
#include <cstdint>

namespace tds::compute::mpc {

inline constexpr size_t kSeedBytes = 32;

class SeededPrg {
 public:
  explicit SeededPrg(const unsigned char (&seed)[kSeedBytes]);
  ~SeededPrg();  // wipes the seed
  SeededPrg(const SeededPrg&) = delete;
  SeededPrg& operator=(const SeededPrg&) = delete;

  // Fills out[0..n) with the next words. Each call uses a fresh nonce, so no keystream repeats.
  void Fill(uint64_t* out, size_t n);

 private:
  unsigned char key_[kSeedBytes];
  uint64_t calls_ = 0;
};

// Fills `seed` from the OS CSPRNG.
void RandomSeed(unsigned char (&seed)[kSeedBytes]);

}  // namespace tds::compute::mpc
