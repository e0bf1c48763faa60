#include "node/gateway/enclave_host.h"

#include <sodium.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "catalog/catalog_state.h"
#include "common/envelope.h"
#include "common/file.h"
#include "common/sha256.h"
#include "common/status_macros.h"
#include "common/wall_clock.h"
#include "compute/enclave/enclave_job.h"
#include "compute/sodium_init.h"
#include "compute/stream_link.h"
#include "contracts/contract_state.h"
#include "node/gateway/enclave_sql.h"
#include "proto/compute_service.grpc.pb.h"
#include "proto/contracts.pb.h"
#include "spdlog/spdlog.h"

namespace tds::node::gateway {

namespace enclave = compute::enclave;

namespace {

using ClientStream = grpc::ClientReaderWriter<tds::ComputeMessage, tds::ComputeMessage>;

std::string RandomBytes(size_t n) {
  compute::EnsureSodium();
  std::string out(n, '\0');
  randombytes_buf(out.data(), n);
  return out;
}

absl::StatusOr<enclave::ColumnType> ColumnTypeFromName(const std::string& name,
                                                       const std::string& where) {
  if (name == "INTEGER") return enclave::ColumnType::kInteger;
  if (name == "REAL") return enclave::ColumnType::kReal;
  if (name == "TEXT") return enclave::ColumnType::kText;
  return absl::InvalidArgumentError(
      absl::StrCat(where, ": type '", name, "' is not INTEGER, REAL or TEXT"));
}

// One provider's input: its node's Compute.Run "enclave_sql" call, driven by RunEnclaveJob
// through the InputProvider interface (enclave_sql.h has the protocol).
class RemoteInput final : public enclave::InputProvider {
 public:
  RemoteInput(std::string name, std::string contract_id, std::string address)
      : name_(std::move(name)),
        contract_id_(std::move(contract_id)),
        address_(std::move(address)) {}

  ~RemoteInput() override {
    if (stream_ != nullptr && !finished_) {
      ctx_.TryCancel();
      tds::ComputeMessage unread;
      while (stream_->Read(&unread)) {
      }
      stream_->Finish();
    }
  }

  // Sends the start and waits for the provider's nonce: a provider that refuses the job answers
  // here, before anything was attested or recorded anywhere.
  absl::Status Open(const std::shared_ptr<grpc::Channel>& channel, int64_t timeout_ms,
                    const std::string& request, const std::string& params) {
    stub_ = tds::Compute::NewStub(channel);
    if (timeout_ms > 0) {
      ctx_.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(timeout_ms));
    }
    stream_ = stub_->Run(&ctx_);
    link_ = std::make_unique<compute::StreamLink<ClientStream>>(stream_.get(),
                                                                [this] { ctx_.TryCancel(); });
    tds::ComputeMessage start;
    start.mutable_start()->set_request(request);
    start.mutable_start()->set_params(params);
    if (!stream_->Write(start)) {
      return Explain(absl::UnavailableError("the provider's node ended the call"));
    }
    absl::StatusOr<std::string> nonce = RecvEnclaveWire(*link_, {EnclaveWire::kNonce}, "nonce");
    if (!nonce.ok()) return Explain(nonce.status());
    if (nonce->size() != 1 + nonce_.size()) {
      return Explain(absl::DataLossError("enclave_sql: the provider's nonce is not 32 bytes"));
    }
    std::copy(nonce->begin() + 1, nonce->end(), nonce_.begin());
    return absl::OkStatus();
  }

  enclave::Nonce Challenge() override { return nonce_; }

  absl::StatusOr<std::string> Accept(std::string_view report) override {
    absl::Status sent = link_->Send(EnclaveWireMessage(EnclaveWire::kReport, report));
    if (!sent.ok()) return Explain(sent);
    absl::StatusOr<std::string> header =
        RecvEnclaveWire(*link_, {EnclaveWire::kHeader}, "the sealed stream's header");
    if (!header.ok()) return Explain(header.status());
    return header->substr(1);
  }

