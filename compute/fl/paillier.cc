#include "compute/fl/paillier.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace tds::compute::fl {
namespace {

constexpr int kMinModulusBits = 1024;
constexpr int kMaxModulusBits = 4096;

// OpenSSL takes BN_MONT_CTX* even where it only reads it.
BN_MONT_CTX* Mut(const BN_MONT_CTX* m) { return const_cast<BN_MONT_CTX*>(m); }

void Check(int ok) {
  // BIGNUM arithmetic on valid inputs fails only on allocation failure.
  if (!ok) std::abort();
}

}  // namespace

Bn NewBn() {
  Bn b(BN_new());
  if (!b) std::abort();
  return b;
}

Bn CopyBn(const BIGNUM* b) {
  Bn c(BN_dup(b));
  if (!c) std::abort();
  return c;
}

BnCtx NewBnCtx() {
  BnCtx c(BN_CTX_new());
  if (!c) std::abort();
  return c;
}

// ---- FixedPoint ----

absl::StatusOr<int64_t> FixedPoint::Encode(double v) const {
  if (!std::isfinite(v)) return absl::OutOfRangeError("fixed point: value is not finite");
  const double scaled = std::ldexp(v, frac_bits_);
  if (std::fabs(scaled) >= 0x1p62) {
    return absl::OutOfRangeError(
        absl::StrCat("fixed point: |", v, "| * 2^", frac_bits_, " exceeds 2^62"));
  }
  return std::llround(scaled);
}

double FixedPoint::Decode(int64_t m, int scale_mult) const {
  return std::ldexp(static_cast<double>(m), -frac_bits_ * scale_mult);
}

// ---- PaillierPublicKey ----

absl::StatusOr<PaillierPublicKey> PaillierPublicKey::FromModulus(const BIGNUM* n) {
  const int bits = BN_num_bits(n);
  if (bits < kMinModulusBits || bits > kMaxModulusBits) {
    return absl::InvalidArgumentError(absl::StrCat("paillier: modulus has ", bits, " bits, need ",
                                                   kMinModulusBits, "..", kMaxModulusBits));
  }
  if (!BN_is_odd(n)) return absl::InvalidArgumentError("paillier: modulus is even");
  auto s = std::make_shared<State>();
  BnCtx ctx = NewBnCtx();
  s->n = CopyBn(n);
  s->n2 = NewBn();
  Check(BN_sqr(s->n2.get(), n, ctx.get()));
  s->half_n = NewBn();
  Check(BN_rshift1(s->half_n.get(), n));
  s->mont.reset(BN_MONT_CTX_new());
  if (!s->mont) std::abort();
  Check(BN_MONT_CTX_set(s->mont.get(), s->n2.get(), ctx.get()));
  s->mont_n.reset(BN_MONT_CTX_new());
  if (!s->mont_n) std::abort();
  Check(BN_MONT_CTX_set(s->mont_n.get(), n, ctx.get()));
  return PaillierPublicKey(std::move(s));
}

absl::StatusOr<PaillierPublicKey> PaillierPublicKey::Deserialize(std::string_view bytes) {
  if (bytes.size() < 2) return absl::InvalidArgumentError("paillier public key: truncated");
  const int bits = (static_cast<uint8_t>(bytes[0]) << 8) | static_cast<uint8_t>(bytes[1]);
  const size_t want = 2 + static_cast<size_t>(bits + 7) / 8;
  if (bytes.size() != want) {
    return absl::InvalidArgumentError(absl::StrCat(
        "paillier public key: ", bytes.size(), " bytes, expected ", want, " for ", bits, " bits"));
  }
  Bn n(BN_bin2bn(reinterpret_cast<const unsigned char*>(bytes.data()) + 2,
                 static_cast<int>(want - 2), nullptr));
  if (!n) std::abort();
  if (BN_num_bits(n.get()) != bits) {
    return absl::InvalidArgumentError("paillier public key: modulus length does not match header");
  }
  return FromModulus(n.get());
}

std::string PaillierPublicKey::Serialize() const {
  const int bits = modulus_bits();
  std::string out(2 + plaintext_bytes(), '\0');
  out[0] = static_cast<char>(bits >> 8);
  out[1] = static_cast<char>(bits & 0xff);
  BN_bn2binpad(n(), reinterpret_cast<unsigned char*>(out.data()) + 2,
               static_cast<int>(plaintext_bytes()));
  return out;
}

