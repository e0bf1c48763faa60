#pragma once
// DataSpaceClient: what a bank programs against. One object per member and node: it signs
// every transaction and query as the member, and wraps the node's services in the calls a
// consumer makes — find a product, negotiate a contract, run PSI or joint statistics through
// the provider's metered gateway, fetch usage records and receipts, verify a receipt offline.
//
//   auto client = DataSpaceClient::Connect(options, "bank.key");
//   auto products = (*client)->SearchProducts({.text = "invoice"});
//   auto run = (*client)->RunPsi(contract_id, "credit_risk", ids);
//   auto verified = DataSpaceClient::VerifyReceiptLocally(run->result.receipt(), "genesis.json");
//
// Errors are absl::Status with the node's code and message (e.g. PERMISSION_DENIED "member 'x'
// is not a party to contract 'c-...'"); transaction refusals are prefixed "Submit: ".
// Thread-safe after Connect. The lower-level clients (sdk/client.h, sdk/query_client.h,
// sdk/compute_client.h) remain available for anything not wrapped here.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/bytes.h"
#include "common/keys.h"
#include "ledger/receipt.h"
#include "proto/compute_service.pb.h"
#include "proto/contracts.pb.h"
#include "proto/ledger.pb.h"
#include "proto/query_service.pb.h"
#include "sdk/channel.h"
#include "sdk/client.h"
#include "sdk/compute_client.h"
#include "sdk/enclave_client.h"
#include "sdk/joint_client.h"
#include "sdk/query_client.h"
#include "sdk/tx_builders.h"

namespace tds::sdk {

// Filters of a catalog search; every set field must match.
struct ProductQuery {
  std::string text;  // every word, case-insensitive, prefix of a word of title/description/tags
  std::string provider;
  uint32_t max_level = 0;  // 0 = any
  std::string operation;   // e.g. "psi"
  std::string tag;
  bool include_retired = false;
};

class DataSpaceClient {
 public:
  // Connects to options.address and loads the member key in `key_file` (tds keygen). The
  // member id is `member_id`, or, when empty, the current member whose key it is (NotFound
  // naming the key otherwise). Errors name the option or file that failed.
  static absl::StatusOr<std::unique_ptr<DataSpaceClient>> Connect(const ClientOptions& options,
                                                                  const std::string& key_file,
                                                                  std::string member_id = "");
  ~DataSpaceClient();

  const std::string& member_id() const { return member_id_; }

  // --- catalog ---
  // Every product matching `query` that this member may see (all pages).
  absl::StatusOr<std::vector<tds::ProductSummary>> SearchProducts(const ProductQuery& query);
  // The latest version of a product (NotFound for a missing or hidden one).
  absl::StatusOr<tds::Product> GetProduct(const std::string& product_id);

  // --- contracts (each call is one committed transaction) ---
  // Requests `terms` (capped by the product's offer) as the consumer; returns the contract id.
  absl::StatusOr<std::string> RequestContract(const std::string& product_id,
                                              const tds::Terms& terms);
  absl::Status CounterContract(const std::string& contract_id, const tds::Terms& terms);
  // Accepts exactly the terms of `contract` as the caller read it (its terms_digest): if the
  // other party countered since, the ledger refuses, naming the digest.
  absl::Status AcceptContract(const tds::Contract& contract);
  absl::Status RejectContract(const std::string& contract_id, const std::string& reason);
  absl::Status TerminateContract(const std::string& contract_id, const std::string& reason);
  // A contract with its usage counters (the caller must be a party, an auditor or validator).
  absl::StatusOr<tds::GetContractResponse> GetContract(const std::string& contract_id);
  // This member's contracts (all pages), optionally only in `state` / for `product_id`.
  absl::StatusOr<std::vector<tds::Contract>> ListContracts(
      tds::ContractState state = tds::CONTRACT_STATE_UNSPECIFIED,
      const std::string& product_id = "");

