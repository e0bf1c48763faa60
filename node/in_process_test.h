#pragma once
// A data space in one test process: a real Server (ledger on disk in a temp dir, port 0,
// plaintext) with five members, fed real signed transactions through the SDK. Shared by the
// node's query, audit and admin tests and the SDK's facade test.
//
// Members (key = KeyFromByte(n)): node (validator and provider, 1: the node's own member, so
// products it publishes are served by its gateway), bank (consumer, 2), zj (provider, 3),
// audit (auditor, 4), stranger (consumer, 5). Subclasses add data sources with AddSources.
// Key files DIR/<member>.key are written for the SDK's file-based clients. ActiveContract()
// publishes two products of zj and makes an ACTIVE contract bank <- zj on "invoices"; Use() records
// one strict call on it.

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/config.h"
#include "common/file.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ledger/genesis.h"
#include "ledger/test_util.h"
#include "node/server.h"
#include "sdk/client.h"
#include "sdk/query_client.h"
#include "sdk/tx_builders.h"

namespace tds::node::testing {

using ledger::testing::KeyFromByte;
using ledger::testing::TempDir;

inline constexpr char kProductYaml[] = R"(
id: invoices
title: SME invoice features
description: Monthly VAT invoice aggregates for credit scoring
tags: [invoice, credit]
level: 3
update_cadence: monthly
operations: [psi, stats]
schema:
  - {name: tax_id, type: string, level: 3}
  - {name: amount, type: int64, level: 2}
offer:
  operations: [psi, stats]
  purposes: [credit_risk, anti_fraud]
  columns: [tax_id, amount]
  max_calls_total: 100
  metering: METERING_STRICT
  price: {currency: CNY, per_call: 200, per_row: 1}
)";

inline constexpr char kSecretYaml[] = R"(
id: registry
title: Credit registry extract
tags: [credit]
level: 5
update_cadence: daily
operations: [stats]
allow_list: [bank]
schema:
  - {name: code, type: string, level: 5}
offer:
  operations: [stats]
  purposes: [risk_control]
  metering: METERING_STRICT
  price: {currency: CNY, subscription_fee: 100000}
)";

inline constexpr char kTermsYaml[] = R"(
operations: [psi]
purposes: [credit_risk]
columns: [tax_id]
valid_until_ms: 4102444800000
max_calls_total: 50
metering: METERING_STRICT
price: {currency: CNY, per_call: 150, per_row: 1}
)";

inline int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

template <typename M>
M FromYaml(const char* yaml) {
  M m;
  absl::Status s = ParseConfigText(yaml, "test", true, &m);
  EXPECT_TRUE(s.ok()) << s;
  return m;
}

struct Who {
  const char* id;
  uint8_t key;
};
inline constexpr Who kNode{"node", 1}, kBank{"bank", 2}, kZj{"zj", 3}, kAudit{"audit", 4},
    kStranger{"stranger", 5};

class InProcessDataSpaceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::vector<std::string> specs;
    for (auto [who, roles] : std::vector<std::pair<Who, const char*>>{{kNode, "validator,provider"},
                                                                      {kBank, "consumer"},
                                                                      {kZj, "provider"},
                                                                      {kAudit, "auditor"},
                                                                      {kStranger, "consumer"}}) {
      specs.push_back(std::string(who.id) + ":" + roles + ":" +
                      KeyFromByte(who.key)->public_key().hex());
    }
    absl::StatusOr<std::string> genesis = ledger::BuildGenesisJson("tds-query-test", specs);
    ASSERT_TRUE(genesis.ok()) << genesis.status();
    genesis_ = *genesis;
    ASSERT_TRUE(WriteFileAtomic(dir_.Sub("genesis.json"), genesis_).ok());
    for (Who who : {kNode, kBank, kZj, kAudit, kStranger}) {
      ASSERT_TRUE(KeyFromByte(who.key)->WriteToFile(KeyFile(who)).ok());
    }
    tds::NodeConfig config;
    config.set_data(dir_.Sub("data"));
    config.set_genesis(dir_.Sub("genesis.json"));
    config.set_key(dir_.Sub("node.key"));
    config.set_listen("127.0.0.1:0");
    config.set_insecure_dev(true);
    AddSources(&config);
    ASSERT_TRUE(FinalizeConfig(&config).ok());
    absl::StatusOr<std::unique_ptr<Server>> server = Server::Start(config);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    options_.address = server_->address();
    options_.insecure_dev = true;
    options_.timeout_ms = 20000;
    ledger_ = *sdk::LedgerClient::Connect(options_);
    for (Who who : {kNode, kBank, kZj, kAudit, kStranger}) keys_[who.id] = KeyFromByte(who.key);
  }

  // Data sources the node serves (NodeConfig.sources); none by default.
  virtual void AddSources(tds::NodeConfig* config) {}

  std::string KeyFile(const Who& who) const { return dir_.Sub(std::string(who.id) + ".key"); }

  // A query client signing as `who` (nullptr: anonymous).
  std::unique_ptr<sdk::QueryClient> As(const Who* who) {
    std::unique_ptr<sdk::QueryClient> client = *sdk::QueryClient::Connect(options_);
    if (who != nullptr) client->SetIdentity(keys_[who->id].get(), who->id);
    return client;
  }

  absl::StatusOr<tds::SubmitResponse> Submit(const Who& who, const sdk::TxBody& tx) {
    return ledger_->Submit(sdk::BuildTransaction(*keys_[who.id], who.id, tx.type, tx.body));
  }

  void MustSubmit(const Who& who, const sdk::TxBody& tx) {
    absl::StatusOr<tds::SubmitResponse> ack = Submit(who, tx);
    ASSERT_TRUE(ack.ok()) << tx.type << ": " << ack.status();
  }

  // Publishes both products and makes an ACTIVE contract bank <- zj on "invoices".
  std::string ActiveContract() {
    MustSubmit(kZj, sdk::PublishProduct(FromYaml<tds::Product>(kProductYaml)));
    MustSubmit(kZj, sdk::PublishProduct(FromYaml<tds::Product>(kSecretYaml)));
    absl::StatusOr<tds::SubmitResponse> req =
        Submit(kBank, sdk::RequestContract("invoices", FromYaml<tds::Terms>(kTermsYaml)));
    EXPECT_TRUE(req.ok()) << req.status();
    const std::string id = req->result();
    tds::GetContractRequest get;
    get.set_contract_id(id);
    absl::StatusOr<tds::GetContractResponse> c = As(&kZj)->GetContract(get);
    EXPECT_TRUE(c.ok()) << c.status();
    MustSubmit(kZj, sdk::AcceptContract(id, c->contract().terms_digest()));
    return id;
  }

  // One strict call: the consumer's request, the provider's reservation and record. Returns
  // the record's acknowledgement (its txid).
  tds::SubmitResponse Use(const std::string& contract, const std::string& purpose,
                          uint64_t rows_out, bool reserve = true) {
    std::string request = sdk::BuildUsageRequest(*keys_["bank"], "bank", contract, "psi", purpose,
                                                 {"tax_id"}, "", "");
    if (reserve) MustSubmit(kZj, sdk::ReserveUsage(request, 0));
    tds::Measurement m;
    m.set_rows_out(rows_out);
    m.set_started_ms(NowMs() - 10);
    m.set_ended_ms(NowMs());
    absl::StatusOr<tds::SubmitResponse> ack = Submit(kZj, sdk::RecordUsage(request, m));
    EXPECT_TRUE(ack.ok()) << ack.status();
    return ack.ok() ? *ack : tds::SubmitResponse();
  }

  static void ExpectCode(const absl::Status& s, absl::StatusCode code, const std::string& text) {
    EXPECT_EQ(s.code(), code) << s;
    EXPECT_THAT(std::string(s.message()), ::testing::HasSubstr(text));
  }

  TempDir dir_;
  std::string genesis_;
  std::unique_ptr<Server> server_;
  sdk::ClientOptions options_;
  std::unique_ptr<sdk::LedgerClient> ledger_;
  std::map<std::string, std::unique_ptr<SigningKey>> keys_;
};

}  // namespace tds::node::testing