Bn PaillierPublicKey::ToPlaintext(int64_t m) const {
  Bn b = NewBn();
  const uint64_t mag = m < 0 ? 0 - static_cast<uint64_t>(m) : static_cast<uint64_t>(m);
  Check(BN_set_word(b.get(), mag));
  if (m < 0) Check(BN_sub(b.get(), n(), b.get()));
  return b;
}

absl::StatusOr<int64_t> PaillierPublicKey::FromPlaintext(const BIGNUM* m) const {
  Bn mag = NewBn();
  const bool negative = BN_cmp(m, s_->half_n.get()) > 0;
  if (negative) {
    Check(BN_sub(mag.get(), n(), m));
  } else {
    Check(BN_copy(mag.get(), m) != nullptr);
  }
  if (BN_num_bits(mag.get()) > 63) {
    return absl::OutOfRangeError(absl::StrCat("paillier: plaintext of ", BN_num_bits(mag.get()),
                                              " bits does not fit an int64"));
  }
  const int64_t v = static_cast<int64_t>(BN_get_word(mag.get()));
  return negative ? -v : v;
}

Bn PaillierPublicKey::FreshRandomness(BN_CTX* ctx) const {
  Bn r = NewBn();
  Bn g = NewBn();
  // A uniform unit of Z_n (a non-unit would reveal a factor of n; probability ~2^-1023).
  do {
    Check(BN_priv_rand_range(r.get(), n()));
    Check(BN_gcd(g.get(), r.get(), n(), ctx));
  } while (BN_is_zero(r.get()) || !BN_is_one(g.get()));
  BN_set_flags(r.get(), BN_FLG_CONSTTIME);  // r is secret: constant-time exponentiation
  Bn rn = NewBn();
  Check(BN_mod_exp_mont_consttime(rn.get(), r.get(), n(), n_squared(), ctx, Mut(s_->mont.get())));
  return rn;
}

namespace {

// a (1 + m n) mod n^2 = a + n (m a mod n) mod n^2 (as m n a mod n^2 = n (m a mod n)): two
// multiplications of n-sized numbers instead of one of n^2-sized ones. REQUIRES: 0 <= m < n.
Ciphertext MulOnePlusMn(const BIGNUM* a, const BIGNUM* m, const BIGNUM* n, const BIGNUM* n2,
                        BN_CTX* ctx) {
  Ciphertext c{NewBn()};
  Bn t = NewBn();
  Check(BN_nnmod(t.get(), a, n, ctx));
  Check(BN_mod_mul(t.get(), t.get(), m, n, ctx));
  Check(BN_mul(c.c.get(), t.get(), n, ctx));
  Check(BN_mod_add(c.c.get(), c.c.get(), a, n2, ctx));
  return c;
}

}  // namespace

Ciphertext PaillierPublicKey::EncryptWith(const BIGNUM* m, const BIGNUM* rn, BN_CTX* ctx) const {
  return MulOnePlusMn(rn, m, n(), n_squared(), ctx);
}

Ciphertext PaillierPublicKey::Add(const Ciphertext& a, const Ciphertext& b, BN_CTX* ctx) const {
  Ciphertext c{NewBn()};
  Check(BN_mod_mul(c.c.get(), a.c.get(), b.c.get(), n_squared(), ctx));
  return c;
}

Ciphertext PaillierPublicKey::AddPlain(const Ciphertext& a, const BIGNUM* m, BN_CTX* ctx) const {
  return MulOnePlusMn(a.c.get(), m, n(), n_squared(), ctx);
}

Ciphertext PaillierPublicKey::MulScalar(const Ciphertext& a, int64_t k, BN_CTX* ctx) const {
  Ciphertext c{NewBn()};
  Bn base = CopyBn(a.c.get());
  if (k < 0) {
    // Units of Z_{n^2} are invertible; DeserializeCiphertext guarantees a is one.
    if (!BN_mod_inverse(base.get(), a.c.get(), n_squared(), ctx)) std::abort();
  }
  Bn e = NewBn();
  Check(BN_set_word(e.get(), k < 0 ? 0 - static_cast<uint64_t>(k) : static_cast<uint64_t>(k)));
  Check(BN_mod_exp_mont(c.c.get(), base.get(), e.get(), n_squared(), ctx, Mut(s_->mont.get())));
  return c;
}