  absl::StatusOr<std::string> NextChunk(bool* last) override {
    if (!went_) {
      went_ = true;  // from here on the provider records usage and releases its input
      absl::Status sent = link_->Send(EnclaveWireMessage(EnclaveWire::kGo));
      if (!sent.ok()) return Explain(sent);
    }
    absl::StatusOr<std::string> chunk =
        RecvEnclaveWire(*link_, {EnclaveWire::kChunk, EnclaveWire::kLastChunk}, "a sealed chunk");
    if (!chunk.ok()) return Explain(chunk.status());
    *last = static_cast<EnclaveWire>((*chunk)[0]) == EnclaveWire::kLastChunk;
    return chunk->substr(1);
  }

  // After its last chunk: the provider's ComputeResult.
  absl::StatusOr<tds::ComputeResult> Finish() {
    tds::ComputeMessage last;
    if (!stream_->Read(&last)) {
      return Explain(absl::DataLossError("the provider ended the call without a result"));
    }
    if (last.kind_case() != tds::ComputeMessage::kResult) {
      return Explain(absl::DataLossError("expected the provider's result after its input"));
    }
    stream_->WritesDone();
    const grpc::Status status = stream_->Finish();
    finished_ = true;
    if (!status.ok()) return Describe(status);
    return std::move(*last.mutable_result());
  }

  const std::string& name() const { return name_; }
  const std::string& contract_id() const { return contract_id_; }
  // Whether this provider was told to go: its usage is then recorded (or being recorded).
  bool went() const { return went_; }

 private:
  absl::Status Describe(const grpc::Status& status) const {
    return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                        absl::StrCat("contract ", contract_id_, " at ", address_,
                                     ": Compute.Run: ", status.error_message()));
  }

  // The status that explains a failure: the provider's, when it ended the call with one (its
  // message names the check that failed); else `local`.
  absl::Status Explain(const absl::Status& local) {
    if (finished_) return local;
    if (!link_ || !link_->peer_ended()) ctx_.TryCancel();
    tds::ComputeMessage unread;
    while (stream_->Read(&unread)) {
    }
    const grpc::Status status = stream_->Finish();
    finished_ = true;
    if (!status.ok() && status.error_code() != grpc::StatusCode::CANCELLED) {
      return Describe(status);
    }
    return absl::Status(local.code(), absl::StrCat("contract ", contract_id_, " at ", address_,
                                                   ": ", std::string(local.message())));
  }

  const std::string name_;
  const std::string contract_id_;
  const std::string address_;
  std::unique_ptr<tds::Compute::Stub> stub_;
  grpc::ClientContext ctx_;
  std::unique_ptr<ClientStream> stream_;
  std::unique_ptr<compute::StreamLink<ClientStream>> link_;
  enclave::Nonce nonce_{};
  bool went_ = false;
  bool finished_ = false;
};

}  // namespace

EnclaveJobHost::EnclaveJobHost(ledger::Ledger* ledger, EnclaveHostOptions options)
    : ledger_(ledger), options_(std::move(options)) {}

