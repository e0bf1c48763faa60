#include "compute/fl/paillier.h"

#include <gtest/gtest.h>

#include "compute/fl/test_key.h"

namespace tds::compute::fl {
namespace {

const PaillierPrivateKey& Key() { return TestKey(); }

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
  std::vector<int64_t> ms = {3, -5, 1 << 20, -(1 << 19), 0, 77, -1, 123456};
  std::vector<int64_t> ks = {1 << 18, -3, 5, 700000, -99999, 0, -(1 << 21), 1};
  std::vector<Bn> mont;
  int64_t want = 0;
  for (size_t i = 0; i < ms.size(); ++i) {
    mont.push_back(pk().ToMontgomery(Enc(ms[i]), ctx_.get()));
    want += ms[i] * ks[i];
  }
  EXPECT_EQ(Dec(pk().LinearCombination(mont, ks, ctx_.get())), want);
  // Many terms (exercises wider windows) and all-zero coefficients.
  std::vector<Bn> many;
  std::vector<int64_t> kk;
  int64_t sum = 0;
  Ciphertext c = Enc(-3);
  for (int i = 0; i < 300; ++i) {
    many.push_back(pk().ToMontgomery(c, ctx_.get()));
    kk.push_back((i % 2 ? -1 : 1) * (int64_t{i} * 7919 + 1));
    sum += -3 * kk.back();
  }
  EXPECT_EQ(Dec(pk().LinearCombination(many, kk, ctx_.get())), sum);
  std::vector<int64_t> zeros(many.size(), 0);
  EXPECT_EQ(Dec(pk().LinearCombination(many, zeros, ctx_.get())), 0);
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