namespace {

// prod_i bases[i]^exps[i] in Montgomery form, or null when every exponent is 0. Windowed
// bucket method (Pippenger): for each w-bit window from the top, acc = acc^(2^w) * W with
// W = prod_d B_d^d, B_d = product of the bases whose window digit is d; W costs 2^(w+1)
// multiplications by running products (sum_d d B_d = sum_d sum_{e>=d} B_e).
Bn MultiExp(const std::vector<const BIGNUM*>& bases, const std::vector<uint64_t>& exps,
            BN_MONT_CTX* mont, BN_CTX* ctx) {
  uint64_t all = 0;
  for (uint64_t e : exps) all |= e;
  if (all == 0 || bases.empty()) return nullptr;
  const int bits = 64 - __builtin_clzll(all);
  // Window minimizing ceil(bits/w) (terms + 2^(w+1)).
  int w = 1;
  double best = 1e300;
  for (int c = 1; c <= 16; ++c) {
    const double cost = std::ceil(static_cast<double>(bits) / c) *
                        (static_cast<double>(bases.size()) + std::ldexp(2.0, c));
    if (cost < best) best = cost, w = c;
  }
  const int windows = (bits + w - 1) / w;
  const uint64_t mask = (w == 64) ? ~0ULL : ((1ULL << w) - 1);
  std::vector<Bn> bucket(size_t{1} << w);
  Bn acc;
  auto mul_into = [&](Bn& dst, const BIGNUM* src) {
    if (!dst) {
      dst = CopyBn(src);
    } else {
      Check(BN_mod_mul_montgomery(dst.get(), dst.get(), src, mont, ctx));
    }
  };
  for (int k = windows - 1; k >= 0; --k) {
    if (acc) {
      for (int s = 0; s < w; ++s) {
        Check(BN_mod_mul_montgomery(acc.get(), acc.get(), acc.get(), mont, ctx));
      }
    }
    for (auto& b : bucket) b.reset();
    for (size_t i = 0; i < bases.size(); ++i) {
      const uint64_t d = (exps[i] >> (k * w)) & mask;
      if (d != 0) mul_into(bucket[d], bases[i]);
    }
    Bn running, total;
    for (size_t d = bucket.size() - 1; d >= 1; --d) {
      if (bucket[d]) mul_into(running, bucket[d].get());
      if (running) mul_into(total, running.get());
    }
    if (total) mul_into(acc, total.get());
  }
  return acc;
}

}  // namespace

absl::StatusOr<CombinationTerms> PaillierPublicKey::PrepareTerms(const std::vector<Ciphertext>& a,
                                                                 WorkerPool& workers) const {
  CombinationTerms t;
  t.mont.resize(a.size());
  BN_MONT_CTX* m = Mut(s_->mont.get());
  // Each slice converts its terms and multiplies them (Montgomery products of Montgomery forms
  // are Montgomery forms); the slices' products are combined, inverted in plain form.
  std::vector<Bn> partial;
  std::mutex mu;
  auto batch = Batch::Start(
      workers, a.size(), static_cast<size_t>(workers.size()) * 2, 64, [&](size_t b, size_t e) {
        BnCtx ctx = NewBnCtx();
        Bn prod;
        for (size_t i = b; i < e; ++i) {
          t.mont[i] = NewBn();
          Check(BN_to_montgomery(t.mont[i].get(), a[i].c.get(), m, ctx.get()));
          if (!prod) {
            prod = CopyBn(t.mont[i].get());
          } else {
            Check(BN_mod_mul_montgomery(prod.get(), prod.get(), t.mont[i].get(), m, ctx.get()));
          }
        }
        std::lock_guard<std::mutex> lock(mu);
        if (prod) partial.push_back(std::move(prod));
        return absl::OkStatus();
      });
  if (absl::Status s = batch->Wait(); !s.ok()) return s;
  BnCtx ctx = NewBnCtx();
  Bn prod = NewBn();
  Check(BN_one(prod.get()));
  Check(BN_to_montgomery(prod.get(), prod.get(), m, ctx.get()));
  for (const Bn& p : partial) {
    Check(BN_mod_mul_montgomery(prod.get(), prod.get(), p.get(), m, ctx.get()));
  }
  Check(BN_from_montgomery(prod.get(), prod.get(), m, ctx.get()));
  if (!BN_mod_inverse(prod.get(), prod.get(), n_squared(), ctx.get())) {
    return absl::InvalidArgumentError("paillier: combination terms are not all units");
  }
  t.inverse_product = NewBn();
  Check(BN_to_montgomery(t.inverse_product.get(), prod.get(), m, ctx.get()));
  return t;
}

