// Ed25519 verification: field and group arithmetic, Straus multi-scalar multiplication, the
// randomized batch equation and the two process-wide caches. See ed25519.h for the predicate.
//
// Layers, bottom up:
//   Fe        field elements mod p = 2^255 - 19 in radix 2^51 (5 x 64-bit limbs, 128-bit products)
//   P2/P3/... points on -x^2 + y^2 = 1 + d x^2 y^2 in the representations of [HWCD08] as ref10
//             names them: P2 projective (X:Y:Z), P3 extended (X:Y:Z:T) with T = XY/Z, P1P1
//             "completed" ((X:Z),(Y:T)) as produced by an addition or doubling, Cached
//             (Y+X, Y-X, Z, 2dT) for a point added many times, Precomp its affine form (Z = 1).
//   Wnaf      signed-digit recoding of scalars for the variable-time multiplications
//   CheckOne  the single equation [8]([S]B - R - [h]A) == 0 (one joint double-and-add)
//   CheckBatch the randomized batch equation (Straus over all terms, shared doublings)
//
// [HWCD08] Hisil, Wong, Carter, Dawson: Twisted Edwards Curves Revisited (ASIACRYPT 2008).

#include "common/ed25519.h"

#include <sodium.h>

#include <array>
#include <bit>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "common/bytes.h"
#include "common/sha256.h"

