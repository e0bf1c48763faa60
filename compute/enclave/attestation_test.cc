#include "compute/enclave/attestation.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>
#include <functional>

#include "common/sha256.h"
#include "compute/enclave/hardware_quotes.h"

namespace tds::compute::enclave {
namespace {

using ::testing::HasSubstr;

std::unique_ptr<SigningKey> PlatformKey(char fill = 7) {
  return *SigningKey::FromSeed(std::string(32, fill));
}

JobSpec Spec(const std::string& sql) {
  JobSpec s;
  s.sql = sql;
  s.sql_digest = Sha256(sql);
  s.inputs = {{"a", {{"id", ColumnType::kText, true}, {"v", ColumnType::kInteger}}}};
  s.policy.allowed_columns = {"n"};
  return s;
}

EnclaveKeys Keys() {
  EnclaveKeys k;
  k.x25519.fill(9);
  k.signing = PlatformKey(3)->public_key();
  return k;
}

struct Fixture {
  std::unique_ptr<SigningKey> platform = PlatformKey();
  SoftwareBackend backend{*platform};
  std::string binary = "enclave binary bytes";
  JobSpec spec = Spec("SELECT COUNT(*) AS n FROM a");
  Hash measurement = SoftwareMeasurement(binary, spec);

  VerifierPolicy Policy() const {
    VerifierPolicy p;
    p.accepted_measurements = {std::string(AsBytes(measurement))};
    p.software_platform_keys = {platform->public_key()};
    return p;
  }
};

TEST(AttestationTest, SoftwareReportVerifies) {
  Fixture f;
  AttestationVerifier v(f.Policy());
  const Nonce n = v.IssueNonce();
  auto report = f.backend.Attest(std::string(AsBytes(f.measurement)), Keys(), n);
  ASSERT_TRUE(report.ok()) << report.status();
  auto verified = v.Verify(*report, n);
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_EQ(verified->platform, Platform::kSoftware);
  EXPECT_EQ(verified->keys.x25519, Keys().x25519);
  EXPECT_EQ(verified->keys.signing, Keys().signing);
}

TEST(AttestationTest, ChangedBinaryChangesMeasurementAndIsRefused) {
  Fixture f;
  std::string changed = f.binary;
  changed[3] ^= 1;
  const Hash m2 = SoftwareMeasurement(changed, f.spec);
  EXPECT_NE(m2, f.measurement);
  AttestationVerifier v(f.Policy());
  const Nonce n = v.IssueNonce();
  auto report = f.backend.Attest(std::string(AsBytes(m2)), Keys(), n);
  ASSERT_TRUE(report.ok());
  auto verified = v.Verify(*report, n);
  EXPECT_EQ(verified.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(std::string(verified.status().message()),
              HasSubstr("not among the accepted measurements"));
}

TEST(AttestationTest, ChangedJobSpecChangesMeasurement) {
  Fixture f;
  EXPECT_NE(SoftwareMeasurement(f.binary, Spec("SELECT COUNT(*) AS n FROM a WHERE v > 0")),
            f.measurement);
  JobSpec policy_changed = f.spec;
  policy_changed.policy.max_rows += 1;
  EXPECT_NE(SoftwareMeasurement(f.binary, policy_changed), f.measurement);
}

TEST(AttestationTest, WrongNonceRefused) {
  Fixture f;
  AttestationVerifier v(f.Policy());
  const Nonce n1 = v.IssueNonce();
  const Nonce n2 = v.IssueNonce();
  auto report = f.backend.Attest(std::string(AsBytes(f.measurement)), Keys(), n1);
  auto verified = v.Verify(*report, n2);
  EXPECT_EQ(verified.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(std::string(verified.status().message()), HasSubstr("different nonce"));
}

TEST(AttestationTest, ReplayedNonceRefused) {
  Fixture f;
  AttestationVerifier v(f.Policy());
  const Nonce n = v.IssueNonce();
  auto report = f.backend.Attest(std::string(AsBytes(f.measurement)), Keys(), n);
  ASSERT_TRUE(v.Verify(*report, n).ok());
  auto again = v.Verify(*report, n);
  EXPECT_EQ(again.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(std::string(again.status().message()), HasSubstr("already used"));
}

TEST(AttestationTest, NonceNeverIssuedRefused) {
  Fixture f;
  AttestationVerifier v(f.Policy());
  Nonce n;
  n.fill(0x42);
  auto report = f.backend.Attest(std::string(AsBytes(f.measurement)), Keys(), n);
  auto verified = v.Verify(*report, n);
  EXPECT_THAT(std::string(verified.status().message()), HasSubstr("not issued by this verifier"));
}

TEST(AttestationTest, SoftwareRefusedAboveItsDataLevel) {
  Fixture f;
  VerifierPolicy p = f.Policy();
  p.data_level = 3;
  p.max_software_level = 2;
  AttestationVerifier v(p);
  const Nonce n = v.IssueNonce();
  auto report = f.backend.Attest(std::string(AsBytes(f.measurement)), Keys(), n);
  auto verified = v.Verify(*report, n);
  EXPECT_THAT(std::string(verified.status().message()),
              HasSubstr("platform software is not accepted for data of level 3"));
}

TEST(AttestationTest, UntrustedPlatformKeyAndTamperedReportRefused) {
  Fixture f;
  VerifierPolicy p = f.Policy();
  p.software_platform_keys = {PlatformKey(1)->public_key()};
  AttestationVerifier untrusting(p);
  Nonce n = untrusting.IssueNonce();
  auto report = f.backend.Attest(std::string(AsBytes(f.measurement)), Keys(), n);
  EXPECT_THAT(std::string(untrusting.Verify(*report, n).status().message()),
              HasSubstr("does not trust"));

  AttestationVerifier v(f.Policy());
  n = v.IssueNonce();
  report = f.backend.Attest(std::string(AsBytes(f.measurement)), Keys(), n);
  std::string tampered = *report;
  tampered[12] ^= 1;  // inside the measurement
  EXPECT_THAT(std::string(v.Verify(tampered, n).status().message()),
              HasSubstr("signature over the software report does not verify"));
}

TEST(AttestationTest, MalformedReportRefused) {
  Fixture f;
  AttestationVerifier v(f.Policy());
  const Nonce n = v.IssueNonce();
  auto report = f.backend.Attest(std::string(AsBytes(f.measurement)), Keys(), n);
  auto truncated = v.Verify(std::string_view(*report).substr(0, 50), n);
  EXPECT_EQ(truncated.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(truncated.status().message()), HasSubstr("truncated attestation report"));
  EXPECT_EQ(v.Verify(*report + "x", n).status().code(), absl::StatusCode::kDataLoss);
}

// A report carrying a hardware quote whose binding fields are `measurement` and the report
// data of (keys, nonce); the layout offsets are hardware_quotes.h's.
std::string IntelQuote(uint16_t version, uint32_t tee, size_t body_bytes, size_t m_off,
                       const std::string& measurement, size_t rd_off, const ReportData& rd) {
  std::string q(kQuoteHeaderBytes + body_bytes + 4 + 10, '\0');
  q[0] = static_cast<char>(version);
  q[2] = 2;
  std::memcpy(&q[4], &tee, 4);  // little-endian host
  std::memcpy(&q[kQuoteHeaderBytes + m_off], measurement.data(), measurement.size());
  std::memcpy(&q[kQuoteHeaderBytes + rd_off], rd.data(), 64);
  q[kQuoteHeaderBytes + body_bytes] = 10;  // signature data length
  return q;
}

TEST(AttestationTest, HardwareQuotesAreCheckedThenRefusedForMissingLibraries) {
  Fixture f;
  const std::string mr32(32, 'M'), mr48(48, 'T');
  struct Case {
    Platform platform;
    std::string measurement;
    std::function<std::string(const std::string&, const ReportData&)> quote;
    const char* library;
    const char* field;
  };
  const Case cases[] = {
      {Platform::kSgxDcap, mr32,
       [](const std::string& m, const ReportData& rd) {
         return IntelQuote(3, 0, kSgxReportBodyBytes, kSgxMrEnclaveOffset, m, kSgxReportDataOffset,
                           rd);
       },
       "libsgx-dcap-quote-verify, not available on this node", "MRENCLAVE"},
      {Platform::kTdx, mr48,
       [](const std::string& m, const ReportData& rd) {
         return IntelQuote(4, 0x81, kTdxReportBodyBytes, kTdxMrTdOffset, m, kTdxReportDataOffset,
                           rd);
       },
       "TDX quote verification needs", "MRTD"},
      {Platform::kSevSnp, mr48,
       [](const std::string& m, const ReportData& rd) {
         std::string r(kSnpReportBytes, '\0');
         r[0] = 2;
         std::memcpy(&r[kSnpMeasurementOffset], m.data(), 48);
         std::memcpy(&r[kSnpReportDataOffset], rd.data(), 64);
         return r;
       },
       "VCEK", "MEASUREMENT"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(PlatformName(c.platform));
    VerifierPolicy p = f.Policy();
    p.accepted_measurements = {c.measurement};
    AttestationVerifier v(p);
    AttestationReport r;
    r.platform = c.platform;
    r.measurement = c.measurement;
    r.keys = Keys();
    r.nonce = v.IssueNonce();
    r.evidence = c.quote(c.measurement, ComputeReportData(r.keys, r.nonce));
    auto verified = v.Verify(EncodeReport(r), r.nonce);
    EXPECT_EQ(verified.status().code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_THAT(std::string(verified.status().message()), HasSubstr(c.library));

    // A quote for another enclave (its measurement field differs) is refused before that.
    std::string other = c.measurement;
    other[0] ^= 1;
    r.nonce = v.IssueNonce();
    r.evidence = c.quote(other, ComputeReportData(r.keys, r.nonce));
    verified = v.Verify(EncodeReport(r), r.nonce);
    EXPECT_EQ(verified.status().code(), absl::StatusCode::kPermissionDenied);
    EXPECT_THAT(std::string(verified.status().message()), HasSubstr(c.field));

    // Report data for another nonce: the quote does not bind this session.
    r.nonce = v.IssueNonce();
    Nonce stale = r.nonce;
    stale[0] ^= 1;
    r.evidence = c.quote(c.measurement, ComputeReportData(r.keys, stale));
    verified = v.Verify(EncodeReport(r), r.nonce);
    EXPECT_THAT(std::string(verified.status().message()), HasSubstr("report data does not bind"));

    // Truncated evidence is malformed.
    r.nonce = v.IssueNonce();
    r.evidence = c.quote(c.measurement, ComputeReportData(r.keys, r.nonce)).substr(0, 100);
    EXPECT_EQ(v.Verify(EncodeReport(r), r.nonce).status().code(), absl::StatusCode::kDataLoss);
  }
}

}  // namespace
}  // namespace tds::compute::enclave
