#include "compute/fl/paillier.h"

#include <gtest/gtest.h>

#include "compute/fl/test_key.h"

namespace tds::compute::fl {
namespace {

const PaillierPrivateKey& Key() { return TestKey(); }

void Check(int ok) { ASSERT_TRUE(ok); }

class PaillierTest : public ::testing::Test {
 protected:
  const PaillierPublicKey& pk() { return Key().public_key(); }
  Ciphertext Enc(int64_t m) {
    Bn rn = pk().FreshRandomness(ctx_.get());
    return pk().EncryptWith(pk().ToPlaintext(m).get(), rn.get(), ctx_.get());
  }
  int64_t Dec(const Ciphertext& c) {
    Bn m = Key().Decrypt(c, ctx_.get());
    auto v = pk().FromPlaintext(m.get());
    EXPECT_TRUE(v.ok()) << v.status();
    return v.ok() ? *v : 0;
  }
  BnCtx ctx_ = NewBnCtx();
};

TEST_F(PaillierTest, KeyHasRequestedSize) {
  EXPECT_EQ(pk().modulus_bits(), 1024);
  EXPECT_EQ(pk().ciphertext_bytes(), 256u);
  EXPECT_EQ(pk().plaintext_bytes(), 128u);
}

TEST_F(PaillierTest, EncryptDecryptRoundTripsSignedValues) {
  for (int64_t m : {int64_t{0}, int64_t{1}, int64_t{-1}, int64_t{123456789}, int64_t{-987654321012},
                    (int64_t{1} << 62) - 1, -(int64_t{1} << 62)}) {
    EXPECT_EQ(Dec(Enc(m)), m) << m;
  }
}

TEST_F(PaillierTest, EncryptionIsRandomized) {
  Ciphertext a = Enc(42), b = Enc(42);
  EXPECT_NE(BN_cmp(a.c.get(), b.c.get()), 0);
  EXPECT_EQ(Dec(a), Dec(b));
}

TEST_F(PaillierTest, CrtMatchesTextbookDecryption) {
  for (int64_t m : {int64_t{0}, int64_t{7}, int64_t{-7}, int64_t{1} << 40}) {
    Ciphertext c = Enc(m);
    Bn a = Key().Decrypt(c, ctx_.get());
    Bn b = Key().DecryptWithoutCrt(c, ctx_.get());
    EXPECT_EQ(BN_cmp(a.get(), b.get()), 0) << m;
  }
}

TEST_F(PaillierTest, HomomorphicAddAndScalarMultiply) {
  EXPECT_EQ(Dec(pk().Add(Enc(1000), Enc(-2500), ctx_.get())), -1500);
  EXPECT_EQ(Dec(pk().AddPlain(Enc(5), pk().ToPlaintext(-8).get(), ctx_.get())), -3);
  EXPECT_EQ(Dec(pk().MulScalar(Enc(-12), 7, ctx_.get())), -84);
  EXPECT_EQ(Dec(pk().MulScalar(Enc(12), -7, ctx_.get())), -84);
  EXPECT_EQ(Dec(pk().MulScalar(Enc(-12), -7, ctx_.get())), 84);
  EXPECT_EQ(Dec(pk().MulScalar(Enc(99), 0, ctx_.get())), 0);
}

TEST_F(PaillierTest, LinearCombinationMatchesPlainSum) {
  WorkerPool workers(2);
  std::vector<int64_t> ms = {3, -5, 1 << 20, -(1 << 19), 0, 77, -1, 123456};
  std::vector<int64_t> ks = {1 << 18, -3, 5, 700000, -99999, 0, -(1 << 21), 1};
  std::vector<Ciphertext> cts;
  int64_t want = 0;
  for (size_t i = 0; i < ms.size(); ++i) {
    cts.push_back(Enc(ms[i]));
    want += ms[i] * ks[i];
  }
  auto terms = pk().PrepareTerms(cts, workers);
  ASSERT_TRUE(terms.ok()) << terms.status();
  EXPECT_EQ(Dec(pk().LinearCombination(*terms, ks, ctx_.get())), want);
  // Only non-negative, only negative, and all-zero coefficients (no shift, shift, nothing).
  std::vector<int64_t> pos = {1, 2, 3, 4, 5, 6, 7, 8}, neg = {-8, -7, -6, -5, -4, -3, -2, -1};
  int64_t want_pos = 0, want_neg = 0;
  for (size_t i = 0; i < ms.size(); ++i) want_pos += ms[i] * pos[i], want_neg += ms[i] * neg[i];
  EXPECT_EQ(Dec(pk().LinearCombination(*terms, pos, ctx_.get())), want_pos);
  EXPECT_EQ(Dec(pk().LinearCombination(*terms, neg, ctx_.get())), want_neg);
  EXPECT_EQ(Dec(pk().LinearCombination(*terms, std::vector<int64_t>(8, 0), ctx_.get())), 0);
  // Many terms (wider windows, several slices in PrepareTerms) with mixed signs.
  std::vector<Ciphertext> many;
  std::vector<int64_t> kk;
  int64_t sum = 0;
  for (int i = 0; i < 300; ++i) {
    many.push_back(Enc(i % 7 - 3));
    kk.push_back((i % 2 ? -1 : 1) * (int64_t{i} * 7919 + 1));
    sum += (i % 7 - 3) * kk.back();
  }
  auto many_terms = pk().PrepareTerms(many, workers);
  ASSERT_TRUE(many_terms.ok()) << many_terms.status();
  EXPECT_EQ(Dec(pk().LinearCombination(*many_terms, kk, ctx_.get())), sum);
}

TEST_F(PaillierTest, FixedPointEncodesSignedRealsAndRefusesOutOfRange) {
  FixedPoint fp(16);
  auto a = fp.Encode(-1.25);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(*a, -81920);
  EXPECT_DOUBLE_EQ(fp.Decode(*a), -1.25);
  EXPECT_DOUBLE_EQ(fp.Decode(int64_t{3} << 32, 2), 3.0);
  EXPECT_EQ(fp.Encode(1e18).status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(fp.Encode(std::nan("")).status().code(), absl::StatusCode::kOutOfRange);
  // Encrypted fixed-point product: (-1.25) * 2.5 at scale 2^32.
  auto b = fp.Encode(2.5);
  ASSERT_TRUE(b.ok());
  EXPECT_DOUBLE_EQ(fp.Decode(Dec(pk().MulScalar(Enc(*a), *b, ctx_.get())), 2), -3.125);
}

TEST_F(PaillierTest, SerializedCiphertextRoundTrips) {
  Ciphertext c = Enc(-31337);
  std::string wire = pk().SerializeCiphertext(c);
  ASSERT_EQ(wire.size(), pk().ciphertext_bytes());
  auto back = pk().DeserializeCiphertext(wire, ctx_.get());
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(Dec(*back), -31337);
}

TEST_F(PaillierTest, MalformedCiphertextsAreRefused) {
  const std::string good = pk().SerializeCiphertext(Enc(1));
  auto expect_refused = [&](const std::string& bytes, const std::string& why) {
    auto c = pk().DeserializeCiphertext(bytes, ctx_.get());
    ASSERT_FALSE(c.ok()) << why;
    EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument) << why;
    EXPECT_NE(std::string(c.status().message()).find(why), std::string::npos) << c.status();
  };
  expect_refused(good.substr(1), "expected 256");
  expect_refused(good + "x", "expected 256");
  expect_refused(std::string(good.size(), '\xff'), ">= n^2");
  std::string n2(pk().ciphertext_bytes(), '\0');
  BN_bn2binpad(pk().n_squared(), reinterpret_cast<unsigned char*>(n2.data()),
               static_cast<int>(n2.size()));
  expect_refused(n2, ">= n^2");
  expect_refused(std::string(good.size(), '\0'), "not a unit");
  // A multiple of n (shares the factors p, q).
  std::string nn(pk().ciphertext_bytes(), '\0');
  BN_bn2binpad(pk().n(), reinterpret_cast<unsigned char*>(nn.data()), static_cast<int>(nn.size()));
  expect_refused(nn, "not a unit");
}

TEST_F(PaillierTest, BatchDeserializationNamesTheElementAtFault) {
  WorkerPool workers(2);
  const size_t w = pk().ciphertext_bytes();
  std::string wire;
  for (int i = 0; i < 200; ++i) wire += pk().SerializeCiphertext(Enc(i - 100));
  auto back = pk().DeserializeCiphertexts(wire, 200, workers);
  ASSERT_TRUE(back.ok()) << back.status();
  ASSERT_EQ(back->size(), 200u);
  EXPECT_EQ(Dec((*back)[0]), -100);
  EXPECT_EQ(Dec((*back)[199]), 99);

  auto expect_refused = [&](const std::string& bytes, size_t count, const std::string& why) {
    auto c = pk().DeserializeCiphertexts(bytes, count, workers);
    ASSERT_FALSE(c.ok()) << why;
    EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument) << why;
    EXPECT_NE(std::string(c.status().message()).find(why), std::string::npos) << c.status();
  };
  expect_refused(wire.substr(1), 200, "bytes, expected 200 x 256");
  std::string bad = wire;
  // Element 137 a multiple of p, q: n itself (not a unit; the batched gcd catches it).
  std::string nn(w, '\0');
  BN_bn2binpad(pk().n(), reinterpret_cast<unsigned char*>(nn.data()), static_cast<int>(w));
  bad.replace(137 * w, w, nn);
  expect_refused(bad, 200, "ciphertext 137: not a unit");
  bad = wire;
  bad.replace(58 * w, w, std::string(w, '\xff'));
  expect_refused(bad, 200, "ciphertext 58: value >= n^2");
}

TEST_F(PaillierTest, DjnPowerMatchesDirectExponentiation) {
  const PaillierPrivateKey& key = Key();
  ASSERT_EQ(key.djn_exponent_bits(), 512);  // ceil(k/2) for k = 1024
  Bn a = NewBn(), want = NewBn();
  auto check = [&](const char* what) {
    Check(BN_mod_exp(want.get(), key.djn_base(), a.get(), pk().n_squared(), ctx_.get()));
    Bn got = key.DjnPower(a.get(), ctx_.get());
    EXPECT_EQ(BN_cmp(got.get(), want.get()), 0) << what;
  };
  BN_zero(a.get());
  check("a = 0");
  BN_one(a.get());
  check("a = 1");
  BN_set_word(a.get(), 256);
  check("a = 256 (one nonzero byte above the first)");
  BN_one(a.get());
  BN_lshift(a.get(), a.get(), 512);
  BN_sub_word(a.get(), 1);
  check("a = 2^512 - 1 (every digit 255)");
  for (int i = 0; i < 3; ++i) {
    BN_rand(a.get(), 512, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY);
    check("random a");
  }
}

TEST_F(PaillierTest, DjnRandomnessEncryptsCorrectlyAndDiffersEachTime) {
  const PaillierPrivateKey& key = Key();
  Bn r1 = key.DjnRandomness(ctx_.get()), r2 = key.DjnRandomness(ctx_.get());
  EXPECT_NE(BN_cmp(r1.get(), r2.get()), 0);
  // An n-th residue: encrypts 0 by itself, and m with (1 + m n).
  EXPECT_EQ(Dec(Ciphertext{CopyBn(r1.get())}), 0);
  Ciphertext a = pk().EncryptWith(pk().ToPlaintext(-4242).get(), r1.get(), ctx_.get());
  Ciphertext b = pk().EncryptWith(pk().ToPlaintext(-4242).get(), r2.get(), ctx_.get());
  EXPECT_NE(BN_cmp(a.c.get(), b.c.get()), 0);
  EXPECT_EQ(Dec(a), -4242);
  EXPECT_EQ(Dec(b), -4242);
  // The other test key's randomness differs too (separate h_s and tables).
  Bn r3 = TestKey(1).DjnRandomness(ctx_.get());
  EXPECT_NE(BN_cmp(r1.get(), r3.get()), 0);
}

TEST_F(PaillierTest, PublicKeyAndPlaintextSerialization) {
  auto back = PaillierPublicKey::Deserialize(pk().Serialize());
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(BN_cmp(back->n(), pk().n()), 0);
  EXPECT_FALSE(PaillierPublicKey::Deserialize(pk().Serialize().substr(3)).ok());
  EXPECT_FALSE(PaillierPublicKey::Deserialize(std::string("\x00\x10", 2) + "ab").ok());
  std::string too_big(pk().plaintext_bytes(), '\xff');
  EXPECT_FALSE(pk().DeserializePlaintext(too_big).ok());
  EXPECT_FALSE(pk().DeserializePlaintext("abc").ok());
}

TEST(PaillierKeyTest, RefusesBadSizes) {
  EXPECT_FALSE(PaillierPrivateKey::Generate(512).ok());
  EXPECT_FALSE(PaillierPrivateKey::Generate(2047).ok());
}

TEST_F(PaillierTest, RandomnessPoolPrecomputesAndCountsMisses) {
  WorkerPool workers(2);
  RandomnessPool pool(pk(), workers);
  RandomnessPool djn_pool(Key(), workers);
  ASSERT_TRUE(djn_pool.Fill(3).ok());
  for (int i = 0; i < 4; ++i) {
    Bn rn = djn_pool.Take(ctx_.get());
    EXPECT_EQ(Dec(pk().EncryptWith(pk().ToPlaintext(-i).get(), rn.get(), ctx_.get())), -i);
  }
  EXPECT_EQ(djn_pool.misses(), 1u);
  ASSERT_TRUE(pool.Fill(5).ok());
  EXPECT_EQ(pool.available(), 5u);
  for (int i = 0; i < 6; ++i) {
    Bn rn = pool.Take(ctx_.get());
    EXPECT_EQ(Dec(pk().EncryptWith(pk().ToPlaintext(i).get(), rn.get(), ctx_.get())), i);
  }
  EXPECT_EQ(pool.available(), 0u);
  EXPECT_EQ(pool.misses(), 1u);
}

}  // namespace
}  // namespace tds::compute::fl
