#include "sdk/data_space.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"
#include "compute/psi_params.h"
#include "contracts/terms.h"
#include "ledger/genesis.h"
#include "sdk/tx_builders.h"

namespace tds::sdk {
namespace {

// Largest page the node serves (node/request_checks.h kMaxPageLimit).
constexpr uint32_t kPageLimit = 1000;

}  // namespace

absl::StatusOr<std::unique_ptr<DataSpaceClient>> DataSpaceClient::Connect(
    const ClientOptions& options, const std::string& key_file, std::string member_id) {
  std::unique_ptr<DataSpaceClient> client(new DataSpaceClient);
  client->options_ = options;
  if (key_file.empty()) {
    return absl::InvalidArgumentError("key file: a member key file is required (tds keygen)");
  }
  TDS_ASSIGN_OR_RETURN(client->key_, SigningKey::LoadFromFile(key_file));
  TDS_ASSIGN_OR_RETURN(client->ledger_, LedgerClient::Connect(options));
  TDS_ASSIGN_OR_RETURN(client->query_, QueryClient::Connect(options));
  if (member_id.empty()) {
    absl::StatusOr<std::string> found = client->query_->MemberIdFor(client->key_->public_key());
    if (!found.ok()) {
      return absl::Status(
          found.status().code(),
          absl::StrCat("key file ", key_file, ": ", std::string(found.status().message())));
    }
    member_id = *std::move(found);
  }
  client->member_id_ = std::move(member_id);
  client->query_->SetIdentity(client->key_.get(), client->member_id_);
  return client;
}

DataSpaceClient::~DataSpaceClient() = default;

absl::StatusOr<tds::SubmitResponse> DataSpaceClient::Submit(const TxBody& tx) {
  return ledger_->Submit(BuildTransaction(*key_, member_id_, tx.type, tx.body));
}

absl::StatusOr<std::vector<tds::ProductSummary>> DataSpaceClient::SearchProducts(
    const ProductQuery& query) {
  tds::SearchProductsRequest request;
  request.set_text(query.text);
  request.set_provider(query.provider);
  request.set_max_level(query.max_level);
  request.set_operation(query.operation);
  request.set_tag(query.tag);
  request.set_include_retired(query.include_retired);
  request.mutable_page()->set_limit(kPageLimit);
  std::vector<tds::ProductSummary> products;
  while (true) {
    TDS_ASSIGN_OR_RETURN(tds::SearchProductsResponse page, query_->SearchProducts(request));
    for (tds::ProductSummary& p : *page.mutable_products()) products.push_back(std::move(p));
    if (page.next_cursor().empty()) return products;
    request.mutable_page()->set_cursor(page.next_cursor());
  }
}

absl::StatusOr<tds::Product> DataSpaceClient::GetProduct(const std::string& product_id) {
  tds::GetProductRequest request;
  request.set_product_id(product_id);
  TDS_ASSIGN_OR_RETURN(tds::GetProductResponse response, query_->GetProduct(request));
  return std::move(*response.mutable_product());
}

absl::StatusOr<std::string> DataSpaceClient::RequestContract(const std::string& product_id,
                                                             const tds::Terms& terms) {
  TDS_ASSIGN_OR_RETURN(tds::SubmitResponse ack, Submit(sdk::RequestContract(product_id, terms)));
  return ack.result();  // the new contract's id
}

absl::Status DataSpaceClient::CounterContract(const std::string& contract_id,
                                              const tds::Terms& terms) {
  return Submit(sdk::CounterContract(contract_id, terms)).status();
}

absl::Status DataSpaceClient::AcceptContract(const tds::Contract& contract) {
  return Submit(sdk::AcceptContract(contract.id(), contract.terms_digest())).status();
}

absl::Status DataSpaceClient::RejectContract(const std::string& contract_id,
                                             const std::string& reason) {
  return Submit(sdk::RejectContract(contract_id, reason)).status();
}

absl::Status DataSpaceClient::TerminateContract(const std::string& contract_id,
                                                const std::string& reason) {
  return Submit(sdk::TerminateContract(contract_id, reason)).status();
}

absl::StatusOr<tds::GetContractResponse> DataSpaceClient::GetContract(
    const std::string& contract_id) {
  tds::GetContractRequest request;
  request.set_contract_id(contract_id);
  return query_->GetContract(request);
}

absl::StatusOr<std::vector<tds::Contract>> DataSpaceClient::ListContracts(
    tds::ContractState state, const std::string& product_id) {
  tds::ListContractsRequest request;
  request.set_state(state);
  request.set_product_id(product_id);
  request.mutable_page()->set_limit(kPageLimit);
  std::vector<tds::Contract> contracts;
  while (true) {
    TDS_ASSIGN_OR_RETURN(tds::ListContractsResponse page, query_->ListContracts(request));
    for (tds::Contract& c : *page.mutable_contracts()) contracts.push_back(std::move(c));
    if (page.next_cursor().empty()) return contracts;
    request.mutable_page()->set_cursor(page.next_cursor());
  }
}

absl::StatusOr<tds::Terms> DataSpaceClient::ContractTerms(const std::string& contract_id) {
  TDS_ASSIGN_OR_RETURN(tds::GetContractResponse response, GetContract(contract_id));
  tds::Terms terms;
  if (!terms.ParseFromString(response.contract().terms())) {
    return absl::DataLossError(
        absl::StrCat("contract ", contract_id, ": its terms do not parse as tds.Terms"));
  }
  return terms;
}

absl::Status DataSpaceClient::ChoosePurpose(const std::string& contract_id, const tds::Terms& terms,
                                            std::string* purpose) {
  if (!purpose->empty()) return absl::OkStatus();
  if (terms.purposes_size() != 1) {
    return absl::InvalidArgumentError(absl::StrCat("purpose: contract ", contract_id, " permits ",
                                                   absl::StrJoin(terms.purposes(), ", "),
                                                   "; name the purpose of this run"));
  }
  *purpose = terms.purposes(0);
  return absl::OkStatus();
}

absl::StatusOr<tds::PsiParams> DataSpaceClient::RunParams(const std::string& contract_id,
                                                          std::string* purpose,
                                                          const std::string& output,
                                                          const std::string& protocol,
                                                          uint64_t items) {
  tds::PsiParams params;
  params.set_output(output);
  const bool choose = protocol.empty() || protocol == compute::kPsiAuto;
  if (!choose) {
    TDS_ASSIGN_OR_RETURN(std::string stated, compute::StatedPsiProtocol(protocol));
    params.set_protocol(stated);
  }
  if (!purpose->empty() && !output.empty() && !choose) return params;
  TDS_ASSIGN_OR_RETURN(tds::Terms terms, ContractTerms(contract_id));
  if (output.empty()) params.set_output(compute::PsiOutputNameOrDefault(terms.psi_output()));
  if (choose) {
    // The node makes the same choice from the same inputs (node/gateway, CheckPsiParams).
    absl::StatusOr<std::string> chosen =
        compute::ChoosePsiProtocol(terms.psi_protocol(), params.output(), items);
    if (!chosen.ok()) {
      return absl::Status(
          chosen.status().code(),
          absl::StrCat("contract ", contract_id, ": ", std::string(chosen.status().message())));
    }
    params.set_protocol(*chosen);
  }
  TDS_RETURN_IF_ERROR(ChoosePurpose(contract_id, terms, purpose));
  return params;
}

absl::StatusOr<PsiRunResult> DataSpaceClient::RunPsi(
    const std::string& contract_id, const std::string& purpose, const std::vector<std::string>& ids,
    const std::string& output, const PsiProgressFn& progress, const std::string& protocol) {
  std::string chosen = purpose;
  TDS_ASSIGN_OR_RETURN(tds::PsiParams params,
                       RunParams(contract_id, &chosen, output, protocol, ids.size()));
  return sdk::RunPsi(options_, *key_, member_id_, contract_id, chosen, ids, std::move(params),
                     progress);
}

absl::StatusOr<EnclaveSqlRun> DataSpaceClient::RunEnclaveSql(EnclaveSqlJob job,
                                                             const EnclaveRowsFn& rows) {
  if (job.providers.empty()) {
    return absl::InvalidArgumentError("enclave-sql: name at least one provider input");
  }
  if (job.purpose.empty()) {
    TDS_ASSIGN_OR_RETURN(tds::Terms terms, ContractTerms(job.providers[0].contract_id()));
    TDS_RETURN_IF_ERROR(ChoosePurpose(job.providers[0].contract_id(), terms, &job.purpose));
  }
  TDS_ASSIGN_OR_RETURN(std::shared_ptr<grpc::Channel> channel, OpenChannel(options_));
  return sdk::RunEnclaveSql(channel, options_.timeout_ms, *key_, member_id_, job, rows);
}

absl::StatusOr<PsiRunResult> DataSpaceClient::RunStats(const std::string& contract_id,
                                                       const std::string& purpose,
                                                       const std::vector<std::string>& ids,
                                                       const std::vector<tds::StatSpec>& stats,
                                                       const PsiProgressFn& progress) {
  if (stats.empty()) {
    return absl::InvalidArgumentError("stats: name at least one aggregate (column and kind)");
  }
  std::string chosen = purpose;
  TDS_ASSIGN_OR_RETURN(tds::PsiParams params, RunParams(contract_id, &chosen, "", "", ids.size()));
  for (const tds::StatSpec& spec : stats) *params.add_stats() = spec;
  return sdk::RunPsi(options_, *key_, member_id_, contract_id, chosen, ids, std::move(params),
                     progress);
}

absl::StatusOr<JointCall> DataSpaceClient::JointCallFor(const std::string& contract_id,
                                                        const std::string& purpose, uint64_t items,
                                                        tds::PsiParams* psi) {
  JointCall call;
  call.purpose = purpose;
  TDS_ASSIGN_OR_RETURN(
      *psi, RunParams(contract_id, &call.purpose, std::string(compute::kPsiBoth), "", items));
  TDS_ASSIGN_OR_RETURN(call.channel, OpenChannel(options_));
  call.timeout_ms = options_.timeout_ms;
  call.key = key_.get();
  call.consumer_id = member_id_;
  call.contract_id = contract_id;
  return call;
}

absl::StatusOr<JointStatsRunResult> DataSpaceClient::RunJointStats(
    const std::string& contract_id, const std::string& purpose, const std::vector<std::string>& ids,
    const std::vector<uint8_t>& labels, const std::vector<uint8_t>& selection,
    tds::JointStatsParams params) {
  TDS_ASSIGN_OR_RETURN(JointCall call,
                       JointCallFor(contract_id, purpose, ids.size(), params.mutable_psi()));
  TDS_ASSIGN_OR_RETURN(tds::Terms terms, ContractTerms(contract_id));
  return sdk::RunJointStats(call, ids, labels, selection, std::move(params),
                            terms.min_group_size());
}

absl::StatusOr<LrTrainRunResult> DataSpaceClient::TrainLr(
    const std::string& contract_id, const std::string& purpose,
    const std::vector<std::string>& provider_columns, const std::vector<std::string>& ids,
    const std::vector<std::string>& feature_names, const compute::fl::Matrix& x,
    const std::vector<int>& y, tds::LrTrainParams params, int key_bits) {
  TDS_ASSIGN_OR_RETURN(JointCall call,
                       JointCallFor(contract_id, purpose, ids.size(), params.mutable_psi()));
  return sdk::TrainLr(call, provider_columns, ids, feature_names, x, y, std::move(params),
                      key_bits);
}

absl::StatusOr<LrScoreRunResult> DataSpaceClient::ScoreLr(const std::string& purpose,
                                                          const tds::LrModelHalf& model,
                                                          const std::vector<std::string>& ids,
                                                          const compute::fl::Matrix& x) {
  tds::PsiParams psi;
  TDS_ASSIGN_OR_RETURN(JointCall call,
                       JointCallFor(model.contract_id(), purpose, ids.size(), &psi));
  return sdk::ScoreLr(call, model, ids, x, std::move(psi));
}

absl::StatusOr<QueryRunResult> DataSpaceClient::RunQuery(const std::string& contract_id,
                                                         const std::string& purpose,
                                                         const std::vector<std::string>& ids,
                                                         const std::vector<std::string>& columns,
                                                         uint64_t min_k) {
  if (ids.empty()) return absl::InvalidArgumentError("query: no identifiers to look up");
  TDS_ASSIGN_OR_RETURN(tds::Terms terms, ContractTerms(contract_id));
  std::string chosen = purpose;
  TDS_RETURN_IF_ERROR(ChoosePurpose(contract_id, terms, &chosen));
  tds::QueryParams params;
  if (columns.empty()) {
    *params.mutable_columns() = terms.columns();
  } else {
    for (const std::string& c : columns) params.add_columns(c);
  }
  params.set_min_k(min_k != 0 ? min_k : contracts::QueryKOf(terms));
  return sdk::RunQuery(options_, *key_, member_id_, contract_id, chosen, ids, std::move(params));
}

absl::StatusOr<std::vector<tds::UsageItem>> DataSpaceClient::ListUsage(
    tds::ListUsageRequest filters) {
  // Receipts make items large: smaller pages keep each answer well under the message limit.
  filters.mutable_page()->set_limit(filters.with_receipts() ? kPageLimit / 5 : kPageLimit);
  filters.mutable_page()->clear_cursor();
  std::vector<tds::UsageItem> items;
  while (true) {
    TDS_ASSIGN_OR_RETURN(tds::ListUsageResponse page, query_->ListUsage(filters));
    for (tds::UsageItem& item : *page.mutable_items()) items.push_back(std::move(item));
    if (page.next_cursor().empty()) return items;
    filters.mutable_page()->set_cursor(page.next_cursor());
  }
}

absl::StatusOr<tds::Receipt> DataSpaceClient::GetReceipt(const Hash& txid) {
  return ledger_->GetReceipt(txid);
}

absl::StatusOr<ledger::VerifiedReceipt> DataSpaceClient::VerifyReceiptLocally(
    const tds::Receipt& receipt, const std::string& genesis_path) {
  TDS_ASSIGN_OR_RETURN(ledger::GenesisInfo genesis, ledger::GenesisInfo::Load(genesis_path));
  return ledger::VerifyReceipt(receipt, genesis);
}

}  // namespace tds::sdk
