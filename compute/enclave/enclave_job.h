#pragma once
// The host side of an enclave job — what the node's gateway drives: start the sandboxed
// enclave, have the platform attest it to each provider (each with its own nonce), relay each
// provider's sealed stream, and collect the signed result. The host handles only ciphertext of
// the inputs and public keys; it cannot read a provider's rows or forge the enclave's result
// signature (on the software platform it could read the enclave's memory: README.md).
//
//   host                          enclave (sandbox)                 provider i
//   start, hello(spec)     ──►    measure, check SQL digest, keys
//                          ◄──    ready(measurement, keys)
//   nonce_i = Challenge()                                    ◄──    (verifier issues nonce)
//   report_i = backend.Attest(measurement, keys, nonce_i)    ──►    Accept(report_i): verify,
//                                                                   header_i
//   input header i         ──►                               ◄──    header_i
//   input chunk i, j       ──►    open, parse, insert        ◄──    NextChunk
//   run                    ──►    query, output policy, sign
//                          ◄──    result(statement, signature, result)

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/sha256.h"
#include "compute/enclave/attestation.h"
#include "compute/enclave/job_spec.h"
#include "compute/enclave/sandbox.h"
#include "compute/enclave/sealed_stream.h"
#include "compute/enclave/sql_result.h"

namespace tds::compute::enclave {

struct EnclaveJobOptions {
  std::string enclave_binary;  // absolute path of tds-enclave
  SandboxOptions sandbox;
  AttestationBackend* backend = nullptr;  // REQUIRED; must outlive the call
};

// One provider as the host sees it. In the node the calls are relayed to the provider's node;
// LocalInputProvider runs the provider's side in this process.
class InputProvider {
 public:
  virtual ~InputProvider() = default;
  // The nonce the provider's verifier issued for this job.
  virtual Nonce Challenge() = 0;
  // Verifies `report`; on success the header of the stream sealed to the attested key.
  virtual absl::StatusOr<std::string> Accept(std::string_view report) = 0;
  // The next sealed chunk; `*last` is set with the final one. REQUIRES: Accept succeeded.
  virtual absl::StatusOr<std::string> NextChunk(bool* last) = 0;
};

// A provider's side in this process: verifies the report with its verifier, then seals the
// rows `source` produces. `source(out)` appends the next rows (row_format.h) to `*out` and
// returns false once there are none left; it is called until `*out` holds >= chunk_bytes.
class LocalInputProvider final : public InputProvider {
 public:
  using RowSource = std::function<bool(std::string* out)>;
  // `verifier` must outlive the provider. `name` is the input's name in the job.
  LocalInputProvider(std::string name, AttestationVerifier* verifier, RowSource source,
                     size_t chunk_bytes = 64 << 10);

  Nonce Challenge() override;
  absl::StatusOr<std::string> Accept(std::string_view report) override;
  absl::StatusOr<std::string> NextChunk(bool* last) override;

  // SHA-256 of the plaintext sent (compare with the statement's input digest) and its size.
  Hash plaintext_digest() const { return digest_; }
  uint64_t plaintext_bytes() const { return plaintext_bytes_; }
  // Time spent verifying the report and sealing, for the overhead figures.
  double verify_seconds() const { return verify_seconds_; }
  double seal_seconds() const { return seal_seconds_; }
  const std::optional<VerifiedEnclave>& enclave() const { return enclave_; }

 private:
  const std::string name_;
  AttestationVerifier* const verifier_;
  RowSource source_;
  const size_t chunk_bytes_;
  std::optional<Nonce> nonce_;
  std::optional<VerifiedEnclave> enclave_;
  std::unique_ptr<SealedWriter> writer_;
  Sha256Hasher hasher_;
  std::string buffer_;
  bool source_done_ = false;
  Hash digest_{};
  uint64_t plaintext_bytes_ = 0;
  double verify_seconds_ = 0;
  double seal_seconds_ = 0;
};

struct EnclaveJobResult {
  SignedResult signed_result;
  std::string measurement;
  std::vector<std::string> provider_reports;  // the report each provider accepted
  std::string consumer_report;                // answering the consumer's nonce, if given
  SandboxExit exit;                           // the enclave process (peak RSS, CPU)
  uint64_t database_bytes = 0;
  uint64_t sqlite_peak_bytes = 0;
  uint64_t relayed_bytes = 0;  // sealed bytes the host relayed
  // Wall-clock phases (seconds): sandbox start to ready, attestation (reports produced and
  // verified), streaming (sealing, relaying, loading), query (run to result).
  double start_seconds = 0, attest_seconds = 0, stream_seconds = 0, query_seconds = 0;
};

// Runs the job; providers[i] supplies spec.inputs[i]. A refusal anywhere (a provider's
// verifier, the enclave's SQL digest check, a sealed-stream error, the output policy) ends the
// job with that status; the enclave's own errors come back as it sent them.
absl::StatusOr<EnclaveJobResult> RunEnclaveJob(const EnclaveJobOptions& options,
                                               const JobSpec& spec,
                                               const std::vector<InputProvider*>& providers,
                                               std::optional<Nonce> consumer_nonce = {});

// Test only: runs a probe job (JobSpec::probe) and returns what the enclave reported, or an
// empty text if it died first; `exit` says how it ended.
struct ProbeOutcome {
  std::string report;
  SandboxExit exit;
};
absl::StatusOr<ProbeOutcome> RunEnclaveProbe(const EnclaveJobOptions& options,
                                             const std::string& probe);

}  // namespace tds::compute::enclave
