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
// Randomness r^n. Under a key one holds, encryption uses the DJN variant [DJN10]: at key
// generation h = -x^2 mod n (x a random unit) and h_s = h^n mod n^2; each encryption takes
// r^n = h_s^a = (h^a)^n for a uniform a of ceil(k/2) bits, k = bits(n), the exponent length
// DJN10 specify for this optimization (as does SecretFlow HEU's paillier_zahlen): 1024 bits
// for 2048-bit n (112-bit security), 1536 for 3072-bit n (128-bit). The holder computes it
// modulo p^2 and q^2 with fixed-base tables (8-bit windows: 2 x k/16 multiplications of k-bit
// numbers) and recombines by the CRT, ~25x cheaper than a full r^n mod n^2. Under someone
// else's key the randomness is r^n for a uniform unit r (FreshRandomness): the key holder knows
// p and q and could tell h^a apart from a uniform unit (its Legendre symbols mod p and q agree),
// which matters when the randomness must hide other terms from the key holder (re-randomizing
// an aggregate before the key holder decrypts it).
// [DJN10] I. Damgard, M. Jurik, J. B. Nielsen, A generalization of Paillier's public-key system
// with applications to electronic voting, Int. J. Inf. Secur. 9(6):371-385, 2010.
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
#include <functional>
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

// Ciphertexts prepared as the terms of several LinearCombination calls (one conversion per
// term, shared by every combination over the same terms).
struct CombinationTerms {
  std::vector<Bn> mont;  // a_i R mod n^2 (Montgomery form)
  Bn inverse_product;    // (prod_i a_i)^-1 R mod n^2, for negative coefficients
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

  // r^n mod n^2 for a fresh uniform unit r of Z_n (a full exponentiation; see the header
  // comment for when the key holder's cheaper DJN randomness is not enough).
  Bn FreshRandomness(BN_CTX* ctx) const;
  // Enc(m; r) given rn = r^n mod n^2. REQUIRES: 0 <= m < n.
  Ciphertext EncryptWith(const BIGNUM* m, const BIGNUM* rn, BN_CTX* ctx) const;

  Ciphertext Add(const Ciphertext& a, const Ciphertext& b, BN_CTX* ctx) const;
  // a (1 + m n) = Enc(dec(a) + m) with a's randomness. REQUIRES: 0 <= m < n.
  Ciphertext AddPlain(const Ciphertext& a, const BIGNUM* m, BN_CTX* ctx) const;
  // Enc(k a); negative k through the inverse of the ciphertext.
  Ciphertext MulScalar(const Ciphertext& a, int64_t k, BN_CTX* ctx) const;
  // The terms of LinearCombination: Montgomery forms (in parallel) and the inverse of their
  // product. REQUIRES: every a_i is a unit (as DeserializeCiphertext(s) guarantee).
  absl::StatusOr<CombinationTerms> PrepareTerms(const std::vector<Ciphertext>& a,
                                                WorkerPool& workers) const;
  // Enc(sum_i k_i a_i) for signed k_i by a windowed bucket multi-exponentiation over all terms.
  // Negative coefficients are shifted by K = 2^bits(max |k|) (k_i + K >= 0) and the shift is
  // removed with (prod_i a_i)^-K, K squarings of the prepared inverse: about
  // (bits(max |k|) + 1) / w + 2^(w+1) / terms multiplications per term.
  // REQUIRES: ks.size() == terms.mont.size(), |k_i| < 2^62.
  Ciphertext LinearCombination(const CombinationTerms& terms, const std::vector<int64_t>& ks,
                               BN_CTX* ctx) const;

  std::string SerializeCiphertext(const Ciphertext& c) const;
  // InvalidArgument (naming the defect) for a wrong length, a value >= n^2, or one that is
  // not a unit (gcd(c, n) != 1, which includes 0).
  absl::StatusOr<Ciphertext> DeserializeCiphertext(std::string_view bytes, BN_CTX* ctx) const;
  // `count` concatenated ciphertexts, parsed in parallel with the same checks; the unit check
  // costs one gcd per slice (a product of units mod n is a unit), the element at fault is
  // named only when that fails. InvalidArgument names the element index.
  absl::StatusOr<std::vector<Ciphertext>> DeserializeCiphertexts(std::string_view bytes,
                                                                 size_t count,
                                                                 WorkerPool& workers) const;
  std::string SerializePlaintext(const BIGNUM* m) const;
  absl::StatusOr<Bn> DeserializePlaintext(std::string_view bytes) const;

  bool operator==(const PaillierPublicKey& o) const { return BN_cmp(n(), o.n()) == 0; }