  // --- computation through the provider's metered gateway (sdk/compute_client.h) ---
  // Runs on the node this client is connected to, which must serve the contract's product
  // (connect to the provider's node): any node answers queries, only the provider's computes.
  //
  // PSI on `ids` under `contract_id`. `purpose` "" = the contract's only purpose (refused,
  // naming them, when it permits several); `output` "" = the contract's terms.psi_output
  // (consumer_only, both or size_only; the node refuses any other). `protocol` "" or "auto" =
  // the one the node will choose (compute::ChoosePsiProtocol over the contract's
  // psi_protocol, the output and ids.size()); "ecdh" or "ot" insist on one (the node refuses,
  // naming both, when its choice differs). result.protocol says which ran. `progress` may be
  // empty; it is called from the protocol's thread.
  absl::StatusOr<PsiRunResult> RunPsi(const std::string& contract_id, const std::string& purpose,
                                      const std::vector<std::string>& ids,
                                      const std::string& output = "",
                                      const PsiProgressFn& progress = {},
                                      const std::string& protocol = "");
  // Joint statistics (operation "stats"): aligns `ids` with the provider's rows by PSI, and the
  // provider computes `stats` over its matched rows (result.stats; the contract's psi_output
  // must be "both"). `purpose` as for RunPsi; the protocol is the node's choice.
  absl::StatusOr<PsiRunResult> RunStats(const std::string& contract_id, const std::string& purpose,
                                        const std::vector<std::string>& ids,
                                        const std::vector<tds::StatSpec>& stats,
                                        const PsiProgressFn& progress = {});
  // Anonymous query (operation "query"): looks `ids` up in the provider's table and returns,
  // per id in order, found or not and `columns` of the row found. `columns` empty = every
  // column the contract permits, in its order; `min_k` 0 = the contract's k
  // (contracts::QueryKOf): the run fails if the provider hides an id among fewer rows.
  // `purpose` as for RunPsi.
  absl::StatusOr<QueryRunResult> RunQuery(const std::string& contract_id,
                                          const std::string& purpose,
                                          const std::vector<std::string>& ids,
                                          const std::vector<std::string>& columns = {},
                                          uint64_t min_k = 0);
  // The joint operations (sdk/joint_client.h): PSI alignment with the protocol the node will
  // choose, then the second protocol; `purpose` as for RunPsi. RunJointStats runs with the
  // contract's min_group_size.
  absl::StatusOr<JointStatsRunResult> RunJointStats(const std::string& contract_id,
                                                    const std::string& purpose,
                                                    const std::vector<std::string>& ids,
                                                    const std::vector<uint8_t>& labels,
                                                    const std::vector<uint8_t>& selection,
                                                    tds::JointStatsParams params);
  absl::StatusOr<LrTrainRunResult> TrainLr(const std::string& contract_id,
                                           const std::string& purpose,
                                           const std::vector<std::string>& provider_columns,
                                           const std::vector<std::string>& ids,
                                           const std::vector<std::string>& feature_names,
                                           const compute::fl::Matrix& x, const std::vector<int>& y,
                                           tds::LrTrainParams params, int key_bits = 2048);
  // Under the contract the model was trained under.
  absl::StatusOr<LrScoreRunResult> ScoreLr(const std::string& purpose,
                                           const tds::LrModelHalf& model,
                                           const std::vector<std::string>& ids,
                                           const compute::fl::Matrix& x);
  // An enclave SQL job hosted by THIS client's node, which must be the member's own node
  // (sdk/enclave_client.h): `job` joins the member's rows (`rows`) with providers' inputs under
  // the member's contracts; the result is checked (report, signature, job) before it returns.
  // `job.purpose` empty = the first provider contract's only purpose.
  absl::StatusOr<EnclaveSqlRun> RunEnclaveSql(EnclaveSqlJob job, const EnclaveRowsFn& rows);
  // The terms a contract currently carries (agreed once ACTIVE), parsed.
  absl::StatusOr<tds::Terms> ContractTerms(const std::string& contract_id);

  // --- audit ---
  // Usage records matching `filters` that this member may read (all pages; `auth` and `page`
  // are filled here).
  absl::StatusOr<std::vector<tds::UsageItem>> ListUsage(tds::ListUsageRequest filters);
  // The receipt of a committed transaction.
  absl::StatusOr<tds::Receipt> GetReceipt(const Hash& txid);
  // Verifies `receipt` offline against the genesis file at `genesis_path` (ledger/receipt.h
  // VerifyReceipt): envelope signature, membership, quorum-signed checkpoint, inclusion proof.
  // The error names the failed check ("checkpoint: ...") or the unreadable genesis file.
  static absl::StatusOr<ledger::VerifiedReceipt> VerifyReceiptLocally(
      const tds::Receipt& receipt, const std::string& genesis_path);

  // The clients underneath, for calls not wrapped here.
  LedgerClient& ledger() { return *ledger_; }
  QueryClient& query() { return *query_; }

 private:
  DataSpaceClient() = default;
  absl::StatusOr<tds::SubmitResponse> Submit(const TxBody& tx);
  // The PsiParams of a run of `items` ids under `contract_id` (output: `output` or the
  // contract's; protocol: `protocol`, or the node's choice for "" / "auto"), and the purpose
  // (`purpose` or the contract's only one).
  absl::StatusOr<tds::PsiParams> RunParams(const std::string& contract_id, std::string* purpose,
                                           const std::string& output, const std::string& protocol,
                                           uint64_t items);
  // A joint run of `items` ids: the call (channel, key, member, purpose chosen) and the PSI
  // parameters (output both, the node's protocol).
  absl::StatusOr<JointCall> JointCallFor(const std::string& contract_id, const std::string& purpose,
                                         uint64_t items, tds::PsiParams* psi);
  // `purpose` or the contract's only one.
  absl::Status ChoosePurpose(const std::string& contract_id, const tds::Terms& terms,
                             std::string* purpose);

  ClientOptions options_;
  // Declared before the query client, which signs with it.
  std::unique_ptr<SigningKey> key_;
  std::string member_id_;
  std::unique_ptr<LedgerClient> ledger_;
  std::unique_ptr<QueryClient> query_;
};

}  // namespace tds::sdk