Ciphertext PaillierPublicKey::LinearCombination(const CombinationTerms& terms,
                                                const std::vector<int64_t>& ks, BN_CTX* ctx) const {
  uint64_t max_abs = 0;
  bool negative = false;
  for (int64_t k : ks) {
    negative |= k < 0;
    max_abs = std::max(max_abs, k < 0 ? 0 - static_cast<uint64_t>(k) : static_cast<uint64_t>(k));
  }
  // Shift K = 2^shift > max |k| makes every exponent non-negative: one multi-exponentiation
  // over all terms instead of one per sign. |k| < 2^62, so 0 < k + K < 2^63.
  const int shift = negative ? 64 - __builtin_clzll(max_abs) : 0;
  std::vector<const BIGNUM*> bases(ks.size());
  std::vector<uint64_t> exps(ks.size());
  for (size_t i = 0; i < ks.size(); ++i) {
    bases[i] = terms.mont[i].get();
    exps[i] = static_cast<uint64_t>(ks[i]) + (negative ? uint64_t{1} << shift : 0);
  }
  BN_MONT_CTX* m = Mut(s_->mont.get());
  Bn acc = MultiExp(bases, exps, m, ctx);
  if (negative) {
    // acc * (prod_i a_i)^(-2^shift): `shift` squarings of the prepared inverse.
    Bn corr = CopyBn(terms.inverse_product.get());
    for (int i = 0; i < shift; ++i) {
      Check(BN_mod_mul_montgomery(corr.get(), corr.get(), corr.get(), m, ctx));
    }
    Check(BN_mod_mul_montgomery(acc.get(), acc.get(), corr.get(), m, ctx));
  }
  Ciphertext out{NewBn()};
  if (acc) {
    Check(BN_from_montgomery(out.c.get(), acc.get(), m, ctx));
  } else {
    Check(BN_one(out.c.get()));  // every k_i = 0: Enc(0) with r = 1
  }
  return out;
}

std::string PaillierPublicKey::SerializeCiphertext(const Ciphertext& c) const {
  std::string out(ciphertext_bytes(), '\0');
  BN_bn2binpad(c.c.get(), reinterpret_cast<unsigned char*>(out.data()),
               static_cast<int>(out.size()));
  return out;
}

absl::Status PaillierPublicKey::ParseRange(std::string_view bytes, size_t begin, size_t end,
                                           std::vector<Ciphertext>& out, BN_CTX* ctx) const {
  const size_t width = ciphertext_bytes();
  auto name = [&](size_t i) {
    return out.size() == 1 ? std::string("paillier ciphertext")
                           : absl::StrCat("paillier ciphertext ", i);
  };
  BN_MONT_CTX* mont_n = Mut(s_->mont_n.get());
  Bn prod = NewBn(), reduced = NewBn();
  Check(BN_one(prod.get()));
  for (size_t i = begin; i < end; ++i) {
    out[i].c.reset(BN_bin2bn(reinterpret_cast<const unsigned char*>(bytes.data()) + i * width,
                             static_cast<int>(width), nullptr));
    if (!out[i].c) std::abort();
    if (BN_cmp(out[i].c.get(), n_squared()) >= 0) {
      return absl::InvalidArgumentError(absl::StrCat(name(i), ": value >= n^2"));
    }
    // c is a unit mod n^2 iff c mod n is a unit mod n. Montgomery products carry a factor
    // R^-1, itself a unit, so the running product is a unit iff every factor is.
    Check(BN_nnmod(reduced.get(), out[i].c.get(), n(), ctx));
    Check(BN_mod_mul_montgomery(prod.get(), prod.get(), reduced.get(), mont_n, ctx));
  }
  Bn g = NewBn();
  Check(BN_gcd(g.get(), prod.get(), n(), ctx));
  if (BN_is_one(g.get())) return absl::OkStatus();
  for (size_t i = begin; i < end; ++i) {  // the failure path: find the element at fault
    Check(BN_gcd(g.get(), out[i].c.get(), n(), ctx));
    if (!BN_is_one(g.get())) {
      return absl::InvalidArgumentError(
          absl::StrCat(name(i), ": not a unit of Z_{n^2} (zero or shares a factor with n)"));
    }
  }
  std::abort();  // unreachable: a product of units is a unit
}

