#include "compute/fl/paillier.h"

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

Ciphertext PaillierPublicKey::EncryptWith(const BIGNUM* m, const BIGNUM* rn, BN_CTX* ctx) const {
  Ciphertext c = EncryptDeterministic(m, ctx);
  Check(BN_mod_mul(c.c.get(), c.c.get(), rn, n_squared(), ctx));
  return c;
}

Ciphertext PaillierPublicKey::EncryptDeterministic(const BIGNUM* m, BN_CTX* ctx) const {
  // 1 + m n < n^2 for m < n, so no reduction is needed.
  Ciphertext c{NewBn()};
  Check(BN_mul(c.c.get(), m, n(), ctx));
  Check(BN_add_word(c.c.get(), 1));
  return c;
}

Ciphertext PaillierPublicKey::Add(const Ciphertext& a, const Ciphertext& b, BN_CTX* ctx) const {
  Ciphertext c{NewBn()};
  Check(BN_mod_mul(c.c.get(), a.c.get(), b.c.get(), n_squared(), ctx));
  return c;
}

Ciphertext PaillierPublicKey::AddPlain(const Ciphertext& a, const BIGNUM* m, BN_CTX* ctx) const {
  Ciphertext c = EncryptDeterministic(m, ctx);
  Check(BN_mod_mul(c.c.get(), c.c.get(), a.c.get(), n_squared(), ctx));
  return c;
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

Bn PaillierPublicKey::ToMontgomery(const Ciphertext& a, BN_CTX* ctx) const {
  Bn m = NewBn();
  Check(BN_to_montgomery(m.get(), a.c.get(), Mut(s_->mont.get()), ctx));
  return m;
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

Ciphertext PaillierPublicKey::LinearCombination(const std::vector<Bn>& mont,
                                                const std::vector<int64_t>& ks, BN_CTX* ctx) const {
  std::vector<const BIGNUM*> pos_b, neg_b;
  std::vector<uint64_t> pos_e, neg_e;
  for (size_t i = 0; i < mont.size(); ++i) {
    if (ks[i] > 0) {
      pos_b.push_back(mont[i].get());
      pos_e.push_back(static_cast<uint64_t>(ks[i]));
    } else if (ks[i] < 0) {
      neg_b.push_back(mont[i].get());
      neg_e.push_back(0 - static_cast<uint64_t>(ks[i]));
    }
  }
  BN_MONT_CTX* m = Mut(s_->mont.get());
  Bn pos = MultiExp(pos_b, pos_e, m, ctx);
  Bn neg = MultiExp(neg_b, neg_e, m, ctx);
  Ciphertext out{NewBn()};
  Check(BN_one(out.c.get()));
  if (pos) Check(BN_from_montgomery(out.c.get(), pos.get(), m, ctx));
  if (neg) {
    Bn n_plain = NewBn();
    Check(BN_from_montgomery(n_plain.get(), neg.get(), m, ctx));
    if (!BN_mod_inverse(n_plain.get(), n_plain.get(), n_squared(), ctx)) std::abort();
    Check(BN_mod_mul(out.c.get(), out.c.get(), n_plain.get(), n_squared(), ctx));
  }
  return out;
}

std::string PaillierPublicKey::SerializeCiphertext(const Ciphertext& c) const {
  std::string out(ciphertext_bytes(), '\0');
  BN_bn2binpad(c.c.get(), reinterpret_cast<unsigned char*>(out.data()),
               static_cast<int>(out.size()));
  return out;
}

absl::StatusOr<Ciphertext> PaillierPublicKey::DeserializeCiphertext(std::string_view bytes,
                                                                    BN_CTX* ctx) const {
  if (bytes.size() != ciphertext_bytes()) {
    return absl::InvalidArgumentError(absl::StrCat("paillier ciphertext: ", bytes.size(),
                                                   " bytes, expected ", ciphertext_bytes()));
  }
  Ciphertext c{Bn(BN_bin2bn(reinterpret_cast<const unsigned char*>(bytes.data()),
                            static_cast<int>(bytes.size()), nullptr))};
  if (!c.c) std::abort();
  if (BN_cmp(c.c.get(), n_squared()) >= 0) {
    return absl::InvalidArgumentError("paillier ciphertext: value >= n^2");
  }
  Bn g = NewBn();
  Check(BN_gcd(g.get(), c.c.get(), n(), ctx));
  if (!BN_is_one(g.get())) {
    return absl::InvalidArgumentError(
        "paillier ciphertext: not a unit of Z_{n^2} (zero or shares a factor with n)");
  }
  return c;
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

// ---- PaillierPrivateKey ----

absl::StatusOr<PaillierPrivateKey> PaillierPrivateKey::Generate(int modulus_bits) {
  if (modulus_bits % 2 != 0 || modulus_bits < kMinModulusBits || modulus_bits > kMaxModulusBits) {
    return absl::InvalidArgumentError(absl::StrCat("paillier: modulus_bits ", modulus_bits,
                                                   " must be even and in ", kMinModulusBits, "..",
                                                   kMaxModulusBits));
  }
  BnCtx ctx = NewBnCtx();
  Bn p = NewBn(), q = NewBn(), n = NewBn(), phi = NewBn(), g = NewBn();
  Bn pm1 = NewBn(), qm1 = NewBn();
  for (;;) {
    // OpenSSL sets the top two bits of each prime, so n has exactly modulus_bits bits.
    Check(BN_generate_prime_ex(p.get(), modulus_bits / 2, 0, nullptr, nullptr, nullptr));
    Check(BN_generate_prime_ex(q.get(), modulus_bits / 2, 0, nullptr, nullptr, nullptr));
    if (BN_cmp(p.get(), q.get()) == 0) continue;
    Check(BN_mul(n.get(), p.get(), q.get(), ctx.get()));
    if (BN_num_bits(n.get()) != modulus_bits) continue;
    Check(BN_sub(pm1.get(), p.get(), BN_value_one()));
    Check(BN_sub(qm1.get(), q.get(), BN_value_one()));
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
  return sk;
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

absl::Status RandomnessPool::Fill(size_t count) {
  auto batch = Batch::Start(workers_, count, static_cast<size_t>(workers_.size()) * 4, 1,
                            [this](size_t begin, size_t end) {
                              BnCtx ctx = NewBnCtx();
                              std::vector<Bn> local;
                              local.reserve(end - begin);
                              for (size_t i = begin; i < end; ++i) {
                                local.push_back(pk_.FreshRandomness(ctx.get()));
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
  return pk_.FreshRandomness(ctx);
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
