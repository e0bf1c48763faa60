#include "node/gateway/gateway.h"

#include <algorithm>
#include <chrono>
#include <future>
#include <mutex>
#include <random>
#include <set>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "catalog/catalog_state.h"
#include "common/envelope.h"
#include "common/logging.h"
#include "common/sha256.h"
#include "common/status_macros.h"
#include "common/wall_clock.h"
#include "compute/enclave/job_spec.h"
#include "compute/joint/alignment.h"
#include "compute/joint/joint_params.h"
#include "compute/psi/ecdh_psi.h"
#include "compute/psi/kkrt_psi.h"
#include "compute/psi_params.h"
#include "compute/query/anonymous_query.h"
#include "compute/stats/stats.h"
#include "contracts/contract_state.h"
#include "contracts/metering.h"
#include "contracts/negotiation.h"
#include "contracts/terms.h"
#include "ledger/genesis.h"
#include "ledger/membership.h"
#include "node/gateway/enclave_sql.h"
#include "node/gateway/joint_runs.h"
#include "node/gateway/metered_link.h"
#include "node/gateway/run_metrics.h"
#include "proto/envelope.pb.h"
#include "proto/ledger.pb.h"
#include "spdlog/spdlog.h"

namespace tds::node::gateway {

using compute::psi::PsiOutput;

namespace {

int64_t SteadyUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

uint64_t RandomTxNonce() {
  thread_local std::mt19937_64 rng(std::random_device{}());
  return rng();
}

// lr_train's model id: "m-" + the first 16 bytes of the request's digest, hex (the consumer
// derives it from the request it signed).
std::string ModelIdOf(const Hash& request_digest) {
  return "m-" +
         HexEncode(std::string_view(reinterpret_cast<const char*>(request_digest.data()), 16));
}

// Keeps the code, prefixes the message.
absl::Status Prefixed(const absl::Status& s, const std::string& prefix) {
  return absl::Status(s.code(), absl::StrCat(prefix, std::string(s.message())));
}

// One transaction this node submitted, and its outcome once the node's submit path answers.
struct PendingTx {
  Hash txid{};
  std::promise<absl::StatusOr<ledger::SubmitAck>> promise;
  std::shared_future<absl::StatusOr<ledger::SubmitAck>> outcome = promise.get_future().share();
};

}  // namespace

// What outlives the gateway: batched records answer after their run (even after shutdown).
struct Gateway::Shared {
  std::mutex mu;
  // contract id '/' nonce of every request a run is using and whose nonce may not be in
  // state yet (a batched record not yet committed).
  std::set<std::string> nonces;  // GUARDED_BY(mu)

  bool Claim(const std::string& key) {
    std::lock_guard<std::mutex> lock(mu);
    return nonces.insert(key).second;
  }
  void Release(const std::string& key) {
    std::lock_guard<std::mutex> lock(mu);
    nonces.erase(key);
  }
};

// One run through the gate (gateway.h).
class Gateway::Session {
 public:
  Session(Gateway* gateway, const tds::ComputeStart& start,
          const std::optional<std::string>& caller, compute::Link& link)
      : g_(*gateway), start_(start), caller_(caller), link_(&link) {}

  ~Session() {
    if (own_nonce_) g_.shared_->Release(nonce_key_);
  }

  absl::StatusOr<tds::ComputeResult> Run() {
    TDS_RETURN_IF_ERROR(Authenticate());
    TDS_RETURN_IF_ERROR(LoadContract());
    TDS_RETURN_IF_ERROR(CheckTerms());
    TDS_RETURN_IF_ERROR(ClaimNonce());
    started_ms_ = Clock();
    started_steady_us_ = SteadyUs();
    // enclave_sql reserves at its release gate instead (RunEnclave): the gate comes before any
    // computation (the enclave runs on the consumer's node), and a job refused before it (by
    // any of its providers) leaves nothing on the ledger.
    if (strict_ && request_.operation() != "enclave_sql") TDS_RETURN_IF_ERROR(Reserve());
    if (request_.operation() == "query") return RunQuery();
    if (request_.operation() == "enclave_sql") return RunEnclave();
    TDS_RETURN_IF_ERROR(ReadData());
    absl::StatusOr<compute::psi::PsiResult> protocol = RunProtocol();
    if (!protocol.ok()) {
      // A refusal at the release gate is the reason the protocol stopped: say that.
      std::lock_guard<std::mutex> lock(record_mu_);
      if (record_attempted_ && !record_status_.ok()) return record_status_;
      return protocol.status();
    }
    const compute::psi::PsiResult& psi = *protocol;
    if (joint_) return RunJoint(psi);

    // The protocol has released its result to the consumer: measure what the provider knows.
    const uint64_t rows_out = output_ == PsiOutput::kBoth ? psi.intersection_size : 0;
    absl::StatusOr<compute::stats::StatsOutput> stats;
    if (request_.operation() == "stats") stats = ComputeStats(psi);
    // A protocol without a release gate ends here without a record: record now, before the
    // result leaves (a no-op when the gate recorded).
    TDS_RETURN_IF_ERROR(RecordOnce(
        rows_out, stats.ok() && request_.operation() == "stats" ? stats->min_group_rows : 0));
    tds::ComputeResult result = MeteredResult();
    if (request_.operation() == "stats") {
      if (!stats.ok()) return stats.status();  // the record stands; nothing more is released
      for (tds::StatValue& v : stats->values) *result.add_stats() = std::move(v);
    }
    if (output_ == PsiOutput::kBoth) result.set_intersection_size(psi.intersection_size);
    return result;
  }

