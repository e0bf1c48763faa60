#include "compute/enclave/enclave_job.h"

#include <chrono>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "compute/enclave/enclave_protocol.h"
#include "compute/socket_link.h"

namespace tds::compute::enclave {
namespace {

using Clock = std::chrono::steady_clock;

double Since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// The host's conversation with one enclave process.
class EnclaveSession {
 public:
  explicit EnclaveSession(std::unique_ptr<SandboxedProcess> proc)
      : proc_(std::move(proc)), link_(proc_->TakeChannel()) {}

  absl::Status Send(Tag tag, std::string_view body) {
    absl::Status s = link_.Send(Message(tag, body));
    if (s.ok()) return s;
    // The enclave stopped listening: its error message, if it sent one, says why.
    return EnclaveEnded(s);
  }

  // The next message, which must be `tag` (an error message becomes its status).
  absl::StatusOr<std::string> Recv(Tag tag, const char* what) {
    absl::StatusOr<std::string> m = link_.Recv();
    if (!m.ok()) return Exited(absl::StrCat("waiting for ", what));
    TDS_ASSIGN_OR_RETURN(Tag got, MessageTag(*m));
    if (got == Tag::kError) return DecodeError(MessageBody(*m));
    if (got != tag) {
      return absl::DataLossError(
          absl::StrCat("enclave: expected ", what, ", got message tag ", static_cast<int>(got)));
    }
    return m;
  }

  // How the enclave ended (waits once; later calls return the same).
  absl::StatusOr<SandboxExit> Wait() {
    if (exit_) return *exit_;
    link_.Close();
    TDS_ASSIGN_OR_RETURN(SandboxExit e, proc_->Wait());
    exit_ = e;
    return e;
  }

 private:
  absl::Status EnclaveEnded(const absl::Status& send_error) {
    absl::StatusOr<std::string> m = link_.Recv();
    if (m.ok() && !m->empty() && static_cast<Tag>((*m)[0]) == Tag::kError) {
      return DecodeError(MessageBody(*m));
    }
    return Exited(absl::StrCat("sending: ", send_error.message()));
  }

  absl::Status Exited(const std::string& doing) {
    auto e = Wait();
    return absl::UnavailableError(absl::StrCat("enclave ended while ", doing, ": ",
                                               e.ok() ? e->Describe() : e.status().ToString()));
  }

