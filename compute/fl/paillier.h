#pragma once
// Paillier additively homomorphic encryption over OpenSSL BIGNUM.
// [Pai99] P. Paillier, Public-Key Cryptosystems Based on Composite Degree Residuosity Classes,
// EUROCRYPT 1999.
//
// Parameters: n = p q with p, q primes of equal size (n has exactly `modulus_bits` bits), the
// generator g = n + 1, so g^m = 1 + m n (mod n^2) and encryption costs one multiplication once
// the randomness r^n mod n^2 is known. Plaintexts are Z_n; ciphertexts are units of Z_{n^2}.
//   Enc(m; r)         = (1 + m n) r^n                       mod n^2
//   Enc(a) * Enc(b)   = Enc(a + b)                          (homomorphic add)
//   Enc(a)^k          = Enc(k a)                            (scalar multiply; k < 0 via inverse)
// Decryption uses the CRT (two exponentiations modulo p^2 and q^2 with exponents p-1, q-1),
// about 4x faster than the textbook L(c^lambda mod n^2) mu; both are provided (tests compare).
//
// Fixed point: a real v is encoded as round(v 2^f) in Z_n, negatives as n - |.| ; a plaintext
// above n/2 decodes as negative. Products of two encodings carry scale 2^(2f). The encoder
// refuses |v| 2^f >= 2^62 (so an int64 holds it); sums must stay below n/2 in magnitude, which
// for 2048-bit keys leaves ~1900 bits of headroom.
//
// Wire formats (all integers big-endian, fixed width):
//   public_key  := bits:u16 || n[ceil(bits/8)]
//   ciphertext  := c[ciphertext_bytes()]      with ciphertext_bytes() = bytes of n^2
//   plaintext   := m[plaintext_bytes()]       with plaintext_bytes() = bytes of n, m < n
// A ciphertext of the wrong length, >= n^2, or sharing a factor with n is refused.

#include <openssl/bn.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "compute/worker_pool.h"

namespace tds::compute::fl {

struct BnFree {
  void operator()(BIGNUM* b) const { BN_clear_free(b); }
};
using Bn = std::unique_ptr<BIGNUM, BnFree>;
Bn NewBn();
Bn CopyBn(const BIGNUM* b);

struct BnCtxFree {
  void operator()(BN_CTX* c) const { BN_CTX_free(c); }
};
using BnCtx = std::unique_ptr<BN_CTX, BnCtxFree>;
BnCtx NewBnCtx();

// A ciphertext: a unit of Z_{n^2}. Plain value type; validity is checked on deserialization.
struct Ciphertext {
  Bn c;
};

// Real <-> Z_n codec with scale 2^frac_bits.
class FixedPoint {
 public:
  explicit FixedPoint(int frac_bits) : frac_bits_(frac_bits) {}
  int frac_bits() const { return frac_bits_; }
  // round(v 2^f); OutOfRange when |v 2^f| >= 2^62 or v is not finite.
  absl::StatusOr<int64_t> Encode(double v) const;
  // Decodes an integer carrying scale 2^(scale_mult * f).
  double Decode(int64_t m, int scale_mult = 1) const;

 private:
  int frac_bits_;
};

class PaillierPublicKey {
 public:
  // REQUIRES: n odd with 1024 <= bits(n) <= 4096 (checked by FromModulus / Deserialize).
  static absl::StatusOr<PaillierPublicKey> FromModulus(const BIGNUM* n);
  static absl::StatusOr<PaillierPublicKey> Deserialize(std::string_view bytes);
  std::string Serialize() const;

  int modulus_bits() const { return BN_num_bits(s_->n.get()); }
  size_t plaintext_bytes() const { return static_cast<size_t>(BN_num_bytes(s_->n.get())); }
  size_t ciphertext_bytes() const { return static_cast<size_t>(BN_num_bytes(s_->n2.get())); }
  const BIGNUM* n() const { return s_->n.get(); }
  const BIGNUM* n_squared() const { return s_->n2.get(); }

  // m mod n for a signed integer (negatives wrap to n - |m|).
  Bn ToPlaintext(int64_t m) const;
  // Signed reading of m in Z_n: m > n/2 is m - n. OutOfRange if it does not fit an int64.
  absl::StatusOr<int64_t> FromPlaintext(const BIGNUM* m) const;

