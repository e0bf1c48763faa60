#include "compute/psi/match_table.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <vector>

namespace tds::compute::psi {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

std::string Digest(uint64_t v) {
  std::string d(kDigestBytes, '\0');
  std::memcpy(d.data(), &v, sizeof(v));
  d[15] = 0x5a;
  return d;
}

std::string Digests(const std::vector<uint64_t>& values) {
  std::string out;
  for (uint64_t v : values) out += Digest(v);
  return out;
}

std::vector<uint64_t> Matches(const MatchTable& table, const std::string& digest) {
  std::vector<uint64_t> out;
  table.ForEachMatch(reinterpret_cast<const uint8_t*>(digest.data()),
                     [&](uint64_t p) { out.push_back(p); });
  std::sort(out.begin(), out.end());
  return out;
}

TEST(MatchTableTest, FindsEveryPositionOfADigest) {
  MatchTable table(Digests({10, 20, 10, 30, 10, 40}));
  EXPECT_EQ(table.size(), 6u);
  EXPECT_THAT(Matches(table, Digest(10)), ElementsAre(0, 2, 4));
  EXPECT_THAT(Matches(table, Digest(40)), ElementsAre(5));
  EXPECT_THAT(Matches(table, Digest(50)), IsEmpty());
}

TEST(MatchTableTest, DigestsDifferingInTheLastByteAreDistinct) {
  MatchTable table(Digest(7));
  std::string d = Digest(7);
  d[15] ^= 1;
  EXPECT_THAT(Matches(table, d), IsEmpty());
  EXPECT_THAT(Matches(table, Digest(7)), ElementsAre(0));
}

TEST(MatchTableTest, LargeTableAnswersEveryLookup) {
  constexpr uint64_t kN = 100000;
  std::vector<uint64_t> values;
  for (uint64_t i = 0; i < kN; ++i) values.push_back(i * 3);
  MatchTable table(Digests(values));
  for (uint64_t i = 0; i < kN; i += 997) {
    EXPECT_THAT(Matches(table, Digest(i * 3)), ElementsAre(i));
    EXPECT_THAT(Matches(table, Digest(i * 3 + 1)), IsEmpty());
  }
}

TEST(MatchTableTest, EmptyTableMatchesNothing) {
  MatchTable table("");
  EXPECT_EQ(table.size(), 0u);
  EXPECT_THAT(Matches(table, Digest(1)), IsEmpty());
}

}  // namespace
}  // namespace tds::compute::psi
