// DataSpaceClient against an in-process node (node/in_process_test.h) whose gateway serves a
// CSV product of the node's own member: a bank finds it, negotiates, runs PSI and statistics,
// and verifies the receipts offline; every refusal carries the node's message.

#include "sdk/data_space.h"

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "common/file.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "node/in_process_test.h"

namespace tds::sdk {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using namespace ::tds::node::testing;  // NOLINT: the shared fixture's members and constants

constexpr char kBureauYaml[] = R"(
id: bureau
title: Bureau income records
description: Declared incomes by tax id
tags: [income, credit]
level: 3
update_cadence: monthly
operations: [psi, stats]
schema:
  - {name: tax_id, type: string, level: 3}
  - {name: income, type: int64, level: 2}
offer:
  operations: [psi, stats]
  purposes: [credit_risk, anti_fraud]
  columns: [tax_id, income]
  psi_output: both
  max_calls_total: 100
  metering: METERING_STRICT
  price: {currency: CNY, per_call: 100}
)";

// One purpose: runs may leave it out.
constexpr char kBankTermsYaml[] = R"(
operations: [psi, stats]
purposes: [credit_risk]
columns: [tax_id, income]
psi_output: both
valid_until_ms: 4102444800000
max_calls_total: 20
metering: METERING_STRICT
price: {currency: CNY, per_call: 100}
)";

// A level-2 registry over the same rows, open to anonymous query.
constexpr char kRegistryYaml[] = R"(
id: registry
title: Income registry
description: Declared incomes by tax id, for anonymous lookup
level: 2
update_cadence: monthly
operations: [psi, query]
schema:
  - {name: tax_id, type: string, level: 2}
  - {name: income, type: int64, level: 2}
offer:
  operations: [psi, query]
  purposes: [credit_risk]
  columns: [tax_id, income]
  max_calls_total: 100
  query_k: 4
  metering: METERING_STRICT
  price: {currency: CNY, per_call: 10, per_row: 2}
)";

constexpr char kRegistryTermsYaml[] = R"(
operations: [psi, query]
purposes: [credit_risk]
columns: [tax_id, income]
psi_protocol: ot
query_k: 5
valid_until_ms: 4102444800000
max_calls_total: 20
metering: METERING_STRICT
price: {currency: CNY, per_call: 10, per_row: 2}
)";

class DataSpaceClientTest : public InProcessDataSpaceTest {
 protected:
  // The node serves "bureau" from a CSV: T000..T019, income 1000 * i.
  void AddSources(tds::NodeConfig* config) override {
    std::string csv = "tax_id,income\n";
    for (int i = 0; i < 20; ++i) {
      csv += "T0" + std::string(i < 10 ? "0" : "") + std::to_string(i) + "," +
             std::to_string(1000 * i) + "\n";
    }
    ASSERT_TRUE(WriteFileAtomic(dir_.Sub("bureau.csv"), csv).ok());
    tds::DataSourceConfig* source = config->add_sources();
    source->set_product("bureau");
    source->set_kind("csv");
    source->set_path(dir_.Sub("bureau.csv"));
    source->set_id_column("tax_id");
    tds::DataSourceConfig* registry = config->add_sources();
    *registry = *source;
    registry->set_product("registry");
  }

  std::unique_ptr<DataSpaceClient> Connect(const Who& who) {
    absl::StatusOr<std::unique_ptr<DataSpaceClient>> client =
        DataSpaceClient::Connect(options_, KeyFile(who));
    EXPECT_TRUE(client.ok()) << client.status();
    return client.ok() ? *std::move(client) : nullptr;
  }

  // The bank requests `terms` on `product` and the node (its provider) accepts.
  std::string Negotiate(DataSpaceClient& bank, const char* product = kBureauYaml,
                        const char* terms = kBankTermsYaml) {
    const tds::Product p = FromYaml<tds::Product>(product);
    MustSubmit(kNode, sdk::PublishProduct(p));
    absl::StatusOr<std::string> id = bank.RequestContract(p.id(), FromYaml<tds::Terms>(terms));
    EXPECT_TRUE(id.ok()) << id.status();
    std::unique_ptr<DataSpaceClient> provider = Connect(kNode);
    absl::StatusOr<tds::GetContractResponse> contract = provider->GetContract(*id);
    EXPECT_TRUE(contract.ok()) << contract.status();
    absl::Status accepted = provider->AcceptContract(contract->contract());
    EXPECT_TRUE(accepted.ok()) << accepted;
    return *id;
  }
};

