#include "common/ed25519.h"

#include <sodium.h>

#include <algorithm>
#include <cstring>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/bytes.h"
#include "gtest/gtest.h"

namespace tds::ed25519 {
namespace {

using internal::Fe;

std::string Unhex(std::string_view hex) {
  auto raw = HexDecode(hex);
  EXPECT_TRUE(raw.ok()) << raw.status();
  return raw.ok() ? *raw : std::string();
}

const uint8_t* U8(const std::string& s) { return reinterpret_cast<const uint8_t*>(s.data()); }
uint8_t* U8(std::string& s) { return reinterpret_cast<uint8_t*>(s.data()); }

std::string RandomBytes(size_t n) {
  std::string s(n, '\0');
  randombytes_buf(s.data(), n);
  return s;
}

// A signature with its own storage; item() views it.
struct Signed {
  std::string public_key, message, signature;
  Item item() const { return {public_key, message, signature}; }
};

std::vector<Item> Items(const std::vector<Signed>& v) {
  std::vector<Item> items;
  for (const Signed& s : v) items.push_back(s.item());
  return items;
}

struct KeyPair {
  std::string public_key = std::string(crypto_sign_PUBLICKEYBYTES, '\0');
  std::string secret_key = std::string(crypto_sign_SECRETKEYBYTES, '\0');
  KeyPair() { crypto_sign_keypair(U8(public_key), U8(secret_key)); }
};

Signed SodiumSign(const KeyPair& key, std::string message) {
  Signed s{key.public_key, std::move(message), std::string(crypto_sign_BYTES, '\0')};
  crypto_sign_detached(U8(s.signature), nullptr, U8(s.message), s.message.size(),
                       U8(key.secret_key));
  return s;
}

bool SodiumVerify(const Signed& s) {
  // libsodium reads fixed sizes: refuse other sizes here rather than read past the strings.
  if (s.public_key.size() != 32 || s.signature.size() != 64) return false;
  return crypto_sign_verify_detached(U8(s.signature), U8(s.message), s.message.size(),
                                     U8(s.public_key)) == 0;
}

// ---------------------------------------------------------------------------------------------
// Hand-made signatures over a scalar we know, for R values libsodium's signer never produces.

std::string RandomScalar() {
  std::string s(32, '\0');
  crypto_core_ed25519_scalar_random(U8(s));
  return s;
}

std::string BaseMult(const std::string& scalar) {
  std::string p(32, '\0');
  EXPECT_EQ(crypto_scalarmult_ed25519_base_noclamp(U8(p), U8(scalar)), 0);
  return p;
}

std::string PointAdd(const std::string& p, const std::string& q) {
  std::string r(32, '\0');
  EXPECT_EQ(crypto_core_ed25519_add(U8(r), U8(p), U8(q)), 0);
  return r;
}

// The signature R || S with S = r + h a, h = SHA-512(R || A || M) mod L, under key A = [a]B.
// It satisfies [S]B - R - [h]A = [r]B - R, so the cofactored equation holds iff R - [r]B has
// small order.
Signed CraftSignature(const std::string& a, const std::string& r, const std::string& r_encoding,
                      std::string message) {
  Signed s{BaseMult(a), std::move(message), r_encoding};
  const std::string hashed = r_encoding + s.public_key + s.message;
  uint8_t digest[64], h[32], ha[32], big_s[32];
  crypto_hash_sha512(digest, U8(hashed), hashed.size());
  crypto_core_ed25519_scalar_reduce(h, digest);
  crypto_core_ed25519_scalar_mul(ha, h, U8(a));
  crypto_core_ed25519_scalar_add(big_s, ha, U8(r));
  s.signature.append(reinterpret_cast<const char*>(big_s), 32);
  return s;
}

// The eight points of small order, canonically encoded: the identity, (0, -1), (+-sqrt(-1), 0)
// and four points of order 8.
const char* const kSmallOrderHex[8] = {
    "0100000000000000000000000000000000000000000000000000000000000000",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "0000000000000000000000000000000000000000000000000000000000000000",
    "0000000000000000000000000000000000000000000000000000000000000080",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
};
constexpr int kOrder8Point = 4;  // index of a point of order exactly 8 in kSmallOrderHex

// p + k little endian: for 0 <= k < 19 the non-canonical encoding of k; k = -1 gives p - 1.
std::string NonCanonical(int k) {
  std::string s(32, '\xff');
  s[0] = static_cast<char>(0xed + k);
  s[31] = '\x7f';
  return s;
}

class Ed25519Test : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_GE(sodium_init(), 0);
    internal::ClearCaches();
  }
};

