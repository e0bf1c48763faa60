#pragma once
// Attestation: a report that binds a platform, a measurement, the enclave's ephemeral public
// keys and a verifier's nonce, the backends that produce it, and the verifier providers run
// before they seal anything to the enclave.
//
// Report (canonical encoding, codec.h; README.md "Attestation report"):
//   report := "TDSR" version:u8=1 platform:u8 measurement:bytes enclave_x25519:fixed32
//             enclave_signing_key:fixed32 nonce:fixed32 evidence:bytes
//   body   := every byte of the report before `evidence`
//   report_data (64 bytes, what hardware quotes carry in REPORTDATA / REPORT_DATA) :=
//       SHA-256("tds-enclave-report-data-v1" 0x00 || enclave_x25519 || enclave_signing_key)
//       || nonce
// Evidence per platform:
//   software: platform_key:fixed32 || Ed25519(platform_key,
//             "tds-enclave-report-v1" 0x00 || body)            (64 bytes)
//   sgx-dcap: an SGX ECDSA quote v3; tdx: a TDX quote v4; sev-snp: an SNP ATTESTATION_REPORT
//             (hardware_quotes.h): measurement and report_data must match the fields above.
//
// Software measurement := SHA-256("tds-enclave-measurement-v2" 0x00 || SHA-256(binary) ||
//                                 EncodeJobSpec(spec))
// Over the binary's digest rather than its bytes (equally binding: SHA-256 is collision
// resistant), so that a provider who approved a binary by its SHA-256 (a contract's
// terms.enclave.binary_sha256) can compute the measurement it accepts without the binary.

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/bytes.h"
#include "common/keys.h"
#include "compute/enclave/job_spec.h"

namespace tds::compute::enclave {

enum class Platform : uint8_t { kSoftware = 1, kSgxDcap = 2, kTdx = 3, kSevSnp = 4 };
const char* PlatformName(Platform p);  // "software", "sgx-dcap", "tdx", "sev-snp"

using Nonce = std::array<uint8_t, 32>;
using X25519PublicKey = std::array<uint8_t, 32>;
using ReportData = std::array<uint8_t, 64>;

// The enclave's ephemeral public keys: inputs are sealed to `x25519`, results are signed with
// `signing`. Both secrets live only inside the enclave process.
struct EnclaveKeys {
  X25519PublicKey x25519{};
  PublicKey signing;
};

ReportData ComputeReportData(const EnclaveKeys& keys, const Nonce& nonce);

Hash SoftwareMeasurement(std::string_view enclave_binary, const JobSpec& spec);
// The same from the binary's SHA-256 (what a contract approves).
Hash SoftwareMeasurementOfDigest(const Hash& binary_sha256, const JobSpec& spec);
// Reads the binary at `path`; errors name the path.
absl::StatusOr<Hash> SoftwareMeasurementOfFile(const std::string& path, const JobSpec& spec);

struct AttestationReport {
  Platform platform = Platform::kSoftware;
  std::string measurement;  // 32 bytes (software, SGX MRENCLAVE) or 48 (TDX MRTD, SNP)
  EnclaveKeys keys;
  Nonce nonce{};
  std::string evidence;
};
std::string EncodeReport(const AttestationReport& report);
absl::StatusOr<AttestationReport> DecodeReport(std::string_view bytes);

// Produces reports for enclaves on this node.
class AttestationBackend {
 public:
  virtual ~AttestationBackend() = default;
  virtual Platform platform() const = 0;
  // The encoded report for an enclave with `measurement` and `keys`, answering `nonce`.
  virtual absl::StatusOr<std::string> Attest(std::string_view measurement, const EnclaveKeys& keys,
                                             const Nonce& nonce) = 0;
};

// The software platform: the node measures the enclave binary and job itself and signs the
// report with its own Ed25519 key. It vouches for the sandbox, not for secrecy from the host
// (README.md "What the software platform protects against").
class SoftwareBackend final : public AttestationBackend {
 public:
  // `platform_key` (the node's key) must outlive the backend.
  explicit SoftwareBackend(const SigningKey& platform_key) : key_(platform_key) {}
  Platform platform() const override { return Platform::kSoftware; }
  absl::StatusOr<std::string> Attest(std::string_view measurement, const EnclaveKeys& keys,
                                     const Nonce& nonce) override;

 private:
  const SigningKey& key_;
};

// What a provider (or the consumer) accepts.
struct VerifierPolicy {
  // Raw measurement bytes (software: SoftwareMeasurement of the approved binary and job).
  std::vector<std::string> accepted_measurements;
  // Node platform keys whose software reports are believed.
  std::vector<PublicKey> software_platform_keys;
  // Classification level of the data this verifier guards, and the highest level it releases
  // to the software platform (whose host can read enclave memory).
  int data_level = 1;
  int max_software_level = 2;
};

// A report that passed every check: the keys to seal to and to check result signatures with.
struct VerifiedEnclave {
  Platform platform = Platform::kSoftware;
  std::string measurement;
  EnclaveKeys keys;
};

// Issues nonces and verifies reports. Each issued nonce is accepted once: a report answering
// a nonce this verifier never issued, or one it already consumed, is refused. Thread-safe.
class AttestationVerifier {
 public:
  explicit AttestationVerifier(VerifierPolicy policy) : policy_(std::move(policy)) {}

  Nonce IssueNonce();
  // Checks, in order: the report decodes; its nonce equals `expected`; `expected` is
  // outstanding (then consumed, whatever the outcome of the later checks); the platform is
  // allowed for this data level; the evidence (software: a trusted platform key's signature;
  // hardware: hardware_quotes.h, which refuses where the vendor library is missing); the
  // measurement is accepted. Errors name the failed check.
  absl::StatusOr<VerifiedEnclave> Verify(std::string_view report, const Nonce& expected);

 private:
  const VerifierPolicy policy_;
  std::mutex mu_;
  std::set<Nonce> outstanding_;  // GUARDED_BY(mu_)
};

}  // namespace tds::compute::enclave