  // "query": the contract's prepared table, the anonymous query with the consumer, metered per
  // identifier at the protocol's gate (before anything the consumer could use is sent).
  absl::StatusOr<tds::ComputeResult> RunQuery() {
    QueryTables::Want want;
    want.contract_id = contract_.id();
    want.product_version = served_.product.version();
    want.columns.assign(query_.columns().begin(), query_.columns().end());
    want.k = contracts::QueryKOf(terms_);
    want.max_rows = g_.options_.max_rows;
    want.load = [this] { return LoadQueryRows(); };
    TDS_ASSIGN_OR_RETURN(std::shared_ptr<const QueryTable> table, g_.query_tables_->Get(want));
    rows_in_ = table->table->rows();

    compute::query::QueryProviderOptions options;
    // The signed request announced the batch: the protocol refuses a larger one.
    options.max_batch = static_cast<uint32_t>(query_.identifiers());
    options.threads = g_.options_.psi_threads;
    options.before_answer = [this](const compute::query::QueryInfo& info) -> absl::Status {
      if (info.identifiers != query_.identifiers()) {
        return absl::InvalidArgumentError(
            absl::StrCat("params.identifiers: the consumer's batch has ", info.identifiers,
                         " identifiers; its signed request announced ", query_.identifiers()));
      }
      input_digest_ = info.request_digest;
      // Counts and digests only: the identifiers never reach the provider in the clear.
      return RecordOnce(/*rows_out=*/info.identifiers, /*min_group_rows=*/0);
    };
    absl::StatusOr<compute::query::QueryInfo> info =
        compute::query::RunQueryProvider(table->key, *table->table, options, metered_);
    if (!info.ok()) {
      std::lock_guard<std::mutex> lock(record_mu_);
      if (record_attempted_ && !record_status_.ok()) return record_status_;
      return info.status();
    }
    TDS_RETURN_IF_ERROR(RecordOnce(info->identifiers, 0));  // a no-op: the gate recorded
    return MeteredResult();
  }

  // "enclave_sql": this contract's input to the consumer's attested enclave, sealed to it;
  // metered at the release gate (after every provider accepted the enclave, before any row).
  absl::StatusOr<tds::ComputeResult> RunEnclave() {
    EnclaveProviderOptions options;
    options.spec = &enclave_spec_;
    options.input = &enclave_input_;
    options.policy = enclave_policy_;
    options.platforms.assign(terms_.enclave().platforms().begin(),
                             terms_.enclave().platforms().end());
    options.product = &served_.product;
    options.source = served_.source;
    options.scan_chunk_rows = g_.options_.scan_chunk_rows;
    options.gate = [this](uint64_t rows) -> absl::Status {
      if (rows > g_.options_.max_rows) {
        return absl::ResourceExhaustedError(absl::StrCat("product ", served_.product.id(),
                                                         " has more than ", g_.options_.max_rows,
                                                         " rows, this node's limit per run"));
      }
      if (terms_.max_rows_per_call() != 0 && rows > terms_.max_rows_per_call()) {
        return absl::ResourceExhaustedError(absl::StrCat(
            "terms.max_rows_per_call: the enclave input of ", rows, " rows exceeds the ",
            terms_.max_rows_per_call(), " per call of contract ", contract_.id()));
      }
      rows_in_ = rows;
      // The measurement the provider accepted: binary and job, as an auditor can recompute.
      input_digest_ = enclave_policy_.accepted_measurements.front();
      // Strict: the ledger counts a record as kept only under an open reservation, so reserve
      // here (Record waits for its commit, then records; nothing is released before both).
      if (strict_) TDS_RETURN_IF_ERROR(Reserve());
      return RecordOnce(/*rows_out=*/rows, /*min_group_rows=*/0);
    };
    absl::StatusOr<EnclaveProviderOutcome> outcome = RunEnclaveProvider(options, metered_);
    if (!outcome.ok()) {
      std::lock_guard<std::mutex> lock(record_mu_);
      if (record_attempted_ && !record_status_.ok()) return record_status_;
      return outcome.status();
    }
    return MeteredResult();
  }

  // The joint operations' second phase, over the rows PSI matched, in the order both sides
  // derive (compute/joint/alignment.h). The record was made at PSI's release gate.
  absl::StatusOr<tds::ComputeResult> RunJoint(const compute::psi::PsiResult& psi) {
    AlignedRows rows;
    rows.values = &values_;
    TDS_ASSIGN_OR_RETURN(rows.order, compute::joint::AlignedOrder(ids_, psi.matched));
    tds::ComputeResult result = MeteredResult();
    result.set_intersection_size(psi.intersection_size);
    const std::string& op = request_.operation();
    if (op == "joint_stats") {
      TDS_ASSIGN_OR_RETURN(
          compute::mpc::ProviderSummary summary,
          RunJointStatsProvider(joint_stats_, terms_.min_group_size(), rows, metered_));
      result.set_min_group_rows(summary.min_group_rows);
    } else if (op == "lr_train") {
      LrHostOptions options;
      options.key_bits = g_.options_.lr_key_bits;
      options.threads = g_.options_.psi_threads;
      TDS_ASSIGN_OR_RETURN(tds::LrModelHalf model,
                           RunLrTrainHost(lr_train_, data_columns_, rows, options, metered_));
      model.set_contract_id(contract_.id());
      model.set_model_id(ModelIdOf(request_digest_));
      model.set_trained_ms(Clock());
      TDS_RETURN_IF_ERROR(g_.models_->Save(model));
      result.set_model_id(model.model_id());
    } else {
      TDS_RETURN_IF_ERROR(RunLrScoreHost(model_, rows, metered_));
    }
    return result;
  }

  // The metering part of every result: measurement, the record's id, its receipt (strict) and
  // violations.
  tds::ComputeResult MeteredResult() const {
    tds::ComputeResult result;
    *result.mutable_measurement() = measurement_;
    result.set_usage_txid(std::string(AsBytes(record_->txid)));
    if (strict_) *result.mutable_receipt() = receipt_;
    for (const tds::Violation& v : violations_) *result.add_violations() = v;
    return result;
  }

