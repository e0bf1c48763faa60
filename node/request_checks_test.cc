#include "node/request_checks.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tds::node {
namespace {

using ::testing::HasSubstr;

std::string Message(const absl::Status& s) { return std::string(s.message()); }

TEST(RequestChecksTest, PageLimitDefaultsAndCaps) {
  tds::Page page;
  EXPECT_EQ(*PageLimit(page), kDefaultPageLimit);
  page.set_limit(1000);
  EXPECT_EQ(*PageLimit(page), 1000u);
  page.set_limit(1001);
  absl::StatusOr<size_t> over = PageLimit(page);
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Message(over.status()), "page.limit: 1001 exceeds the limit of 1000");
}

TEST(RequestChecksTest, MemberAndProductIds) {
  EXPECT_TRUE(CheckMemberId("party", "eastbridge-bank", true).ok());
  EXPECT_TRUE(CheckMemberId("party", "", false).ok());
  EXPECT_EQ(Message(CheckMemberId("party", "", true)), "party: required");
  EXPECT_THAT(Message(CheckMemberId("party", "Bank", false)),
              HasSubstr("party: expected a member id"));
  EXPECT_THAT(Message(CheckMemberId("party", "-bank", false)), HasSubstr("got \"-bank\""));
  EXPECT_THAT(Message(CheckMemberId("party", "a/b", false)), HasSubstr("party:"));
  EXPECT_FALSE(CheckMemberId("party", std::string(65, 'a'), false).ok());
  EXPECT_TRUE(CheckMemberId("party", std::string(64, 'a'), false).ok());
  EXPECT_TRUE(CheckProductId("product_id", std::string(128, 'p'), true).ok());
  EXPECT_FALSE(CheckProductId("product_id", std::string(129, 'p'), true).ok());
  // Long garbage is quoted only in part.
  EXPECT_THAT(Message(CheckProductId("product_id", std::string(500, 'X'), true)),
              HasSubstr("...\""));
}

TEST(RequestChecksTest, ContractIds) {
  EXPECT_TRUE(CheckContractId("contract_id", "c-00112233445566778899aabbccddeeff", true).ok());
  EXPECT_TRUE(CheckContractId("contract_id", "", false).ok());
  EXPECT_EQ(Message(CheckContractId("contract_id", "", true)), "contract_id: required");
  for (const char* bad :
       {"c-00112233445566778899AABBCCDDEEFF", "c-0011", "x-00112233445566778899aabbccddeeff",
        "c-00112233445566778899aabbccddeeff0"}) {
    absl::Status s = CheckContractId("contract_id", bad, false);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(Message(s), HasSubstr("contract_id: expected \"c-\" and 32 lowercase hex")) << bad;
  }
}

TEST(RequestChecksTest, Periods) {
  EXPECT_TRUE(CheckPeriod("period", "2025-03", true).ok());
  EXPECT_TRUE(CheckPeriod("period", "", false).ok());
  EXPECT_EQ(Message(CheckPeriod("period", "", true)), "period: required (YYYY-MM)");
  EXPECT_EQ(Message(CheckPeriod("period", "2025-13", true)),
            "period: expected YYYY-MM, got \"2025-13\"");
  EXPECT_FALSE(CheckPeriod("period", "2025-3", true).ok());
  EXPECT_FALSE(CheckPeriod("period", "2025-03-01", true).ok());
}

TEST(RequestChecksTest, NumericCursors) {
  EXPECT_EQ(*ParseNumericCursor("page.cursor", ""), 0u);
  EXPECT_EQ(*ParseNumericCursor("page.cursor", "42"), 42u);
  EXPECT_EQ(*ParseNumericCursor("page.cursor", "18446744073709551615"), UINT64_MAX);
  for (const char* bad : {"-1", "4x", "18446744073709551616", " 1", "0x10"}) {
    absl::StatusOr<uint64_t> c = ParseNumericCursor("page.cursor", bad);
    ASSERT_FALSE(c.ok()) << bad;
    EXPECT_THAT(Message(c.status()), HasSubstr("page.cursor: expected the next_cursor")) << bad;
  }
}

}  // namespace
}  // namespace tds::node
