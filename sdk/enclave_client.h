#pragma once
// The member's side of an enclave SQL job (proto/enclave_service.proto, node/gateway/README.md
// "Enclave SQL"): the member asks ITS OWN node to host the job — the approved SQL over its own
// table and providers' tables, each under the member's contract with that provider — streams its
// own rows to the node, and checks what comes back before trusting it:
//   - the job that ran is the one asked (SQL, output policy, its own input's schema, the
//     providers' inputs by name);
//   - the attestation report answers the member's own nonce, is signed by its node's platform key
//     (the member's own key: the node runs as the member) and carries the measurement of that
//     job under the reported enclave binary (pinned when `expected_binary_sha256` is set);
//   - the enclave's signature over the result statement verifies under the attested key, and
//     the statement names the job and the result's digest (compute/enclave/sql_result.h).
//
//   sdk::EnclaveSqlJob job;  job.sql = "...";  job.local = schema;  job.providers = {...};
//   auto run = sdk::RunEnclaveSql(channel, 600'000, *key, "bank", job, rows);
//   run->table.columns / run->table.rows      the checked result
//   run->raw.usage(i).result().receipt()      provider i's usage record (strict metering)

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/keys.h"
#include "compute/enclave/sql_result.h"
#include "grpcpp/grpcpp.h"
#include "proto/enclave_service.pb.h"

namespace tds::sdk {

struct EnclaveSqlJob {
  std::string sql;
  tds::EnclaveOutputPolicy policy;
  // The member's own table (its rows stream after the start).
  tds::EnclaveInputSchema local;
  std::vector<tds::EnclaveProviderInput> providers;
  std::string purpose;
  // Hex SHA-256 of the tds-enclave the member accepts; empty = whichever the providers' contracts
  // approved (each provider checks it against its contract before it releases anything).
  std::string expected_binary_sha256;
};

struct EnclaveSqlRun {
  compute::enclave::SqlResult table;
  compute::enclave::ResultStatement statement;
  tds::EnclaveRunResult raw;
};

// Appends the next rows of the member's table (compute/enclave/row_format.h) to `*out`; returns
// false once there are none left.
using EnclaveRowsFn = std::function<bool(std::string* out)>;

// Runs `job` on the member's node over `channel` (deadline timeout_ms, 0 = none), signed with
// `member_key` as `member_id`. A refusal is the node's status, prefixed "EnclaveHost.Run: ".
absl::StatusOr<EnclaveSqlRun> RunEnclaveSql(const std::shared_ptr<grpc::Channel>& channel,
                                            int64_t timeout_ms, const SigningKey& member_key,
                                            const std::string& member_id, const EnclaveSqlJob& job,
                                            const EnclaveRowsFn& rows);

// The request RunEnclaveSql signs (for tests that drive the call themselves).
std::string SealEnclaveRunRequest(const SigningKey& member_key,
                                  const tds::EnclaveRunRequest& request);

}  // namespace tds::sdk
