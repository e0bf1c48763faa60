#include "ledger/genesis.h"

#include <gtest/gtest.h>

#include "common/sha256.h"
#include "ledger/test_util.h"

namespace tds::ledger {
namespace {

using testing::KeyFromByte;

std::string Pub(uint8_t b) { return KeyFromByte(b)->public_key().hex(); }

TEST(Genesis, BuildsAndParsesMembersRolesAndValidators) {
  auto json = BuildGenesisJson("bank-consortium",
                               {"v1:validator:" + Pub(1), "bank:consumer,auditor:" + Pub(2)});
  ASSERT_TRUE(json.ok()) << json.status();
  auto g = GenesisInfo::Parse(*json, "g.json");
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_EQ(g->origin(), "bank-consortium");
  ASSERT_NE(g->FindMember("bank"), nullptr);
  EXPECT_TRUE(GenesisInfo::HasRole(*g->FindMember("bank"), kRoleAuditor));
  EXPECT_EQ(g->FindByKey(KeyFromByte(2)->public_key()), g->FindMember("bank"));
  EXPECT_EQ(g->FindByKey(KeyFromByte(9)->public_key()), nullptr);
  ASSERT_EQ(g->validators().size(), 1u);
  EXPECT_EQ(g->quorum(), 1u);
  EXPECT_EQ(g->digest(), Sha256(*json));
}

TEST(Genesis, QuorumIsTwoFPlusOne) {
  std::vector<std::string> specs;
  for (uint8_t i = 1; i <= 7; ++i)
    specs.push_back("v" + std::to_string(i) + ":validator:" + Pub(i));
  auto g = GenesisInfo::Parse(*BuildGenesisJson("o", specs), "g");
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->quorum(), 5u);  // n = 7, f = 2
  specs.resize(4);
  EXPECT_EQ(GenesisInfo::Parse(*BuildGenesisJson("o", specs), "g")->quorum(), 3u);
}

TEST(Genesis, RefusesBadSpecsNamingTheProblem) {
  auto bad_role = BuildGenesisJson("o", {"v1:validator,banker:" + Pub(1)});
  EXPECT_THAT(std::string(bad_role.status().message()),
              ::testing::HasSubstr("unknown role 'banker'"));
  auto bad_key = BuildGenesisJson("o", {"v1:validator:abcd"});
  EXPECT_THAT(std::string(bad_key.status().message()), ::testing::HasSubstr("public_key"));
  auto dup = BuildGenesisJson("o", {"v1:validator:" + Pub(1), "v1:consumer:" + Pub(2)});
  EXPECT_THAT(std::string(dup.status().message()), ::testing::HasSubstr("duplicate id"));
  auto same_key = BuildGenesisJson("o", {"v1:validator:" + Pub(1), "v2:consumer:" + Pub(1)});
  EXPECT_THAT(std::string(same_key.status().message()), ::testing::HasSubstr("already used"));
  auto no_validator = BuildGenesisJson("o", {"bank:consumer:" + Pub(1)});
  EXPECT_THAT(std::string(no_validator.status().message()), ::testing::HasSubstr("validator"));
  auto bad_id = BuildGenesisJson("o", {"Bank One:validator:" + Pub(1)});
  EXPECT_FALSE(bad_id.ok());
  auto bad_spec = BuildGenesisJson("o", {"v1-validator"});
  EXPECT_THAT(std::string(bad_spec.status().message()), ::testing::HasSubstr("ID:ROLE"));
  EXPECT_FALSE(BuildGenesisJson("two\nlines", {"v1:validator:" + Pub(1)}).ok());
}

TEST(Genesis, OptionalFourthFieldPinsTheMembersTlsCertificate) {
  const std::string pin(64, 'a');
  auto json = BuildGenesisJson(
      "o", {"v1:validator:" + Pub(1) + ":" + std::string(64, 'A'), "bank:consumer:" + Pub(2)});
  ASSERT_TRUE(json.ok()) << json.status();
  auto g = GenesisInfo::Parse(*json, "g.json");
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_EQ(g->FindMember("v1")->tls_cert_sha256(), pin);  // stored lowercase
  EXPECT_EQ(g->FindMember("bank")->tls_cert_sha256(), "");

  auto short_pin = BuildGenesisJson("o", {"v1:validator:" + Pub(1) + ":abcd"});
  EXPECT_THAT(std::string(short_pin.status().message()),
              ::testing::HasSubstr("CERT_SHA256 must be 64 hex digits"));
  auto five_fields = BuildGenesisJson("o", {"v1:validator:" + Pub(1) + ":" + pin + ":x"});
  EXPECT_THAT(std::string(five_fields.status().message()),
              ::testing::HasSubstr("PUBKEY_HEX[:CERT_SHA256]"));
  auto same_pin = BuildGenesisJson(
      "o", {"v1:validator:" + Pub(1) + ":" + pin, "bank:consumer:" + Pub(2) + ":" + pin});
  EXPECT_THAT(std::string(same_pin.status().message()),
              ::testing::HasSubstr("member 1 ('bank'): tls_cert_sha256 already pinned"));
}

TEST(Genesis, PinInTheFileMustBeLowercaseHex) {
  auto file = [](const std::string& pin) {
    return R"({"origin": "o", "members": [{"id": "v1", "roles": ["validator"], "public_key": ")" +
           Pub(1) + R"(", "tls_cert_sha256": ")" + pin + R"("}]})";
  };
  EXPECT_TRUE(GenesisInfo::Parse(file(std::string(64, 'f')), "g").ok());
  auto upper = GenesisInfo::Parse(file(std::string(64, 'F')), "g");
  EXPECT_THAT(
      std::string(upper.status().message()),
      ::testing::HasSubstr("member 0 ('v1'): tls_cert_sha256 must be empty or 64 lowercase"));
  EXPECT_FALSE(GenesisInfo::Parse(file("xyz"), "g").ok());
}

TEST(Genesis, RefusesUnknownFieldsInTheFile) {
  const std::string json = R"({"origin": "o", "memberz": []})";
  auto g = GenesisInfo::Parse(json, "g.json");
  ASSERT_FALSE(g.ok());
  EXPECT_THAT(std::string(g.status().message()), ::testing::HasSubstr("memberz"));
}

}  // namespace
}  // namespace tds::ledger
