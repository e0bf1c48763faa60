#include "common/bytes.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tds {
namespace {

using ::testing::HasSubstr;

std::string AllByteValues() {
  std::string s;
  for (int i = 0; i < 256; ++i) s.push_back(static_cast<char>(i));
  return s;
}

std::string Message(const absl::Status& s) { return std::string(s.message()); }

TEST(Hex, RoundTripsEveryByteValue) {
  const std::string bytes = AllByteValues();
  const std::string hex = HexEncode(bytes);
  EXPECT_EQ(hex.size(), 512u);
  auto decoded = HexDecode(hex);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(*decoded, bytes);
}

TEST(Hex, EncodesLowercase) { EXPECT_EQ(HexEncode(std::string("\x00\xab\xff", 3)), "00abff"); }

TEST(Hex, DecodeAcceptsUppercase) {
  auto decoded = HexDecode("ABcdEF");
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(*decoded, "\xab\xcd\xef");
}

TEST(Hex, EmptyRoundTrips) {
  EXPECT_EQ(HexEncode(""), "");
  auto decoded = HexDecode("");
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(*decoded, "");
}

TEST(Hex, OddLengthRefused) {
  auto decoded = HexDecode("abc");
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(decoded.status()), HasSubstr("odd length 3"));
}

TEST(Hex, NonHexCharacterRefusedNamingPosition) {
  auto high_nibble = HexDecode("00g0");
  ASSERT_FALSE(high_nibble.ok());
  EXPECT_THAT(Message(high_nibble.status()), HasSubstr("position 2"));
  auto low_nibble = HexDecode("000 ");
  ASSERT_FALSE(low_nibble.ok());
  EXPECT_THAT(Message(low_nibble.status()), HasSubstr("position 3"));
}

TEST(Hash, FromHexRoundTrips) {
  Hash h;
  for (size_t i = 0; i < h.size(); ++i) h[i] = static_cast<uint8_t>(i * 7);
  auto back = HashFromHex(HexEncode(h));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, h);
}

TEST(Hash, WrongLengthRefusedNamingTheField) {
  auto short_hash = HashFromHex("abcd", "block hash");
  ASSERT_FALSE(short_hash.ok());
  EXPECT_THAT(Message(short_hash.status()), HasSubstr("block hash: expected 32 bytes, got 2"));
  auto bad_hex = HashFromHex("zz", "root");
  ASSERT_FALSE(bad_hex.ok());
  EXPECT_THAT(Message(bad_hex.status()), HasSubstr("root: hex: invalid character"));
  EXPECT_FALSE(HashFromBytes(std::string(33, 'x')).ok());
}

// RFC 4648 §10 test vectors.
TEST(Base64, Rfc4648Vectors) {
  const std::pair<std::string, std::string> vectors[] = {
      {"", ""},
      {"f", "Zg=="},
      {"fo", "Zm8="},
      {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="},
      {"fooba", "Zm9vYmE="},
      {"foobar", "Zm9vYmFy"},
  };
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(Base64Encode(plain), encoded) << plain;
    auto decoded = Base64Decode(encoded);
    ASSERT_TRUE(decoded.ok()) << encoded << ": " << decoded.status();
    EXPECT_EQ(*decoded, plain);
  }
}

TEST(Base64, RoundTripsEveryLengthAndByteValue) {
  const std::string all = AllByteValues();
  for (size_t len = 0; len <= all.size(); ++len) {
    const std::string bytes = all.substr(all.size() - len);
    auto decoded = Base64Decode(Base64Encode(bytes));
    ASSERT_TRUE(decoded.ok()) << len;
    EXPECT_EQ(*decoded, bytes);
  }
}

TEST(Base64, MissingPaddingRefused) {
  for (const char* text : {"Zg", "Zm8", "Zm9vYg"}) {
    auto decoded = Base64Decode(text);
    ASSERT_FALSE(decoded.ok()) << text;
    EXPECT_THAT(Message(decoded.status()), HasSubstr("not a multiple of 4"));
  }
}

TEST(Base64, NonAlphabetCharacterRefused) {
  for (const char* text : {"Zm9v!A==", "Zm9-", "Zm9_", "Zm9v\nYg==", "Zm 9v", "Zm9v Zg=="}) {
    auto decoded = Base64Decode(text);
    ASSERT_FALSE(decoded.ok()) << text;
  }
  auto decoded = Base64Decode("Zm9v!A==");
  EXPECT_THAT(Message(decoded.status()), HasSubstr("invalid character at position 4"));
}

TEST(Base64, MisplacedPaddingRefused) {
  // Padding only at the end of the last quantum, at most two, nothing after it.
  for (const char* text : {"Zg==Zm9v", "====", "Z===", "Zg=a", "=Zm9", "Zm=v"}) {
    EXPECT_FALSE(Base64Decode(text).ok()) << text;
  }
}

TEST(Base64, NonCanonicalPaddingBitsRefused) {
  // "Zh==" and "Zm9=" decode to the same bytes as "Zg==" and "Zm8=" if stray bits are ignored.
  for (const char* text : {"Zh==", "Zm9="}) {
    auto decoded = Base64Decode(text);
    ASSERT_FALSE(decoded.ok()) << text;
    EXPECT_THAT(Message(decoded.status()), HasSubstr("non-canonical"));
  }
}

TEST(FixedBE, RoundTripsAndSortsNumerically) {
  std::string a, b;
  PutFixed64BE(&a, 255);
  PutFixed64BE(&b, 256);
  EXPECT_EQ(a, std::string("\0\0\0\0\0\0\0\xff", 8));
  EXPECT_LT(a, b);
  EXPECT_EQ(DecodeFixed64BE(a.data()), 255u);
  EXPECT_EQ(DecodeFixed64BE(b.data()), 256u);
  std::string max;
  PutFixed64BE(&max, UINT64_MAX);
  EXPECT_EQ(DecodeFixed64BE(max.data()), UINT64_MAX);
  std::string c;
  PutFixed32BE(&c, 0x01020304u);
  EXPECT_EQ(c, "\x01\x02\x03\x04");
}

}  // namespace
}  // namespace tds