  // The rows of a query table: the id column and the requested columns, in that order; NULL
  // ids are skipped (they match nothing), NULL values become "".
  absl::StatusOr<std::vector<compute::query::Row>> LoadQueryRows() {
    const std::string& id_column = served_.config.id_column();
    std::vector<std::string> scan = {id_column};
    std::vector<size_t> at;  // where each requested column is in `scan`
    for (const std::string& c : query_.columns()) {
      auto it = std::find(scan.begin(), scan.end(), c);
      at.push_back(static_cast<size_t>(it - scan.begin()));
      if (it == scan.end()) scan.push_back(c);
    }
    std::vector<compute::query::Row> rows;
    const uint64_t max_rows = g_.options_.max_rows;
    bool too_many = false;
    absl::Status scanned =
        served_.source->Scan(scan, g_.options_.scan_chunk_rows, [&](const std::vector<Row>& chunk) {
          for (const Row& row : chunk) {
            if (!row[0].has_value()) continue;
            if (rows.size() >= max_rows) {
              too_many = true;
              return false;
            }
            compute::query::Row& out = rows.emplace_back();
            out.id = *row[0];
            for (size_t i : at) out.columns.push_back(row[i].value_or(""));
          }
          return true;
        });
    if (too_many) {
      return absl::ResourceExhaustedError(absl::StrCat("product ", served_.product.id(),
                                                       " has more than ", max_rows,
                                                       " rows, this node's limit per table"));
    }
    if (!scanned.ok()) return Prefixed(scanned, "reading the product's source: ");
    return rows;
  }

  void Report(const absl::Status& status) {
    const int64_t total_us = SteadyUs() - admitted_steady_us_;
    if (status.ok()) {
      spdlog::info("compute {} on contract {} for '{}': released ({} {} ms, {} rows in)",
                   request_.operation(), contract_.id(), request_.consumer(),
                   strict_ ? "strict" : "batched", total_us / 1000, measurement_.rows_in());
    } else {
      spdlog::info("compute {} on contract {} for '{}': refused: {}", request_.operation(),
                   request_.contract_id(), request_.consumer(), std::string(status.message()));
    }
    ObserveRun(request_.operation(), status, total_us, measurement_.rows_in());
    if (!g_.options_.on_run) return;
    report_.contract_id = request_.contract_id();
    report_.operation = request_.operation();
    report_.strict = strict_;
    report_.status = status;
    report_.total_us = total_us;
    {
      std::lock_guard<std::mutex> lock(record_mu_);
      report_.recorded = record_attempted_ && record_status_.ok();
    }
    report_.measurement = measurement_;
    g_.options_.on_run(report_);
  }

 private:
  int64_t Clock() const { return g_.options_.clock ? g_.options_.clock() : WallClockMs(); }
  const ledger::StateReader& state() const { return g_.ledger_->state(); }

  // (a) Who asks, and is it really them.
  absl::Status Authenticate() {
    tds::Envelope env;
    if (!env.ParseFromString(start_.request())) {
      return absl::InvalidArgumentError("usage request: not a valid Envelope message");
    }
    if (!request_.ParseFromString(env.payload())) {
      return absl::InvalidArgumentError("usage request: payload is not a tds.UsageRequest");
    }
    const std::string& consumer = request_.consumer();
    if (consumer.empty()) return absl::InvalidArgumentError("usage request: consumer is empty");
    TDS_ASSIGN_OR_RETURN(std::optional<tds::Member> member, ledger::ReadMember(state(), consumer));
    if (!member.has_value()) {
      return absl::UnauthenticatedError(
          absl::StrCat("usage request: consumer '", consumer, "' is not a current member"));
    }
    TDS_ASSIGN_OR_RETURN(PublicKey key, ledger::MemberKey(*member));
    absl::StatusOr<OpenedEnvelope> opened =
        OpenEnvelopeFrom(start_.request(), contracts::kUsageRequestContext,
                         [&key](std::string_view raw) -> const PublicKey* {
                           return raw == key.bytes() ? &key : nullptr;
                         });
    if (!opened.ok()) {
      if (opened.status().code() == absl::StatusCode::kPermissionDenied) {
        return absl::UnauthenticatedError(absl::StrCat(
            "usage request: bad signature: not signed by the key of consumer '", consumer, "'"));
      }
      return absl::UnauthenticatedError(
          absl::StrCat("usage request: bad signature: ", std::string(opened.status().message())));
    }
    request_digest_ = Sha256(opened->payload);
    SetRequestId(HexEncode(request_digest_));  // log lines name the usage record's request
    consumer_key_ = key;
    absl::StatusOr<tds::Member> role =
        ledger::RequireRole(state(), consumer, ledger::kRoleConsumer);
    if (!role.ok()) return Prefixed(role.status(), "usage request: ");
    if (caller_.has_value() && *caller_ != consumer) {
      return absl::PermissionDeniedError(absl::StrCat("usage request: signed by consumer '",
                                                      consumer, "' but the caller is member '",
                                                      *caller_, "'"));
    }
    const size_t nonce = request_.nonce().size();
    if (nonce < contracts::kMinNonceBytes || nonce > contracts::kMaxNonceBytes) {
      return absl::InvalidArgumentError(absl::StrCat("usage request: nonce is ", nonce,
                                                     " bytes; expected ", contracts::kMinNonceBytes,
                                                     "..", contracts::kMaxNonceBytes));
    }
    if (AsBytes(Sha256(start_.params())) != request_.params_digest()) {
      return absl::InvalidArgumentError(
          "params: their SHA-256 is not the request's params_digest (the consumer signed other "
          "parameters)");
    }
    return absl::OkStatus();
  }

