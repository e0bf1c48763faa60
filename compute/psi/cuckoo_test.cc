#include "compute/psi/cuckoo.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <random>
#include <set>

namespace tds::compute::psi {
namespace {

using ::testing::HasSubstr;

TEST(CuckooTest, BinsFollowTheExpansionFactor) {
  EXPECT_EQ(CuckooBins(0), 128u);
  EXPECT_EQ(CuckooBins(1), 128u);
  // n ≥ 512: ⌈n·(296 + ⌈log2 n⌉)/240⌉, rounded up to 128.
  EXPECT_EQ(CuckooBins(1 << 20), (((uint64_t{1} << 20) * 316 + 239) / 240 + 127) / 128 * 128);
  EXPECT_NEAR(static_cast<double>(CuckooBins(1 << 20)) / (1 << 20), 1.3167, 0.001);
  EXPECT_NEAR(static_cast<double>(CuckooBins(10'000'000)) / 1e7, 1.3333, 0.001);
  for (uint64_t n : {2, 5, 100, 300, 511, 512, 1000}) {
    EXPECT_GE(CuckooBins(n), n * 127 / 100) << n;
    EXPECT_EQ(CuckooBins(n) % 128, 0u) << n;
  }
}

TEST(CuckooTest, BucketCapacityCoversTheMeanWithSlack) {
  EXPECT_EQ(BucketCapacity(1000, 1), 1000u);
  EXPECT_EQ(BucketCapacity(10, 4), 10u);  // never more than n
  const uint64_t cap = BucketCapacity(10'000'000, 5);
  EXPECT_GT(cap, 2'000'000u);
  EXPECT_LT(cap, 2'020'000u);  // slack ≈ sqrt(2·μ·L) ≈ 8,500
}

TEST(CuckooTest, EveryItemLandsInOneOfItsCandidatesOnce) {
  std::mt19937_64 rng(5);
  for (uint64_t n : {1, 10, 100, 1000, 50'000}) {
    std::vector<uint64_t> words(n);
    for (auto& w : words) w = rng();
    const uint64_t bins = CuckooBins(n);
    CuckooPlacement p;
    ASSERT_TRUE(CuckooInsert(words.data(), n, bins, p).ok()) << n;
    std::set<uint32_t> seen;
    for (uint64_t b = 0; b < bins; ++b) {
      if (p.item[b] == kEmptyBin) continue;
      ASSERT_TRUE(seen.insert(p.item[b]).second);
      uint32_t cand[kCuckooHashes];
      CandidateBins(words[p.item[b]], bins, cand);
      EXPECT_EQ(cand[p.hash[b]], b);
    }
    EXPECT_EQ(seen.size(), n);
  }
}

TEST(CuckooTest, TooFewBinsFailsWithAClearError) {
  std::vector<uint64_t> words(200);
  std::mt19937_64 rng(6);
  for (auto& w : words) w = rng();
  CuckooPlacement p;
  absl::Status s = CuckooInsert(words.data(), words.size(), 128, p);
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(s.message(), HasSubstr("cuckoo hashing of 200 items into 128 bins failed"));
}

}  // namespace
}  // namespace tds::compute::psi