 private:
  struct MontFree {
    void operator()(BN_MONT_CTX* m) const { BN_MONT_CTX_free(m); }
  };
  // Immutable after construction and shared by all copies (every party, pool and thread);
  // BN_MONT_CTX is only read after setup, which is safe from several threads.
  struct State {
    Bn n, n2, half_n;
    std::unique_ptr<BN_MONT_CTX, MontFree> mont;    // modulo n^2
    std::unique_ptr<BN_MONT_CTX, MontFree> mont_n;  // modulo n (batched unit checks)
  };
  explicit PaillierPublicKey(std::shared_ptr<const State> s) : s_(std::move(s)) {}
  // Length, range and unit checks of ciphertexts [begin, end) of `bytes` into out[begin, end).
  absl::Status ParseRange(std::string_view bytes, size_t begin, size_t end,
                          std::vector<Ciphertext>& out, BN_CTX* ctx) const;
  std::shared_ptr<const State> s_;
};

// g^e modulo m for one fixed g and 0 <= e < 2^(8 windows): a table of g^(d 2^(8k)) for every
// byte value d and position k, so a power costs one multiplication per nonzero byte of e.
// Table lookups depend on e (not constant time; see PaillierPrivateKey::DjnRandomness).
class FixedBaseTable;

// The key holder's side. p, q, the CRT constants and the DJN tables (which reveal p and q) are
// wiped on destruction; there is no accessor returning them.
class PaillierPrivateKey {
 public:
  // A Blum modulus n = p q (p = q = 3 mod 4, gcd(p-1, q-1) = 2: the DJN10 "admissible"
  // modulus, so h = -x^2 generates the Jacobi-symbol-1 subgroup) of exactly modulus_bits bits,
  // and the DJN base h_s with its tables. REQUIRES: modulus_bits even, 1024..4096.
  static absl::StatusOr<PaillierPrivateKey> Generate(int modulus_bits);

  const PaillierPublicKey& public_key() const { return pk_; }
  // CRT decryption. REQUIRES: c is a valid ciphertext under public_key().
  Bn Decrypt(const Ciphertext& c, BN_CTX* ctx) const;
  // Textbook decryption m = L(c^lambda mod n^2) mu mod n (for tests).
  Bn DecryptWithoutCrt(const Ciphertext& c, BN_CTX* ctx) const;

  // DJN randomness h_s^a mod n^2 (an n-th residue) for a fresh uniform a of
  // djn_exponent_bits() bits. Timing and cache accesses depend on a: fine against a remote
  // peer, not against code sharing the machine's caches.
  Bn DjnRandomness(BN_CTX* ctx) const;
  // h_s^a mod n^2 through the tables and the CRT (DjnRandomness's computation; for tests).
  // REQUIRES: 0 <= a < 2^djn_exponent_bits().
  Bn DjnPower(const BIGNUM* a, BN_CTX* ctx) const;
  const BIGNUM* djn_base() const { return hs_.get(); }
  int djn_exponent_bits() const { return (pk_.modulus_bits() + 1) / 2; }

  PaillierPrivateKey(PaillierPrivateKey&&) noexcept;
  ~PaillierPrivateKey();

 private:
  explicit PaillierPrivateKey(PaillierPublicKey pk);
  PaillierPublicKey pk_;
  Bn p_, q_, p2_, q2_, p_minus_1_, q_minus_1_, hp_, hq_, q_inv_p_, lambda_, mu_;
  Bn q2_inv_p2_;  // (q^2)^-1 mod p^2, recombines DJN powers
  Bn hs_;         // h^n mod n^2
  std::unique_ptr<FixedBaseTable> hs_mod_p2_, hs_mod_q2_;
};

// r^n mod n^2 values computed ahead of use. Fill() computes on a WorkerPool; Take() pops one,
// computing it inline (and counting a miss) when the pool ran dry. Thread-safe.
class RandomnessPool {
 public:
  // Uniform r^n under someone else's key (PaillierPublicKey::FreshRandomness).
  RandomnessPool(PaillierPublicKey pk, WorkerPool& workers);
  // DJN randomness under one's own key. REQUIRES: `key` outlives the pool.
  RandomnessPool(const PaillierPrivateKey& key, WorkerPool& workers);
  // Adds `count` values; blocks until computed.
  absl::Status Fill(size_t count);
  Bn Take(BN_CTX* ctx);
  size_t available() const;
  uint64_t misses() const;

 private:
  std::function<Bn(BN_CTX*)> make_;
  WorkerPool& workers_;
  mutable std::mutex mu_;
  std::vector<Bn> values_;  // GUARDED_BY(mu_)
  uint64_t misses_ = 0;     // GUARDED_BY(mu_)
};

}  // namespace tds::compute::fl