// ---------------------------------------------------------------------------------------------
// Field arithmetic.

Fe RandomFe() {
  std::string b = RandomBytes(32);
  b[31] &= 0x7f;
  return internal::FeFromBytes(U8(b));
}

std::string Encode(const Fe& f) {
  std::string b(32, '\0');
  internal::FeToBytes(U8(b), f);
  return b;
}

Fe Small(uint64_t v) { return Fe{{v, 0, 0, 0, 0}}; }

TEST_F(Ed25519Test, FieldInverseTimesValueIsOne) {
  for (int i = 0; i < 200; ++i) {
    const Fe x = RandomFe();
    EXPECT_EQ(Encode(internal::FeMul(internal::FeInvert(x), x)), Encode(Small(1)));
  }
  EXPECT_EQ(Encode(internal::FeInvert(Small(0))), Encode(Small(0)));
}

TEST_F(Ed25519Test, FieldEncodingRoundTripsAndReducesModP) {
  for (int i = 0; i < 200; ++i) {
    std::string b = RandomBytes(32);
    b[31] &= 0x7f;
    bool canonical = true;  // b < p unless it is one of p .. p + 18
    for (int k = 0; k < 19; ++k) canonical &= b != NonCanonical(k);
    if (canonical) {
      EXPECT_EQ(Encode(internal::FeFromBytes(U8(b))), b);
    }
  }
  // p + k encodes as k; 2^255 - 1 = p + 18.
  for (int k = 0; k < 19; ++k) {
    const std::string b = NonCanonical(k);
    EXPECT_EQ(Encode(internal::FeFromBytes(U8(b))), Encode(Small(k))) << k;
  }
  // Unreduced limbs (a sum of elements close to p) still encode canonically.
  const std::string p_minus_1 = NonCanonical(-1);
  const Fe m1 = internal::FeFromBytes(U8(p_minus_1));
  EXPECT_EQ(Encode(internal::FeAdd(m1, m1)), Encode(internal::FeSub(m1, Small(1))));
  EXPECT_EQ(Encode(internal::FeMul(m1, m1)), Encode(Small(1)));
}

TEST_F(Ed25519Test, FieldSquareMatchesMulAndArithmeticIsConsistent) {
  for (int i = 0; i < 200; ++i) {
    const Fe a = RandomFe(), b = RandomFe();
    EXPECT_EQ(Encode(internal::FeSquare(a)), Encode(internal::FeMul(a, a)));
    // (a + b)(a - b) = a^2 - b^2
    EXPECT_EQ(Encode(internal::FeMul(internal::FeAdd(a, b), internal::FeSub(a, b))),
              Encode(internal::FeSub(internal::FeSquare(a), internal::FeSquare(b))));
  }
}

TEST_F(Ed25519Test, FieldSqrtOfSquaresAndNonSquares) {
  for (int i = 0; i < 100; ++i) {
    const Fe x = RandomFe(), v = RandomFe();
    // u/v with u = x^2 v is the square x^2.
    const Fe u = internal::FeMul(internal::FeSquare(x), v);
    Fe r;
    ASSERT_TRUE(internal::FeSqrtRatio(&r, u, v));
    EXPECT_EQ(Encode(internal::FeSquare(r)), Encode(internal::FeSquare(x)));
  }
  // 2 is not a square mod p (p = 5 mod 8); so neither is 2 x^2.
  Fe r;
  EXPECT_FALSE(internal::FeSqrtRatio(&r, Small(2), Small(1)));
  const Fe x = RandomFe();
  EXPECT_FALSE(
      internal::FeSqrtRatio(&r, internal::FeMul(Small(2), internal::FeSquare(x)), Small(1)));
}

TEST_F(Ed25519Test, FieldConstantsMatchTheirDefinitions) {
  const Fe zero = Small(0), one = Small(1);
  const Fe minus_one = internal::FeSub(zero, one);
  // d * 121666 = -121665
  EXPECT_EQ(Encode(internal::FeMul(internal::CurveD(), Small(121666))),
            Encode(internal::FeSub(zero, Small(121665))));
  EXPECT_EQ(Encode(internal::FeAdd(internal::CurveD(), internal::CurveD())),
            Encode(internal::CurveD2()));
  EXPECT_EQ(Encode(internal::FeSquare(internal::SqrtM1())), Encode(minus_one));
}

