#pragma once
// Uniform random numbers and shuffles for protocol secrets (permutations that hide positions).
// A ChaCha20 keystream keyed once from the OS CSPRNG (libsodium randombytes_buf): one system
// call per generator instead of one per number, which matters for 10^7-element shuffles.

#include <cstddef>
#include <cstdint>
#include <utility>

namespace tds::compute::psi {

class SecureRandom {
 public:
  SecureRandom();
  // Wipes the key and the unused keystream.
  ~SecureRandom();
  SecureRandom(const SecureRandom&) = delete;
  SecureRandom& operator=(const SecureRandom&) = delete;

  uint64_t Next64();
  // Uniform in [0, bound) without modulo bias. REQUIRES: bound > 0.
  uint64_t Uniform(uint64_t bound);

  // Fisher–Yates: every permutation of data[0..n) equally likely.
  template <typename T>
  void Shuffle(T* data, size_t n) {
    for (size_t i = n; i > 1; --i) {
      const size_t j = static_cast<size_t>(Uniform(i));
      if (j != i - 1) std::swap(data[i - 1], data[j]);
    }
  }

 private:
  void Refill();

  static constexpr size_t kBufferBytes = 4096;
  unsigned char key_[32];
  uint64_t block_ = 0;  // nonce of the next keystream block
  unsigned char buffer_[kBufferBytes];
  size_t used_ = kBufferBytes;
};

}  // namespace tds::compute::psi