namespace tds::ed25519 {
namespace {

static_assert(std::endian::native == std::endian::little, "limb loads assume little endian");

using internal::Fe;
using u128 = unsigned __int128;

// ---------------------------------------------------------------------------------------------
// Field arithmetic.
//
// Limb bounds. "Reduced" means every limb < 2^51 + 2^18: the output of Carry, Mul, Square and
// Sub. Add does not carry, so the sum of two reduced elements has limbs < 2^53. Mul and Square
// accept limbs < 2^54 (products stay below 2^128 and the final carry times 19 below 2^64);
// Sub accepts a subtrahend with limbs < 2^53 - 76 (its 4p bias keeps every limb positive).
// Nothing adds two Add results without a Sub, Mul or Square in between.

constexpr uint64_t kMask51 = (uint64_t{1} << 51) - 1;

constexpr Fe kZero = {{0, 0, 0, 0, 0}};
constexpr Fe kOne = {{1, 0, 0, 0, 0}};
// d = -121665/121666, 2d, and sqrt(-1) = 2^((p-1)/4), computed from these definitions (a wrong
// limb breaks every test vector; FieldConstants in ed25519_test.cc checks them directly).
constexpr Fe kD = {
    {0x34dca135978a3, 0x1a8283b156ebd, 0x5e7a26001c029, 0x739c663a03cbb, 0x52036cee2b6ff}};
constexpr Fe kD2 = {
    {0x69b9426b2f159, 0x35050762add7a, 0x3cf44c0038052, 0x6738cc7407977, 0x2406d9dc56dff}};
constexpr Fe kSqrtM1 = {
    {0x61b274a0ea0b0, 0xd5a5fc8f189d, 0x7ef5e9cbd0c60, 0x78595a6804c9e, 0x2b8324804fc1d}};

inline Fe Carry(Fe a) {
  uint64_t c;
  c = a.v[0] >> 51, a.v[0] &= kMask51, a.v[1] += c;
  c = a.v[1] >> 51, a.v[1] &= kMask51, a.v[2] += c;
  c = a.v[2] >> 51, a.v[2] &= kMask51, a.v[3] += c;
  c = a.v[3] >> 51, a.v[3] &= kMask51, a.v[4] += c;
  c = a.v[4] >> 51, a.v[4] &= kMask51, a.v[0] += 19 * c;  // 2^255 = 19 (mod p)
  return a;
}

inline Fe Add(const Fe& a, const Fe& b) {
  return {{a.v[0] + b.v[0], a.v[1] + b.v[1], a.v[2] + b.v[2], a.v[3] + b.v[3], a.v[4] + b.v[4]}};
}

inline Fe Sub(const Fe& a, const Fe& b) {
  // a + 4p - b, limb by limb (4p = 0x1FFFFFFFFFFFB4 + sum 0x1FFFFFFFFFFFFC 2^(51 i)).
  constexpr uint64_t k4p0 = 0x1FFFFFFFFFFFB4, k4p = 0x1FFFFFFFFFFFFC;
  return Carry({{a.v[0] + k4p0 - b.v[0], a.v[1] + k4p - b.v[1], a.v[2] + k4p - b.v[2],
                 a.v[3] + k4p - b.v[3], a.v[4] + k4p - b.v[4]}});
}

inline Fe Neg(const Fe& a) { return Sub(kZero, a); }

// Carries five 128-bit column sums into a reduced element.
inline Fe CarryWide(u128 r0, u128 r1, u128 r2, u128 r3, u128 r4) {
  Fe h;
  r1 += static_cast<uint64_t>(r0 >> 51);
  h.v[0] = static_cast<uint64_t>(r0) & kMask51;
  r2 += static_cast<uint64_t>(r1 >> 51);
  h.v[1] = static_cast<uint64_t>(r1) & kMask51;
  r3 += static_cast<uint64_t>(r2 >> 51);
  h.v[2] = static_cast<uint64_t>(r2) & kMask51;
  r4 += static_cast<uint64_t>(r3 >> 51);
  h.v[3] = static_cast<uint64_t>(r3) & kMask51;
  const uint64_t c = static_cast<uint64_t>(r4 >> 51);
  h.v[4] = static_cast<uint64_t>(r4) & kMask51;
  h.v[0] += 19 * c;
  h.v[1] += h.v[0] >> 51;
  h.v[0] &= kMask51;
  return h;
}

inline u128 M(uint64_t a, uint64_t b) { return static_cast<u128>(a) * b; }

[[gnu::always_inline]] inline Fe Mul(const Fe& a, const Fe& b) {
  // Column i + j >= 5 wraps to column i + j - 5 with factor 19.
  const uint64_t b1 = 19 * b.v[1], b2 = 19 * b.v[2], b3 = 19 * b.v[3], b4 = 19 * b.v[4];
  const u128 r0 = M(a.v[0], b.v[0]) + M(a.v[1], b4) + M(a.v[2], b3) + M(a.v[3], b2) + M(a.v[4], b1);
  const u128 r1 =
      M(a.v[0], b.v[1]) + M(a.v[1], b.v[0]) + M(a.v[2], b4) + M(a.v[3], b3) + M(a.v[4], b2);
  const u128 r2 =
      M(a.v[0], b.v[2]) + M(a.v[1], b.v[1]) + M(a.v[2], b.v[0]) + M(a.v[3], b4) + M(a.v[4], b3);
  const u128 r3 =
      M(a.v[0], b.v[3]) + M(a.v[1], b.v[2]) + M(a.v[2], b.v[1]) + M(a.v[3], b.v[0]) + M(a.v[4], b4);
  const u128 r4 = M(a.v[0], b.v[4]) + M(a.v[1], b.v[3]) + M(a.v[2], b.v[2]) + M(a.v[3], b.v[1]) +
                  M(a.v[4], b.v[0]);
  return CarryWide(r0, r1, r2, r3, r4);
}

[[gnu::always_inline]] inline Fe Square(const Fe& a) {
  const uint64_t a0x2 = 2 * a.v[0], a1x2 = 2 * a.v[1], a2x2 = 2 * a.v[2];
  const uint64_t a3x19 = 19 * a.v[3], a4x19 = 19 * a.v[4];
  const u128 r0 = M(a.v[0], a.v[0]) + M(a1x2, a4x19) + M(a2x2, a3x19);
  const u128 r1 = M(a0x2, a.v[1]) + M(a2x2, a4x19) + M(a.v[3], a3x19);
  const u128 r2 = M(a0x2, a.v[2]) + M(a.v[1], a.v[1]) + M(2 * a.v[3], a4x19);
  const u128 r3 = M(a0x2, a.v[3]) + M(a1x2, a.v[2]) + M(a.v[4], a4x19);
  const u128 r4 = M(a0x2, a.v[4]) + M(a1x2, a.v[3]) + M(a.v[2], a.v[2]);
  return CarryWide(r0, r1, r2, r3, r4);
}

inline Fe SquareTimes(Fe a, int n) {
  for (int i = 0; i < n; ++i) a = Square(a);
  return a;
}

// Returns z^(2^250 - 1) and sets *z11 = z^11 (the shared prefix of Invert and Pow22523).
Fe Pow2250(const Fe& z, Fe* z11) {
  const Fe z2 = Square(z);
  const Fe z9 = Mul(SquareTimes(z2, 2), z);
  *z11 = Mul(z9, z2);
  const Fe z_5_0 = Mul(Square(*z11), z9);  // z^(2^5 - 1)
  const Fe z_10_0 = Mul(SquareTimes(z_5_0, 5), z_5_0);
  const Fe z_20_0 = Mul(SquareTimes(z_10_0, 10), z_10_0);
  const Fe z_40_0 = Mul(SquareTimes(z_20_0, 20), z_20_0);
  const Fe z_50_0 = Mul(SquareTimes(z_40_0, 10), z_10_0);
  const Fe z_100_0 = Mul(SquareTimes(z_50_0, 50), z_50_0);
  const Fe z_200_0 = Mul(SquareTimes(z_100_0, 100), z_100_0);
  return Mul(SquareTimes(z_200_0, 50), z_50_0);  // z^(2^250 - 1)
}

// z^(p - 2) = z^(2^255 - 21).
Fe Invert(const Fe& z) {
  Fe z11;
  const Fe t = Pow2250(z, &z11);
  return Mul(SquareTimes(t, 5), z11);
}

// z^((p - 5) / 8) = z^(2^252 - 3).
Fe Pow22523(const Fe& z) {
  Fe z11;
  const Fe t = Pow2250(z, &z11);
  return Mul(SquareTimes(t, 2), z);
}

inline uint64_t Load64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

inline void Store64(uint8_t* p, uint64_t v) { std::memcpy(p, &v, 8); }

// The low 255 bits of `in` (the top bit is the caller's: a sign, or ignored).
Fe FromBytes(const uint8_t in[32]) {
  const uint64_t w0 = Load64(in), w1 = Load64(in + 8), w2 = Load64(in + 16), w3 = Load64(in + 24);
  return {{w0 & kMask51, ((w0 >> 51) | (w1 << 13)) & kMask51, ((w1 >> 38) | (w2 << 26)) & kMask51,
           ((w2 >> 25) | (w3 << 39)) & kMask51, (w3 >> 12) & kMask51}};
}

// The canonical encoding: the unique representative in [0, p), little endian.
void ToBytes(uint8_t out[32], const Fe& f) {
  // Two carry passes leave limbs 1..4 < 2^51 and limb 0 < 2^51 + 19: the value is < 2p.
  Fe t = Carry(Carry(f));
  // q = 1 iff t >= p, i.e. iff t + 19 carries out of bit 255.
  uint64_t q = (t.v[0] + 19) >> 51;
  q = (t.v[1] + q) >> 51;
  q = (t.v[2] + q) >> 51;
  q = (t.v[3] + q) >> 51;
  q = (t.v[4] + q) >> 51;
  // t - q p = t + 19 q - q 2^255: add 19 q, carry, and drop bit 255.
  t.v[0] += 19 * q;
  t.v[1] += t.v[0] >> 51, t.v[0] &= kMask51;
  t.v[2] += t.v[1] >> 51, t.v[1] &= kMask51;
  t.v[3] += t.v[2] >> 51, t.v[2] &= kMask51;
  t.v[4] += t.v[3] >> 51, t.v[3] &= kMask51;
  t.v[4] &= kMask51;
  Store64(out, t.v[0] | (t.v[1] << 51));
  Store64(out + 8, (t.v[1] >> 13) | (t.v[2] << 38));
  Store64(out + 16, (t.v[2] >> 26) | (t.v[3] << 25));
  Store64(out + 24, (t.v[3] >> 39) | (t.v[4] << 12));
}

bool IsZero(const Fe& f) {
  uint8_t b[32];
  ToBytes(b, f);
  uint8_t acc = 0;
  for (uint8_t x : b) acc |= x;
  return acc == 0;
}

bool Equal(const Fe& a, const Fe& b) { return IsZero(Sub(a, b)); }

// The sign of RFC 8032: the least significant bit of the canonical encoding.
bool IsNegative(const Fe& f) {
  uint8_t b[32];
  ToBytes(b, f);
  return (b[0] & 1) != 0;
}

// y < p for the low 255 bits of `in`. p = 2^255 - 19 is ed ff .. ff 7f little endian, so y >= p
// only if bytes 1..30 are ff, byte 31 (sign masked) is 7f and byte 0 >= ed.
bool IsCanonicalFieldEncoding(const uint8_t in[32]) {
  if ((in[31] & 0x7f) != 0x7f || in[0] < 0xed) return true;
  for (int i = 1; i < 31; ++i) {
    if (in[i] != 0xff) return true;
  }
  return false;
}

// RFC 8032 5.1.3 step 3: x = u v^3 (u v^7)^((p-5)/8); fixed by sqrt(-1) if v x^2 = -u.
bool SqrtRatio(Fe* x, const Fe& u, const Fe& v) {
  const Fe v3 = Mul(Square(v), v);
  const Fe v7 = Mul(Square(v3), v);
  Fe r = Mul(Mul(u, v3), Pow22523(Mul(u, v7)));
  const Fe check = Mul(v, Square(r));
  if (Equal(check, u)) {
    *x = r;
    return true;
  }
  if (IsZero(Add(check, u))) {
    *x = Mul(r, kSqrtM1);
    return true;
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// Points.

struct P2 {
  Fe X, Y, Z;
};
struct P3 {
  Fe X, Y, Z, T;
};
struct P1P1 {  // x = X/Z, y = Y/T
  Fe X, Y, Z, T;
};
struct Cached {
  Fe YplusX, YminusX, Z, T2d;
};
struct Precomp {  // affine Cached: Z = 1
  Fe yplusx, yminusx, xy2d;
};

constexpr P2 kIdentityP2 = {kZero, kOne, kOne};
constexpr P3 kIdentityP3 = {kZero, kOne, kOne, kZero};

inline P2 ToP2(const P1P1& p) { return {Mul(p.X, p.T), Mul(p.Y, p.Z), Mul(p.Z, p.T)}; }
inline P2 ToP2(const P3& p) { return {p.X, p.Y, p.Z}; }
inline P3 ToP3(const P1P1& p) {
  return {Mul(p.X, p.T), Mul(p.Y, p.Z), Mul(p.Z, p.T), Mul(p.X, p.Y)};
}
inline Cached ToCached(const P3& p) { return {Add(p.Y, p.X), Sub(p.Y, p.X), p.Z, Mul(p.T, kD2)}; }

// 2p for a = -1: X = 2XY, Y = Y^2 + X^2, Z = Y^2 - X^2, T = 2Z^2 - (Y^2 - X^2).
inline P1P1 Dbl(const P2& p) {
  const Fe xx = Square(p.X), yy = Square(p.Y);
  const Fe zz = Square(p.Z);
  const Fe zz2 = Add(zz, zz);
  const Fe yy_plus_xx = Add(yy, xx);
  const Fe yy_minus_xx = Sub(yy, xx);
  return {Sub(Square(Add(p.X, p.Y)), yy_plus_xx), yy_plus_xx, yy_minus_xx, Sub(zz2, yy_minus_xx)};
}

// p + q, [HWCD08] 3.1 with k = 2d.
inline P1P1 AddC(const P3& p, const Cached& q) {
  const Fe a = Mul(Add(p.Y, p.X), q.YplusX);
  const Fe b = Mul(Sub(p.Y, p.X), q.YminusX);
  const Fe c = Mul(q.T2d, p.T);
  const Fe zz = Mul(p.Z, q.Z);
  const Fe d = Add(zz, zz);
  return {Sub(a, b), Add(a, b), Add(d, c), Sub(d, c)};
}

// p - q: q negated is (Y-X, Y+X, Z, -2dT).
inline P1P1 SubC(const P3& p, const Cached& q) {
  const Fe a = Mul(Add(p.Y, p.X), q.YminusX);
  const Fe b = Mul(Sub(p.Y, p.X), q.YplusX);
  const Fe c = Mul(q.T2d, p.T);
  const Fe zz = Mul(p.Z, q.Z);
  const Fe d = Add(zz, zz);
  return {Sub(a, b), Add(a, b), Sub(d, c), Add(d, c)};
}

inline P1P1 AddP(const P3& p, const Precomp& q) {
  const Fe a = Mul(Add(p.Y, p.X), q.yplusx);
  const Fe b = Mul(Sub(p.Y, p.X), q.yminusx);
  const Fe c = Mul(q.xy2d, p.T);
  const Fe d = Add(p.Z, p.Z);
  return {Sub(a, b), Add(a, b), Add(d, c), Sub(d, c)};
}

inline P1P1 SubP(const P3& p, const Precomp& q) {
  const Fe a = Mul(Add(p.Y, p.X), q.yminusx);
  const Fe b = Mul(Sub(p.Y, p.X), q.yplusx);
  const Fe c = Mul(q.xy2d, p.T);
  const Fe d = Add(p.Z, p.Z);
  return {Sub(a, b), Add(a, b), Sub(d, c), Add(d, c)};
}

// True iff [8]p is the identity, i.e. p is of small order (lies in the torsion subgroup).
bool IsTorsion(const P3& p) {
  P2 r = ToP2(p);
  for (int i = 0; i < 3; ++i) r = ToP2(Dbl(r));
  return IsZero(r.X) && Equal(r.Y, r.Z);
}

// RFC 8032 5.1.3, refusing y >= p and x = 0 with the sign bit set.
bool Decompress(P3* out, const uint8_t in[32]) {
  if (!IsCanonicalFieldEncoding(in)) return false;
  const Fe y = FromBytes(in);
  const Fe yy = Square(y);
  const Fe u = Sub(yy, kOne);
  const Fe v = Add(Mul(yy, kD), kOne);
  Fe x;
  if (!SqrtRatio(&x, u, v)) return false;
  const bool sign = (in[31] >> 7) != 0;
  if (IsZero(x) && sign) return false;
  if (IsNegative(x) != sign) x = Neg(x);
  *out = {x, y, kOne, Mul(x, y)};
  return true;
}

void Compress(uint8_t out[32], const P3& p) {
  const Fe zinv = Invert(p.Z);
  const Fe x = Mul(p.X, zinv);
  ToBytes(out, Mul(p.Y, zinv));
  out[31] |= static_cast<uint8_t>(IsNegative(x)) << 7;
}

// table[i] = (2i + 1) p for i < n.
void OddMultiples(const P3& p, Cached* table, int n) {
  table[0] = ToCached(p);
  const Cached p2 = ToCached(ToP3(Dbl(ToP2(p))));
  P3 cur = p;
  for (int i = 1; i < n; ++i) {
    cur = ToP3(AddC(cur, p2));
    table[i] = ToCached(cur);
  }
}

// ---------------------------------------------------------------------------------------------
// Scalars.

// Width-w NAF of a little-endian scalar: digits[i] is zero or odd with |digits[i]| < 2^(w-1),
// at most one of any w consecutive digits is non-zero, and sum digits[i] 2^i = s.
// REQUIRES: 2 <= w <= 8 and s < 2^253 (every scalar mod L and every z_i), so the last carry
// lands at bit 253 at most.
void Wnaf(int8_t digits[256], const uint8_t s[32], int w) {
  const uint64_t k[5] = {Load64(s), Load64(s + 8), Load64(s + 16), Load64(s + 24), 0};
  const uint64_t width = uint64_t{1} << w, mask = width - 1;
  std::memset(digits, 0, 256);
  uint64_t carry = 0;
  int pos = 0;
  while (pos < 256) {
    const int idx = pos / 64, off = pos % 64;
    uint64_t bits = k[idx] >> off;
    if (off + w > 64) bits |= k[idx + 1] << (64 - off);
    const uint64_t x = (bits & mask) + carry;
    if ((x & 1) == 0) {  // this bit plus the carry is even: digit 0, the carry moves on
      ++pos;
      continue;
    }
    if (x < width / 2) {
      digits[pos] = static_cast<int8_t>(x);
      carry = 0;
    } else {
      digits[pos] = static_cast<int8_t>(static_cast<int64_t>(x) - static_cast<int64_t>(width));
      carry = 1;
    }
    pos += w;
  }
}

// L = 2^252 + 27742317777372353535851937790883648493, little endian.
constexpr uint8_t kL[32] = {0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7,
                            0xa2, 0xde, 0xf9, 0xde, 0x14, 0,    0,    0,    0,    0,    0,
                            0,    0,    0,    0,    0,    0,    0,    0,    0,    0x10};

bool IsCanonicalScalar(const uint8_t s[32]) {
  for (int i = 31; i >= 0; --i) {
    if (s[i] != kL[i]) return s[i] < kL[i];
  }
  return false;  // s == L
}

// ---------------------------------------------------------------------------------------------
// Base point table and caches.

constexpr int kBaseWindow = 8;                            // wNAF width for [S]B
constexpr int kBaseTableSize = 1 << (kBaseWindow - 2);    // odd multiples 1B .. 127B
constexpr int kPointWindow = 5;                           // wNAF width for A and R terms
constexpr int kPointTableSize = 1 << (kPointWindow - 2);  // 1P .. 15P

// B = (x, 4/5) with x even, encoded as 0x58 followed by 31 bytes 0x66.
const Precomp* BaseTable() {
  static const Precomp* const table = [] {
    uint8_t enc[32];
    std::memset(enc, 0x66, sizeof enc);
    enc[0] = 0x58;
    P3 b;
    if (!Decompress(&b, enc)) {
      std::fprintf(stderr, "tds: ed25519 base point does not decode\n");
      std::abort();
    }
    const Cached b2 = ToCached(ToP3(Dbl(ToP2(b))));
    auto* t = new Precomp[kBaseTableSize];  // lives for the process
    P3 cur = b;
    for (int i = 0; i < kBaseTableSize; ++i) {
      if (i > 0) cur = ToP3(AddC(cur, b2));  // (2i + 1) B
      const Fe zinv = Invert(cur.Z);
      const Fe x = Mul(cur.X, zinv), y = Mul(cur.Y, zinv);
      t[i] = {Carry(Add(y, x)), Sub(y, x), Mul(Mul(x, y), kD2)};
    }
    return t;
  }();
  return table;
}

void EnsureSodium() {
  static const bool ok = sodium_init() >= 0;
  if (!ok) {
    std::fprintf(stderr, "tds: sodium_init() failed\n");
    std::abort();
  }
}

using Bytes32 = std::array<uint8_t, 32>;

Bytes32 ToArray(std::string_view s) {  // REQUIRES: s.size() == 32
  Bytes32 a;
  std::memcpy(a.data(), s.data(), 32);
  return a;
}

// A public key decompressed once, with its odd multiples for the wNAF.
struct KeyEntry {
  bool valid = false;  // canonical, on the curve and not of small order
  P3 point;
  Cached table[kPointTableSize];
};

// Bounded map from encoding to KeyEntry; the oldest entry is evicted first. Entries are
// immutable and shared, so a caller keeps using one after its eviction.
class KeyCache {
 public:
  static constexpr size_t kCapacity = 1024;

  std::shared_ptr<const KeyEntry> Get(const Bytes32& key) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = map_.find(key);
      if (it != map_.end()) return it->second;
    }
    auto entry = std::make_shared<KeyEntry>();
    entry->valid = Decompress(&entry->point, key.data()) && !IsTorsion(entry->point);
    if (entry->valid) OddMultiples(entry->point, entry->table, kPointTableSize);
    std::lock_guard<std::mutex> lock(mu_);
    auto [it, inserted] = map_.emplace(key, std::move(entry));
    if (inserted) {
      order_.push_back(key);
      if (order_.size() > kCapacity) {
        map_.erase(order_.front());
        order_.pop_front();
      }
    }
    return it->second;
  }

  void Clear() {
    std::lock_guard<std::mutex> lock(mu_);
    map_.clear();
    order_.clear();
  }

 private:
  std::mutex mu_;
  absl::flat_hash_map<Bytes32, std::shared_ptr<const KeyEntry>> map_;  // guarded by mu_
  std::deque<Bytes32> order_;                                          // guarded by mu_
};

KeyCache& Keys() {
  static KeyCache* const cache = new KeyCache();
  return *cache;
}

// Signatures known to be valid, keyed by SignatureCacheKey; sharded by the key's first byte.
class SignatureCache {
 public:
  static constexpr size_t kShards = 16;
  static constexpr size_t kCapacityPerShard = 65536 / kShards;