// ---------------------------------------------------------------------------------------------
// Points.

TEST_F(Ed25519Test, PointsRoundTripAndNonCanonicalEncodingsAreRefused) {
  for (int i = 0; i < 100; ++i) {
    std::string p(32, '\0'), out(32, '\0');
    crypto_core_ed25519_random(U8(p));
    ASSERT_TRUE(internal::PointRoundTrip(U8(p), U8(out)));
    EXPECT_EQ(out, p);
    EXPECT_FALSE(internal::IsSmallOrderEncoding(U8(p)));
  }
  // y in 0..18 that are points have a second, non-canonical encoding y + p: always refused.
  int on_curve = 0;
  for (int k = 0; k < 19; ++k) {
    std::string canonical(32, '\0'), out(32, '\0');
    canonical[0] = static_cast<char>(k);
    const bool decodes = internal::PointRoundTrip(U8(canonical), U8(out));
    on_curve += decodes;
    if (decodes) {
      EXPECT_EQ(out, canonical);
    }
    for (const char sign : {'\x00', '\x80'}) {
      std::string non_canonical = NonCanonical(k);
      non_canonical[31] |= sign;
      EXPECT_FALSE(internal::PointRoundTrip(U8(non_canonical), U8(out))) << k;
    }
  }
  EXPECT_GE(on_curve, 3);  // y = 0 and 1 at least, plus some large-order ones
  // x = 0 with the sign bit set ("negative zero") is refused, as in RFC 8032.
  std::string out(32, '\0');
  std::string negative_identity = Unhex(kSmallOrderHex[0]);
  negative_identity[31] |= '\x80';
  EXPECT_FALSE(internal::PointRoundTrip(U8(negative_identity), U8(out)));
}

TEST_F(Ed25519Test, SmallOrderPointsAreRecognized) {
  std::set<std::string> distinct;
  for (const char* hex : kSmallOrderHex) {
    const std::string p = Unhex(hex);
    distinct.insert(p);
    EXPECT_TRUE(internal::IsSmallOrderEncoding(U8(p))) << hex;
    // Independently of our code: [8]P is libsodium's identity.
    std::string q = p;
    for (int i = 0; i < 3; ++i) q = PointAdd(q, q);
    EXPECT_EQ(q, Unhex(kSmallOrderHex[0])) << hex;
  }
  EXPECT_EQ(distinct.size(), 8u);
  // kOrder8Point has order exactly 8: [4]P is not the identity.
  std::string q = Unhex(kSmallOrderHex[kOrder8Point]);
  q = PointAdd(q, q);
  q = PointAdd(q, q);
  EXPECT_NE(q, Unhex(kSmallOrderHex[0]));
}

// ---------------------------------------------------------------------------------------------
// Signatures.

struct Rfc8032Vector {
  const char* name;
  const char* secret;
  const char* public_key;
  const char* message;
  const char* signature;
};