absl::StatusOr<tds::EnclaveRunRequest> EnclaveJobHost::Authenticate(
    std::string_view start, const std::optional<std::string>& caller, std::string* member) {
  if (options_.key == nullptr) {
    return absl::FailedPreconditionError("enclave host: this node has no key");
  }
  *member = options_.member_id ? options_.member_id() : "";
  if (member->empty()) {
    return absl::FailedPreconditionError(
        "enclave host: this node's key is not the key of a current member: it hosts no job");
  }
  absl::StatusOr<OpenedEnvelope> opened = OpenEnvelope(start, kEnclaveRunContext);
  if (!opened.ok()) {
    return absl::UnauthenticatedError(
        absl::StrCat("enclave run request: ", std::string(opened.status().message())));
  }
  if (opened->signer != options_.key->public_key()) {
    return absl::UnauthenticatedError(
        absl::StrCat("enclave run request: signed by key ", opened->signer.hex(),
                     ", not by the key of this node's member '", *member,
                     "' (a node hosts jobs only for its "
                     "own member)"));
  }
  tds::EnclaveRunRequest request;
  if (!request.ParseFromString(opened->payload)) {
    return absl::InvalidArgumentError(
        "enclave run request: payload is not a tds.EnclaveRunRequest");
  }
  if (request.member() != *member) {
    return absl::PermissionDeniedError(absl::StrCat(
        "enclave run request: member '", request.member(), "' is not this node's '", *member, "'"));
  }
  if (caller.has_value() && *caller != *member) {
    return absl::PermissionDeniedError(absl::StrCat("enclave run request: the caller is member '",
                                                    *caller, "', not this node's '", *member, "'"));
  }
  if (request.nonce().size() != 32) {
    return absl::InvalidArgumentError(absl::StrCat("enclave run request: nonce is ",
                                                   request.nonce().size(), " bytes; expected 32"));
  }
  const int64_t now = options_.clock ? options_.clock() : WallClockMs();
  if (std::llabs(now - request.created_ms()) > options_.max_request_age_ms) {
    return absl::FailedPreconditionError(
        absl::StrCat("enclave run request: created_ms ", request.created_ms(), " is more than ",
                     options_.max_request_age_ms, " ms from this node's clock (", now, ")"));
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (seen_nonces_.size() >= 100'000) seen_nonces_.clear();  // older ones are stale anyway
  if (!seen_nonces_.insert(request.nonce()).second) {
    return absl::AlreadyExistsError(
        "enclave run request: this nonce was already used (a replayed request)");
  }
  return request;
}

absl::StatusOr<tds::EnclaveRunResult> EnclaveJobHost::Run(std::string_view start,
                                                          const std::optional<std::string>& caller,
                                                          const RowsFn& rows) {
  std::string member;
  TDS_ASSIGN_OR_RETURN(tds::EnclaveRunRequest request, Authenticate(start, caller, &member));
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (running_ >= options_.max_concurrent_jobs) {
      return absl::ResourceExhaustedError(
          absl::StrCat("this node is hosting ", running_, " enclave jobs, its limit; retry later"));
    }
    ++running_;
  }
  struct Done {
    EnclaveJobHost* h;
    ~Done() {
      std::lock_guard<std::mutex> lock(h->mu_);
      --h->running_;
    }
  } done{this};

  // The job: the SQL, each provider's input as its contract releases it, the member's own.
  enclave::JobSpec spec;
  spec.sql = request.sql();
  spec.sql_digest = Sha256(spec.sql);
  const ledger::StateReader& state = ledger_->state();
  if (request.providers().empty()) {
    return absl::InvalidArgumentError("enclave run request: no provider inputs");
  }
  for (const tds::EnclaveProviderInput& p : request.providers()) {
    const std::string where = absl::StrCat("provider input '", p.name(), "'");
    TDS_ASSIGN_OR_RETURN(std::optional<tds::Contract> contract,
                         contracts::ReadContract(state, p.contract_id()));
    if (!contract.has_value()) {
      return absl::NotFoundError(absl::StrCat(where, ": no contract ", p.contract_id()));
    }
    if (contract->consumer() != member) {
      return absl::PermissionDeniedError(absl::StrCat(where, ": this node's member '", member,
                                                      "' is not the consumer of contract ",
                                                      p.contract_id()));
    }
    TDS_ASSIGN_OR_RETURN(tds::Terms terms, contracts::ParseTerms(contract->terms()));
    if (!terms.has_enclave()) {
      return absl::FailedPreconditionError(absl::StrCat(
          where, ": contract ", p.contract_id(), " grants no enclave_sql (no terms.enclave)"));
    }
    TDS_ASSIGN_OR_RETURN(tds::Product product, catalog::ReadProduct(state, contract->product_id()));
    absl::StatusOr<enclave::InputSchema> schema = ContractInputSchema(p.name(), product, terms);
    if (!schema.ok()) {
      return absl::Status(schema.status().code(),
                          absl::StrCat(where, ": ", std::string(schema.status().message())));
    }
    spec.inputs.push_back(*std::move(schema));
  }
  enclave::InputSchema local;
  local.name = request.local().name();
  for (const tds::EnclaveColumn& c : request.local().columns()) {
    TDS_ASSIGN_OR_RETURN(
        enclave::ColumnType type,
        ColumnTypeFromName(c.type(), absl::StrCat("local input column '", c.name(), "'")));
    local.columns.push_back({c.name(), type, c.identifier()});
  }
  spec.inputs.push_back(std::move(local));
  spec.policy.allowed_columns.assign(request.policy().allowed_columns().begin(),
                                     request.policy().allowed_columns().end());
  spec.policy.count_column = request.policy().count_column();
  spec.policy.min_group_size = request.policy().min_group_size();
  spec.policy.max_rows = request.policy().max_rows();
  TDS_RETURN_IF_ERROR(enclave::ValidateJobSpec(spec));
  const std::string encoded_spec = enclave::EncodeJobSpec(spec);

  // Each provider's call, opened up to its nonce: any refusal of the job ends the run here.
  std::vector<std::unique_ptr<RemoteInput>> remotes;
  for (int i = 0; i < request.providers_size(); ++i) {
    const tds::EnclaveProviderInput& p = request.providers(i);
    tds::EnclaveSqlParams params;
    params.set_job_spec(encoded_spec);
    params.set_input(p.name());
    const std::string params_bytes = params.SerializeAsString();
    tds::UsageRequest usage;
    usage.set_contract_id(p.contract_id());
    usage.set_consumer(member);
    usage.set_operation("enclave_sql");
    usage.set_purpose(request.purpose());
    for (const enclave::Column& c : spec.inputs[i].columns) usage.add_columns(c.name);
    usage.set_params_digest(std::string(AsBytes(Sha256(params_bytes))));
    usage.set_nonce(RandomBytes(32));
    usage.set_created_ms(options_.clock ? options_.clock() : WallClockMs());
    const std::string signed_request =
        SealEnvelope(*options_.key, contracts::kUsageRequestContext, usage.SerializeAsString());
    auto remote = std::make_unique<RemoteInput>(p.name(), p.contract_id(), p.address());
    std::shared_ptr<grpc::ChannelCredentials> credentials =
        options_.credentials ? options_.credentials : grpc::InsecureChannelCredentials();
    absl::Status opened = remote->Open(grpc::CreateChannel(p.address(), credentials),
                                       options_.provider_timeout_ms, signed_request, params_bytes);
    if (!opened.ok()) {
      return absl::Status(opened.code(),
                          absl::StrCat("provider of input '", p.name(),
                                       "' refused the job: ", std::string(opened.message())));
    }
    remotes.push_back(std::move(remote));
  }

  // The member's own input, verified by this node as any provider would.
  absl::StatusOr<std::string> binary = ReadFile(options_.enclave_binary);
  if (!binary.ok()) {
    return absl::Status(
        binary.status().code(),
        absl::StrCat("this node's enclave binary: ", std::string(binary.status().message())));
  }
  const Hash binary_sha256 = Sha256(*binary);
  binary->clear();
  const Hash measurement = enclave::SoftwareMeasurementOfDigest(binary_sha256, spec);
  enclave::VerifierPolicy own_policy;
  own_policy.accepted_measurements = {std::string(AsBytes(measurement))};
  own_policy.software_platform_keys = {options_.key->public_key()};
  own_policy.max_software_level = INT_MAX;  // the member's own data
  enclave::AttestationVerifier own_verifier(own_policy);
  absl::Status rows_error;
  enclave::LocalInputProvider own(spec.inputs.back().name, &own_verifier, [&](std::string* out) {
    absl::StatusOr<std::optional<std::string>> next = rows();
    if (!next.ok()) {
      rows_error = next.status();
      return false;
    }
    if (!next->has_value()) return false;
    out->append(**next);
    return true;
  });

  std::vector<enclave::InputProvider*> providers;
  for (auto& r : remotes) providers.push_back(r.get());
  providers.push_back(&own);
  enclave::SoftwareBackend backend(*options_.key);
  enclave::EnclaveJobOptions job_options;
  job_options.enclave_binary = options_.enclave_binary;
  job_options.sandbox = options_.sandbox;
  job_options.backend = &backend;
  enclave::Nonce consumer_nonce;
  std::copy(request.nonce().begin(), request.nonce().end(), consumer_nonce.begin());
  absl::StatusOr<enclave::EnclaveJobResult> job =
      enclave::RunEnclaveJob(job_options, spec, providers, consumer_nonce);
  if (!rows_error.ok()) {
    return absl::Status(rows_error.code(), absl::StrCat("the member's own input: ",
                                                        std::string(rows_error.message())));
  }
  if (!job.ok()) {
    std::vector<std::string> metered;
    for (const auto& r : remotes) {
      if (r->went()) metered.push_back(r->contract_id());
    }
    std::string message(job.status().message());
    if (!metered.empty()) {
      absl::StrAppend(&message,
                      " (the inputs had reached the enclave: usage stands under "
                      "contract(s) ",
                      absl::StrJoin(metered, ", "), ")");
    }
    spdlog::info("enclave job for '{}' failed: {}", member, message);
    return absl::Status(job.status().code(), message);
  }

  tds::EnclaveRunResult out;
  out.set_job_spec(encoded_spec);
  out.set_binary_sha256(HexEncode(binary_sha256));
  out.set_report(job->consumer_report);
  out.set_statement(job->signed_result.statement);
  out.set_signature(job->signed_result.signature);
  out.set_result(job->signed_result.result);
  for (auto& r : remotes) {
    tds::EnclaveProviderUsage* usage = out.add_usage();
    usage->set_name(r->name());
    usage->set_contract_id(r->contract_id());
    absl::StatusOr<tds::ComputeResult> result = r->Finish();
    if (!result.ok()) {
      return absl::Status(result.status().code(),
                          absl::StrCat("provider of input '", r->name(), "' after the job: ",
                                       std::string(result.status().message())));
    }
    *usage->mutable_result() = *std::move(result);
  }
  spdlog::info("enclave job for '{}': {} provider input(s), {} bytes relayed, enclave peak {} MB",
               member, remotes.size(), job->relayed_bytes, job->exit.peak_rss_mb);
  return out;
}

EnclaveHostService::EnclaveHostService(EnclaveJobHost* host, CallerOf caller_of)
    : host_(host), caller_of_(std::move(caller_of)) {}

grpc::Status EnclaveHostService::Run(grpc::ServerContext* ctx,
                                     grpc::ServerReader<tds::EnclaveRunMessage>* reader,
                                     tds::EnclaveRunResult* response) {
  tds::EnclaveRunMessage first;
  if (!reader->Read(&first) || first.kind_case() != tds::EnclaveRunMessage::kStart) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "EnclaveHost.Run: the first message must be the start");
  }
  std::optional<std::string> caller;
  if (caller_of_) caller = caller_of_(*ctx);
  EnclaveJobHost::RowsFn rows = [reader]() -> absl::StatusOr<std::optional<std::string>> {
    tds::EnclaveRunMessage m;
    if (!reader->Read(&m)) return std::optional<std::string>();
    if (m.kind_case() != tds::EnclaveRunMessage::kRows) {
      return absl::InvalidArgumentError("EnclaveHost.Run: a second start message");
    }
    if (m.rows().size() > kMaxEnclaveRowsMessage) {
      return absl::InvalidArgumentError(absl::StrCat("EnclaveHost.Run: a rows message of ",
                                                     m.rows().size(), " bytes exceeds ",
                                                     kMaxEnclaveRowsMessage));
    }
    return std::optional<std::string>(std::move(*m.mutable_rows()));
  };
  absl::StatusOr<tds::EnclaveRunResult> result = host_->Run(first.start(), caller, rows);
  if (!result.ok()) {
    return grpc::Status(static_cast<grpc::StatusCode>(result.status().code()),
                        std::string(result.status().message()));
  }
  *response = *std::move(result);
  return grpc::Status::OK;
}

std::string DefaultEnclaveBinary() {
  char path[4096];
  const ssize_t n = ::readlink("/proc/self/exe", path, sizeof(path) - 1);
  if (n <= 0) return "tds-enclave";
  std::string self(path, static_cast<size_t>(n));
  const size_t slash = self.rfind('/');
  return (slash == std::string::npos ? std::string(".") : self.substr(0, slash)) + "/tds-enclave";
}

}  // namespace tds::node::gateway
