#include "common/x509.h"

#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>

#include "common/bytes.h"
#include "common/sha256.h"

namespace tds {
namespace {

using ::testing::HasSubstr;

struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;

X509Ptr Parse(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  X509Ptr x(PEM_read_bio_X509(bio, nullptr, nullptr, nullptr));
  BIO_free(bio);
  return x;
}

// The subjectAltName entries as "DNS:x" / "IP:1.2.3.4".
std::vector<std::string> Sans(X509* x) {
  std::vector<std::string> out;
  auto* names =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(x, NID_subject_alt_name, nullptr, nullptr));
  if (names == nullptr) return out;
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* n = sk_GENERAL_NAME_value(names, i);
    if (n->type == GEN_DNS) {
      out.push_back("DNS:" +
                    std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(n->d.dNSName)),
                                ASN1_STRING_length(n->d.dNSName)));
    } else if (n->type == GEN_IPADD) {
      char text[INET6_ADDRSTRLEN] = {};
      const int len = ASN1_STRING_length(n->d.iPAddress);
      inet_ntop(len == 4 ? AF_INET : AF_INET6, ASN1_STRING_get0_data(n->d.iPAddress), text,
                sizeof(text));
      out.push_back(std::string("IP:") + text);
    }
  }
  GENERAL_NAMES_free(names);
  return out;
}

class X509Test : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ca_ = new CertifiedKey(*CreateCertificateAuthority("Test Consortium CA", 30));
    other_ca_ = new CertifiedKey(*CreateCertificateAuthority("Another CA", 30));
  }
  static void TearDownTestSuite() {
    delete ca_;
    delete other_ca_;
  }

  static CertifiedKey Issue(const std::string& cn,
                            std::vector<std::string> hosts = {"127.0.0.1", "localhost"}) {
    absl::StatusOr<CertifiedKey> c = IssueCertificate(*ca_, {cn, std::move(hosts), 10});
    EXPECT_TRUE(c.ok()) << c.status();
    return c.ok() ? *c : CertifiedKey();
  }

  static CertifiedKey* ca_;
  static CertifiedKey* other_ca_;
};

CertifiedKey* X509Test::ca_ = nullptr;
CertifiedKey* X509Test::other_ca_ = nullptr;

TEST_F(X509Test, CaIsACertificateAuthorityThatMaySignCertificates) {
  X509Ptr ca = Parse(ca_->cert_pem);
  ASSERT_NE(ca, nullptr);
  EXPECT_GE(X509_check_ca(ca.get()), 1);
  EXPECT_TRUE(X509_get_key_usage(ca.get()) & KU_KEY_CERT_SIGN);
  EXPECT_THAT(ca_->key_pem, HasSubstr("BEGIN PRIVATE KEY"));
  EXPECT_TRUE(CheckKeyMatchesCertificate(ca_->cert_pem, ca_->key_pem).ok());
  EXPECT_EQ(ParseCertificatePem(ca_->cert_pem)->common_name, "Test Consortium CA");
}

TEST_F(X509Test, MemberCertificateNamesTheMemberItsHostsAndBothTlsRoles) {
  CertifiedKey bank = Issue("bank", {"127.0.0.1", "localhost", "::1", "node.bank.example"});
  X509Ptr x = Parse(bank.cert_pem);
  ASSERT_NE(x, nullptr);
  EXPECT_EQ(X509_check_ca(x.get()), 0);
  EXPECT_THAT(Sans(x.get()), ::testing::ElementsAre("IP:127.0.0.1", "DNS:localhost", "IP:::1",
                                                    "DNS:node.bank.example"));
  const uint32_t eku = X509_get_extended_key_usage(x.get());
  EXPECT_TRUE(eku & XKU_SSL_SERVER);
  EXPECT_TRUE(eku & XKU_SSL_CLIENT);
  EXPECT_EQ(ParseCertificatePem(bank.cert_pem)->common_name, "bank");
  EXPECT_TRUE(CheckKeyMatchesCertificate(bank.cert_pem, bank.key_pem).ok());
  EXPECT_TRUE(CheckIssuedBy(bank.cert_pem, ca_->cert_pem).ok());
}