// RFC 8032 section 7.1.
const Rfc8032Vector kRfc8032[] = {
    {"TEST 1", "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
     "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
     "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b"
     "46bd25bf5f0595bbe24655141438e7a100b"},
    {"TEST 2", "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
     "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
     "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11"
     "d8c387b2eaeb4302aeeb00d291612bb0c00"},
    {"TEST 3", "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
     "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
     "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc"
     "6594a7c15e9716ed28dc027beceea1ec40a"},
    {"TEST 1024", "f5e5767cf153319517630f226876b86c8160cc583bc013744c6bf255f5cc0ee5",
     "278117fc144c72340f67d0f2316e8386ceffbf2b2428c9c51fef7c597f1d426e",
     "08b8b2b733424243760fe426a4b54908632110a66c2f6591eabd3345e3e4eb98fa6e264bf09efe12ee50f8f54e9f7"
     "7b1e355f6c50544e23fb1433ddf73be84d879de7c0046dc4996d9e773f4bc9efe5738829adb26c81b37c93a1b270b"
     "20329d658675fc6ea534e0810a4432826bf58c941efb65d57a338bbd2e26640f89ffbc1a858efcb8550ee3a5e1998"
     "bd177e93a7363c344fe6b199ee5d02e82d522c4feba15452f80288a821a579116ec6dad2b3b310da903401aa62100"
     "ab5d1a36553e06203b33890cc9b832f79ef80560ccb9a39ce767967ed628c6ad573cb116dbefefd75499da96bd68a"
     "8a97b928a8bbc103b6621fcde2beca1231d206be6cd9ec7aff6f6c94fcd7204ed3455c68c83f4a41da4af2b74ef5c"
     "53f1d8ac70bdcb7ed185ce81bd84359d44254d95629e9855a94a7c1958d1f8ada5d0532ed8a5aa3fb2d17ba70eb62"
     "4"
     "8e594e1a2297acbbb39d502f1a8c6eb6f1ce22b3de1a1f40cc24554119a831a9aad6079cad88425de6bde1a9187eb"
     "b6092cf67bf2b13fd65f27088d78b7e883c8759d2c4f5c65adb7553878ad575f9fad878e80a0c9ba63bcbcc2732e6"
     "9485bbc9c90bfbd62481d9089beccf80cfe2df16a2cf65bd92dd597b0707e0917af48bbb75fed413d238f5555a7a5"
     "69d80c3414a8d0859dc65a46128bab27af87a71314f318c782b23ebfe808b82b0ce26401d2e22f04d83d1255dc51a"
     "ddd3b75a2b1ae0784504df543af8969be3ea7082ff7fc9888c144da2af58429ec96031dbcad3dad9af0dcbaaaf268"
     "cb8fcffead94f3c7ca495e056a9b47acdb751fb73e666c6c655ade8297297d07ad1ba5e43f1bca32301651339e229"
     "04cc8c42f58c30c04aafdb038dda0847dd988dcda6f3bfd15c4b4c4525004aa06eeff8ca61783aacec57fb3d1f92b"
     "0fe2fd1a85f6724517b65e614ad6808d6f6ee34dff7310fdc82aebfd904b01e1dc54b2927094b2db68d6f903b6840"
     "1adebf5a7e08d78ff4ef5d63653a65040cf9bfd4aca7984a74d37145986780fc0b16ac451649de6188a7dbdf191f6"
     "4b5fc5e2ab47b57f7f7276cd419c17a3ca8e1b939ae49e488acba6b965610b5480109c8b17b80e1b7b750dfc7598d"
     "5d5011fd2dcc5600a32ef5b52a1ecc820e308aa342721aac0943bf6686b64b2579376504ccc493d97e6aed3fb0f9c"
     "d71a43dd497f01f17c0e2cb3797aa2a2f256656168e6c496afc5fb93246f6b1116398a346f1a641f3b041e989f791"
     "4f90cc2c7fff357876e506b50d334ba77c225bc307ba537152f3f1610e4eafe595f6d9d90d11faa933a15ef136954"
     "6868a7f3a45a96768d40fd9d03412c091c6315cf4fde7cb68606937380db2eaaa707b4c4185c32eddcdd306705e4d"
     "c1ffc872eeee475a64dfac86aba41c0618983f8741c5ef68d3a101e8a3b8cac60c905c15fc910840b94c00a0b9d0",
     "0aab4c900501b3e24d7cdf4663326a3a87df5e4843b2cbdb67cbf6e460fec350aa5371b1508f9f4528ecea23c436d"
     "94b5e8fcd4f681e30a6ac00a9704a188a03"},
    {"TEST SHA(abc)", "833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42",
     "ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf",
     "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3fee"
     "bbd454d4423643ce80e2a9ac94fa54ca49f",
     "dc2a4459e7369633a52b1bf277839a00201009a3efbf3ecb69bea2186c26b58909351fc9ac90b3ecfdfbc7c66431e"
     "0303dca179c138ac17ad9bef1177331a704"},
};