  // (b) The contract, from this node's replica of the ledger.
  absl::Status LoadContract() {
    const std::string& id = request_.contract_id();
    if (id.empty()) return absl::InvalidArgumentError("usage request: contract_id is empty");
    TDS_ASSIGN_OR_RETURN(std::optional<tds::Contract> contract,
                         contracts::ReadContract(state(), id));
    if (!contract.has_value()) return absl::NotFoundError(absl::StrCat("no contract ", id));
    contract_ = *std::move(contract);
    if (request_.consumer() != contract_.consumer()) {
      return absl::PermissionDeniedError(absl::StrCat("usage request: consumer '",
                                                      request_.consumer(),
                                                      "' is not the consumer of contract ", id));
    }
    member_id_ = g_.MemberId();
    if (member_id_.empty()) {
      return absl::FailedPreconditionError(
          "this node's key is not the key of a current member: it runs no computation");
    }
    if (contract_.provider() != member_id_) {
      return absl::FailedPreconditionError(
          absl::StrCat("contract ", id, " is provided by '", contract_.provider(),
                       "', not by this node's member '", member_id_, "'"));
    }
    TDS_ASSIGN_OR_RETURN(served_, g_.sources_->Serve(state(), contract_.product_id(), member_id_));
    const ledger::LedgerStatus status = g_.ledger_->Status();
    height_ = status.height;
    block_time_ms_ = status.last_block_time_ms;
    const tds::ContractState effective = contracts::EffectiveState(contract_, block_time_ms_);
    if (effective != tds::ACTIVE) {
      return absl::FailedPreconditionError(
          absl::StrCat("contract ", id, " is ", tds::ContractState_Name(effective)));
    }
    return absl::OkStatus();
  }

  // (c) The terms, exactly as usage.reserve checks them, and the parameters. Reads no data.
  absl::Status CheckTerms() {
    TDS_ASSIGN_OR_RETURN(terms_, contracts::ParseTerms(contract_.terms()));
    const tds::Product& product = served_.product;
    const std::string& op = request_.operation();
    if (catalog::OperationKind(op) == "export" && product.level() >= 3) {
      return absl::PermissionDeniedError(absl::StrCat(
          "product ", product.id(), " is classified level ", product.level(), ": operation '", op,
          "' exports raw rows, which is never allowed at level 3 or above"));
    }
    TDS_RETURN_IF_ERROR(
        contracts::CheckRequestAgainstTerms(contract_, terms_, request_, block_time_ms_));
    if (op == "query") {
      TDS_RETURN_IF_ERROR(CheckQueryParams(product));
    } else if (op == "psi" || op == "stats") {
      TDS_RETURN_IF_ERROR(CheckPsiParams(product, op));
    } else if (op == "joint_stats" || op == "lr_train" || op == "lr_score") {
      TDS_RETURN_IF_ERROR(CheckJointParams(product, op));
    } else if (op == "enclave_sql") {
      TDS_RETURN_IF_ERROR(CheckEnclaveParams(product));
    } else {
      return absl::UnimplementedError(
          absl::StrCat("operation '", op,
                       "' is not run by this node's gateway (it runs psi, stats, query, "
                       "joint_stats, lr_train, lr_score and enclave_sql)"));
    }
    TDS_ASSIGN_OR_RETURN(tds::UsageCounters counters,
                         contracts::CountersAt(state(), contract_.id(), height_ + 1));
    TDS_RETURN_IF_ERROR(contracts::CheckQuota(contract_, terms_, counters, block_time_ms_));
    TDS_RETURN_IF_ERROR(contracts::CheckNonceUnused(state(), contract_.id(), request_.nonce()));
    strict_ = terms_.metering() == tds::METERING_STRICT;
    return absl::OkStatus();
  }

  // "query" parameters (QueryParams). Reads no data.
  absl::Status CheckQueryParams(const tds::Product& product) {
    if (!query_.ParseFromString(start_.params())) {
      return absl::InvalidArgumentError("params: not a tds.QueryParams message");
    }
    const uint64_t n = query_.identifiers();
    if (n == 0) {
      return absl::InvalidArgumentError("params.identifiers: 0; a query asks for at least one");
    }
    if (n > g_.options_.query_max_batch) {
      return absl::InvalidArgumentError(absl::StrCat("params.identifiers: ", n,
                                                     " exceeds this node's limit of ",
                                                     g_.options_.query_max_batch, " per query"));
    }
    if (terms_.max_rows_per_call() != 0 && n > terms_.max_rows_per_call()) {
      return absl::ResourceExhaustedError(
          absl::StrCat("terms.max_rows_per_call: a query of ", n, " identifiers exceeds the ",
                       terms_.max_rows_per_call(), " per call of contract ", contract_.id()));
    }
    if (query_.columns().empty()) {
      return absl::InvalidArgumentError("params.columns: name at least one column to return");
    }
    // The request's columns are the ones CheckRequestAgainstTerms found permitted and the ones
    // the usage record names: the query returns exactly those.
    if (!std::equal(query_.columns().begin(), query_.columns().end(), request_.columns().begin(),
                    request_.columns().end())) {
      return absl::InvalidArgumentError(absl::StrCat("params.columns: [",
                                                     absl::StrJoin(query_.columns(), ","),
                                                     "] differ from the request's signed columns [",
                                                     absl::StrJoin(request_.columns(), ","), "]"));
    }
    std::set<std::string> seen;
    for (const std::string& c : query_.columns()) {
      if (!seen.insert(c).second) {
        return absl::InvalidArgumentError(
            absl::StrCat("params.columns: '", c, "' is listed twice"));
      }
      if (std::none_of(product.schema().begin(), product.schema().end(),
                       [&](const tds::Column& col) { return col.name() == c; })) {
        return absl::InvalidArgumentError(
            absl::StrCat("params.columns: product ", product.id(), " has no column '", c, "'"));
      }
    }
    const uint64_t k = contracts::QueryKOf(terms_);
    if (query_.min_k() > k) {
      return absl::FailedPreconditionError(
          absl::StrCat("params.min_k: the consumer requires buckets of at least ", query_.min_k(),
                       " rows; contract ", contract_.id(), " sets query_k ", k));
    }
    return absl::OkStatus();
  }