absl::StatusOr<Ciphertext> PaillierPublicKey::DeserializeCiphertext(std::string_view bytes,
                                                                    BN_CTX* ctx) const {
  if (bytes.size() != ciphertext_bytes()) {
    return absl::InvalidArgumentError(absl::StrCat("paillier ciphertext: ", bytes.size(),
                                                   " bytes, expected ", ciphertext_bytes()));
  }
  std::vector<Ciphertext> out(1);
  if (absl::Status s = ParseRange(bytes, 0, 1, out, ctx); !s.ok()) return s;
  return std::move(out[0]);
}

absl::StatusOr<std::vector<Ciphertext>> PaillierPublicKey::DeserializeCiphertexts(
    std::string_view bytes, size_t count, WorkerPool& workers) const {
  if (bytes.size() != count * ciphertext_bytes()) {
    return absl::InvalidArgumentError(absl::StrCat("paillier ciphertexts: ", bytes.size(),
                                                   " bytes, expected ", count, " x ",
                                                   ciphertext_bytes()));
  }
  std::vector<Ciphertext> out(count);
  auto batch = Batch::Start(workers, count, static_cast<size_t>(workers.size()) * 2, 64,
                            [&](size_t b, size_t e) {
                              BnCtx ctx = NewBnCtx();
                              return ParseRange(bytes, b, e, out, ctx.get());
                            });
  if (absl::Status s = batch->Wait(); !s.ok()) return s;
  return out;
}

std::string PaillierPublicKey::SerializePlaintext(const BIGNUM* m) const {
  std::string out(plaintext_bytes(), '\0');
  BN_bn2binpad(m, reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(out.size()));
  return out;
}

absl::StatusOr<Bn> PaillierPublicKey::DeserializePlaintext(std::string_view bytes) const {
  if (bytes.size() != plaintext_bytes()) {
    return absl::InvalidArgumentError(
        absl::StrCat("paillier plaintext: ", bytes.size(), " bytes, expected ", plaintext_bytes()));
  }
  Bn m(BN_bin2bn(reinterpret_cast<const unsigned char*>(bytes.data()),
                 static_cast<int>(bytes.size()), nullptr));
  if (!m) std::abort();
  if (BN_cmp(m.get(), n()) >= 0) return absl::InvalidArgumentError("paillier plaintext: >= n");
  return m;
}

// ---- FixedBaseTable ----

class FixedBaseTable {
 public:
  // REQUIRES: m odd, 0 < g < m, exponent_bits >= 1.
  FixedBaseTable(const BIGNUM* g, const BIGNUM* m, int exponent_bits, BN_CTX* ctx)
      : modulus_(CopyBn(m)), windows_((exponent_bits + 7) / 8) {
    mont_.reset(BN_MONT_CTX_new());
    if (!mont_) std::abort();
    Check(BN_MONT_CTX_set(mont_.get(), m, ctx));
    powers_.reserve(static_cast<size_t>(windows_) * 255);
    Bn base = NewBn();  // g^(2^(8k)) in Montgomery form
    Check(BN_to_montgomery(base.get(), g, mont_.get(), ctx));
    for (int k = 0; k < windows_; ++k) {
      powers_.push_back(CopyBn(base.get()));
      for (int d = 2; d <= 255; ++d) {
        Bn next = NewBn();
        Check(
            BN_mod_mul_montgomery(next.get(), powers_.back().get(), base.get(), mont_.get(), ctx));
        powers_.push_back(std::move(next));
      }
      Check(BN_mod_mul_montgomery(base.get(), powers_.back().get(), base.get(), mont_.get(), ctx));
    }
  }

