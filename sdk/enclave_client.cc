#include "sdk/enclave_client.h"

#include <sodium.h>

#include <algorithm>
#include <chrono>

#include "absl/strings/str_cat.h"
#include "common/bytes.h"
#include "common/envelope.h"
#include "common/wall_clock.h"
#include "compute/enclave/attestation.h"
#include "compute/enclave/job_spec.h"
#include "compute/sodium_init.h"
#include "proto/enclave_service.grpc.pb.h"
#include "sdk/channel.h"

namespace tds::sdk {

namespace enclave = compute::enclave;

namespace {

// node/gateway/enclave_host.h kEnclaveRunContext (the SDK does not include node/).
constexpr std::string_view kEnclaveRunContext = "tds.enclave_run.v1";
// node/gateway/enclave_host.h kMaxEnclaveRowsMessage.
constexpr size_t kRowsMessageBytes = 1 << 20;

absl::Status Mismatch(const std::string& what) {
  return absl::DataLossError("enclave result: the job that ran differs from the one asked: " +
                             what);
}

// The job the node reports against what the member asked.
absl::Status CheckJob(const enclave::JobSpec& spec, const EnclaveSqlJob& job) {
  if (spec.sql != job.sql) return Mismatch("SQL");
  const tds::EnclaveOutputPolicy& p = job.policy;
  if (!std::equal(spec.policy.allowed_columns.begin(), spec.policy.allowed_columns.end(),
                  p.allowed_columns().begin(), p.allowed_columns().end()) ||
      spec.policy.count_column != p.count_column() ||
      spec.policy.min_group_size != p.min_group_size() || spec.policy.max_rows != p.max_rows()) {
    return Mismatch("output policy");
  }
  if (spec.inputs.size() != job.providers.size() + 1) return Mismatch("number of inputs");
  for (size_t i = 0; i < job.providers.size(); ++i) {
    if (spec.inputs[i].name != job.providers[i].name()) {
      return Mismatch(absl::StrCat("input ", i, " name"));
    }
  }
  const enclave::InputSchema& local = spec.inputs.back();
  if (local.name != job.local.name() ||
      local.columns.size() != static_cast<size_t>(job.local.columns_size())) {
    return Mismatch("own input");
  }
  for (size_t c = 0; c < local.columns.size(); ++c) {
    const tds::EnclaveColumn& want = job.local.columns(static_cast<int>(c));
    if (local.columns[c].name != want.name() ||
        enclave::ColumnTypeName(local.columns[c].type) != want.type() ||
        local.columns[c].identifier != want.identifier()) {
      return Mismatch(absl::StrCat("own input column ", want.name()));
    }
  }
  return absl::OkStatus();
}

}  // namespace

std::string SealEnclaveRunRequest(const SigningKey& member_key,
                                  const tds::EnclaveRunRequest& request) {
  return SealEnvelope(member_key, kEnclaveRunContext, request.SerializeAsString());
}

absl::StatusOr<EnclaveSqlRun> RunEnclaveSql(const std::shared_ptr<grpc::Channel>& channel,
                                            int64_t timeout_ms, const SigningKey& member_key,
                                            const std::string& member_id, const EnclaveSqlJob& job,
                                            const EnclaveRowsFn& rows) {
  // The member's own attestation nonce (checked below against the report).
  compute::EnsureSodium();
  enclave::Nonce nonce;
  randombytes_buf(nonce.data(), nonce.size());

  tds::EnclaveRunRequest request;
  request.set_member(member_id);
  request.set_sql(job.sql);
  *request.mutable_policy() = job.policy;
  *request.mutable_local() = job.local;
  for (const tds::EnclaveProviderInput& p : job.providers) *request.add_providers() = p;
  request.set_nonce(std::string(reinterpret_cast<const char*>(nonce.data()), nonce.size()));
  request.set_created_ms(WallClockMs());
  request.set_purpose(job.purpose);

  std::unique_ptr<tds::EnclaveHost::Stub> stub = tds::EnclaveHost::NewStub(channel);
  grpc::ClientContext ctx;
  PrepareContext(&ctx, timeout_ms);
  tds::EnclaveRunResult raw;
  std::unique_ptr<grpc::ClientWriter<tds::EnclaveRunMessage>> writer = stub->Run(&ctx, &raw);
  tds::EnclaveRunMessage start;
  start.set_start(SealEnclaveRunRequest(member_key, request));
  // A failed write means the node ended the call: its status (Finish) says why.
  bool open = writer->Write(start);
  std::string buffer;
  bool more = true;
  while (open && more) {
    while (more && buffer.size() < kRowsMessageBytes / 2) more = rows(&buffer);
    while (open && !buffer.empty()) {
      const size_t n = std::min(buffer.size(), kRowsMessageBytes);
      tds::EnclaveRunMessage m;
      m.set_rows(buffer.substr(0, n));
      buffer.erase(0, n);
      open = writer->Write(m);
    }
  }
  if (open) writer->WritesDone();
  const grpc::Status status = writer->Finish();
  if (!status.ok()) return FromGrpc(status, "EnclaveHost.Run");

  // Check everything before trusting any of it.
  absl::StatusOr<enclave::JobSpec> spec = enclave::DecodeJobSpec(raw.job_spec());
  if (!spec.ok()) return spec.status();
  if (absl::Status s = CheckJob(*spec, job); !s.ok()) return s;
  if (!job.expected_binary_sha256.empty() && raw.binary_sha256() != job.expected_binary_sha256) {
    return absl::PermissionDeniedError(absl::StrCat("enclave result: the node ran enclave binary ",
                                                    raw.binary_sha256(), ", not the expected ",
                                                    job.expected_binary_sha256));
  }
  absl::StatusOr<Hash> binary = HashFromHex(raw.binary_sha256(), "enclave result: binary_sha256");
  if (!binary.ok()) return binary.status();
  const Hash measurement = enclave::SoftwareMeasurementOfDigest(*binary, *spec);
  // The report must be exactly what the member's own key, as its node's platform key, signs for
  // this measurement, the enclave's keys and the member's nonce (Ed25519 is deterministic): that
  // checks platform, measurement, nonce and signer at once.
  absl::StatusOr<enclave::AttestationReport> report = enclave::DecodeReport(raw.report());
  if (!report.ok()) return report.status();
  enclave::SoftwareBackend own(member_key);
  absl::StatusOr<std::string> expected = own.Attest(AsBytes(measurement), report->keys, nonce);
  if (!expected.ok()) return expected.status();
  if (*expected != raw.report()) {
    return absl::PermissionDeniedError(
        "enclave result: the attestation report is not the member's node's software report for "
        "this job and this run's nonce (other measurement, nonce or platform key)");
  }
  const enclave::VerifiedEnclave verified{enclave::Platform::kSoftware,
                                          std::string(AsBytes(measurement)), report->keys};
  enclave::SignedResult signed_result{raw.statement(), raw.signature(), raw.result()};
  absl::StatusOr<enclave::ResultStatement> statement =
      enclave::VerifySignedResult(verified, enclave::JobSpecDigest(*spec), signed_result);
  if (!statement.ok()) return statement.status();
  absl::StatusOr<enclave::SqlResult> table = enclave::DecodeSqlResult(raw.result());
  if (!table.ok()) return table.status();
  EnclaveSqlRun out;
  out.table = *std::move(table);
  out.statement = *std::move(statement);
  out.raw = std::move(raw);
  return out;
}

}  // namespace tds::sdk