  // "enclave_sql" parameters (EnclaveSqlParams): the job against the contract
  // (enclave_sql.h CheckEnclaveJob), the request's columns, the measurement to accept.
  absl::Status CheckEnclaveParams(const tds::Product& product) {
    tds::EnclaveSqlParams params;
    if (!params.ParseFromString(start_.params())) {
      return absl::InvalidArgumentError("params: not a tds.EnclaveSqlParams message");
    }
    absl::StatusOr<compute::enclave::JobSpec> spec =
        compute::enclave::DecodeJobSpec(params.job_spec());
    if (!spec.ok()) return Prefixed(spec.status(), "params.job_spec: ");
    enclave_spec_ = *std::move(spec);
    TDS_RETURN_IF_ERROR(
        CheckEnclaveJob(enclave_spec_, params.input(), product, terms_, contract_.id()));
    for (const compute::enclave::InputSchema& in : enclave_spec_.inputs) {
      if (in.name == params.input()) enclave_input_ = in;
    }
    std::vector<std::string> names;
    for (const compute::enclave::Column& c : enclave_input_.columns) names.push_back(c.name);
    if (!std::equal(names.begin(), names.end(), request_.columns().begin(),
                    request_.columns().end())) {
      return absl::InvalidArgumentError(
          absl::StrCat("usage request: columns [", absl::StrJoin(request_.columns(), ","),
                       "] differ from the enclave input's [", absl::StrJoin(names, ","),
                       "] (the consumer signs the columns it uses)"));
    }
    TDS_ASSIGN_OR_RETURN(enclave_policy_,
                         ProviderVerifierPolicy(enclave_spec_, product, terms_, consumer_key_));
    return absl::OkStatus();
  }

  // "psi" and "stats" parameters (PsiParams) and the protocol. Reads no data.
  absl::Status CheckPsiParams(const tds::Product& product, const std::string& op) {
    if (!params_.ParseFromString(start_.params())) {
      return absl::InvalidArgumentError("params: not a tds.PsiParams message");
    }
    TDS_RETURN_IF_ERROR(CheckPsiRun());
    if (op == "stats") {
      TDS_RETURN_IF_ERROR(CheckStatSpecs(product, granted_output_));
    } else if (params_.stats_size() != 0) {
      return absl::InvalidArgumentError(
          "params.stats: statistics run under operation 'stats', not 'psi'");
    }
    return absl::OkStatus();
  }

  // The joint operations' parameters: PSI with output "both" to align rows, then the
  // operation's own. Reads no data (lr_score reads the stored model).
  absl::Status CheckJointParams(const tds::Product& product, const std::string& op) {
    joint_ = true;
    const std::string& raw = start_.params();
    bool parsed = false;
    if (op == "joint_stats") {
      parsed = joint_stats_.ParseFromString(raw);
      params_ = joint_stats_.psi();
    } else if (op == "lr_train") {
      parsed = lr_train_.ParseFromString(raw);
      params_ = lr_train_.psi();
    } else {
      parsed = lr_score_.ParseFromString(raw);
      params_ = lr_score_.psi();
    }
    if (!parsed)
      return absl::InvalidArgumentError(absl::StrCat("params: not the parameters of '", op, "'"));
    if (params_.stats_size() != 0) {
      return absl::InvalidArgumentError(
          "params.psi.stats: the joint operations take no PSI statistics");
    }
    TDS_RETURN_IF_ERROR(CheckPsiRun());
    if (granted_output_ != compute::kPsiBoth) {
      return absl::PermissionDeniedError(absl::StrCat(
          "terms.psi_output: '", op, "' aligns rows by PSI with output 'both'; contract ",
          contract_.id(), " grants '", granted_output_, "'"));
    }
    if (op == "joint_stats") {
      TDS_ASSIGN_OR_RETURN(
          compute::mpc::SecretStatsOptions options,
          compute::joint::SecretStatsOptionsFrom(joint_stats_, terms_.min_group_size()));
      for (size_t i = 0; i < options.requests.size(); ++i) {
        if (options.requests[i].kind == compute::mpc::StatKind::kCount) continue;
        TDS_RETURN_IF_ERROR(CheckNumericColumn(product, options.requests[i].column,
                                               absl::StrCat("params.stats[", i, "]")));
      }
    } else if (op == "lr_train") {
      TDS_RETURN_IF_ERROR(compute::joint::LrOptionsFrom(lr_train_).status());
      if (request_.columns().empty()) {
        return absl::InvalidArgumentError(
            "usage request: columns: lr_train trains on the columns the request lists; it lists "
            "none");
      }
      for (const std::string& c : request_.columns()) {
        TDS_RETURN_IF_ERROR(CheckNumericColumn(product, c, "usage request: columns"));
      }
      data_columns_.assign(request_.columns().begin(), request_.columns().end());
    } else {
      TDS_ASSIGN_OR_RETURN(model_, g_.models_->Load(contract_.id(), lr_score_.model_id()));
      data_columns_.assign(model_.columns().begin(), model_.columns().end());
      if (!std::equal(data_columns_.begin(), data_columns_.end(), request_.columns().begin(),
                      request_.columns().end())) {
        return absl::InvalidArgumentError(
            absl::StrCat("usage request: columns [", absl::StrJoin(request_.columns(), ","),
                         "] differ from [", absl::StrJoin(data_columns_, ","),
                         "], the columns model ", model_.model_id(), " was trained on"));
      }
      // Metered per customer asked: what lr_score is priced and capped by.
      gate_rows_out_ = params_.items();
      if (terms_.max_rows_per_call() != 0 && params_.items() > terms_.max_rows_per_call()) {
        return absl::ResourceExhaustedError(absl::StrCat(
            "terms.max_rows_per_call: scoring ", params_.items(), " customers exceeds the ",
            terms_.max_rows_per_call(), " per call of contract ", contract_.id()));
      }
    }
    return absl::OkStatus();
  }