TEST_F(Ed25519Test, Rfc8032VectorsVerify) {
  std::vector<Signed> all;
  for (const Rfc8032Vector& v : kRfc8032) {
    SCOPED_TRACE(v.name);
    Signed s{Unhex(v.public_key), Unhex(v.message), Unhex(v.signature)};
    // Guards the transcription: libsodium derives the same key and signature from the secret.
    const std::string seed = Unhex(v.secret);
    std::string pk(32, '\0'), sk(64, '\0'), sig(64, '\0');
    crypto_sign_seed_keypair(U8(pk), U8(sk), U8(seed));
    EXPECT_EQ(pk, s.public_key);
    crypto_sign_detached(U8(sig), nullptr, U8(s.message), s.message.size(), U8(sk));
    EXPECT_EQ(sig, s.signature);

    EXPECT_TRUE(Verify(s.item()));
    Signed wrong = s;
    wrong.message.push_back('x');
    EXPECT_FALSE(Verify(wrong.item()));
    all.push_back(std::move(s));
  }
  EXPECT_EQ(VerifyBatch(Items(all)), std::vector<bool>(all.size(), true));
}

// 1,000 libsodium signatures over random messages (0..299 bytes) under 20 keys.
std::vector<Signed> RandomValid(size_t n, size_t num_keys, std::mt19937_64& rng) {
  std::vector<KeyPair> keys(num_keys);
  std::vector<Signed> out;
  for (size_t i = 0; i < n; ++i) {
    out.push_back(SodiumSign(keys[rng() % num_keys], RandomBytes(rng() % 300)));
  }
  return out;
}

TEST_F(Ed25519Test, AcceptsRandomLibsodiumSignatures) {
  std::mt19937_64 rng(1);
  const std::vector<Signed> sigs = RandomValid(1000, 20, rng);
  for (const Signed& s : sigs) ASSERT_TRUE(Verify(s.item())) << HexEncode(s.signature);
  EXPECT_EQ(VerifyBatch(Items(sigs)), std::vector<bool>(sigs.size(), true));
  // Distinct keys (no shared A terms) too, with cold caches.
  internal::ClearCaches();
  const std::vector<Signed> distinct = RandomValid(100, 100, rng);
  EXPECT_EQ(VerifyBatch(Items(distinct)), std::vector<bool>(distinct.size(), true));
}

// The ways a signature is refused. Each variant of a valid signature is invalid.
enum Corruption {
  kFlipR,
  kFlipS,
  kFlipMessage,
  kWrongKey,
  kSPlusL,
  kTruncatedSignature,
  kLongSignature,
  kTruncatedKey,
  kNumCorruptions
};

// L, little endian.
const std::string& OrderL() {
  static const std::string l =
      Unhex("edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010");
  return l;
}

Signed Corrupt(const Signed& good, Corruption how, std::mt19937_64& rng) {
  Signed s = good;
  switch (how) {
    case kFlipR:
      s.signature[rng() % 32] ^= static_cast<char>(1 << (rng() % 8));
      break;
    case kFlipS:
      s.signature[32 + rng() % 32] ^= static_cast<char>(1 << (rng() % 8));
      break;
    case kFlipMessage:
      if (s.message.empty()) {
        s.message = "x";
      } else {
        s.message[rng() % s.message.size()] ^= static_cast<char>(1 << (rng() % 8));
      }
      break;
    case kWrongKey:
      s.public_key = KeyPair().public_key;
      break;
    case kSPlusL: {
      // S + L satisfies the group equation but is not canonical.
      unsigned carry = 0;
      for (int i = 0; i < 32; ++i) {
        carry += static_cast<uint8_t>(s.signature[32 + i]) + static_cast<uint8_t>(OrderL()[i]);
        s.signature[32 + i] = static_cast<char>(carry & 0xff);
        carry >>= 8;
      }
      break;
    }
    case kTruncatedSignature:
      s.signature.pop_back();
      break;
    case kLongSignature:
      s.signature.push_back('\0');
      break;
    case kTruncatedKey:
      s.public_key.pop_back();
      break;
    case kNumCorruptions:
      break;
  }
  return s;
}

TEST_F(Ed25519Test, RejectsEveryCorruption) {
  std::mt19937_64 rng(2);
  const std::vector<Signed> good = RandomValid(50, 5, rng);
  for (int how = 0; how < kNumCorruptions; ++how) {
    for (const Signed& g : good) {
      const Signed bad = Corrupt(g, static_cast<Corruption>(how), rng);
      EXPECT_FALSE(Verify(bad.item())) << "corruption " << how;
      EXPECT_FALSE(VerifyCached(bad.item())) << "corruption " << how;
      EXPECT_EQ(VerifyBatch({bad.item()}), std::vector<bool>{false}) << "corruption " << how;
    }
  }
  EXPECT_FALSE(Verify(Item{}));
}

