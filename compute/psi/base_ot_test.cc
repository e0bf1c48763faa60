#include "compute/psi/base_ot.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sodium.h>

#include <cstring>

#include "compute/worker_pool.h"

namespace tds::compute::psi {
namespace {

using ::testing::HasSubstr;

bool Same(const OtSeed& a, const OtSeed& b) {
  return std::memcmp(a.bytes, b.bytes, kOtSeedBytes) == 0;
}

std::vector<uint8_t> Choices(size_t n) {
  std::vector<uint8_t> c(n);
  for (size_t j = 0; j < n; ++j) c[j] = static_cast<uint8_t>((j * 7 + j / 3) % 2);
  return c;
}

TEST(BaseOtTest, ReceiverGetsTheChosenSeedAndNotTheOther) {
  WorkerPool pool(2);
  for (WorkerPool* p : {static_cast<WorkerPool*>(nullptr), &pool}) {
    BaseOtSender sender;
    const std::vector<uint8_t> choices = Choices(64);
    std::string reply;
    std::vector<OtSeed> chosen;
    ASSERT_TRUE(BaseOtReceive(sender.FirstMessage(), choices, reply, chosen, p).ok());
    ASSERT_EQ(reply.size(), 64 * kOtPointBytes);
    std::vector<OtSeed> k0, k1;
    ASSERT_TRUE(sender.Finish(reply, 64, k0, k1, p).ok());
    for (size_t j = 0; j < 64; ++j) {
      const OtSeed& want = choices[j] ? k1[j] : k0[j];
      const OtSeed& other = choices[j] ? k0[j] : k1[j];
      EXPECT_TRUE(Same(chosen[j], want)) << "OT " << j;
      EXPECT_FALSE(Same(chosen[j], other)) << "OT " << j;
      if (j > 0) {
        EXPECT_FALSE(Same(k0[j], k0[j - 1])) << "OT " << j;
      }
    }
  }
}

TEST(BaseOtTest, FreshSenderGivesFreshSeeds) {
  BaseOtSender a, b;
  EXPECT_NE(a.FirstMessage(), b.FirstMessage());
}

TEST(BaseOtTest, ReplyOfTheWrongLengthIsRefused) {
  BaseOtSender sender;
  std::string reply;
  std::vector<OtSeed> chosen;
  ASSERT_TRUE(BaseOtReceive(sender.FirstMessage(), Choices(8), reply, chosen).ok());
  std::vector<OtSeed> k0, k1;
  absl::Status s = sender.Finish(reply.substr(0, reply.size() - 1), 8, k0, k1);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(s.message(), HasSubstr("255 bytes, expected 8 points of 32 bytes = 256"));
}

TEST(BaseOtTest, InvalidOrIdentityReplyPointIsRefused) {
  BaseOtSender sender;
  std::string reply;
  std::vector<OtSeed> chosen;
  ASSERT_TRUE(BaseOtReceive(sender.FirstMessage(), Choices(8), reply, chosen).ok());
  std::vector<OtSeed> k0, k1;
  std::string identity = reply;
  std::memset(identity.data() + 3 * kOtPointBytes, 0, kOtPointBytes);
  absl::Status s = sender.Finish(identity, 8, k0, k1);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("reply point 3 is not a valid ristretto255 encoding"));
  std::string garbage = reply;
  std::memset(garbage.data() + 5 * kOtPointBytes, 0xff, kOtPointBytes);  // not canonical
  s = sender.Finish(garbage, 8, k0, k1);
  EXPECT_THAT(s.message(), HasSubstr("reply point 5"));
  // B_j = A makes B_j − A the identity.
  std::string equal = reply;
  const std::string a = sender.FirstMessage();
  std::memcpy(equal.data(), a.data(), kOtPointBytes);
  s = sender.Finish(equal, 8, k0, k1);
  EXPECT_THAT(s.message(), HasSubstr("reply point 0 equals the sender's point"));
}

TEST(BaseOtTest, MalformedFirstMessageIsRefused) {
  std::string reply;
  std::vector<OtSeed> chosen;
  absl::Status s = BaseOtReceive(std::string(31, 'a'), Choices(4), reply, chosen);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(s.message(), HasSubstr("31 bytes, expected 32"));
  s = BaseOtReceive(std::string(32, '\0'), Choices(4), reply, chosen);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("identity"));
}

}  // namespace
}  // namespace tds::compute::psi
