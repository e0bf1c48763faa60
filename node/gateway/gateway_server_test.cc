// The gateway as tdsd wires it: a real Server with a configured CSV source, a product published
// and a contract negotiated through real signed transactions, and the SDK's RunPsi.

#include <fstream>

#include "absl/strings/str_cat.h"
#include "ledger/receipt.h"
#include "node/in_process_test.h"
#include "proto/query_service.pb.h"
#include "sdk/compute_client.h"

namespace tds::node::gateway {
namespace {

using testing::FromYaml;
using ::testing::HasSubstr;

constexpr char kFeaturesYaml[] = R"(
id: features
title: Income features
description: Declared income by taxpayer
tags: [income]
level: 2
update_cadence: monthly
operations: [psi, stats]
schema:
  - {name: id_hash, type: string, level: 2}
  - {name: income, type: double, level: 2}
offer:
  operations: [psi, stats]
  purposes: [credit_risk]
  columns: [id_hash, income]
  max_calls_total: 100
  min_group_size: 5
  metering: METERING_STRICT
  price: {currency: CNY, per_call: 100}
)";

constexpr char kStatsTermsYaml[] = R"(
operations: [psi, stats]
purposes: [credit_risk]
columns: [id_hash, income]
valid_until_ms: 4102444800000
max_calls_total: 10
min_group_size: 5
metering: METERING_STRICT
psi_output: both
price: {currency: CNY, per_call: 100}
)";

class GatewayServerTest : public testing::InProcessDataSpaceTest {
 protected:
  void AddSources(tds::NodeConfig* config) override {
    const std::string path = dir_.Sub("features.csv");
    std::ofstream csv(path);
    csv << "id_hash,income\n";
    for (int i = 0; i < 40; ++i) csv << "t-" << i << "," << 100 * i << "\n";
    tds::DataSourceConfig* source = config->add_sources();
    source->set_product("features");
    source->set_kind("csv");
    source->set_path(path);
    source->set_id_column("id_hash");
  }

  // "node" publishes the product its source serves; bank and node agree on the terms.
  std::string NegotiatedContract() {
    MustSubmit(testing::kNode, sdk::PublishProduct(FromYaml<tds::Product>(kFeaturesYaml)));
    absl::StatusOr<tds::SubmitResponse> req = Submit(
        testing::kBank, sdk::RequestContract("features", FromYaml<tds::Terms>(kStatsTermsYaml)));
    EXPECT_TRUE(req.ok()) << req.status();
    const std::string id = req.ok() ? req->result() : "";
    tds::GetContractRequest get;
    get.set_contract_id(id);
    absl::StatusOr<tds::GetContractResponse> c = As(&testing::kNode)->GetContract(get);
    EXPECT_TRUE(c.ok()) << c.status();
    MustSubmit(testing::kNode, sdk::AcceptContract(id, c->contract().terms_digest()));
    return id;
  }

  static std::vector<std::string> Ids() {  // t-20 .. t-59: 20 shared
    std::vector<std::string> ids;
    for (int i = 20; i < 60; ++i) ids.push_back(absl::StrCat("t-", i));
    return ids;
  }
};

TEST_F(GatewayServerTest, ConsumerRunsStatisticsOnTheProvidersNodeAndGetsAVerifiableReceipt) {
  const std::string contract = NegotiatedContract();
  tds::PsiParams params;
  params.set_output("both");
  tds::StatSpec* sum = params.add_stats();
  sum->set_column("income");
  sum->set_kind("sum");
  tds::StatSpec* mean = params.add_stats();
  mean->set_column("income");
  mean->set_kind("mean");
  absl::StatusOr<sdk::PsiRunResult> r =
      sdk::RunPsi(options_, *keys_["bank"], "bank", contract, "credit_risk", Ids(), params);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->intersection_size, 20u);
  ASSERT_EQ(r->stats.size(), 2u);
  EXPECT_EQ(r->stats[0].value(), "59000");  // 100 · (20 + ... + 39)
  EXPECT_EQ(r->stats[1].value(), "2950.000000");
  auto genesis = ledger::GenesisInfo::Parse(genesis_, "genesis");
  ASSERT_TRUE(genesis.ok());
  auto verified = ledger::VerifyReceipt(r->result.receipt(), *genesis);
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_EQ(verified->tx.type(), "usage.record");
  EXPECT_EQ(verified->submitter, "node");
}

TEST_F(GatewayServerTest, RefusalsComeBackWithTheirMessage) {
  const std::string contract = NegotiatedContract();
  tds::PsiParams params;
  params.set_output("both");
  absl::StatusOr<sdk::PsiRunResult> r =
      sdk::RunPsi(options_, *keys_["bank"], "bank", contract, "marketing", Ids(), params);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(std::string(r.status().message()),
              HasSubstr("Compute.Run: terms.purposes: 'marketing' is not permitted by contract"));
  // Another consumer signing for bank's contract.
  absl::StatusOr<sdk::PsiRunResult> stranger =
      sdk::RunPsi(options_, *keys_["stranger"], "stranger", contract, "credit_risk", Ids(), params);
  ASSERT_FALSE(stranger.ok());
  EXPECT_THAT(std::string(stranger.status().message()),
              HasSubstr("consumer 'stranger' is not the consumer of contract"));
}

}  // namespace
}  // namespace tds::node::gateway
