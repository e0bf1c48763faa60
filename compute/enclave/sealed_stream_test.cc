#include "compute/enclave/sealed_stream.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace tds::compute::enclave {
namespace {

using ::testing::HasSubstr;

struct Stream {
  SealingKeyPair enclave;
  std::unique_ptr<SealedWriter> writer;
  std::vector<std::string> chunks;
  explicit Stream(const std::string& label = "a", int n = 3) {
    writer = *SealedWriter::Create(enclave.public_key(), label);
    for (int i = 0; i < n; ++i) {
      chunks.push_back(*writer->Seal("chunk " + std::to_string(i), i == n - 1));
    }
  }
  std::unique_ptr<SealedReader> Reader(const std::string& label = "a") {
    return *SealedReader::Open(enclave, label, writer->header());
  }
};

TEST(SealedStreamTest, RoundTrip) {
  Stream s;
  auto r = s.Reader();
  std::string pt;
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(r->Next(s.chunks[i], &pt).ok());
    EXPECT_EQ(pt, "chunk " + std::to_string(i));
  }
  EXPECT_TRUE(r->finished());
  EXPECT_TRUE(r->Finish().ok());
  // The host sees ciphertext only.
  EXPECT_EQ(s.chunks[0].find("chunk"), std::string::npos);
}

TEST(SealedStreamTest, TamperedChunkRefused) {
  Stream s;
  auto r = s.Reader();
  std::string pt;
  std::string bad = s.chunks[0];
  bad[12] ^= 1;
  auto st = r->Next(bad, &pt);
  EXPECT_EQ(st.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(st.message()), HasSubstr("fails authentication"));
  // Flipping the final flag (authenticated data) is tampering too.
  bad = s.chunks[0];
  bad[8] = 1;
  EXPECT_THAT(std::string(r->Next(bad, &pt).message()), HasSubstr("fails authentication"));
}

TEST(SealedStreamTest, ReorderedChunkRefused) {
  Stream s;
  auto r = s.Reader();
  std::string pt;
  auto st = r->Next(s.chunks[1], &pt);
  EXPECT_THAT(std::string(st.message()), HasSubstr("chunk 1 arrived while chunk 0"));
  // A chunk renumbered to fit is caught by authentication.
  std::string renumbered = s.chunks[1];
  renumbered[7] = 0;
  EXPECT_THAT(std::string(r->Next(renumbered, &pt).message()), HasSubstr("fails authentication"));
}

TEST(SealedStreamTest, ReplayedChunkRefused) {
  Stream s;
  auto r = s.Reader();
  std::string pt;
  ASSERT_TRUE(r->Next(s.chunks[0], &pt).ok());
  EXPECT_THAT(std::string(r->Next(s.chunks[0], &pt).message()), HasSubstr("replayed"));
  ASSERT_TRUE(r->Next(s.chunks[1], &pt).ok());
  ASSERT_TRUE(r->Next(s.chunks[2], &pt).ok());
  EXPECT_THAT(std::string(r->Next(s.chunks[2], &pt).message()), HasSubstr("after the final chunk"));
}

TEST(SealedStreamTest, TruncatedStreamRefused) {
  Stream s;
  auto r = s.Reader();
  std::string pt;
  ASSERT_TRUE(r->Next(s.chunks[0], &pt).ok());
  ASSERT_TRUE(r->Next(s.chunks[1], &pt).ok());
  auto st = r->Finish();
  EXPECT_EQ(st.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(st.message()), HasSubstr("truncated"));
  // A chunk cut short is refused too.
  EXPECT_FALSE(r->Next(s.chunks[2].substr(0, s.chunks[2].size() - 1), &pt).ok());
}

TEST(SealedStreamTest, OtherLabelOrEnclaveCannotOpen) {
  Stream s;
  std::string pt;
  EXPECT_THAT(std::string(s.Reader("b")->Next(s.chunks[0], &pt).message()),
              HasSubstr("fails authentication"));
  SealingKeyPair other;
  auto r = *SealedReader::Open(other, "a", s.writer->header());
  EXPECT_FALSE(r->Next(s.chunks[0], &pt).ok());
  // A chunk of another stream to the same enclave does not open in this one.
  auto w2 = *SealedWriter::Create(s.enclave.public_key(), "a");
  std::string foreign = *w2->Seal("x", true);
  EXPECT_FALSE(s.Reader()->Next(foreign, &pt).ok());
}

TEST(SealedStreamTest, MalformedHeaderAndLowOrderKeyRefused) {
  SealingKeyPair enclave;
  EXPECT_EQ(SealedReader::Open(enclave, "a", "TDSS").status().code(), absl::StatusCode::kDataLoss);
  X25519PublicKey zero{};
  EXPECT_FALSE(SealedWriter::Create(zero, "a").ok());
}

}  // namespace
}  // namespace tds::compute::enclave