  // g^e mod m. REQUIRES: 0 <= e < 2^(8 windows).
  Bn Pow(const BIGNUM* e, BN_CTX* ctx) const {
    std::vector<unsigned char> digits(static_cast<size_t>(windows_));
    if (BN_bn2lebinpad(e, digits.data(), windows_) < 0) std::abort();
    Bn acc;
    for (int k = 0; k < windows_; ++k) {
      const unsigned d = digits[static_cast<size_t>(k)];
      if (d == 0) continue;
      const BIGNUM* p = powers_[static_cast<size_t>(k) * 255 + d - 1].get();
      if (!acc) {
        acc = CopyBn(p);
      } else {
        Check(BN_mod_mul_montgomery(acc.get(), acc.get(), p, mont_.get(), ctx));
      }
    }
    Bn out = NewBn();
    if (acc) {
      Check(BN_from_montgomery(out.get(), acc.get(), mont_.get(), ctx));
    } else {
      Check(BN_one(out.get()));
    }
    OPENSSL_cleanse(digits.data(), digits.size());
    return out;
  }

 private:
  struct MontFree {
    void operator()(BN_MONT_CTX* m) const { BN_MONT_CTX_free(m); }
  };
  Bn modulus_;
  std::unique_ptr<BN_MONT_CTX, MontFree> mont_;
  int windows_;
  std::vector<Bn> powers_;  // powers_[255 k + d - 1] = g^(d 2^(8k)) R mod m, d = 1..255
};

// ---- PaillierPrivateKey ----

PaillierPrivateKey::PaillierPrivateKey(PaillierPublicKey pk) : pk_(std::move(pk)) {}
PaillierPrivateKey::PaillierPrivateKey(PaillierPrivateKey&&) noexcept = default;
PaillierPrivateKey::~PaillierPrivateKey() = default;

