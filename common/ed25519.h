#pragma once
// Ed25519 signature verification, single and batched, under one consensus-safe predicate.
//
// Every validator must decide every signature identically, whether it verifies it alone or
// inside a batch. Batch verification can only decide the *cofactored* verification equation,
// so that is the predicate everywhere (ZIP-215 style, but with canonical encodings required).
// A signature (A, M, sig = R || S) is valid iff ALL of:
//   1. |A| = 32, |sig| = 64;
//   2. S < L (no scalar malleability);
//   3. A and R are canonical encodings (y < p; x = 0 with the sign bit set is refused, as in
//      RFC 8032 5.1.3) of points on the curve;
//   4. A is not of small order ([8]A != identity);
//   5. [8]([S]B - R - [h]A) == identity, h = SHA-512(R || A || M) mod L.
//
// Difference from libsodium's crypto_sign_verify_detached, which checks the cofactorless
// equation [S]B == R + [h]A and also refuses small-order R: every honestly produced signature
// passes both. A signer can craft a signature whose R carries a torsion component (R + T, T of
// small order) that this predicate accepts and libsodium refuses. That is harmless here: such a
// signature still proves knowledge of A's secret for M, and transaction ids hash the payload,
// not the signature, so the variant cannot fork or replay anything.
//
// Verification is variable-time: it only ever handles public data.
//
// [BDLSY12] Bernstein, Duif, Lange, Schwabe, Yang: High-speed high-security signatures (2012),
//           section 5 (batch verification).
// [ZIP215]  Zcash ZIP 215: Explicitly Defining and Modifying Ed25519 Validation Rules.

#include <cstdint>
#include <string_view>
#include <vector>

namespace tds::ed25519 {

// One signature; views must stay valid until Verify/VerifyBatch returns.
struct Item {
  std::string_view public_key;  // 32 bytes
  std::string_view message;
  std::string_view signature;  // 64 bytes: R || S
};

// The predicate above, for one signature. Wrong sizes -> false. Thread-safe.
bool Verify(const Item& item);

// Verifies all items; returns one bool per item, equal to Verify(items[i]) (up to a 2^-128
// chance per batch equation that an invalid item is accepted). Items already in the signature
// cache (see VerifyCached) are true without work; malformed items (sizes, encodings, S >= L,
// small-order A) are false up front. The rest are checked by one randomized equation
// [8]([sum z_i S_i]B - sum [z_i]R_i - sum_k [sum_{i: A_i = k} z_i h_i]A_k) == identity with
// random 128-bit z_i, so items sharing a public key share one point term. If it fails, the
// batch is split in halves recursively (single verification below 4 items) to find the invalid
// ones: one invalid item in 256 costs about 3x the all-valid batch; when most items are
// invalid, the cost approaches log2(n/4) batch passes plus one Verify per item. Every item
// found valid is inserted into the signature cache. Thread-safe.
std::vector<bool> VerifyBatch(const std::vector<Item>& items);

// Process-wide cache of signatures known to be valid, keyed by
// SHA-256(public_key || signature || SHA-256(message)); bounded (65,536 entries, oldest evicted
// first) and thread-safe (sharded mutexes). Returns true on a hit without recomputation, else
// Verify(item), inserting the item on success.
bool VerifyCached(const Item& item);

// ---------------------------------------------------------------------------------------------
// Internals exposed for tests and the benchmark only; not an API.
namespace internal {

// A field element mod p = 2^255 - 19, radix 2^51: value = sum v[i] * 2^(51 i).
struct Fe {
  uint64_t v[5];
};
Fe FeFromBytes(const uint8_t in[32]);          // the low 255 bits, unreduced (may be >= p)
void FeToBytes(uint8_t out[32], const Fe& f);  // the canonical encoding (< p)
Fe FeAdd(const Fe& a, const Fe& b);
Fe FeSub(const Fe& a, const Fe& b);
Fe FeMul(const Fe& a, const Fe& b);
Fe FeSquare(const Fe& a);
Fe FeInvert(const Fe& a);  // 1/a; 0 for a = 0
// Sets *x to a square root of u/v and returns true if u/v is a square (v != 0), else false.
bool FeSqrtRatio(Fe* x, const Fe& u, const Fe& v);
// The curve constants d = -121665/121666, 2d and sqrt(-1) = 2^((p-1)/4) as the code has them.
Fe CurveD();
Fe CurveD2();
Fe SqrtM1();

// Decompresses a 32-byte point encoding under rule 3 above and re-encodes it; false if refused.
bool PointRoundTrip(const uint8_t in[32], uint8_t out[32]);
// True iff the encoding decompresses (rule 3) to a point of small order.
bool IsSmallOrderEncoding(const uint8_t in[32]);

// Empty the signature cache / the decompressed-public-key cache / both.
void ClearSignatureCache();
void ClearKeyCache();
void ClearCaches();

}  // namespace internal
}  // namespace tds::ed25519