TEST_F(Ed25519Test, RejectsNonCanonicalREncoding) {
  // R = identity: canonical encoding accepted by the cofactored predicate (libsodium refuses
  // it, as a small-order R); the same point encoded as y = p + 1 is refused.
  const std::string a = RandomScalar();
  const std::string zero(32, '\0');
  const Signed canonical = CraftSignature(a, zero, Unhex(kSmallOrderHex[0]), "msg");
  EXPECT_TRUE(Verify(canonical.item()));
  EXPECT_FALSE(SodiumVerify(canonical));
  const Signed non_canonical = CraftSignature(a, zero, NonCanonical(1), "msg");
  EXPECT_FALSE(Verify(non_canonical.item()));
  EXPECT_EQ(VerifyBatch({canonical.item(), non_canonical.item()}),
            (std::vector<bool>{true, false}));
}

TEST_F(Ed25519Test, RejectsNonCanonicalAndUndecodablePublicKeys) {
  std::mt19937_64 rng(3);
  const Signed good = RandomValid(1, 1, rng)[0];
  for (int k = 0; k < 19; ++k) {
    Signed s = good;
    s.public_key = NonCanonical(k);
    EXPECT_FALSE(Verify(s.item())) << k;
    EXPECT_EQ(VerifyBatch({good.item(), s.item()}), (std::vector<bool>{true, false}));
  }
  // y = 2 is not on the curve (x^2 would be a non-square).
  Signed off_curve = good;
  off_curve.public_key = std::string(32, '\0');
  off_curve.public_key[0] = 2;
  std::string out(32, '\0');
  ASSERT_FALSE(internal::PointRoundTrip(U8(off_curve.public_key), U8(out)));
  EXPECT_FALSE(Verify(off_curve.item()));
}

TEST_F(Ed25519Test, RejectsSmallOrderPublicKeys) {
  // With A of small order, R = [r]B, S = r satisfies the cofactored equation for ANY message:
  // only rule 4 refuses it.
  const std::string r = RandomScalar();
  for (const char* hex : kSmallOrderHex) {
    Signed s{Unhex(hex), "any message", BaseMult(r) + r};
    EXPECT_FALSE(Verify(s.item())) << hex;
    EXPECT_FALSE(VerifyCached(s.item())) << hex;
    EXPECT_EQ(VerifyBatch({s.item()}), std::vector<bool>{false}) << hex;
  }
  // Control: the same construction with a prime-order A does not verify (h != 0).
  Signed control{BaseMult(RandomScalar()), "any message", BaseMult(r) + r};
  EXPECT_FALSE(Verify(control.item()));
}

TEST_F(Ed25519Test, AcceptsTorsionInRUnlikeLibsodium) {
  const std::string a = RandomScalar(), r = RandomScalar();
  const std::string t = Unhex(kSmallOrderHex[kOrder8Point]);
  const Signed honest = CraftSignature(a, r, BaseMult(r), "usage record");
  ASSERT_TRUE(SodiumVerify(honest));
  ASSERT_TRUE(Verify(honest.item()));
  const Signed torsion = CraftSignature(a, r, PointAdd(BaseMult(r), t), "usage record");
  EXPECT_FALSE(SodiumVerify(torsion));  // cofactorless: [S]B - [h]A = R != R + T
  EXPECT_TRUE(Verify(torsion.item()));  // cofactored: [8](-T) = identity
  std::mt19937_64 rng(4);
  std::vector<Signed> batch = RandomValid(20, 2, rng);
  batch.push_back(torsion);
  EXPECT_EQ(VerifyBatch(Items(batch)), std::vector<bool>(batch.size(), true));
  // Control: an R off by a prime-order point is refused.
  const Signed off =
      CraftSignature(a, r, PointAdd(BaseMult(r), BaseMult(RandomScalar())), "usage record");
  EXPECT_FALSE(Verify(off.item()));
  EXPECT_EQ(VerifyBatch({off.item(), honest.item()}), (std::vector<bool>{false, true}));
}