  // PSI's output and protocol, as the consumer states them in params_.
  absl::Status CheckPsiRun() {
    const std::string asked = compute::PsiOutputNameOrDefault(params_.output());
    TDS_ASSIGN_OR_RETURN(output_, compute::PsiOutputFromName(asked));
    const std::string granted = compute::PsiOutputNameOrDefault(terms_.psi_output());
    if (asked != granted) {
      return absl::PermissionDeniedError(absl::StrCat("terms.psi_output: the request asks for '",
                                                      asked, "'; contract ", contract_.id(),
                                                      " grants '", granted, "'"));
    }
    if (params_.items() > g_.options_.max_rows) {
      return absl::InvalidArgumentError(absl::StrCat("params.items: ", params_.items(),
                                                     " exceeds this node's limit of ",
                                                     g_.options_.max_rows));
    }
    TDS_ASSIGN_OR_RETURN(const std::string stated, compute::StatedPsiProtocol(params_.protocol()));
    absl::StatusOr<std::string> chosen =
        compute::ChoosePsiProtocol(terms_.psi_protocol(), granted, params_.items());
    if (!chosen.ok()) {
      return absl::Status(
          chosen.status().code(),
          absl::StrCat(std::string(chosen.status().message()), " (contract ", contract_.id(), ")"));
    }
    if (stated != *chosen) {
      return absl::FailedPreconditionError(absl::StrCat(
          "params.protocol: the consumer runs '", stated, "' but contract ", contract_.id(),
          " (psi_protocol '", terms_.psi_protocol().empty() ? "auto" : terms_.psi_protocol(),
          "', output '", granted, "', ", params_.items(), " consumer items) runs '", *chosen, "'"));
    }
    protocol_ = *chosen;
    granted_output_ = granted;
    return absl::OkStatus();
  }