  std::unique_ptr<SandboxedProcess> proc_;
  SocketLink link_;
  std::optional<SandboxExit> exit_;
};

absl::Status CheckOptions(const EnclaveJobOptions& options) {
  if (options.backend == nullptr) {
    return absl::InvalidArgumentError("enclave job: no attestation backend");
  }
  return absl::OkStatus();
}

}  // namespace

LocalInputProvider::LocalInputProvider(std::string name, AttestationVerifier* verifier,
                                       RowSource source, size_t chunk_bytes)
    : name_(std::move(name)),
      verifier_(verifier),
      source_(std::move(source)),
      chunk_bytes_(std::min(chunk_bytes, kMaxChunkPlaintext)) {}

Nonce LocalInputProvider::Challenge() {
  nonce_ = verifier_->IssueNonce();
  return *nonce_;
}

absl::StatusOr<std::string> LocalInputProvider::Accept(std::string_view report) {
  if (!nonce_) return absl::FailedPreconditionError("provider: no challenge was issued");
  const Clock::time_point t = Clock::now();
  absl::StatusOr<VerifiedEnclave> v = verifier_->Verify(report, *nonce_);
  verify_seconds_ += Since(t);
  if (!v.ok()) return v.status();
  enclave_ = *v;
  const Clock::time_point s = Clock::now();
  TDS_ASSIGN_OR_RETURN(writer_, SealedWriter::Create(v->keys.x25519, name_));
  seal_seconds_ += Since(s);
  return writer_->header();
}

absl::StatusOr<std::string> LocalInputProvider::NextChunk(bool* last) {
  if (writer_ == nullptr) return absl::FailedPreconditionError("provider: report not accepted");
  while (!source_done_ && buffer_.size() < chunk_bytes_) {
    if (!source_(&buffer_)) source_done_ = true;
  }
  // A chunk carries at most chunk_bytes_; the rest stays for the next one.
  const size_t take = std::min(buffer_.size(), chunk_bytes_);
  *last = source_done_ && take == buffer_.size();
  const std::string_view piece(buffer_.data(), take);
  hasher_.Update(piece);
  plaintext_bytes_ += take;
  const Clock::time_point s = Clock::now();
  absl::StatusOr<std::string> chunk = writer_->Seal(piece, *last);
  seal_seconds_ += Since(s);
  buffer_.erase(0, take);
  if (*last) digest_ = hasher_.Finish();
  return chunk;
}

absl::StatusOr<EnclaveJobResult> RunEnclaveJob(const EnclaveJobOptions& options,
                                               const JobSpec& spec,
                                               const std::vector<InputProvider*>& providers,
                                               std::optional<Nonce> consumer_nonce) {
  TDS_RETURN_IF_ERROR(CheckOptions(options));
  TDS_RETURN_IF_ERROR(ValidateJobSpec(spec));
  if (providers.size() != spec.inputs.size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "enclave job: ", providers.size(), " providers for ", spec.inputs.size(), " inputs"));
  }
  EnclaveJobResult out;
  Clock::time_point t = Clock::now();
  // The platform measures the enclave itself; the enclave's own figure must agree.
  TDS_ASSIGN_OR_RETURN(Hash measured, SoftwareMeasurementOfFile(options.enclave_binary, spec));
  out.measurement = std::string(AsBytes(measured));
  TDS_ASSIGN_OR_RETURN(std::unique_ptr<SandboxedProcess> proc,
                       SandboxedProcess::Start(options.enclave_binary, options.sandbox));
  EnclaveSession session(std::move(proc));
  TDS_RETURN_IF_ERROR(session.Send(Tag::kHello, EncodeJobSpec(spec)));
  TDS_ASSIGN_OR_RETURN(std::string ready_msg, session.Recv(Tag::kReady, "ready"));
  TDS_ASSIGN_OR_RETURN(ReadyBody ready, DecodeReady(MessageBody(ready_msg)));
  if (ready.measurement != out.measurement) {
    return absl::InternalError(absl::StrCat("enclave job: the enclave measured itself as ",
                                            HexEncode(ready.measurement), ", the platform as ",
                                            HexEncode(out.measurement)));
  }
  out.start_seconds = Since(t);

  t = Clock::now();
  for (size_t i = 0; i < providers.size(); ++i) {
    const Nonce nonce = providers[i]->Challenge();
    TDS_ASSIGN_OR_RETURN(std::string report,
                         options.backend->Attest(out.measurement, ready.keys, nonce));
    absl::StatusOr<std::string> header = providers[i]->Accept(report);
    if (!header.ok()) {
      return absl::Status(header.status().code(),
                          absl::StrCat("provider of input '", spec.inputs[i].name,
                                       "' refused the enclave: ", header.status().message()));
    }
    out.provider_reports.push_back(std::move(report));
    TDS_RETURN_IF_ERROR(session.Send(Tag::kInputHeader, EncodeInputPart(i, *header)));
  }
  if (consumer_nonce) {
    TDS_ASSIGN_OR_RETURN(out.consumer_report,
                         options.backend->Attest(out.measurement, ready.keys, *consumer_nonce));
  }
  out.attest_seconds = Since(t);

  t = Clock::now();
  for (size_t i = 0; i < providers.size(); ++i) {
    bool last = false;
    while (!last) {
      TDS_ASSIGN_OR_RETURN(std::string chunk, providers[i]->NextChunk(&last));
      out.relayed_bytes += chunk.size();
      TDS_RETURN_IF_ERROR(session.Send(Tag::kInputChunk, EncodeInputPart(i, chunk)));
    }
  }
  out.stream_seconds = Since(t);

  t = Clock::now();
  TDS_RETURN_IF_ERROR(session.Send(Tag::kRun, {}));
  TDS_ASSIGN_OR_RETURN(std::string result_msg, session.Recv(Tag::kResult, "the result"));
  TDS_ASSIGN_OR_RETURN(ResultBody result, DecodeResult(MessageBody(result_msg)));
  out.query_seconds = Since(t);
  out.signed_result = std::move(result.signed_result);
  out.database_bytes = result.database_bytes;
  out.sqlite_peak_bytes = result.sqlite_peak_bytes;
  TDS_ASSIGN_OR_RETURN(out.exit, session.Wait());
  return out;
}

absl::StatusOr<ProbeOutcome> RunEnclaveProbe(const EnclaveJobOptions& options,
                                             const std::string& probe) {
  JobSpec spec;
  spec.probe = probe;
  TDS_ASSIGN_OR_RETURN(std::unique_ptr<SandboxedProcess> proc,
                       SandboxedProcess::Start(options.enclave_binary, options.sandbox));
  EnclaveSession session(std::move(proc));
  ProbeOutcome out;
  TDS_RETURN_IF_ERROR(session.Send(Tag::kHello, EncodeJobSpec(spec)));
  absl::StatusOr<std::string> m = session.Recv(Tag::kProbeResult, "the probe result");
  if (m.ok()) out.report = std::string(MessageBody(*m));
  TDS_ASSIGN_OR_RETURN(out.exit, session.Wait());
  return out;
}

}  // namespace tds::compute::enclave
