#pragma once
// Operation "enclave_sql" between two nodes (node/gateway/README.md "Enclave SQL"): the host is
// the consumer's own node (enclave_host.h), which runs the attested enclave; each provider's
// gateway (gateway.cc) releases one input to it, sealed, after checking the job against its
// contract and verifying the enclave. This file holds what both sides must agree on: the
// protocol on the Compute.Run stream, the input a contract lets a provider contribute, and the
// provider's checks.
//
// Protocol (ComputeMessage.protocol payloads: tag:u8 || body; after ComputeStart with
// EnclaveSqlParams):
//   provider -> host   0x01 nonce       nonce[32]          (its verifier's, fresh per run)
//   host -> provider   0x02 report      attestation report (compute/enclave/attestation.h)
//   provider -> host   0x03 header      sealed-stream header (compute/enclave/sealed_stream.h)
//   host -> provider   0x04 go          (empty: every provider accepted the enclave)
//   provider           -- records usage: the release gate (strict waits for the commit) --
//   provider -> host   0x05 chunk       a sealed chunk         (0 or more)
//   provider -> host   0x06 last chunk  the final sealed chunk (exactly once)
//   provider -> host   ComputeResult
// "go" exists so that a refusal by ANY provider (its report check) ends the job before any
// provider has recorded usage or released a byte: the host sends it to each provider only after
// all of them accepted the report (compute::enclave::RunEnclaveJob attests every input before it
// streams any).

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/keys.h"
#include "compute/enclave/attestation.h"
#include "compute/enclave/job_spec.h"
#include "compute/link.h"
#include "node/connectors/data_source.h"
#include "proto/catalog.pb.h"
#include "proto/contracts.pb.h"

namespace tds::node::gateway {

enum class EnclaveWire : uint8_t {
  kNonce = 0x01,
  kReport = 0x02,
  kHeader = 0x03,
  kGo = 0x04,
  kChunk = 0x05,
  kLastChunk = 0x06,
};

std::string EnclaveWireMessage(EnclaveWire tag, std::string_view body = {});
// The next message, whose tag must be one of `tags`; returns it whole (tag byte first).
// DataLoss naming `what` otherwise.
absl::StatusOr<std::string> RecvEnclaveWire(compute::Link& link,
                                            std::initializer_list<EnclaveWire> tags,
                                            const char* what);

// The table a provider contributes under a contract: the contract's columns (terms.columns, in
// that order), typed from the product's schema (int64 and bool -> INTEGER, double -> REAL,
// string, date, timestamp -> TEXT; bytes is refused), the contract's identifier columns marked.
// Host and provider derive it the same way, so the provider can demand exactly it.
absl::StatusOr<compute::enclave::InputSchema> ContractInputSchema(const std::string& name,
                                                                  const tds::Product& product,
                                                                  const tds::Terms& terms);

// The provider's checks of a job before anything is read (PermissionDenied / InvalidArgument
// naming the field): the contract has enclave terms; the job's SQL hashes to its sql_digest,
// which is the contract's sql_sha256; the job's output policy is at least as strict as the
// contract's (allowed columns a subset of output_columns and none an identifier column of the
// contract, k >= min_group_size with the contract's count column, max_rows <= the contract's);
// input `input` exists and is exactly ContractInputSchema.
absl::Status CheckEnclaveJob(const compute::enclave::JobSpec& spec, const std::string& input,
                             const tds::Product& product, const tds::Terms& terms,
                             const std::string& contract_id);

// What the provider's verifier accepts: the software measurement of the contract's binary and
// this job, reports signed by `host_key` (the consumer's node: its member key), data of the
// product's level (software only up to contracts::kMaxSoftwareEnclaveLevel).
absl::StatusOr<compute::enclave::VerifierPolicy> ProviderVerifierPolicy(
    const compute::enclave::JobSpec& spec, const tds::Product& product, const tds::Terms& terms,
    const PublicKey& host_key);

// The provider's side of the protocol above. `gate(rows)` is the release gate: called once,
// after "go", with the number of rows the provider is about to release (counted first); it
// records usage and may refuse. The provider never streams more rows than it recorded.
struct EnclaveProviderOptions {
  const compute::enclave::JobSpec* spec = nullptr;
  const compute::enclave::InputSchema* input = nullptr;
  compute::enclave::VerifierPolicy policy;
  // Platform names the contract accepts (terms.enclave.platforms).
  std::vector<std::string> platforms;
  const tds::Product* product = nullptr;  // the input's columns are among its schema
  DataSource* source = nullptr;
  size_t scan_chunk_rows = 8192;
  size_t chunk_bytes = 64 << 10;  // plaintext per sealed chunk
  std::function<absl::Status(uint64_t rows)> gate;
};
struct EnclaveProviderOutcome {
  uint64_t rows = 0;
  uint64_t plaintext_bytes = 0;
  Hash plaintext_digest{};  // matches the enclave's signed statement for this input
};
absl::StatusOr<EnclaveProviderOutcome> RunEnclaveProvider(const EnclaveProviderOptions& options,
                                                          compute::Link& link);

}  // namespace tds::node::gateway
