#include "node/auth.h"

#include <map>
#include <memory>
#include <string>

#include "common/envelope.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ledger/test_util.h"
#include "proto/query_service.pb.h"
#include "sdk/query_client.h"

namespace tds::node {
namespace {

using ledger::testing::KeyFromByte;
using ::testing::HasSubstr;

constexpr int64_t kNow = 1741944413000;  // 2025-03-14T09:26:53Z

class AuthTest : public ::testing::Test {
 protected:
  AuthTest() {
    Add("bank", {"consumer"}, 2);
    Add("zj", {"provider"}, 3);
    Add("audit", {"auditor"}, 4);
    Add("node", {"validator"}, 1);
    Add("stranger", {"consumer"}, 5);
  }

  void Add(const std::string& id, std::vector<std::string> roles, uint8_t key_byte) {
    tds::Member m;
    m.set_id(id);
    for (const std::string& r : roles) m.add_roles(r);
    m.set_public_key(KeyFromByte(key_byte)->public_key().hex());
    members_[id] = m;
  }

  MemberLookup Lookup() const {
    return [this](std::string_view id) -> absl::StatusOr<std::optional<tds::Member>> {
      auto it = members_.find(std::string(id));
      if (it == members_.end()) return std::nullopt;
      return it->second;
    };
  }

  absl::StatusOr<Caller> Auth(const std::string& auth, int64_t now = kNow) const {
    return AuthenticateQuery(Lookup(), auth, now);
  }

  static std::string Identity(uint8_t key_byte, const std::string& member, int64_t issued_ms) {
    return sdk::BuildQueryAuth(*KeyFromByte(key_byte), member, issued_ms);
  }

  static void ExpectUnauthenticated(const absl::StatusOr<Caller>& c, const std::string& why) {
    ASSERT_FALSE(c.ok());
    EXPECT_EQ(c.status().code(), absl::StatusCode::kUnauthenticated) << c.status();
    EXPECT_THAT(std::string(c.status().message()), HasSubstr("auth: "));
    EXPECT_THAT(std::string(c.status().message()), HasSubstr(why));
  }

