#include "compute/enclave/attestation.h"

#include <sodium.h>

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/file.h"
#include "common/sha256.h"
#include "common/status_macros.h"
#include "compute/enclave/codec.h"
#include "compute/enclave/hardware_quotes.h"
#include "compute/sodium_init.h"

namespace tds::compute::enclave {
namespace {

constexpr std::string_view kMagic = "TDSR";
constexpr uint8_t kVersion = 1;
constexpr std::string_view kReportContext{"tds-enclave-report-v1\0", 22};
constexpr std::string_view kReportDataContext{"tds-enclave-report-data-v1\0", 27};
constexpr std::string_view kMeasurementContext{"tds-enclave-measurement-v2\0", 27};

std::string_view View(const uint8_t* p, size_t n) { return {reinterpret_cast<const char*>(p), n}; }

// Everything the evidence covers: the report without its evidence field.
std::string EncodeBody(const AttestationReport& r) {
  std::string out;
  ByteWriter w(&out);
  w.Fixed(kMagic);
  w.U8(kVersion);
  w.U8(static_cast<uint8_t>(r.platform));
  w.Bytes(r.measurement);
  w.Fixed(View(r.keys.x25519.data(), r.keys.x25519.size()));
  w.Fixed(r.keys.signing.bytes());
  w.Fixed(View(r.nonce.data(), r.nonce.size()));
  return out;
}

std::string SoftwareSignedMessage(const AttestationReport& r) {
  return std::string(kReportContext) + EncodeBody(r);
}

}  // namespace

const char* PlatformName(Platform p) {
  switch (p) {
    case Platform::kSoftware:
      return "software";
    case Platform::kSgxDcap:
      return "sgx-dcap";
    case Platform::kTdx:
      return "tdx";
    case Platform::kSevSnp:
      return "sev-snp";
  }
  return "unknown";
}

ReportData ComputeReportData(const EnclaveKeys& keys, const Nonce& nonce) {
  Sha256Hasher h;
  h.Update(kReportDataContext)
      .Update(View(keys.x25519.data(), keys.x25519.size()))
      .Update(keys.signing.bytes());
  const Hash d = h.Finish();
  ReportData out;
  std::copy(d.begin(), d.end(), out.begin());
  std::copy(nonce.begin(), nonce.end(), out.begin() + 32);
  return out;
}

Hash SoftwareMeasurementOfDigest(const Hash& binary_sha256, const JobSpec& spec) {
  Sha256Hasher h;
  h.Update(kMeasurementContext).Update(AsBytes(binary_sha256)).Update(EncodeJobSpec(spec));
  return h.Finish();
}

Hash SoftwareMeasurement(std::string_view enclave_binary, const JobSpec& spec) {
  return SoftwareMeasurementOfDigest(Sha256(enclave_binary), spec);
}

absl::StatusOr<Hash> SoftwareMeasurementOfFile(const std::string& path, const JobSpec& spec) {
  TDS_ASSIGN_OR_RETURN(std::string binary, ReadFile(path));
  return SoftwareMeasurement(binary, spec);
}

std::string EncodeReport(const AttestationReport& report) {
  std::string out = EncodeBody(report);
  ByteWriter(&out).Bytes(report.evidence);
  return out;
}

absl::StatusOr<AttestationReport> DecodeReport(std::string_view bytes) {
  ByteReader r(bytes, "attestation report");
  TDS_ASSIGN_OR_RETURN(std::string_view magic, r.Fixed("magic", kMagic.size()));
  if (magic != kMagic) return absl::DataLossError("attestation report: bad magic (expected TDSR)");
  TDS_ASSIGN_OR_RETURN(uint8_t version, r.U8("version"));
  if (version != kVersion) {
    return absl::DataLossError(absl::StrCat("attestation report: unsupported version ", version));
  }
  AttestationReport rep;
  TDS_ASSIGN_OR_RETURN(uint8_t platform, r.U8("platform"));
  if (platform < 1 || platform > 4) {
    return absl::DataLossError(absl::StrCat("attestation report: unknown platform ", platform));
  }
  rep.platform = static_cast<Platform>(platform);
  TDS_ASSIGN_OR_RETURN(std::string_view m, r.Bytes("measurement", 64));
  if (m.size() != 32 && m.size() != 48) {
    return absl::DataLossError(
        absl::StrCat("attestation report: measurement of ", m.size(), " bytes (32 or 48)"));
  }
  rep.measurement = std::string(m);
  TDS_ASSIGN_OR_RETURN(std::string_view x, r.Fixed("enclave_x25519", 32));
  std::memcpy(rep.keys.x25519.data(), x.data(), 32);
  TDS_ASSIGN_OR_RETURN(std::string_view s, r.Fixed("enclave_signing_key", 32));
  auto signing = PublicKey::FromBytes(s);
  if (!signing.ok()) {
    return absl::DataLossError(
        absl::StrCat("attestation report: enclave signing key: ", signing.status().message()));
  }
  rep.keys.signing = *signing;
  TDS_ASSIGN_OR_RETURN(std::string_view nonce, r.Fixed("nonce", 32));
  std::memcpy(rep.nonce.data(), nonce.data(), 32);
  TDS_ASSIGN_OR_RETURN(std::string_view evidence, r.Bytes("evidence", 64 << 10));
  rep.evidence = std::string(evidence);
  TDS_RETURN_IF_ERROR(r.ExpectEnd());
  return rep;
}

absl::StatusOr<std::string> SoftwareBackend::Attest(std::string_view measurement,
                                                    const EnclaveKeys& keys, const Nonce& nonce) {
  if (measurement.size() != 32) {
    return absl::InvalidArgumentError("software attestation: measurement must be 32 bytes");
  }
  AttestationReport r;
  r.platform = Platform::kSoftware;
  r.measurement = std::string(measurement);
  r.keys = keys;
  r.nonce = nonce;
  r.evidence = std::string(key_.public_key().bytes()) + key_.Sign(SoftwareSignedMessage(r));
  return EncodeReport(r);
}

Nonce AttestationVerifier::IssueNonce() {
  EnsureSodium();
  Nonce n;
  randombytes_buf(n.data(), n.size());
  std::lock_guard<std::mutex> lock(mu_);
  outstanding_.insert(n);
  return n;
}

absl::StatusOr<VerifiedEnclave> AttestationVerifier::Verify(std::string_view bytes,
                                                            const Nonce& expected) {
  TDS_ASSIGN_OR_RETURN(AttestationReport r, DecodeReport(bytes));
  if (r.nonce != expected) {
    return absl::PermissionDeniedError(
        "attestation: the report answers a different nonce than the one this verifier sent "
        "(wrong or stale report)");
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (outstanding_.erase(expected) == 0) {
      return absl::PermissionDeniedError(
          "attestation: nonce was not issued by this verifier or was already used (replayed "
          "report)");
    }
  }
  if (r.platform == Platform::kSoftware && policy_.data_level > policy_.max_software_level) {
    return absl::PermissionDeniedError(absl::StrCat(
        "attestation: platform software is not accepted for data of level ", policy_.data_level,
        " (this verifier accepts software enclaves up to level ", policy_.max_software_level, ")"));
  }
  if (r.platform == Platform::kSoftware) {
    if (r.evidence.size() != kPublicKeyBytes + kSignatureBytes) {
      return absl::DataLossError(absl::StrCat("attestation: software evidence of ",
                                              r.evidence.size(), " bytes (expected 96)"));
    }
    TDS_ASSIGN_OR_RETURN(PublicKey platform_key,
                         PublicKey::FromBytes(std::string_view(r.evidence).substr(0, 32)));
    if (std::find(policy_.software_platform_keys.begin(), policy_.software_platform_keys.end(),
                  platform_key) == policy_.software_platform_keys.end()) {
      return absl::PermissionDeniedError(
          absl::StrCat("attestation: software report signed by platform key ", platform_key.hex(),
                       ", which this verifier does not trust"));
    }
    if (!platform_key.Verify(SoftwareSignedMessage(r), std::string_view(r.evidence).substr(32))) {
      return absl::PermissionDeniedError(
          "attestation: the platform signature over the software report does not verify");
    }
  } else {
    TDS_RETURN_IF_ERROR(VerifyHardwareEvidence(r));
  }
  if (std::find(policy_.accepted_measurements.begin(), policy_.accepted_measurements.end(),
                r.measurement) == policy_.accepted_measurements.end()) {
    return absl::PermissionDeniedError(
        absl::StrCat("attestation: measurement ", HexEncode(r.measurement),
                     " is not among the accepted measurements (a changed enclave binary or "
                     "job specification)"));
  }
  return VerifiedEnclave{r.platform, r.measurement, r.keys};
}

}  // namespace tds::compute::enclave