TEST_F(X509Test, FingerprintIsSha256OfTheDerInLowercaseHex) {
  CertifiedKey bank = Issue("bank");
  absl::StatusOr<CertificateInfo> info = ParseCertificatePem(bank.cert_pem);
  ASSERT_TRUE(info.ok()) << info.status();
  X509Ptr x = Parse(bank.cert_pem);
  unsigned char* der = nullptr;
  const int n = i2d_X509(x.get(), &der);
  ASSERT_GT(n, 0);
  const std::string expected_der(reinterpret_cast<const char*>(der), n);
  OPENSSL_free(der);
  EXPECT_EQ(info->der, expected_der);
  EXPECT_EQ(info->sha256_hex, HexEncode(Sha256(expected_der)));
  EXPECT_TRUE(IsCertificateFingerprint(info->sha256_hex));
  EXPECT_EQ(*CertificateFingerprint(bank.cert_pem), info->sha256_hex);
  // A second certificate for the same member is a different certificate.
  EXPECT_NE(*CertificateFingerprint(Issue("bank").cert_pem), info->sha256_hex);
}

TEST_F(X509Test, FingerprintSyntaxIsSixtyFourLowercaseHexDigits) {
  EXPECT_TRUE(IsCertificateFingerprint(std::string(64, 'a')));
  EXPECT_FALSE(IsCertificateFingerprint(std::string(64, 'A')));
  EXPECT_FALSE(IsCertificateFingerprint(std::string(63, 'a')));
  EXPECT_FALSE(IsCertificateFingerprint(std::string(64, 'g')));
  EXPECT_FALSE(IsCertificateFingerprint(""));
}

TEST_F(X509Test, CertificateOfAnotherCaDoesNotVerify) {
  absl::StatusOr<CertifiedKey> foreign = IssueCertificate(*other_ca_, {"bank", {"localhost"}, 10});
  ASSERT_TRUE(foreign.ok());
  absl::Status s = CheckIssuedBy(foreign->cert_pem, ca_->cert_pem);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(s.message()), HasSubstr("unable to get local issuer certificate"));
}

TEST_F(X509Test, KeyOfAnotherCertificateDoesNotMatch) {
  CertifiedKey a = Issue("a"), b = Issue("b");
  absl::Status s = CheckKeyMatchesCertificate(a.cert_pem, b.key_pem);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(s.message()), HasSubstr("does not match"));
}

TEST_F(X509Test, BadRequestsAreRefusedNamingTheField) {
  auto refused = [](const CertificateRequest& r, const std::string& what) {
    absl::StatusOr<CertifiedKey> c = IssueCertificate(*ca_, r);
    ASSERT_FALSE(c.ok()) << what;
    EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(c.status().message()), HasSubstr(what));
  };
  refused({"bank", {"bad host!"}, 10}, "host 'bad host!'");
  refused({"bank", {"a,DNS:evil.example"}, 10}, "host 'a,DNS:evil.example'");
  refused({"bank", {}, 10}, "at least one host");
  refused({"bank", {"localhost"}, 0}, "days: must be 1..36500, got 0");
  refused({"", {"localhost"}, 10}, "common name");
  refused({std::string(65, 'a'), {"localhost"}, 10}, "common name: must be 1..64 bytes, got 65");
  EXPECT_FALSE(CreateCertificateAuthority("", 10).ok());
  EXPECT_FALSE(CreateCertificateAuthority("ca", 36501).ok());
}

TEST_F(X509Test, LeafCertificateCannotActAsCa) {
  CertifiedKey leaf = Issue("bank");
  absl::StatusOr<CertifiedKey> c = IssueCertificate(leaf, {"x", {"localhost"}, 10});
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(c.status().message()), HasSubstr("not a CA"));
}

TEST_F(X509Test, GarbageIsNotACertificate) {
  EXPECT_EQ(ParseCertificatePem("hello").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseCertificatePem(std::string(kMaxPemBytes + 1, 'x')).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(CheckIssuedBy(Issue("a").cert_pem, "no certificates here").ok());
}

}  // namespace
}  // namespace tds