TEST_F(DataSpaceClientTest, BankFindsNegotiatesRunsPsiAndVerifiesTheReceiptOffline) {
  std::unique_ptr<DataSpaceClient> bank = Connect(kBank);
  ASSERT_NE(bank, nullptr);
  EXPECT_EQ(bank->member_id(), "bank");  // discovered from the membership
  const std::string id = Negotiate(*bank);

  absl::StatusOr<std::vector<tds::ProductSummary>> found =
      bank->SearchProducts({.text = "income", .operation = "psi"});
  ASSERT_TRUE(found.ok()) << found.status();
  ASSERT_EQ(found->size(), 1u);
  EXPECT_EQ((*found)[0].provider(), "node");
  absl::StatusOr<tds::Product> product = bank->GetProduct("bureau");
  ASSERT_TRUE(product.ok()) << product.status();
  EXPECT_EQ(product->offer().psi_output(), "both");
  absl::StatusOr<std::vector<tds::Contract>> contracts = bank->ListContracts(tds::ACTIVE);
  ASSERT_TRUE(contracts.ok()) << contracts.status();
  ASSERT_EQ(contracts->size(), 1u);
  EXPECT_EQ((*contracts)[0].id(), id);

  std::atomic<int> progress_calls{0};
  absl::StatusOr<PsiRunResult> run =
      bank->RunPsi(id, "", {"T003", "X999", "T017", "T003", "T042"}, "",
                   [&](const compute::psi::PsiProgress&) { ++progress_calls; });
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_THAT(run->matched, ElementsAre(0, 2, 3));
  EXPECT_EQ(run->intersection_size, 3u);
  EXPECT_GT(progress_calls.load(), 0);
  ASSERT_TRUE(run->result.has_receipt());
  absl::StatusOr<ledger::VerifiedReceipt> verified =
      DataSpaceClient::VerifyReceiptLocally(run->result.receipt(), dir_.Sub("genesis.json"));
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_EQ(std::string(AsBytes(verified->txid)), run->result.usage_txid());
  EXPECT_EQ(verified->submitter, "node");

  // The usage ledger shows the run; its receipt is the one the run returned.
  tds::ListUsageRequest filters;
  filters.set_contract_id(id);
  absl::StatusOr<std::vector<tds::UsageItem>> usage = bank->ListUsage(filters);
  ASSERT_TRUE(usage.ok()) << usage.status();
  ASSERT_EQ(usage->size(), 1u);
  EXPECT_EQ((*usage)[0].record().purpose(), "credit_risk");
  EXPECT_EQ((*usage)[0].record().operation(), "psi");
  absl::StatusOr<Hash> txid = HashFromBytes(run->result.usage_txid(), "usage_txid");
  ASSERT_TRUE(txid.ok());
  absl::StatusOr<tds::Receipt> receipt = bank->GetReceipt(*txid);
  ASSERT_TRUE(receipt.ok()) << receipt.status();
  EXPECT_EQ(receipt->SerializeAsString(), run->result.receipt().SerializeAsString());
}

TEST_F(DataSpaceClientTest, StatisticsAggregateTheProvidersMatchedRows) {
  std::unique_ptr<DataSpaceClient> bank = Connect(kBank);
  ASSERT_NE(bank, nullptr);
  const std::string id = Negotiate(*bank);
  std::vector<std::string> ids;
  for (int i = 10; i < 20; ++i) ids.push_back("T0" + std::to_string(i));
  ids.push_back("nobody");
  tds::StatSpec sum;
  sum.set_column("income");
  sum.set_kind("sum");
  tds::StatSpec count;
  count.set_column("income");
  count.set_kind("count");
  absl::StatusOr<PsiRunResult> run = bank->RunStats(id, "credit_risk", ids, {sum, count});
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ(run->intersection_size, 10u);
  ASSERT_EQ(run->stats.size(), 2u);
  EXPECT_EQ(run->stats[0].value(), "145000");  // 1000 * (10 + ... + 19)
  EXPECT_EQ(run->stats[1].value(), "10");
  EXPECT_THAT(bank->RunStats(id, "", ids, {}).status().message(),
              HasSubstr("name at least one aggregate"));
}

TEST_F(DataSpaceClientTest, PsiRunsTheProtocolTheContractChooses) {
  std::unique_ptr<DataSpaceClient> bank = Connect(kBank);
  ASSERT_NE(bank, nullptr);
  const std::string id = Negotiate(*bank, kRegistryYaml, kRegistryTermsYaml);  // psi_protocol ot
  absl::StatusOr<PsiRunResult> run = bank->RunPsi(id, "", {"T003", "X999", "T017", "T003"});
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ(run->protocol, "ot");
  EXPECT_THAT(run->matched, ElementsAre(0, 2, 3));
  ASSERT_TRUE(run->result.has_receipt());
  // Insisting on the other protocol: the node refuses, naming both.
  absl::Status ecdh = bank->RunPsi(id, "", {"T003"}, "", {}, "ecdh").status();
  EXPECT_EQ(ecdh.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(ecdh.message()),
              HasSubstr("the consumer runs 'ecdh' but contract " + id));
  EXPECT_THAT(std::string(ecdh.message()), HasSubstr("runs 'ot'"));
}

