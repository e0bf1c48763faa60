#include "compute/enclave/hardware_quotes.h"

#include "absl/strings/str_cat.h"
#include "common/bytes.h"

namespace tds::compute::enclave {
namespace {

uint16_t Le16(std::string_view b, size_t off) {
  return static_cast<uint16_t>(static_cast<uint8_t>(b[off]) |
                               (static_cast<uint8_t>(b[off + 1]) << 8));
}
uint32_t Le32(std::string_view b, size_t off) {
  return static_cast<uint32_t>(Le16(b, off)) | (static_cast<uint32_t>(Le16(b, off + 2)) << 16);
}

// The header and report body of an Intel quote (SGX v3 or TDX v4), then the signature length.
absl::StatusOr<QuoteFields> ParseIntelQuote(std::string_view q, const char* name, uint16_t version,
                                            uint32_t tee_type, size_t body_bytes,
                                            size_t measurement_offset, size_t measurement_bytes,
                                            size_t report_data_offset) {
  const size_t fixed = kQuoteHeaderBytes + body_bytes + 4;
  if (q.size() < fixed) {
    return absl::DataLossError(absl::StrCat(name, ": ", q.size(),
                                            " bytes, shorter than header + report body + "
                                            "signature length (",
                                            fixed, ")"));
  }
  if (Le16(q, 0) != version) {
    return absl::DataLossError(
        absl::StrCat(name, ": quote version ", Le16(q, 0), " (expected ", version, ")"));
  }
  if (Le16(q, 2) != 2) {
    return absl::DataLossError(absl::StrCat(name, ": attestation key type ", Le16(q, 2),
                                            " (expected 2, ECDSA-256 with P-256)"));
  }
  if (Le32(q, 4) != tee_type) {
    return absl::DataLossError(
        absl::StrCat(name, ": TEE type ", Le32(q, 4), " (expected ", tee_type, ")"));
  }
  const uint32_t sig_len = Le32(q, kQuoteHeaderBytes + body_bytes);
  if (sig_len != q.size() - fixed) {
    return absl::DataLossError(absl::StrCat(name, ": signature data length ", sig_len,
                                            " disagrees with the ", q.size() - fixed,
                                            " bytes that follow"));
  }
  const std::string_view body = q.substr(kQuoteHeaderBytes, body_bytes);
  return QuoteFields{std::string(body.substr(measurement_offset, measurement_bytes)),
                     std::string(body.substr(report_data_offset, 64))};
}

}  // namespace

absl::StatusOr<QuoteFields> ParseSgxDcapQuote(std::string_view quote) {
  return ParseIntelQuote(quote, "SGX DCAP quote", 3, 0, kSgxReportBodyBytes, kSgxMrEnclaveOffset,
                         32, kSgxReportDataOffset);
}

absl::StatusOr<QuoteFields> ParseTdxQuote(std::string_view quote) {
  return ParseIntelQuote(quote, "TDX quote", 4, 0x81, kTdxReportBodyBytes, kTdxMrTdOffset, 48,
                         kTdxReportDataOffset);
}

absl::StatusOr<QuoteFields> ParseSevSnpReport(std::string_view report) {
  if (report.size() != kSnpReportBytes) {
    return absl::DataLossError(absl::StrCat("SEV-SNP attestation report: ", report.size(),
                                            " bytes (expected ", kSnpReportBytes, ")"));
  }
  const uint32_t version = Le32(report, 0);
  if (version < 2) {
    return absl::DataLossError(
        absl::StrCat("SEV-SNP attestation report: version ", version, " (expected >= 2)"));
  }
  return QuoteFields{std::string(report.substr(kSnpMeasurementOffset, 48)),
                     std::string(report.substr(kSnpReportDataOffset, 64))};
}

absl::Status VerifyHardwareEvidence(const AttestationReport& report) {
  absl::StatusOr<QuoteFields> fields;
  const char* library = "";
  const char* field = "";
  switch (report.platform) {
    case Platform::kSgxDcap:
      fields = ParseSgxDcapQuote(report.evidence);
      library =
          "SGX DCAP quote verification needs libsgx-dcap-quote-verify, not available on this "
          "node (it checks the PCK certificate chain, TCB info and QE identity)";
      field = "MRENCLAVE";
      break;
    case Platform::kTdx:
      fields = ParseTdxQuote(report.evidence);
      library =
          "TDX quote verification needs libsgx-dcap-quote-verify with TDX collateral, not "
          "available on this node (it checks the PCK certificate chain, TCB info and QE "
          "identity)";
      field = "MRTD";
      break;
    case Platform::kSevSnp:
      fields = ParseSevSnpReport(report.evidence);
      library =
          "SEV-SNP report verification needs the AMD ARK/ASK/VCEK certificate chain for "
          "this chip (from AMD KDS), not available on this node";
      field = "MEASUREMENT";
      break;
    case Platform::kSoftware:
      return absl::InvalidArgumentError("software evidence is not hardware evidence");
  }
  if (!fields.ok()) return fields.status();
  if (fields->measurement != report.measurement) {
    return absl::PermissionDeniedError(absl::StrCat(
        PlatformName(report.platform), " evidence: ", field, " ", HexEncode(fields->measurement),
        " differs from the report's measurement ", HexEncode(report.measurement)));
  }
  const ReportData expected = ComputeReportData(report.keys, report.nonce);
  if (fields->report_data !=
      std::string_view(reinterpret_cast<const char*>(expected.data()), expected.size())) {
    return absl::PermissionDeniedError(
        absl::StrCat(PlatformName(report.platform),
                     " evidence: report data does not bind the enclave keys and nonce"));
  }
  return absl::FailedPreconditionError(absl::StrCat(library, ": refusing the ",
                                                    PlatformName(report.platform),
                                                    " report rather than trusting it unverified"));
}

}  // namespace tds::compute::enclave