  // A numeric column of the product that the request lists (the consumer signs the columns it
  // uses). `where` prefixes the refusal.
  absl::Status CheckNumericColumn(const tds::Product& product, const std::string& column,
                                  const std::string& where) {
    if (std::find(request_.columns().begin(), request_.columns().end(), column) ==
        request_.columns().end()) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, ": column '", column,
          "' is not among the request's columns (the consumer signs the columns it uses)"));
    }
    auto it = std::find_if(product.schema().begin(), product.schema().end(),
                           [&](const tds::Column& c) { return c.name() == column; });
    if (it == product.schema().end()) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": product ", product.id(), " has no column '", column, "'"));
    }
    if (it->type() != "int64" && it->type() != "double") {
      return absl::InvalidArgumentError(absl::StrCat(where, ": column '", column, "' is ",
                                                     it->type(), "; this needs int64 or double"));
    }
    if (std::find(data_columns_.begin(), data_columns_.end(), column) == data_columns_.end()) {
      data_columns_.push_back(column);
    }
    return absl::OkStatus();
  }

  absl::Status CheckStatSpecs(const tds::Product& product, const std::string& granted) {
    if (granted != compute::kPsiBoth) {
      return absl::PermissionDeniedError(absl::StrCat(
          "terms.psi_output: statistics over the matched rows need psi_output 'both'; contract ",
          contract_.id(), " grants '", granted, "'"));
    }
    specs_.assign(params_.stats().begin(), params_.stats().end());
    TDS_RETURN_IF_ERROR(compute::stats::ValidateStatSpecs(specs_));
    for (size_t i = 0; i < specs_.size(); ++i) {
      TDS_RETURN_IF_ERROR(
          CheckNumericColumn(product, specs_[i].column(), absl::StrCat("stats[", i, "]")));
    }
    return absl::OkStatus();
  }

  absl::Status ClaimNonce() {
    nonce_key_ = absl::StrCat(contract_.id(), "/", request_.nonce());
    if (!g_.shared_->Claim(nonce_key_)) {
      return absl::AlreadyExistsError(absl::StrCat("usage request nonce already used in contract ",
                                                   contract_.id(), " (by a run in progress)"));
    }
    own_nonce_ = true;
    return absl::OkStatus();
  }

  // (e) The provider's rows: the id column and the columns the operation uses, in memory.
  absl::Status ReadData() {
    std::vector<std::string> columns = {served_.config.id_column()};
    for (const std::string& c : data_columns_) {
      if (std::find(columns.begin(), columns.end(), c) == columns.end()) columns.push_back(c);
    }
    std::vector<compute::stats::ColumnValues*> targets(columns.size(), nullptr);
    for (size_t c = 1; c < columns.size(); ++c) targets[c] = &values_[columns[c]];
    const uint64_t max_rows = g_.options_.max_rows;
    bool too_many = false;
    absl::Status scanned = served_.source->Scan(columns, g_.options_.scan_chunk_rows,
                                                [&](const std::vector<Row>& rows) {
                                                  for (const Row& row : rows) {
                                                    if (!row[0].has_value())
                                                      continue;  // a NULL id matches nothing
                                                    if (ids_.size() >= max_rows) {
                                                      too_many = true;
                                                      return false;
                                                    }
                                                    ids_.push_back(*row[0]);
                                                    for (size_t c = 1; c < columns.size(); ++c)
                                                      targets[c]->push_back(row[c]);
                                                  }
                                                  return true;
                                                });
    if (too_many) {
      return absl::ResourceExhaustedError(absl::StrCat("product ", served_.product.id(),
                                                       " has more than ", max_rows,
                                                       " rows, this node's limit per run"));
    }
    if (!scanned.ok()) return Prefixed(scanned, "reading the product's source: ");
    rows_in_ = ids_.size();
    return absl::OkStatus();
  }

  absl::StatusOr<compute::psi::PsiResult> RunProtocol() {
    if (protocol_ == compute::kPsiOt) {
      compute::psi::KkrtPsiOptions options;
      options.output = output_;
      options.threads = g_.options_.psi_threads;
      options.max_peer_items = params_.items();
      options.before_release = [this](const compute::psi::PsiReleaseInfo&) {
        // As for ECDH-PSI: the provider learns the intersection (in "both") only after the key.
        return RecordOnce(gate_rows_out_, /*min_group_rows=*/0);
      };
      return compute::psi::RunKkrtPsi(compute::psi::PsiRole::kSender, ids_, options, metered_);
    }
    compute::psi::EcdhPsiOptions options;
    options.output = output_;
    options.threads = g_.options_.psi_threads;
    options.max_peer_items = params_.items();
    options.before_release = [this](const compute::psi::PsiReleaseInfo&) {
      // At the gate the provider does not know the intersection yet (it learns it, in "both",
      // after the receiver has matched), nor any statistic.
      return RecordOnce(gate_rows_out_, /*min_group_rows=*/0);
    };
    return compute::psi::RunEcdhPsi(compute::psi::PsiRole::kSender, ids_, options, metered_);
  }

  absl::StatusOr<compute::stats::StatsOutput> ComputeStats(const compute::psi::PsiResult& psi) {
    compute::stats::Columns matched;
    for (auto& [name, values] : values_) {
      compute::stats::ColumnValues& out = matched[name];
      out.reserve(psi.matched.size());
      for (uint64_t position : psi.matched) out.push_back(values[position]);
    }
    return compute::stats::ComputeStats(specs_, matched, terms_.min_group_size());
  }

  // Strict metering: submits usage.reserve for this request (Record waits for its commit).
  absl::Status Reserve() {
    tds::ReserveBody body;
    body.set_request(start_.request());
    body.set_ttl_blocks(g_.options_.reservation_ttl_blocks);
    TDS_ASSIGN_OR_RETURN(reserve_, Submit(contracts::kReserveTxType, body.SerializeAsString(),
                                          /*release_nonce_when_done=*/false));
    return absl::OkStatus();
  }

  // (f)+(g) Measure and record, at most once per run.
  absl::Status RecordOnce(uint64_t rows_out, uint64_t min_group_rows) {
    std::lock_guard<std::mutex> lock(record_mu_);
    if (record_attempted_) return record_status_;
    record_attempted_ = true;
    record_status_ = Record(rows_out, min_group_rows);
    if (!record_status_.ok()) {
      spdlog::warn("compute run on contract {} released nothing: {}", contract_.id(),
                   std::string(record_status_.message()));
    }
    return record_status_;
  }

  absl::Status Record(uint64_t rows_out, uint64_t min_group_rows) {
    if (strict_ && reserve_ != nullptr) {
      const int64_t t0 = SteadyUs();
      absl::StatusOr<ledger::SubmitAck> reserved = Wait(*reserve_, "usage.reserve");
      report_.reserve_wait_us = SteadyUs() - t0;
      if (!reserved.ok()) return reserved.status();  // metering's refusal, as is
    }
    measurement_.set_rows_in(rows_in_);
    measurement_.set_rows_out(rows_out);
    measurement_.set_bytes_in(metered_.received());
    measurement_.set_bytes_out(metered_.sent());
    measurement_.set_started_ms(started_ms_);
    measurement_.set_ended_ms(std::max(started_ms_, Clock()));
    measurement_.set_compute_ms(static_cast<uint64_t>(SteadyUs() - started_steady_us_) / 1000);
    measurement_.set_result_digest(std::string(AsBytes(metered_.sent_digest())));
    measurement_.set_min_group_rows(min_group_rows);
    measurement_.set_input_digest(input_digest_);
    tds::UsageRecordBody body;
    body.set_request(start_.request());  // exact bytes as the consumer signed them
    *body.mutable_measurement() = measurement_;
    const int64_t t0 = SteadyUs();
    TDS_ASSIGN_OR_RETURN(record_, Submit(contracts::kRecordTxType, body.SerializeAsString(),
                                         /*release_nonce_when_done=*/!strict_));
    if (!strict_) return absl::OkStatus();  // commits within the contract's delay

    absl::StatusOr<ledger::SubmitAck> ack = Wait(*record_, "usage.record");
    report_.record_commit_us = SteadyUs() - t0;
    if (!ack.ok()) return Prefixed(ack.status(), "usage.record: ");
    absl::StatusOr<tds::Receipt> receipt = g_.ledger_->GetReceipt(record_->txid);
    if (!receipt.ok()) return Prefixed(receipt.status(), "usage.record receipt: ");
    receipt_ = *std::move(receipt);
    TDS_ASSIGN_OR_RETURN(std::optional<tds::UsageRecordState> recorded,
                         contracts::ReadUsageRecord(state(), ack->index));
    if (recorded.has_value())
      violations_.assign(recorded->violations().begin(), recorded->violations().end());
    return absl::OkStatus();
  }

  // Signs `body` as this node's member and submits it. With release_nonce_when_done, the run's
  // claim on the nonce passes to the transaction: released once it commits (its nonce is
  // then in state) or is refused.
  absl::StatusOr<std::shared_ptr<PendingTx>> Submit(std::string_view type, std::string body,
                                                    bool release_nonce_when_done) {
    tds::Transaction tx;
    tx.set_type(std::string(type));
    tx.set_submitter(member_id_);
    tx.set_body(std::move(body));
    tx.set_nonce(RandomTxNonce());
    std::string envelope = SealEnvelope(*g_.options_.key, kTxContext, tx.SerializeAsString());
    auto pending = std::make_shared<PendingTx>();
    TDS_ASSIGN_OR_RETURN(pending->txid, ledger::TxIdOfEntry(envelope));
    std::shared_ptr<Shared> shared;
    std::string nonce_key;
    if (release_nonce_when_done && own_nonce_) {
      shared = g_.shared_;
      nonce_key = nonce_key_;
      own_nonce_ = false;
    }
    const std::string what(type);
    const std::string contract_id = contract_.id();
    ledger::Ledger::Done done = [pending, shared, nonce_key, what,
                                 contract_id](absl::StatusOr<ledger::SubmitAck> ack) {
      if (shared != nullptr) {
        if (!ack.ok()) {
          spdlog::error("{} for contract {} was refused after its result was released: {}", what,
                        contract_id, std::string(ack.status().message()));
        }
        shared->Release(nonce_key);
      }
      pending->promise.set_value(std::move(ack));
    };
    if (g_.options_.submit) {
      g_.options_.submit(std::move(envelope), std::move(done));
    } else {
      g_.ledger_->Submit(std::move(envelope), std::move(done));
    }
    return pending;
  }

  absl::StatusOr<ledger::SubmitAck> Wait(const PendingTx& tx, const char* what) {
    if (tx.outcome.wait_for(std::chrono::milliseconds(g_.options_.commit_timeout_ms)) !=
        std::future_status::ready) {
      return absl::DeadlineExceededError(
          absl::StrCat(what, " did not commit within ", g_.options_.commit_timeout_ms, " ms"));
    }
    return tx.outcome.get();
  }

  Gateway& g_;
  const tds::ComputeStart& start_;
  const std::optional<std::string>& caller_;
  compute::Link* const link_;
  MeteredLink metered_{link_};
  const int64_t admitted_steady_us_ = SteadyUs();

  // The gate's findings.
  tds::UsageRequest request_;
  tds::Contract contract_;
  tds::Terms terms_;
  tds::PsiParams params_;
  tds::QueryParams query_;
  std::string protocol_;  // "psi"/"stats": kPsiEcdh or kPsiOt
  std::vector<tds::StatSpec> specs_;
  // The joint operations (joint_ set): their parameters, lr_score's stored model.
  bool joint_ = false;
  tds::JointStatsParams joint_stats_;
  tds::LrTrainParams lr_train_;
  tds::LrScoreParams lr_score_;
  tds::LrModelHalf model_;
  // "enclave_sql": the job, this contract's input in it, what the verifier accepts.
  compute::enclave::JobSpec enclave_spec_;
  compute::enclave::InputSchema enclave_input_;
  compute::enclave::VerifierPolicy enclave_policy_;
  PublicKey consumer_key_;  // the consumer's member key: its node's enclave platform key
  Hash request_digest_{};   // SHA-256 of the request's payload: lr_train's model id
  std::string granted_output_;
  // Provider columns the operation reads besides the id column.
  std::vector<std::string> data_columns_;
  // rows_out recorded at PSI's gate: lr_score's customers asked, else 0 (not known yet).
  uint64_t gate_rows_out_ = 0;
  ServedProduct served_;
  std::string member_id_;
  uint64_t height_ = 0;
  int64_t block_time_ms_ = 0;
  PsiOutput output_ = PsiOutput::kConsumerOnly;
  bool strict_ = false;
  std::string nonce_key_;
  bool own_nonce_ = false;  // this run must release nonce_key_ when it ends

  // The data.
  std::vector<std::string> ids_;
  std::map<std::string, compute::stats::ColumnValues, std::less<>> values_;
  uint64_t rows_in_ = 0;      // provider rows entering the protocol
  std::string input_digest_;  // "query": SHA-256 of the consumer's request message
  int64_t started_ms_ = 0;
  int64_t started_steady_us_ = 0;

  // Metering.
  std::shared_ptr<PendingTx> reserve_;
  std::mutex record_mu_;
  bool record_attempted_ = false;  // GUARDED_BY(record_mu_)
  absl::Status record_status_;     // GUARDED_BY(record_mu_)
  std::shared_ptr<PendingTx> record_;
  tds::Measurement measurement_;
  tds::Receipt receipt_;
  std::vector<tds::Violation> violations_;
  RunReport report_;
};