  std::map<std::string, tds::Member> members_;
};

TEST_F(AuthTest, EmptyAuthIsAnonymous) {
  absl::StatusOr<Caller> c = Auth("");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_TRUE(c->anonymous());
  EXPECT_FALSE(c->ReadsEverything());
  EXPECT_EQ(c->Describe(), "an anonymous caller");
}

TEST_F(AuthTest, AMembersFreshIdentityAuthenticatesWithItsRoles) {
  absl::StatusOr<Caller> c = Auth(Identity(2, "bank", kNow - 1000));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->member_id, "bank");
  EXPECT_THAT(c->roles, ::testing::ElementsAre("consumer"));
  EXPECT_FALSE(c->ReadsEverything());
  EXPECT_EQ(c->Describe(), "member 'bank'");
}

TEST_F(AuthTest, AuditorsAndValidatorsReadEverything) {
  EXPECT_TRUE(Auth(Identity(4, "audit", kNow))->ReadsEverything());
  EXPECT_TRUE(Auth(Identity(1, "node", kNow))->ReadsEverything());
  EXPECT_FALSE(Auth(Identity(3, "zj", kNow))->ReadsEverything());
}

TEST_F(AuthTest, ClockSkewUpToFiveMinutesIsAcceptedEitherWay) {
  EXPECT_TRUE(Auth(Identity(2, "bank", kNow - kMaxQueryClockSkewMs)).ok());
  EXPECT_TRUE(Auth(Identity(2, "bank", kNow + kMaxQueryClockSkewMs)).ok());
}

TEST_F(AuthTest, StaleOrFutureIdentitiesAreRefusedNamingTheClock) {
  ExpectUnauthenticated(Auth(Identity(2, "bank", kNow - kMaxQueryClockSkewMs - 1)),
                        "behind the node's clock");
  ExpectUnauthenticated(Auth(Identity(2, "bank", kNow + kMaxQueryClockSkewMs + 1)),
                        "ahead of the node's clock");
  ExpectUnauthenticated(Auth(Identity(2, "bank", 0)), "issued_ms 0");
  ExpectUnauthenticated(Auth(Identity(2, "bank", INT64_MIN)), "behind");
  ExpectUnauthenticated(Auth(Identity(2, "bank", INT64_MAX)), "ahead of");
}

TEST_F(AuthTest, AnotherMembersKeyCannotClaimAnIdentity) {
  // The stranger signs as bank.
  ExpectUnauthenticated(Auth(Identity(5, "bank", kNow)), "which is not the key of member 'bank'");
}

TEST_F(AuthTest, NonMembersAndRemovedMembersAreRefused) {
  ExpectUnauthenticated(Auth(Identity(9, "nobody", kNow)), "'nobody' is not a current member");
  members_.erase("bank");  // e.g. removed by governance since
  ExpectUnauthenticated(Auth(Identity(2, "bank", kNow)), "'bank' is not a current member");
}

TEST_F(AuthTest, MalformedAuthBytesAreRefused) {
  ExpectUnauthenticated(Auth("not an envelope"), "envelope");
  // A transaction envelope is signed under another context.
  ExpectUnauthenticated(Auth(SealEnvelope(*KeyFromByte(2), kTxContext, "x")), "envelope");
  // The right context over something that is not a QueryIdentity.
  ExpectUnauthenticated(Auth(SealEnvelope(*KeyFromByte(2), kQueryContext, "\xff\xff\xff")),
                        "not a tds.QueryIdentity");
  tds::QueryIdentity no_member;
  no_member.set_issued_ms(kNow);
  ExpectUnauthenticated(
      Auth(SealEnvelope(*KeyFromByte(2), kQueryContext, no_member.SerializeAsString())),
      "member_id: empty");
  ExpectUnauthenticated(Auth(std::string(kMaxAuthBytes + 1, 'x')), "exceeds the limit");
}

TEST_F(AuthTest, ContractsAreReadByTheirPartiesAuditorsAndValidatorsOnly) {
  tds::Contract contract;
  contract.set_id("c-00112233445566778899aabbccddeeff");
  contract.set_provider("zj");
  contract.set_consumer("bank");
  EXPECT_TRUE(CheckContractAccess(*Auth(Identity(2, "bank", kNow)), contract).ok());
  EXPECT_TRUE(CheckContractAccess(*Auth(Identity(3, "zj", kNow)), contract).ok());
  EXPECT_TRUE(CheckContractAccess(*Auth(Identity(4, "audit", kNow)), contract).ok());
  EXPECT_TRUE(CheckContractAccess(*Auth(Identity(1, "node", kNow)), contract).ok());

  absl::Status stranger = CheckContractAccess(*Auth(Identity(5, "stranger", kNow)), contract);
  EXPECT_EQ(stranger.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(std::string(stranger.message()),
            "member 'stranger' is not a party to contract 'c-00112233445566778899aabbccddeeff' "
            "(provider 'zj', consumer 'bank')");
  EXPECT_EQ(CheckContractAccess(Caller{}, contract).code(), absl::StatusCode::kUnauthenticated);
}

TEST_F(AuthTest, LevelFiveProductsAreSeenByProviderAllowListAndAuditorsOnly) {
  tds::Product product;
  product.set_id("registry");
  product.set_provider("zj");
  product.set_level(5);
  product.add_allow_list("bank");
  EXPECT_TRUE(MaySeeProduct(*Auth(Identity(3, "zj", kNow)), product));
  EXPECT_TRUE(MaySeeProduct(*Auth(Identity(2, "bank", kNow)), product));
  EXPECT_TRUE(MaySeeProduct(*Auth(Identity(4, "audit", kNow)), product));
  EXPECT_FALSE(MaySeeProduct(*Auth(Identity(5, "stranger", kNow)), product));
  EXPECT_FALSE(MaySeeProduct(Caller{}, product));
  product.set_level(4);
  EXPECT_TRUE(MaySeeProduct(Caller{}, product));
}

TEST_F(AuthTest, ValuationsAreReadByTheProviderAndAuditorsOnly) {
  tds::Product product;
  product.set_id("invoices");
  product.set_provider("zj");
  EXPECT_TRUE(CheckValuationAccess(*Auth(Identity(3, "zj", kNow)), product).ok());
  EXPECT_TRUE(CheckValuationAccess(*Auth(Identity(4, "audit", kNow)), product).ok());
  absl::Status bank = CheckValuationAccess(*Auth(Identity(2, "bank", kNow)), product);
  EXPECT_EQ(bank.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(std::string(bank.message()),
              HasSubstr("member 'bank' may not read the valuation of product 'invoices'"));
  EXPECT_EQ(CheckValuationAccess(Caller{}, product).code(), absl::StatusCode::kUnauthenticated);
}

// --- Identity from TLS certificates (docs/tls.md, "Identity"). ---

class CertificateIdentityTest : public AuthTest {
 protected:
  static CertificateInfo Cert(const std::string& cn, char fp_digit) {
    CertificateInfo c;
    c.common_name = cn;
    c.sha256_hex = std::string(64, fp_digit);
    return c;
  }

  // Pins as an index of the membership would report them.
  PinLookup Pins() const {
    return [this](std::string_view fp) -> absl::StatusOr<std::optional<std::string>> {
      if (!stale_pin_owner_.empty()) return stale_pin_owner_;
      for (const auto& [id, m] : members_) {
        if (m.tls_cert_sha256() == fp) return id;
      }
      return std::nullopt;
    };
  }

  absl::StatusOr<tds::Member> Identify(const CertificateInfo& cert) const {
    return MemberForCertificate(Lookup(), Pins(), cert);
  }

  void ExpectNotAMember(const CertificateInfo& cert, const std::string& why) const {
    absl::StatusOr<tds::Member> m = Identify(cert);
    ASSERT_FALSE(m.ok());
    EXPECT_EQ(m.status().code(), absl::StatusCode::kUnauthenticated);
    EXPECT_THAT(std::string(m.status().message()),
                HasSubstr("certificate " + cert.sha256_hex + " is not a current member's"));
    EXPECT_THAT(std::string(m.status().message()), HasSubstr(why));
  }

  std::string stale_pin_owner_;
};

TEST_F(CertificateIdentityTest, PinnedCertificateIdentifiesItsMemberWhateverItsCn) {
  members_["bank"].set_tls_cert_sha256(std::string(64, 'b'));
  EXPECT_EQ(Identify(Cert("bank", 'b'))->id(), "bank");
  EXPECT_EQ(Identify(Cert("Bank of Somewhere", 'b'))->id(), "bank");
}

TEST_F(CertificateIdentityTest, MemberWithoutPinIsMatchedByCn) {
  absl::StatusOr<tds::Member> m = Identify(Cert("audit", '4'));
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->id(), "audit");
}

TEST_F(CertificateIdentityTest, PinnedMemberRefusesAnyOtherCertificateWithItsCn) {
  members_["bank"].set_tls_cert_sha256(std::string(64, 'b'));
  ExpectNotAMember(Cert("bank", 'c'), "member 'bank' pins certificate " + std::string(64, 'b'));
}

TEST_F(CertificateIdentityTest, CertificateOfNoMemberIsRefused) {
  ExpectNotAMember(Cert("mallory", 'e'), "its CN 'mallory' is not a current member");
  ExpectNotAMember(Cert("Mallory Inc", 'e'), "its CN 'Mallory Inc' is not a member id");
  ExpectNotAMember(Cert("", 'e'), "no member pins it and it has no CN");
  members_.erase("bank");  // removed by governance
  ExpectNotAMember(Cert("bank", 'e'), "its CN 'bank' is not a current member");
}

TEST_F(CertificateIdentityTest, PinIndexTrailingTheStateIsNotTrusted) {
  // The index still says bank pins 'b', but bank's record now pins another certificate.
  members_["bank"].set_tls_cert_sha256(std::string(64, 'c'));
  stale_pin_owner_ = "bank";
  ExpectNotAMember(Cert("someone", 'b'), "its CN 'someone' is not a current member");
}

TEST_F(CertificateIdentityTest, OverTlsTheCertificateIsTheCallerAndAuthMustAgree) {
  const std::optional<std::string> bank = "bank";
  absl::StatusOr<Caller> c = AuthenticateCaller(Lookup(), bank, "", kNow);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->member_id, "bank");
  EXPECT_THAT(c->roles, ::testing::ElementsAre("consumer"));

  c = AuthenticateCaller(Lookup(), bank, Identity(2, "bank", kNow), kNow);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->member_id, "bank");

  // The auditor's signed identity (a replay, say) over bank's connection.
  c = AuthenticateCaller(Lookup(), bank, Identity(4, "audit", kNow), kNow);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(std::string(c.status().message()),
            "auth: the query is signed as member 'audit' but the TLS certificate identifies "
            "member 'bank'");

  // A bad `auth` still fails as it would alone.
  c = AuthenticateCaller(Lookup(), bank, "garbage", kNow);
  EXPECT_EQ(c.status().code(), absl::StatusCode::kUnauthenticated);

  members_.erase("bank");
  c = AuthenticateCaller(Lookup(), bank, "", kNow);
  EXPECT_EQ(c.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(std::string(c.status().message()), HasSubstr("no longer a current member"));
}

TEST_F(CertificateIdentityTest, OnPlaintextAuthAloneDecides) {
  EXPECT_TRUE(AuthenticateCaller(Lookup(), std::nullopt, "", kNow)->anonymous());
  EXPECT_EQ(AuthenticateCaller(Lookup(), std::nullopt, Identity(4, "audit", kNow), kNow)->member_id,
            "audit");
}

}  // namespace
}  // namespace tds::node