TEST_F(DataSpaceClientTest, AnonymousQueryReturnsTheRowsFoundAndIsMeteredPerIdentifier) {
  std::unique_ptr<DataSpaceClient> bank = Connect(kBank);
  ASSERT_NE(bank, nullptr);
  const std::string id = Negotiate(*bank, kRegistryYaml, kRegistryTermsYaml);
  absl::StatusOr<QueryRunResult> run = bank->RunQuery(id, "", {"T012", "nobody", "T000"});
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_THAT(run->columns, ElementsAre("tax_id", "income"));  // the contract's, by default
  ASSERT_EQ(run->answers.size(), 3u);
  EXPECT_TRUE(run->answers[0].found);
  EXPECT_THAT(run->answers[0].columns, ElementsAre("T012", "12000"));
  EXPECT_FALSE(run->answers[1].found);
  EXPECT_THAT(run->answers[2].columns, ElementsAre("T000", "0"));
  EXPECT_EQ(run->result.measurement().rows_out(), 3u);
  absl::StatusOr<ledger::VerifiedReceipt> verified =
      DataSpaceClient::VerifyReceiptLocally(run->result.receipt(), dir_.Sub("genesis.json"));
  ASSERT_TRUE(verified.ok()) << verified.status();

  // One column; the contract's k (5) is the consumer's floor unless it asks for more.
  absl::StatusOr<QueryRunResult> income = bank->RunQuery(id, "", {"T019"}, {"income"});
  ASSERT_TRUE(income.ok()) << income.status();
  EXPECT_THAT(income->answers[0].columns, ElementsAre("19000"));
  absl::Status more_k = bank->RunQuery(id, "", {"T019"}, {"income"}, 6).status();
  EXPECT_EQ(more_k.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(more_k.message()), HasSubstr("params.min_k"));

  // Billing applies per_row per identifier asked: the records' rows_out are 3 and 1.
  tds::ListUsageRequest filters;
  filters.set_contract_id(id);
  absl::StatusOr<std::vector<tds::UsageItem>> usage = bank->ListUsage(filters);
  ASSERT_TRUE(usage.ok()) << usage.status();
  ASSERT_EQ(usage->size(), 2u);
  EXPECT_EQ((*usage)[0].record().operation(), "query");
  EXPECT_EQ(
      (*usage)[0].record().measurement().rows_out() + (*usage)[1].record().measurement().rows_out(),
      4u);
}

TEST_F(DataSpaceClientTest, RefusalsCarryTheNodesMessage) {
  std::unique_ptr<DataSpaceClient> bank = Connect(kBank);
  ASSERT_NE(bank, nullptr);
  const std::string id = Negotiate(*bank);

  // A purpose the contract does not permit: refused by the gateway, nothing runs.
  absl::StatusOr<PsiRunResult> marketing = bank->RunPsi(id, "marketing", {"T001"});
  ASSERT_FALSE(marketing.ok());
  EXPECT_THAT(std::string(marketing.status().message()), HasSubstr("marketing"));
  // An output other than the contract's.
  absl::StatusOr<PsiRunResult> size_only = bank->RunPsi(id, "", {"T001"}, "size_only");
  ASSERT_FALSE(size_only.ok());
  EXPECT_THAT(std::string(size_only.status().message()), HasSubstr("psi_output"));
  // Negotiation steps the state machine refuses, in the ledger's words.
  absl::Status counter = bank->CounterContract(id, FromYaml<tds::Terms>(kBankTermsYaml));
  EXPECT_THAT(std::string(counter.message()), HasSubstr("not allowed in state ACTIVE"));
  // Contracts of others are not the stranger's to read or to run.
  std::unique_ptr<DataSpaceClient> stranger = Connect(kStranger);
  ASSERT_NE(stranger, nullptr);
  absl::Status read = stranger->GetContract(id).status();
  EXPECT_EQ(read.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(std::string(read.message()), HasSubstr("member 'stranger' is not a party"));

  // A contract with two purposes: a run must name one.
  tds::Terms two = FromYaml<tds::Terms>(kBankTermsYaml);
  two.add_purposes("anti_fraud");
  absl::StatusOr<std::string> second = bank->RequestContract("bureau", two);
  ASSERT_TRUE(second.ok()) << second.status();
  absl::Status unnamed = bank->RunPsi(*second, "", {"T001"}).status();
  EXPECT_EQ(unnamed.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(unnamed.message()),
              HasSubstr("permits credit_risk, anti_fraud; name the purpose of this run"));

  // Connecting with a key that is no member's, and verifying without a genesis file.
  ASSERT_TRUE(KeyFromByte(42)->WriteToFile(dir_.Sub("outsider.key")).ok());
  absl::StatusOr<std::unique_ptr<DataSpaceClient>> outsider =
      DataSpaceClient::Connect(options_, dir_.Sub("outsider.key"));
  ASSERT_FALSE(outsider.ok());
  EXPECT_EQ(outsider.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(outsider.status().message()),
              HasSubstr("is not the key of a current member"));
  absl::Status no_genesis =
      DataSpaceClient::VerifyReceiptLocally(tds::Receipt(), dir_.Sub("missing.json")).status();
  EXPECT_THAT(std::string(no_genesis.message()), HasSubstr("missing.json"));
}

}  // namespace
}  // namespace tds::sdk
