// tds-enclave: the enclave process of the software platform. Started by SandboxedProcess
// (sandbox.h) with the host channel on fd 0; speaks enclave_protocol.h. It installs its
// seccomp allow-list before reading anything, measures itself (its binary at argv[0] and the
// job), refuses a job whose SQL differs from the approved digest, generates its ephemeral
// X25519 and Ed25519 keys, opens the sealed input streams, runs the query under the output
// policy and signs the result. Any failure is reported as an error message, then exit 1.

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/file.h"
#include "common/keys.h"
#include "common/sha256.h"
#include "common/status_macros.h"
#include "compute/enclave/attestation.h"
#include "compute/enclave/confidential_sql.h"
#include "compute/enclave/enclave_protocol.h"
#include "compute/enclave/job_spec.h"
#include "compute/enclave/sealed_stream.h"
#include "compute/enclave/seccomp_policy.h"
#include "compute/socket_link.h"
#include "compute/sodium_init.h"

namespace tds::compute::enclave {
namespace {

// Test-only probes (job_spec.h): attempt what the sandbox must stop and report what happened.
// A probe the sandbox stops by seccomp never reports: the process dies of SIGSYS.
std::string RunProbe(const std::string& probe) {
  if (probe == "socket") {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return absl::StrCat("socket: errno ", errno, " (", std::strerror(errno), ")");
    return absl::StrCat("socket: opened fd ", fd);
  }
  if (probe == "exec") {
    // Without the host channel a successfully exec'd copy exits at once instead of waiting for
    // a hello, so a sandbox that fails to stop exec fails the test rather than hanging it.
    ::close(0);
    char* const argv[] = {const_cast<char*>("/enclave"), nullptr};
    char* const envp[] = {nullptr};
    ::execve("/enclave", argv, envp);
    return absl::StrCat("exec: errno ", errno, " (", std::strerror(errno), ")");
  }
  if (probe.rfind("write:", 0) == 0) {
    const std::string path = probe.substr(6);
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return absl::StrCat("write: errno ", errno, " (", std::strerror(errno), ")");
    const bool wrote = ::write(fd, "x", 1) == 1;
    ::close(fd);
    return wrote ? "write: ok" : absl::StrCat("write: errno ", errno);
  }
  return absl::StrCat("unknown probe '", probe, "'");
}

absl::StatusOr<std::string> RecvExpecting(Link& link, Tag tag, const char* what) {
  TDS_ASSIGN_OR_RETURN(std::string m, link.Recv());
  TDS_ASSIGN_OR_RETURN(Tag got, MessageTag(m));
  if (got != tag) {
    return absl::DataLossError(
        absl::StrCat("enclave: expected ", what, ", got message tag ", static_cast<int>(got)));
  }
  return m;
}

absl::Status Serve(Link& link, const std::string& self) {
  TDS_ASSIGN_OR_RETURN(std::string hello, RecvExpecting(link, Tag::kHello, "hello"));
  TDS_ASSIGN_OR_RETURN(JobSpec spec, DecodeJobSpec(MessageBody(hello)));
  TDS_ASSIGN_OR_RETURN(Hash measurement, SoftwareMeasurementOfFile(self, spec));
  if (!spec.probe.empty()) {
    return link.Send(Message(Tag::kProbeResult, RunProbe(spec.probe)));
  }
  // Refuses SQL that differs from the approved digest before any key exists.
  TDS_ASSIGN_OR_RETURN(std::unique_ptr<ConfidentialSql> sql, ConfidentialSql::Create(spec));
  SealingKeyPair box;
  std::unique_ptr<SigningKey> signer = SigningKey::Generate();
  ReadyBody ready{std::string(AsBytes(measurement)), {box.public_key(), signer->public_key()}};
  TDS_RETURN_IF_ERROR(link.Send(Message(Tag::kReady, EncodeReady(ready))));

  std::vector<std::unique_ptr<SealedReader>> readers(spec.inputs.size());
  std::string plaintext;
  for (;;) {
    TDS_ASSIGN_OR_RETURN(std::string m, link.Recv());
    TDS_ASSIGN_OR_RETURN(Tag tag, MessageTag(m));
    if (tag == Tag::kRun) break;
    if (tag != Tag::kInputHeader && tag != Tag::kInputChunk) {
      return absl::DataLossError(
          absl::StrCat("enclave: unexpected message tag ", static_cast<int>(tag)));
    }
    TDS_ASSIGN_OR_RETURN(auto part, DecodeInputPart(MessageBody(m)));
    const uint32_t i = part.first;
    if (i >= readers.size()) {
      return absl::DataLossError(absl::StrCat("enclave: input index ", i, " out of range"));
    }
    if (tag == Tag::kInputHeader) {
      if (readers[i] != nullptr) {
        return absl::DataLossError(
            absl::StrCat("enclave: a second header for input '", spec.inputs[i].name, "'"));
      }
      TDS_ASSIGN_OR_RETURN(readers[i], SealedReader::Open(box, spec.inputs[i].name, part.second));
      continue;
    }
    if (readers[i] == nullptr) {
      return absl::DataLossError(
          absl::StrCat("enclave: a chunk for input '", spec.inputs[i].name, "' before its header"));
    }
    TDS_RETURN_IF_ERROR(readers[i]->Next(part.second, &plaintext));
    TDS_RETURN_IF_ERROR(sql->AddInput(i, plaintext));
    if (readers[i]->finished()) TDS_RETURN_IF_ERROR(sql->FinishInput(i));
  }
  for (size_t i = 0; i < readers.size(); ++i) {
    if (readers[i] == nullptr) {
      return absl::FailedPreconditionError(
          absl::StrCat("enclave: input '", spec.inputs[i].name, "' never arrived"));
    }
    TDS_RETURN_IF_ERROR(readers[i]->Finish());
  }
  TDS_ASSIGN_OR_RETURN(SqlRun run, sql->Run());
  ResultBody out;
  out.signed_result.result = EncodeSqlResult(run.result);
  ResultStatement statement;
  statement.measurement = std::string(AsBytes(measurement));
  statement.job_digest = JobSpecDigest(spec);
  statement.inputs = run.inputs;
  statement.result_digest = Sha256(out.signed_result.result);
  statement.result_rows = run.result.rows.size();
  out.signed_result.statement = EncodeStatement(statement);
  out.signed_result.signature = signer->Sign(StatementSigningMessage(out.signed_result.statement));
  out.database_bytes = run.database_bytes;
  out.sqlite_peak_bytes = run.sqlite_peak_bytes;
  return link.Send(Message(Tag::kResult, EncodeResult(out)));
}

}  // namespace
}  // namespace tds::compute::enclave

int main(int argc, char** argv) {
  using namespace tds::compute::enclave;
  // Start-up before the filter: libsodium and OpenSSL initialise (they may read /dev or
  // configuration files once), and the host channel is wrapped.
  tds::compute::EnsureSodium();
  (void)tds::Sha256("");
  tds::compute::SocketLinkOptions link_options;
  link_options.max_frame_bytes = kMaxEnclaveFrame;
  tds::compute::SocketLink link(0, link_options);
  absl::Status s = InstallEnclaveSeccomp();
  if (s.ok()) s = Serve(link, argc > 0 ? argv[0] : "/enclave");
  if (s.ok()) return 0;
  (void)link.Send(Message(Tag::kError, EncodeError(s)));
  return 1;
}
