#pragma once
// Hardware attestation evidence: the fields of SGX DCAP quotes, TDX quotes and SEV-SNP
// attestation reports that bind an enclave to a report (measurement and report data), and
// their verification. Parsing and the binding checks run here; the signature chain needs the
// vendor's verification library and collateral, which this node does not have, so
// VerifyHardwareEvidence always ends in a refusal that says so instead of pretending.
//
// Layouts (all integers little-endian; offsets in bytes):
//   SGX DCAP quote v3 (Intel SGX ECDSA Quote Library reference, A.4):
//     header 48 (version:u16=3 @0, att_key_type:u16 @2 (2 = ECDSA-P256), tee_type:u32=0 @4,
//     qe_svn @8, pce_svn @10, qe_vendor_id[16] @12, user_data[20] @28) || ISV enclave report
//     body 384 (cpu_svn @0, attributes @48, MRENCLAVE[32] @64, MRSIGNER[32] @128,
//     isv_prod_id @256, isv_svn @258, REPORTDATA[64] @320) || sig_len:u32 || signature data
//     (ECDSA sig over header||body, attestation key, QE report + sig, QE auth data,
//     certification data = PCK certificate chain).
//   TDX quote v4: header 48 (version=4, tee_type=0x81 @4) || TD report body 584
//     (tee_tcb_svn @0, MRSEAM @16, MRTD[48] @136, MRCONFIGID @184, MROWNER @232,
//     RTMR0..3 @328.., REPORTDATA[64] @520) || sig_len:u32 || signature data.
//   SEV-SNP ATTESTATION_REPORT (AMD SEV-SNP ABI, table 21), 1184 bytes: version:u32 @0x00,
//     policy @0x08, REPORT_DATA[64] @0x50, MEASUREMENT[48] @0x90, HOST_DATA @0xC0,
//     reported_tcb @0x180, chip_id[64] @0x1A0, signature (ECDSA P-384, r||s) @0x2A0.
//
// Verification steps (README.md "Hardware platforms"):
//   SGX/TDX: parse; MRENCLAVE/MRTD equals an accepted measurement; REPORTDATA equals
//     ComputeReportData(keys, nonce); verify the PCK certificate chain to Intel's SGX root CA
//     (and CRLs); verify the QE report's signature with the PCK key and that its REPORTDATA is
//     SHA-256(attestation key || QE auth data); verify the quote signature with the attestation
//     key; check TCB status (TCB info) and QE identity — libsgx-dcap-quote-verify.
//   SEV-SNP: parse; MEASUREMENT and REPORT_DATA as above; fetch the VCEK for chip_id and
//     reported_tcb from AMD KDS; verify ARK -> ASK -> VCEK; verify the report signature with
//     the VCEK; check the policy (debug off) and TCB.

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "compute/enclave/attestation.h"

namespace tds::compute::enclave {

inline constexpr size_t kQuoteHeaderBytes = 48;
inline constexpr size_t kSgxReportBodyBytes = 384;
inline constexpr size_t kSgxMrEnclaveOffset = 64;  // within the report body
inline constexpr size_t kSgxReportDataOffset = 320;
inline constexpr size_t kTdxReportBodyBytes = 584;
inline constexpr size_t kTdxMrTdOffset = 136;
inline constexpr size_t kTdxReportDataOffset = 520;
inline constexpr size_t kSnpReportBytes = 0x4A0;
inline constexpr size_t kSnpReportDataOffset = 0x50;
inline constexpr size_t kSnpMeasurementOffset = 0x90;

// The binding fields of a hardware quote/report.
struct QuoteFields {
  std::string measurement;  // MRENCLAVE (32), MRTD (48) or MEASUREMENT (48)
  std::string report_data;  // 64 bytes
};

// DataLoss naming the structure and the field when the bytes are not such a quote.
absl::StatusOr<QuoteFields> ParseSgxDcapQuote(std::string_view quote);
absl::StatusOr<QuoteFields> ParseTdxQuote(std::string_view quote);
absl::StatusOr<QuoteFields> ParseSevSnpReport(std::string_view report);

// Runs the steps above for `report` (platform sgx-dcap, tdx or sev-snp). Refuses a malformed
// quote, a measurement or report data that differs from the report's, and then — the signature
// chain — with FailedPrecondition naming the library this node lacks.
absl::Status VerifyHardwareEvidence(const AttestationReport& report);

}  // namespace tds::compute::enclave
