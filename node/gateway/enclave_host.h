#pragma once
// The host of "enclave_sql" jobs: the consumer's OWN node (node/gateway/README.md "Enclave SQL").
// Its member (a bank) asks it, over tds.EnclaveHost (proto/enclave_service.proto), to run
// approved SQL over its own table and several providers' tables; the node
//   1. authenticates the caller as its own member: the request is an Envelope under
//      kEnclaveRunContext signed by this node's key (the member's key), naming this node's
//      member, 32-byte nonce never seen by this node, at most 10 minutes old; under mutual TLS
//      the certificate's member is that member too;
//   2. builds the job (compute/enclave/job_spec.h): the SQL, each provider's input as its
//      contract on this node's ledger replica releases it (enclave_sql.h ContractInputSchema),
//      the member's own input, the requested output policy;
//   3. opens Compute.Run "enclave_sql" on each provider's node with a usage request signed by
//      this node's key (its member is each contract's consumer) and collects each provider's
//      nonce — a provider that refuses the job (SQL digest, weaker policy, columns ...) ends the
//      run here, before anything is attested, recorded or streamed;
//   4. runs compute::enclave::RunEnclaveJob: the sandboxed tds-enclave, software attestation
//      signed by this node's key (its report answers each provider's nonce and the member's),
//      each provider's sealed stream relayed (this node sees only ciphertext), the member's own
//      rows as they arrive on the call;
//   5. returns the job, the report answering the member's nonce, the enclave's signed result
//      and each provider's ComputeResult (its usage record and receipt).
// A refusal is a status naming the party and the check; once a provider's input reached the
// enclave its usage record stands (the message says which contracts were metered).

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "common/keys.h"
#include "compute/enclave/sandbox.h"
#include "grpcpp/grpcpp.h"
#include "ledger/ledger.h"
#include "proto/enclave_service.grpc.pb.h"

namespace tds::node::gateway {

inline constexpr std::string_view kEnclaveRunContext = "tds.enclave_run.v1";
// Largest rows message of the member's own input.
inline constexpr size_t kMaxEnclaveRowsMessage = 1 << 20;

struct EnclaveHostOptions {
  // This node's key: the software platform key of its enclaves and the signer of its usage
  // requests (the key of the member it runs as). Required.
  std::shared_ptr<const SigningKey> key;
  // The member this node runs as (Gateway::MemberId); empty = none (every run is refused).
  std::function<std::string()> member_id;
  // The tds-enclave binary this node runs (absolute path).
  std::string enclave_binary;
  compute::enclave::SandboxOptions sandbox;
  // How to dial providers' nodes: this node's mutual-TLS client certificate, or insecure.
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  // Deadline of each provider's Compute.Run call.
  int64_t provider_timeout_ms = 600'000;
  // Oldest accepted request (by its created_ms), either way.
  int64_t max_request_age_ms = 600'000;
  size_t max_concurrent_jobs = 2;
  // Wall clock, ms since the epoch; empty = system clock.
  std::function<int64_t()> clock;
};

class EnclaveJobHost {
 public:
  // The member's own input, message by message: the next rows bytes, nullopt at its end.
  using RowsFn = std::function<absl::StatusOr<std::optional<std::string>>()>;

  // `ledger` must outlive the host.
  EnclaveJobHost(ledger::Ledger* ledger, EnclaveHostOptions options);

  // One job (steps above). `start` is EnclaveRunMessage.start; `caller` the member the transport
  // authenticated (nullopt under --insecure-dev).
  absl::StatusOr<tds::EnclaveRunResult> Run(std::string_view start,
                                            const std::optional<std::string>& caller,
                                            const RowsFn& rows);

 private:
  absl::StatusOr<tds::EnclaveRunRequest> Authenticate(std::string_view start,
                                                      const std::optional<std::string>& caller,
                                                      std::string* member);

  ledger::Ledger* const ledger_;
  const EnclaveHostOptions options_;
  std::mutex mu_;
  std::set<std::string> seen_nonces_;  // GUARDED_BY(mu_); forgotten beyond 100,000
  size_t running_ = 0;                 // GUARDED_BY(mu_)
};

// tds.EnclaveHost over EnclaveJobHost.
class EnclaveHostService final : public tds::EnclaveHost::Service {
 public:
  using CallerOf = std::function<std::optional<std::string>(const grpc::ServerContext&)>;
  // `host` must outlive the service.
  explicit EnclaveHostService(EnclaveJobHost* host, CallerOf caller_of = {});

  grpc::Status Run(grpc::ServerContext* ctx, grpc::ServerReader<tds::EnclaveRunMessage>* reader,
                   tds::EnclaveRunResult* response) override;

 private:
  EnclaveJobHost* const host_;
  const CallerOf caller_of_;
};

// The tds-enclave next to this process's executable (tdsd's install directory).
std::string DefaultEnclaveBinary();

}  // namespace tds::node::gateway