absl::StatusOr<PaillierPrivateKey> PaillierPrivateKey::Generate(int modulus_bits) {
  if (modulus_bits % 2 != 0 || modulus_bits < kMinModulusBits || modulus_bits > kMaxModulusBits) {
    return absl::InvalidArgumentError(absl::StrCat("paillier: modulus_bits ", modulus_bits,
                                                   " must be even and in ", kMinModulusBits, "..",
                                                   kMaxModulusBits));
  }
  BnCtx ctx = NewBnCtx();
  Bn p = NewBn(), q = NewBn(), n = NewBn(), phi = NewBn(), g = NewBn();
  Bn pm1 = NewBn(), qm1 = NewBn(), four = NewBn(), three = NewBn();
  Check(BN_set_word(four.get(), 4));
  Check(BN_set_word(three.get(), 3));
  for (;;) {
    // p = q = 3 mod 4; a product of the wrong length is drawn again.
    Check(BN_generate_prime_ex(p.get(), modulus_bits / 2, 0, four.get(), three.get(), nullptr));
    Check(BN_generate_prime_ex(q.get(), modulus_bits / 2, 0, four.get(), three.get(), nullptr));
    if (BN_cmp(p.get(), q.get()) == 0) continue;
    Check(BN_mul(n.get(), p.get(), q.get(), ctx.get()));
    if (BN_num_bits(n.get()) != modulus_bits) continue;
    Check(BN_sub(pm1.get(), p.get(), BN_value_one()));
    Check(BN_sub(qm1.get(), q.get(), BN_value_one()));
    Check(BN_gcd(g.get(), pm1.get(), qm1.get(), ctx.get()));
    if (!BN_is_word(g.get(), 2)) continue;  // DJN10's admissible modulus
    Check(BN_mul(phi.get(), pm1.get(), qm1.get(), ctx.get()));
    Check(BN_gcd(g.get(), n.get(), phi.get(), ctx.get()));
    if (BN_is_one(g.get())) break;  // gcd(n, phi) = 1: required for g = n + 1 to work
  }
  auto pk = PaillierPublicKey::FromModulus(n.get());
  if (!pk.ok()) return pk.status();
  PaillierPrivateKey sk(*std::move(pk));
  BN_CTX* c = ctx.get();
  sk.p_ = std::move(p);
  sk.q_ = std::move(q);
  sk.p_minus_1_ = std::move(pm1);
  sk.q_minus_1_ = std::move(qm1);
  sk.p2_ = NewBn();
  sk.q2_ = NewBn();
  Check(BN_sqr(sk.p2_.get(), sk.p_.get(), c));
  Check(BN_sqr(sk.q2_.get(), sk.q_.get(), c));
  // h_p = L_p(g^(p-1) mod p^2)^-1 mod p with L_p(x) = (x - 1) / p; same for q.
  Bn gen = NewBn();
  Check(BN_add(gen.get(), n.get(), BN_value_one()));
  auto h = [&](const BIGNUM* prime, const BIGNUM* prime2, const BIGNUM* pm) {
    Bn x = NewBn();
    Check(BN_mod_exp(x.get(), gen.get(), pm, prime2, c));
    Check(BN_sub_word(x.get(), 1));
    Check(BN_div(x.get(), nullptr, x.get(), prime, c));
    Bn inv(BN_mod_inverse(nullptr, x.get(), prime, c));
    if (!inv) std::abort();
    return inv;
  };
  sk.hp_ = h(sk.p_.get(), sk.p2_.get(), sk.p_minus_1_.get());
  sk.hq_ = h(sk.q_.get(), sk.q2_.get(), sk.q_minus_1_.get());
  sk.q_inv_p_.reset(BN_mod_inverse(nullptr, sk.q_.get(), sk.p_.get(), c));
  if (!sk.q_inv_p_) std::abort();
  // lambda = lcm(p-1, q-1), mu = L(g^lambda mod n^2)^-1 mod n (textbook decryption).
  Bn gcd = NewBn();
  Check(BN_gcd(gcd.get(), sk.p_minus_1_.get(), sk.q_minus_1_.get(), c));
  sk.lambda_ = NewBn();
  Check(BN_div(sk.lambda_.get(), nullptr, phi.get(), gcd.get(), c));
  Bn x = NewBn();
  Check(BN_mod_exp(x.get(), gen.get(), sk.lambda_.get(), sk.pk_.n_squared(), c));
  Check(BN_sub_word(x.get(), 1));
  Check(BN_div(x.get(), nullptr, x.get(), n.get(), c));
  sk.mu_.reset(BN_mod_inverse(nullptr, x.get(), n.get(), c));
  if (!sk.mu_) std::abort();
  for (BIGNUM* b : {sk.p_minus_1_.get(), sk.q_minus_1_.get(), sk.lambda_.get()}) {
    BN_set_flags(b, BN_FLG_CONSTTIME);  // secret exponents
  }
  // DJN: h = -x^2 mod n for a uniform unit x, h_s = h^n mod n^2, tables of h_s mod p^2, q^2.
  Bn x2 = NewBn();
  do {
    Check(BN_priv_rand_range(x.get(), n.get()));
    Check(BN_gcd(gcd.get(), x.get(), n.get(), c));
  } while (BN_is_zero(x.get()) || !BN_is_one(gcd.get()));
  Check(BN_mod_sqr(x2.get(), x.get(), n.get(), c));
  Check(BN_sub(x2.get(), n.get(), x2.get()));
  sk.hs_ = NewBn();
  Check(BN_mod_exp(sk.hs_.get(), x2.get(), n.get(), sk.pk_.n_squared(), c));
  const int exp_bits = sk.djn_exponent_bits();
  Bn hs_mod = NewBn();
  Check(BN_nnmod(hs_mod.get(), sk.hs_.get(), sk.p2_.get(), c));
  sk.hs_mod_p2_ = std::make_unique<FixedBaseTable>(hs_mod.get(), sk.p2_.get(), exp_bits, c);
  Check(BN_nnmod(hs_mod.get(), sk.hs_.get(), sk.q2_.get(), c));
  sk.hs_mod_q2_ = std::make_unique<FixedBaseTable>(hs_mod.get(), sk.q2_.get(), exp_bits, c);
  sk.q2_inv_p2_.reset(BN_mod_inverse(nullptr, sk.q2_.get(), sk.p2_.get(), c));
  if (!sk.q2_inv_p2_) std::abort();
  return sk;
}

