#include "compute/query/oprf.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sodium.h>

#include <cstring>
#include <string>
#include <vector>

namespace tds::compute::query {
namespace {

using ::testing::HasSubstr;

std::string Master(char c) { return std::string(kMasterSecretBytes, c); }

ProviderKey Key(const std::string& contract, char master = 'm') {
  absl::StatusOr<ProviderKey> key = ProviderKey::Derive(Master(master), contract);
  EXPECT_TRUE(key.ok()) << key.status();
  return *std::move(key);
}

std::string Hex(const uint8_t* p, size_t n) {
  return std::string(reinterpret_cast<const char*>(p), n);
}

// The value the provider computes directly for its own row: k·H2(id).
std::string Direct(const ProviderKey& key, const std::string& id) {
  uint8_t p[kPointBytes], y[kPointBytes];
  HashToGroup(id, p);
  EXPECT_TRUE(key.Evaluate(p, y));
  return Hex(y, kPointBytes);
}

// The value the consumer obtains through the blinded exchange.
std::string Oblivious(const ProviderKey& key, const std::string& id, std::string* blinded_out) {
  Blinding b;
  uint8_t blinded[kPointBytes], evaluated[kPointBytes], y[kPointBytes];
  EXPECT_TRUE(b.Blind(id, blinded));
  EXPECT_TRUE(key.Evaluate(blinded, evaluated));
  EXPECT_TRUE(b.Unblind(evaluated, y));
  if (blinded_out != nullptr) *blinded_out = Hex(blinded, kPointBytes);
  return Hex(y, kPointBytes);
}

TEST(OprfTest, UnblindedEvaluationEqualsTheProvidersDirectValue) {
  const ProviderKey key = Key("contract-a");
  for (const std::string& id :
       std::vector<std::string>{"alice", "bob", "", std::string(1000, 'x')}) {
    EXPECT_EQ(Oblivious(key, id, nullptr), Direct(key, id)) << id;
  }
}

TEST(OprfTest, BlindedPointsDifferAcrossRunsOfTheSameId) {
  const ProviderKey key = Key("contract-a");
  std::string b1, b2;
  const std::string y1 = Oblivious(key, "alice", &b1);
  const std::string y2 = Oblivious(key, "alice", &b2);
  EXPECT_NE(b1, b2);
  EXPECT_EQ(y1, y2);
  uint8_t h[kPointBytes];
  HashToGroup("alice", h);
  EXPECT_NE(b1, Hex(h, kPointBytes));  // the blinded point is not H2(id) itself
}

TEST(OprfTest, KeyIsDeterministicPerContractAndIndependentAcrossContracts) {
  const ProviderKey a1 = Key("contract-a");
  const ProviderKey a2 = Key("contract-a");
  const ProviderKey b = Key("contract-b");
  const ProviderKey other_master = Key("contract-a", 'n');
  EXPECT_EQ(a1.fingerprint(), a2.fingerprint());
  EXPECT_NE(a1.fingerprint(), b.fingerprint());
  EXPECT_NE(a1.fingerprint(), other_master.fingerprint());
  EXPECT_EQ(Direct(a1, "alice"), Direct(a2, "alice"));
  EXPECT_NE(Direct(a1, "alice"), Direct(b, "alice"));
  EXPECT_NE(Direct(a1, "alice"), Direct(other_master, "alice"));
}

TEST(OprfTest, DeriveRefusesABadMasterSecretOrContract) {
  const absl::StatusOr<ProviderKey> short_secret = ProviderKey::Derive(std::string(31, 'm'), "c");
  ASSERT_FALSE(short_secret.ok());
  EXPECT_THAT(short_secret.status().message(), HasSubstr("31 bytes, expected 32"));
  const absl::StatusOr<ProviderKey> no_contract = ProviderKey::Derive(Master('m'), "");
  ASSERT_FALSE(no_contract.ok());
  EXPECT_THAT(no_contract.status().message(), HasSubstr("empty contract id"));
}

TEST(OprfTest, UnusablePointsAreRefused) {
  const ProviderKey key = Key("contract-a");
  uint8_t out[kPointBytes];
  uint8_t identity[kPointBytes] = {};
  EXPECT_FALSE(IsUsablePoint(identity));
  EXPECT_FALSE(key.Evaluate(identity, out));
  uint8_t ones[kPointBytes];
  std::memset(ones, 0xff, sizeof(ones));
  EXPECT_FALSE(IsUsablePoint(ones));
  EXPECT_FALSE(key.Evaluate(ones, out));
  uint8_t good[kPointBytes];
  HashToGroup("alice", good);
  EXPECT_TRUE(IsUsablePoint(good));
  good[0] ^= 1;  // odd encodings are never canonical ristretto255
  EXPECT_FALSE(IsUsablePoint(good));
  Blinding b;
  uint8_t blinded[kPointBytes];
  ASSERT_TRUE(b.Blind("alice", blinded));
  EXPECT_FALSE(b.Unblind(identity, out));
}

TEST(OprfTest, RowSecretsDependOnSaltIdAndOutput) {
  const ProviderKey key = Key("contract-a");
  uint8_t y[kPointBytes];
  HashToGroup("alice", y);
  uint8_t salt1[kSaltBytes] = {1}, salt2[kSaltBytes] = {2};
  uint8_t t1[kTagBytes], k1[kRowKeyBytes], t2[kTagBytes], k2[kRowKeyBytes];
  DeriveRowSecrets(salt1, "alice", y, t1, k1);
  DeriveRowSecrets(salt1, "alice", y, t2, k2);
  EXPECT_EQ(Hex(t1, kTagBytes), Hex(t2, kTagBytes));
  EXPECT_EQ(Hex(k1, kRowKeyBytes), Hex(k2, kRowKeyBytes));
  EXPECT_NE(Hex(t1, kTagBytes), Hex(k1, kTagBytes));  // tag and key are separate hashes
  DeriveRowSecrets(salt2, "alice", y, t2, k2);
  EXPECT_NE(Hex(t1, kTagBytes), Hex(t2, kTagBytes));
  DeriveRowSecrets(salt1, "alicf", y, t2, k2);
  EXPECT_NE(Hex(t1, kTagBytes), Hex(t2, kTagBytes));
  y[0] ^= 2;
  DeriveRowSecrets(salt1, "alice", y, t2, k2);
  EXPECT_NE(Hex(t1, kTagBytes), Hex(t2, kTagBytes));
}

TEST(OprfTest, BucketHashIsPublicAndSpreads) {
  EXPECT_EQ(BucketHash("alice"), BucketHash("alice"));
  EXPECT_NE(BucketHash("alice"), BucketHash("bob"));
  uint32_t counts[4] = {};
  for (int i = 0; i < 4000; ++i) ++counts[BucketOf(BucketHash(std::to_string(i)), 4)];
  for (uint32_t c : counts) {
    EXPECT_GT(c, 800u);
    EXPECT_LT(c, 1200u);
  }
}

}  // namespace
}  // namespace tds::compute::query