Gateway::Gateway(ledger::Ledger* ledger, ProductSources* sources, GatewayOptions options)
    : ledger_(ledger),
      sources_(sources),
      options_(std::move(options)),
      shared_(std::make_shared<Shared>()),
      query_tables_(std::make_unique<QueryTables>(QueryTablesOptions{
          options_.query_dir, options_.query_cache_tables, options_.psi_threads})),
      models_(std::make_unique<ModelStore>(options_.model_dir)) {}

Gateway::~Gateway() = default;

std::string Gateway::MemberId() const {
  if (options_.key == nullptr) return "";
  const std::string hex = options_.key->public_key().hex();
  std::string found;
  absl::Status s = ledger_->state().Scan(
      ledger::kMemberPrefix, "", 100000, [&](std::string_view, std::string_view value) {
        tds::Member m;
        if (m.ParseFromArray(value.data(), static_cast<int>(value.size())) &&
            m.public_key() == hex) {
          found = m.id();
          return false;
        }
        return true;
      });
  if (!s.ok()) spdlog::error("reading the membership: {}", std::string(s.message()));
  if (found.empty() && ledger_->Status().height == 0) {
    // Block 1 seeds the membership from the genesis; until then the genesis is the membership.
    if (const tds::Member* m = ledger_->genesis().FindByKey(options_.key->public_key())) {
      found = m->id();
    }
  }
  return found;
}

absl::StatusOr<tds::ComputeResult> Gateway::Run(const tds::ComputeStart& start,
                                                const std::optional<std::string>& caller,
                                                compute::Link& link) {
  if (running_.fetch_add(1) >= options_.max_concurrent_runs) {
    running_.fetch_sub(1);
    return absl::ResourceExhaustedError(absl::StrCat("the gateway is running ",
                                                     options_.max_concurrent_runs,
                                                     " computations, its limit; retry later"));
  }
  absl::StatusOr<tds::ComputeResult> result;
  {
    ScopedRequestId request_id("");  // the request's digest once it is authenticated
    Session session(this, start, caller, link);
    result = session.Run();
    if (!result.ok()) link.Close();  // the consumer's protocol stops too
    session.Report(result.status());
  }
  running_.fetch_sub(1);
  return result;
}

}  // namespace tds::node::gateway