Bn PaillierPrivateKey::DjnPower(const BIGNUM* a, BN_CTX* ctx) const {
  // x = x_q + q^2 ((x_p - x_q) (q^2)^-1 mod p^2), the CRT from mod p^2 and mod q^2.
  Bn xp = hs_mod_p2_->Pow(a, ctx);
  Bn xq = hs_mod_q2_->Pow(a, ctx);
  Check(BN_mod_sub(xp.get(), xp.get(), xq.get(), p2_.get(), ctx));
  Check(BN_mod_mul(xp.get(), xp.get(), q2_inv_p2_.get(), p2_.get(), ctx));
  Bn x = NewBn();
  Check(BN_mul(x.get(), xp.get(), q2_.get(), ctx));
  Check(BN_add(x.get(), x.get(), xq.get()));
  return x;
}

Bn PaillierPrivateKey::DjnRandomness(BN_CTX* ctx) const {
  Bn a = NewBn();
  Check(BN_priv_rand(a.get(), djn_exponent_bits(), BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY));
  return DjnPower(a.get(), ctx);
}

Bn PaillierPrivateKey::Decrypt(const Ciphertext& ct, BN_CTX* ctx) const {
  auto half = [&](const BIGNUM* prime, const BIGNUM* prime2, const BIGNUM* pm, const BIGNUM* h) {
    Bn x = NewBn();
    Check(BN_mod(x.get(), ct.c.get(), prime2, ctx));
    Check(BN_mod_exp(x.get(), x.get(), pm, prime2, ctx));
    Check(BN_sub_word(x.get(), 1));
    Check(BN_div(x.get(), nullptr, x.get(), prime, ctx));
    Check(BN_mod_mul(x.get(), x.get(), h, prime, ctx));
    return x;
  };
  Bn mp = half(p_.get(), p2_.get(), p_minus_1_.get(), hp_.get());
  Bn mq = half(q_.get(), q2_.get(), q_minus_1_.get(), hq_.get());
  // m = mq + q ((mp - mq) q^-1 mod p)
  Bn t = NewBn();
  Check(BN_mod_sub(t.get(), mp.get(), mq.get(), p_.get(), ctx));
  Check(BN_mod_mul(t.get(), t.get(), q_inv_p_.get(), p_.get(), ctx));
  Check(BN_mul(t.get(), t.get(), q_.get(), ctx));
  Check(BN_add(t.get(), t.get(), mq.get()));
  return t;
}

Bn PaillierPrivateKey::DecryptWithoutCrt(const Ciphertext& ct, BN_CTX* ctx) const {
  Bn x = NewBn();
  Check(BN_mod_exp(x.get(), ct.c.get(), lambda_.get(), pk_.n_squared(), ctx));
  Check(BN_sub_word(x.get(), 1));
  Check(BN_div(x.get(), nullptr, x.get(), pk_.n(), ctx));
  Check(BN_mod_mul(x.get(), x.get(), mu_.get(), pk_.n(), ctx));
  return x;
}

// ---- RandomnessPool ----

RandomnessPool::RandomnessPool(PaillierPublicKey pk, WorkerPool& workers)
    : make_([pk = std::move(pk)](BN_CTX* ctx) { return pk.FreshRandomness(ctx); }),
      workers_(workers) {}

RandomnessPool::RandomnessPool(const PaillierPrivateKey& key, WorkerPool& workers)
    : make_([&key](BN_CTX* ctx) { return key.DjnRandomness(ctx); }), workers_(workers) {}

absl::Status RandomnessPool::Fill(size_t count) {
  auto batch = Batch::Start(workers_, count, static_cast<size_t>(workers_.size()) * 4, 1,
                            [this](size_t begin, size_t end) {
                              BnCtx ctx = NewBnCtx();
                              std::vector<Bn> local;
                              local.reserve(end - begin);
                              for (size_t i = begin; i < end; ++i) {
                                local.push_back(make_(ctx.get()));
                              }
                              std::lock_guard<std::mutex> lock(mu_);
                              for (Bn& b : local) values_.push_back(std::move(b));
                              return absl::OkStatus();
                            });
  return batch->Wait();
}

Bn RandomnessPool::Take(BN_CTX* ctx) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!values_.empty()) {
      Bn b = std::move(values_.back());
      values_.pop_back();
      return b;
    }
    ++misses_;
  }
  return make_(ctx);
}

size_t RandomnessPool::available() const {
  std::lock_guard<std::mutex> lock(mu_);
  return values_.size();
}

uint64_t RandomnessPool::misses() const {
  std::lock_guard<std::mutex> lock(mu_);
  return misses_;
}

}  // namespace tds::compute::fl
