#include "common/sha256.h"

#include <string>

#include "gtest/gtest.h"

namespace tds {
namespace {

// FIPS 180-2 / NIST example vectors.
TEST(Sha256, EmptyStringVector) {
  EXPECT_EQ(HexEncode(Sha256("")),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(Sha256, AbcVector) {
  EXPECT_EQ(HexEncode(Sha256("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Sha256, TwoBlockVector) {
  EXPECT_EQ(HexEncode(Sha256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(Sha256, MillionAsVectorIncrementally) {
  Sha256Hasher h;
  const std::string chunk(1000, 'a');
  for (int i = 0; i < 1000; ++i) h.Update(chunk);
  EXPECT_EQ(HexEncode(h.Finish()),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256Hasher, IncrementalEqualsOneShotForEverySplit) {
  std::string data;
  for (int i = 0; i < 200; ++i) data.push_back(static_cast<char>(i * 31));
  const Hash expected = Sha256(data);
  for (size_t split = 0; split <= data.size(); split += 13) {
    Sha256Hasher h;
    h.Update(data.substr(0, split)).Update(data.substr(split));
    EXPECT_EQ(h.Finish(), expected) << split;
  }
  Sha256Hasher bytewise;
  for (char c : data) bytewise.Update(std::string_view(&c, 1));
  EXPECT_EQ(bytewise.Finish(), expected);
}

TEST(Sha256Hasher, NoUpdatesGivesEmptyHash) {
  Sha256Hasher h;
  EXPECT_EQ(h.Finish(), Sha256(""));
}

TEST(Sha256, HandlesEmbeddedNulBytes) { EXPECT_NE(Sha256(std::string("a\0b", 3)), Sha256("a")); }

}  // namespace
}  // namespace tds