TEST_F(Ed25519Test, BatchMarksExactlyTheInvalidItems) {
  std::mt19937_64 rng(5);
  for (const int k : {1, 2, 5, 13}) {
    internal::ClearCaches();
    std::vector<Signed> batch = RandomValid(64, 2, rng);
    std::vector<bool> expected(batch.size(), true);
    for (int j = 0; j < k; ++j) {
      const Signed& base = batch[rng() % 64];
      const Signed bad = Corrupt(base, static_cast<Corruption>(rng() % kNumCorruptions), rng);
      const size_t pos = rng() % (batch.size() + 1);
      batch.insert(batch.begin() + pos, bad);
      expected.insert(expected.begin() + pos, false);
    }
    EXPECT_EQ(VerifyBatch(Items(batch)), expected) << "k = " << k;
  }
  // Small-order keys and a torsion-free bad R inside a batch.
  internal::ClearCaches();
  std::vector<Signed> batch = RandomValid(64, 2, rng);
  std::vector<bool> expected(batch.size(), true);
  const std::string r = RandomScalar();
  for (const char* hex : kSmallOrderHex) {
    batch.push_back(Signed{Unhex(hex), "m", BaseMult(r) + r});
    expected.push_back(false);
  }
  EXPECT_EQ(VerifyBatch(Items(batch)), expected);
}

TEST_F(Ed25519Test, BatchAgreesWithSingleVerification) {
  std::mt19937_64 rng(6);
  for (int round = 0; round < 20; ++round) {
    internal::ClearCaches();
    const size_t n = 1 + rng() % 40;
    std::vector<Signed> items = RandomValid(n, 1 + rng() % 4, rng);
    for (Signed& s : items) {
      if (rng() % 4 == 0) s = Corrupt(s, static_cast<Corruption>(rng() % kNumCorruptions), rng);
    }
    const std::vector<bool> batch = VerifyBatch(Items(items));
    ASSERT_EQ(batch.size(), items.size());
    for (size_t i = 0; i < items.size(); ++i) {
      EXPECT_EQ(batch[i], Verify(items[i].item())) << "round " << round << " item " << i;
      EXPECT_EQ(batch[i], SodiumVerify(items[i])) << "round " << round << " item " << i;
    }
  }
  EXPECT_TRUE(VerifyBatch({}).empty());
}

TEST_F(Ed25519Test, CacheHitsOnlyForTheSameSignatureKeyAndMessage) {
  std::mt19937_64 rng(7);
  const Signed good = RandomValid(1, 1, rng)[0];
  EXPECT_TRUE(VerifyCached(good.item()));
  EXPECT_TRUE(VerifyCached(good.item()));  // hit
  Signed other = good;
  other.message += "!";
  EXPECT_FALSE(VerifyCached(other.item()));  // same signature, different message: miss
  EXPECT_FALSE(VerifyCached(other.item()));  // refusals are not cached
  Signed other_key = good;
  other_key.public_key = KeyPair().public_key;
  EXPECT_FALSE(VerifyCached(other_key.item()));

  // VerifyBatch fills the cache and is answered from it.
  internal::ClearCaches();
  const std::vector<Signed> sigs = RandomValid(10, 2, rng);
  EXPECT_EQ(VerifyBatch(Items(sigs)), std::vector<bool>(sigs.size(), true));
  for (const Signed& s : sigs) EXPECT_TRUE(VerifyCached(s.item()));
  std::vector<Signed> mixed = sigs;
  mixed[3].message += "?";
  std::vector<bool> expected(sigs.size(), true);
  expected[3] = false;
  EXPECT_EQ(VerifyBatch(Items(mixed)), expected);
}

TEST_F(Ed25519Test, ConcurrentCallersAgree) {
  // Four threads share both caches (small enough to evict) through every entry point.
  std::mt19937_64 rng(8);
  std::vector<Signed> items = RandomValid(200, 3, rng);
  std::vector<bool> expected(items.size(), true);
  for (size_t i = 0; i < items.size(); i += 7) {
    items[i] = Corrupt(items[i], kFlipS, rng);
    expected[i] = false;
  }
  const std::vector<Item> all = Items(items);
  std::vector<int> mismatches(4, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 3; ++round) {
        if (t == 0) internal::ClearCaches();
        for (size_t i = t; i < all.size(); i += 4) {
          mismatches[t] += VerifyCached(all[i]) != expected[i];
          mismatches[t] += Verify(all[i]) != expected[i];
        }
        mismatches[t] += VerifyBatch(all) != expected;
      }
    });
  }
  for (std::thread& th : threads) th.join();
  EXPECT_EQ(mismatches, std::vector<int>(4, 0));
}

}  // namespace
}  // namespace tds::ed25519