  bool Contains(const Hash& key) {
    Shard& s = shards_[key[0] % kShards];
    std::lock_guard<std::mutex> lock(s.mu);
    return s.set.contains(key);
  }

  void Insert(const Hash& key) {
    Shard& s = shards_[key[0] % kShards];
    std::lock_guard<std::mutex> lock(s.mu);
    if (!s.set.insert(key).second) return;
    s.order.push_back(key);
    if (s.order.size() > kCapacityPerShard) {
      s.set.erase(s.order.front());
      s.order.pop_front();
    }
  }

  void Clear() {
    for (Shard& s : shards_) {
      std::lock_guard<std::mutex> lock(s.mu);
      s.set.clear();
      s.order.clear();
    }
  }

 private:
  struct Shard {
    std::mutex mu;
    absl::flat_hash_set<Hash> set;  // guarded by mu
    std::deque<Hash> order;         // guarded by mu; insertion order, for eviction
  };
  Shard shards_[kShards];
};

SignatureCache& Signatures() {
  static SignatureCache* const cache = new SignatureCache();
  return *cache;
}

bool SizesOk(const Item& item) {
  return item.public_key.size() == 32 && item.signature.size() == 64;
}

// SHA-256(public_key || signature || SHA-256(message)). REQUIRES: SizesOk(item).
Hash SignatureCacheKey(const Item& item) {
  const Hash message_hash = Sha256(item.message);
  Sha256Hasher h;
  h.Update(item.public_key).Update(item.signature).Update(AsBytes(message_hash));
  return h.Finish();
}

// ---------------------------------------------------------------------------------------------
// Verification.

const uint8_t* U8(std::string_view s) { return reinterpret_cast<const uint8_t*>(s.data()); }

// An item that passed every check but the equation, with its parsed parts.
struct Prepared {
  size_t index = 0;  // in the caller's item vector
  std::shared_ptr<const KeyEntry> key;
  P3 r;
  uint8_t s[32];
  uint8_t h[32];  // SHA-512(R || A || M) mod L
};

// Rules 1-4 of the predicate; fills everything the equation needs.
bool Prepare(const Item& item, Prepared* p) {
  if (!SizesOk(item)) return false;
  const uint8_t* sig = U8(item.signature);
  if (!IsCanonicalScalar(sig + 32)) return false;
  p->key = Keys().Get(ToArray(item.public_key));
  if (!p->key->valid) return false;
  if (!Decompress(&p->r, sig)) return false;
  std::memcpy(p->s, sig + 32, 32);
  crypto_hash_sha512_state st;
  crypto_hash_sha512_init(&st);
  crypto_hash_sha512_update(&st, sig, 32);
  crypto_hash_sha512_update(&st, U8(item.public_key), 32);
  crypto_hash_sha512_update(&st, U8(item.message), item.message.size());
  uint8_t digest[64];
  crypto_hash_sha512_final(&st, digest);
  crypto_core_ed25519_scalar_reduce(p->h, digest);
  return true;
}

// One step of a Straus loop for a subtracted term: t <- t - digit * P, table = OddMultiples(P).
inline void SubDigit(P1P1* t, int digit, const Cached* table) {
  const P3 u = ToP3(*t);
  *t = digit > 0 ? SubC(u, table[digit >> 1]) : AddC(u, table[(-digit) >> 1]);
}

// t <- t + digit * B.
inline void AddBaseDigit(P1P1* t, int digit, const Precomp* table) {
  const P3 u = ToP3(*t);
  *t = digit > 0 ? AddP(u, table[digit >> 1]) : SubP(u, table[(-digit) >> 1]);
}

// Rule 5 for one item: [8]([S]B - [h]A - R) == identity, by one joint double-and-add.
bool CheckOne(const Prepared& p) {
  int8_t s_naf[256], h_naf[256];
  Wnaf(s_naf, p.s, kBaseWindow);
  Wnaf(h_naf, p.h, kPointWindow);
  const Precomp* base = BaseTable();
  int top = 255;
  while (top >= 0 && s_naf[top] == 0 && h_naf[top] == 0) --top;
  P3 acc = kIdentityP3;
  if (top >= 0) {
    P2 r = kIdentityP2;
    P1P1 t;
    for (int i = top; i >= 0; --i) {
      t = Dbl(r);
      if (h_naf[i] != 0) SubDigit(&t, h_naf[i], p.key->table);
      if (s_naf[i] != 0) AddBaseDigit(&t, s_naf[i], base);
      if (i > 0) r = ToP2(t);
    }
    acc = ToP3(t);
  }
  return IsTorsion(ToP3(SubC(acc, ToCached(p.r))));
}

// Rule 5 for all items at once, randomized (see VerifyBatch in the header). Items sharing a
// KeyEntry share its term.
bool CheckBatch(Prepared* const* items, size_t n) {
  std::vector<uint8_t> z(16 * n);
  randombytes_buf(z.data(), z.size());

  // Scalars: sum z_i S_i for B; sum z_i h_i per key; z_i per R.
  uint8_t b_scalar[32] = {0};
  absl::flat_hash_map<const KeyEntry*, size_t> key_index;
  std::vector<const KeyEntry*> keys;
  std::vector<Bytes32> key_scalars;
  for (size_t i = 0; i < n; ++i) {
    uint8_t zi[32] = {0}, t[32];
    std::memcpy(zi, &z[16 * i], 16);
    crypto_core_ed25519_scalar_mul(t, zi, items[i]->s);
    crypto_core_ed25519_scalar_add(b_scalar, b_scalar, t);
    auto [it, inserted] = key_index.emplace(items[i]->key.get(), keys.size());
    if (inserted) {
      keys.push_back(items[i]->key.get());
      key_scalars.push_back(Bytes32{});
    }
    crypto_core_ed25519_scalar_mul(t, zi, items[i]->h);
    crypto_core_ed25519_scalar_add(key_scalars[it->second].data(), key_scalars[it->second].data(),
                                   t);
  }

  // Terms to subtract: each A_k (table from the key cache) and each R_i (table built here),
  // with the wNAF digits of its scalar. The digits are then bucketed by bit position, so the
  // double-and-add loop visits only the non-zero ones (about 1 in 6 per term).
  std::vector<const Cached*> tables(keys.size() + n);
  std::vector<std::array<Cached, kPointTableSize>> r_tables(n);
  std::vector<std::array<int8_t, 256>> nafs(keys.size() + n);
  for (size_t k = 0; k < keys.size(); ++k) {
    tables[k] = keys[k]->table;
    Wnaf(nafs[k].data(), key_scalars[k].data(), kPointWindow);
  }
  for (size_t i = 0; i < n; ++i) {
    uint8_t zi[32] = {0};
    std::memcpy(zi, &z[16 * i], 16);
    OddMultiples(items[i]->r, r_tables[i].data(), kPointTableSize);
    tables[keys.size() + i] = r_tables[i].data();
    Wnaf(nafs[keys.size() + i].data(), zi, kPointWindow);
  }
  struct Op {
    uint32_t term;
    int32_t digit;
  };
  std::vector<uint32_t> begin(257, 0);  // ops at bit i: ops[begin[i] .. begin[i + 1])
  for (const auto& naf : nafs) {
    for (int i = 0; i < 256; ++i) begin[i + 1] += naf[i] != 0;
  }
  for (int i = 0; i < 256; ++i) begin[i + 1] += begin[i];
  std::vector<Op> ops(begin[256]);
  {
    std::vector<uint32_t> fill(begin.begin(), begin.end() - 1);
    for (uint32_t term = 0; term < nafs.size(); ++term) {
      for (int i = 0; i < 256; ++i) {
        if (nafs[term][i] != 0) ops[fill[i]++] = {term, nafs[term][i]};
      }
    }
  }
  int8_t b_naf[256];
  Wnaf(b_naf, b_scalar, kBaseWindow);

  // Straus: one shared doubling chain, each term adding its digit's multiple.
  int top = 255;
  while (top >= 0 && b_naf[top] == 0 && begin[top] == begin[top + 1]) --top;
  if (top < 0) return false;  // every scalar zero (never in practice): settle item by item
  const Precomp* base = BaseTable();
  P2 r = kIdentityP2;
  P1P1 t;
  for (int i = top; i >= 0; --i) {
    t = Dbl(r);
    if (b_naf[i] != 0) AddBaseDigit(&t, b_naf[i], base);
    for (uint32_t o = begin[i]; o < begin[i + 1]; ++o) {
      SubDigit(&t, ops[o].digit, tables[ops[o].term]);
    }
    r = ToP2(t);
  }
  return IsTorsion(ToP3(t));
}

// Below this many items a failed batch is settled item by item.
constexpr size_t kSingleBelow = 4;

// Sets valid[items[i]->index] for every item: true iff it satisfies rule 5.
void CheckRecursive(Prepared* const* items, size_t n, std::vector<bool>* valid) {
  if (n < kSingleBelow) {
    for (size_t i = 0; i < n; ++i) (*valid)[items[i]->index] = CheckOne(*items[i]);
    return;
  }
  if (CheckBatch(items, n)) {
    for (size_t i = 0; i < n; ++i) (*valid)[items[i]->index] = true;
    return;
  }
  CheckRecursive(items, n / 2, valid);
  CheckRecursive(items + n / 2, n - n / 2, valid);
}

}  // namespace

bool Verify(const Item& item) {
  EnsureSodium();
  Prepared p;
  return Prepare(item, &p) && CheckOne(p);
}

bool VerifyCached(const Item& item) {
  if (!SizesOk(item)) return false;
  const Hash key = SignatureCacheKey(item);
  if (Signatures().Contains(key)) return true;
  if (!Verify(item)) return false;
  Signatures().Insert(key);
  return true;
}

std::vector<bool> VerifyBatch(const std::vector<Item>& items) {
  EnsureSodium();
  std::vector<bool> valid(items.size(), false);
  std::vector<Hash> cache_keys(items.size());
  std::vector<Prepared> prepared;
  prepared.reserve(items.size());
  for (size_t i = 0; i < items.size(); ++i) {
    if (!SizesOk(items[i])) continue;
    cache_keys[i] = SignatureCacheKey(items[i]);
    if (Signatures().Contains(cache_keys[i])) {
      valid[i] = true;
      continue;
    }
    prepared.emplace_back();
    if (!Prepare(items[i], &prepared.back())) {
      prepared.pop_back();
      continue;
    }
    prepared.back().index = i;
  }
  std::vector<Prepared*> ptrs;
  ptrs.reserve(prepared.size());
  for (Prepared& p : prepared) ptrs.push_back(&p);
  if (ptrs.size() == 1) {
    valid[ptrs[0]->index] = CheckOne(*ptrs[0]);
  } else {
    CheckRecursive(ptrs.data(), ptrs.size(), &valid);
  }
  for (const Prepared& p : prepared) {
    if (valid[p.index]) Signatures().Insert(cache_keys[p.index]);
  }
  return valid;
}

// ---------------------------------------------------------------------------------------------
// Test hooks.

namespace internal {

Fe FeFromBytes(const uint8_t in[32]) { return FromBytes(in); }
void FeToBytes(uint8_t out[32], const Fe& f) { ToBytes(out, f); }
Fe FeAdd(const Fe& a, const Fe& b) { return Carry(Add(a, b)); }
Fe FeSub(const Fe& a, const Fe& b) { return Sub(a, b); }
Fe FeMul(const Fe& a, const Fe& b) { return Mul(a, b); }
Fe FeSquare(const Fe& a) { return Square(a); }
Fe FeInvert(const Fe& a) { return Invert(a); }
bool FeSqrtRatio(Fe* x, const Fe& u, const Fe& v) { return SqrtRatio(x, u, v); }
Fe CurveD() { return kD; }
Fe CurveD2() { return kD2; }
Fe SqrtM1() { return kSqrtM1; }

bool PointRoundTrip(const uint8_t in[32], uint8_t out[32]) {
  P3 p;
  if (!Decompress(&p, in)) return false;
  Compress(out, p);
  return true;
}

bool IsSmallOrderEncoding(const uint8_t in[32]) {
  P3 p;
  return Decompress(&p, in) && IsTorsion(p);
}

void ClearSignatureCache() { Signatures().Clear(); }
void ClearKeyCache() { Keys().Clear(); }
void ClearCaches() {
  ClearKeyCache();
  ClearSignatureCache();
}

}  // namespace internal
}  // namespace tds::ed25519