  // r^n mod n^2 for a fresh uniform unit r of Z_n (the expensive part of encryption).
  Bn FreshRandomness(BN_CTX* ctx) const;
  // Enc(m; r) given rn = r^n mod n^2. REQUIRES: 0 <= m < n.
  Ciphertext EncryptWith(const BIGNUM* m, const BIGNUM* rn, BN_CTX* ctx) const;
  // (1 + m n) mod n^2: an encryption of m with r = 1. Not hiding; only for values that are
  // public or already uniformly masked (e.g. adding a mask before decryption by the key holder).
  Ciphertext EncryptDeterministic(const BIGNUM* m, BN_CTX* ctx) const;

  Ciphertext Add(const Ciphertext& a, const Ciphertext& b, BN_CTX* ctx) const;
  Ciphertext AddPlain(const Ciphertext& a, const BIGNUM* m, BN_CTX* ctx) const;
  // Enc(k a); negative k through the inverse of the ciphertext.
  Ciphertext MulScalar(const Ciphertext& a, int64_t k, BN_CTX* ctx) const;
  // A ciphertext in Montgomery form modulo n^2, the input of LinearCombination (convert once
  // when the same ciphertexts enter several combinations).
  Bn ToMontgomery(const Ciphertext& a, BN_CTX* ctx) const;
  // Enc(sum_i k_i a_i) for signed k_i and Montgomery-form a_i, by a windowed bucket
  // multi-exponentiation: about bits(max |k|)/w + 2^(w+1)/terms multiplications per term
  // instead of ~1.5 bits(k). REQUIRES: ks.size() == mont.size().
  Ciphertext LinearCombination(const std::vector<Bn>& mont, const std::vector<int64_t>& ks,
                               BN_CTX* ctx) const;

  std::string SerializeCiphertext(const Ciphertext& c) const;
  // InvalidArgument (naming the defect) for a wrong length, a value >= n^2, or one that is
  // not a unit (gcd(c, n) != 1, which includes 0).
  absl::StatusOr<Ciphertext> DeserializeCiphertext(std::string_view bytes, BN_CTX* ctx) const;
  std::string SerializePlaintext(const BIGNUM* m) const;
  absl::StatusOr<Bn> DeserializePlaintext(std::string_view bytes) const;

 private:
  struct MontFree {
    void operator()(BN_MONT_CTX* m) const { BN_MONT_CTX_free(m); }
  };
  // Immutable after construction and shared by all copies (every party, pool and thread);
  // BN_MONT_CTX is only read after setup, which is safe from several threads.
  struct State {
    Bn n, n2, half_n;
    std::unique_ptr<BN_MONT_CTX, MontFree> mont;  // Montgomery context modulo n^2
  };
  explicit PaillierPublicKey(std::shared_ptr<const State> s) : s_(std::move(s)) {}
  std::shared_ptr<const State> s_;
};

// The key holder's side. p, q and the CRT constants are wiped on destruction; there is no
// accessor returning them.
class PaillierPrivateKey {
 public:
  // Two fresh primes of modulus_bits/2 bits each (n has exactly modulus_bits bits).
  // REQUIRES: modulus_bits even, 1024..4096.
  static absl::StatusOr<PaillierPrivateKey> Generate(int modulus_bits);

  const PaillierPublicKey& public_key() const { return pk_; }
  // CRT decryption. REQUIRES: c is a valid ciphertext under public_key().
  Bn Decrypt(const Ciphertext& c, BN_CTX* ctx) const;
  // Textbook decryption m = L(c^lambda mod n^2) mu mod n (for tests).
  Bn DecryptWithoutCrt(const Ciphertext& c, BN_CTX* ctx) const;

  PaillierPrivateKey(PaillierPrivateKey&&) = default;

 private:
  explicit PaillierPrivateKey(PaillierPublicKey pk) : pk_(std::move(pk)) {}
  PaillierPublicKey pk_;
  Bn p_, q_, p2_, q2_, p_minus_1_, q_minus_1_, hp_, hq_, q_inv_p_, lambda_, mu_;
};

// r^n mod n^2 values computed ahead of use. Fill() computes on a WorkerPool; Take() pops one,
// computing it inline (and counting a miss) when the pool ran dry. Thread-safe.
class RandomnessPool {
 public:
  RandomnessPool(PaillierPublicKey pk, WorkerPool& workers)
      : pk_(std::move(pk)), workers_(workers) {}
  // Adds `count` values; blocks until computed.
  absl::Status Fill(size_t count);
  Bn Take(BN_CTX* ctx);
  size_t available() const;
  uint64_t misses() const;

 private:
  PaillierPublicKey pk_;
  WorkerPool& workers_;
  mutable std::mutex mu_;
  std::vector<Bn> values_;  // GUARDED_BY(mu_)
  uint64_t misses_ = 0;     // GUARDED_BY(mu_)
};

}  // namespace tds::compute::fl
