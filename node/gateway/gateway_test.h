#pragma once
// The gateway tests' fixture (gateway_test.cc, joint_gateway_test.cc, enclave_gateway_test.cc): a
// real ledger (contracts application), real CSV sources, the Compute service on a loopback gRPC
// server, and the SDK's compute client as the consumer.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <functional>
#include <future>
#include <map>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/sha256.h"
#include "compute/link.h"
#include "compute/psi/ecdh_psi.h"
#include "compute/psi/kkrt_psi.h"
#include "compute/psi_params.h"
#include "compute/stream_link.h"
#include "contracts/contract_state.h"
#include "contracts/contracts.h"
#include "contracts/metering.h"
#include "contracts/usage_testing.h"
#include "google/protobuf/descriptor.h"
#include "grpcpp/grpcpp.h"
#include "ledger/genesis.h"
#include "ledger/ledger.h"
#include "ledger/receipt.h"
#include "ledger/test_util.h"
#include "node/connectors/data_source.h"
#include "node/gateway/compute_service.h"
#include "node/gateway/gateway.h"
#include "node/gateway/metered_link.h"
#include "node/gateway/product_sources.h"
#include "proto/compute_service.grpc.pb.h"
#include "proto/envelope.pb.h"
#include "sdk/compute_client.h"
#include "sdk/tx_builders.h"

namespace tds::node::gateway {

using ledger::testing::KeyFromByte;
using ledger::testing::TempDir;
using ::testing::HasSubstr;

constexpr int64_t kDay = 86'400'000;
constexpr int64_t kT0 = 1'741'608'000'000;  // 2025-03-10T12:00:00Z
constexpr char kProduct[] = "credit-features";
constexpr char kPhoneBook[] = "phone-book";  // level 3

struct Party {
  std::string id;
  uint8_t key;
};
const Party kProv{"prov", 3};    // this node: validator and provider
const Party kProv2{"prov2", 4};  // another provider
const Party kBank{"bank", 5};    // consumer
const Party kBank2{"bank2", 6};  // consumer
const Party kAud{"aud", 7};      // auditor: no consumer role
const Party kGhost{"ghost", 9};  // not a member

// Counts scans, so tests can prove a refused run read no data.
class CountingSource : public DataSource {
 public:
  explicit CountingSource(std::unique_ptr<DataSource> inner) : inner_(std::move(inner)) {}
  absl::StatusOr<std::vector<SourceColumn>> Schema() override { return inner_->Schema(); }
  absl::Status Scan(const std::vector<std::string>& columns, size_t chunk_rows,
                    const std::function<bool(const std::vector<Row>&)>& fn) override {
    ++scans;
    return inner_->Scan(columns, chunk_rows, fn);
  }
  absl::StatusOr<uint64_t> CountRows() override { return inner_->CountRows(); }
  std::atomic<int> scans{0};

 private:
  std::unique_ptr<DataSource> inner_;
};

inline std::string GenesisJson() {
  auto spec = [](const Party& p, const std::string& roles) {
    return absl::StrCat(p.id, ":", roles, ":", KeyFromByte(p.key)->public_key().hex());
  };
  auto json = ledger::BuildGenesisJson(
      "tds.test/gateway",
      {spec(kProv, "validator,provider"), spec(kProv2, "provider"), spec(kBank, "consumer"),
       spec(kBank2, "consumer"), spec(kAud, "auditor")});
  EXPECT_TRUE(json.ok()) << json.status();
  return json.value_or("");
}

inline tds::Column Col(const std::string& name, const std::string& type) {
  tds::Column c;
  c.set_name(name);
  c.set_type(type);
  c.set_level(1);
  return c;
}

inline tds::Product Product(const std::string& id, uint32_t level) {
  tds::Product p;
  p.set_id(id);
  p.set_version(1);
  p.set_provider(kProv.id);
  p.set_title(id);
  p.set_level(level);
  for (const char* op : {"psi", "stats", "query"}) p.add_operations(op);
  *p.add_schema() = Col("id_hash", "string");
  *p.add_schema() = Col("income", "double");
  *p.add_schema() = Col("region", "string");
  *p.add_schema() = Col("age", "int64");
  p.mutable_offer()->mutable_price()->set_currency("CNY");
  return p;
}

inline tds::Terms BaseTerms(tds::MeteringMode mode, const std::string& psi_output = "both") {
  tds::Terms t;
  t.add_operations("psi");
  t.add_operations("stats");
  t.add_purposes("credit_risk");
  t.add_columns("id_hash");
  t.add_columns("income");
  t.add_columns("age");
  t.add_columns("region");
  t.set_valid_from_ms(kT0 - kDay);
  t.set_valid_until_ms(kT0 + 365 * kDay);
  t.set_max_calls_total(100);
  t.set_max_calls_per_day(50);
  t.set_metering(mode);
  t.set_batched_max_delay_ms(60'000);
  t.set_psi_output(psi_output);
  t.mutable_price()->set_currency("CNY");
  t.mutable_price()->set_per_call(100);
  return t;
}

// Provider rows i = 0..99: id-i, income 1000·i + 0.25, region, age.
inline std::string ProviderCsv() {
  std::string csv = "id_hash,income,region,age\n";
  for (int i = 0; i < 100; ++i) {
    absl::StrAppend(&csv, "id-", i, ",", 1000 * i, ".25,", i % 2 ? "north" : "south", ",",
                    20 + i % 50, "\n");
  }
  return csv;
}

// Consumer ids id-50..id-149: positions 0..49 match.
inline std::vector<std::string> ConsumerIds() {
  std::vector<std::string> ids;
  for (int i = 50; i < 150; ++i) ids.push_back(absl::StrCat("id-", i));
  return ids;
}

class GatewayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    genesis_json_ = GenesisJson();
    auto genesis = ledger::GenesisInfo::Parse(genesis_json_, "gateway-genesis");
    ASSERT_TRUE(genesis.ok()) << genesis.status();
    contracts::Register(app_);
    contracts::usage_testing::RegisterSeedHandlers(app_);
    ledger::LedgerOptions options;
    options.data_dir = dir_.Sub("ledger");
    options.sync = false;
    options.clock = [this] { return clock_ms_.load(); };
    auto ledger = ledger::Ledger::Open(options, *std::move(genesis), KeyFromByte(kProv.key), &app_);
    ASSERT_TRUE(ledger.ok()) << ledger.status();
    ledger_ = *std::move(ledger);

    Seed(contracts::usage_testing::kSeedProductTx, Product(kProduct, 2).SerializeAsString());
    Seed(contracts::usage_testing::kSeedProductTx, Product(kPhoneBook, 3).SerializeAsString());

    {
      std::ofstream out(dir_.Sub("features.csv"));
      out << ProviderCsv();
    }
    sources_ = std::make_unique<ProductSources>();
    for (const char* product : {kProduct, kPhoneBook}) {
      tds::DataSourceConfig config;
      config.set_product(product);
      config.set_kind("csv");
      config.set_path(dir_.Sub("features.csv"));
      config.set_id_column("id_hash");
      auto source = OpenDataSource(config);
      ASSERT_TRUE(source.ok()) << source.status();
      auto counting = std::make_unique<CountingSource>(*std::move(source));
      counting_[product] = counting.get();
      sources_->Add(config, std::move(counting));
    }
    StartGateway(GatewayOptions());
  }

  void TearDown() override {
    if (server_ != nullptr) server_->Shutdown();
  }

  // (Re)starts the gateway and its gRPC server with `options` (key, clock, submit filled in).
  void StartGateway(GatewayOptions options) {
    if (server_ != nullptr) server_->Shutdown();
    server_.reset();
    service_.reset();
    gateway_.reset();
    options.key = std::shared_ptr<const SigningKey>(KeyFromByte(kProv.key));
    options.clock = [this] { return clock_ms_.load(); };
    options.psi_threads = 1;
    options.commit_timeout_ms = 10'000;
    options.submit = [this](std::string envelope, ledger::Ledger::Done done) {
      SubmitFilter filter = filter_;
      if (filter) {
        filter(std::move(envelope), std::move(done));
      } else {
        ledger_->Submit(std::move(envelope), std::move(done));
      }
    };
    options.on_run = [this](const RunReport& r) {
      std::lock_guard<std::mutex> lock(reports_mu_);
      reports_.push_back(r);
    };
    gateway_ = std::make_unique<Gateway>(ledger_.get(), sources_.get(), std::move(options));
    service_ = std::make_unique<ComputeService>(gateway_.get());
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    channel_ =
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", port_), grpc::InsecureChannelCredentials());
  }

  void Seed(std::string_view type, const std::string& body) {
    auto ack = ledger_->SubmitAndWait(ledger::testing::MakeTx(
        *KeyFromByte(kProv.key), kProv.id, std::string(type), body, ++tx_nonce_));
    ASSERT_TRUE(ack.ok()) << ack.status();
  }

  // An ACTIVE contract `id` between this node (provider) and `consumer` on `product`.
  void SeedContract(const std::string& id, const tds::Terms& terms, const Party& consumer = kBank,
                    const std::string& product = kProduct) {
    tds::Contract c = contracts::usage_testing::ActiveContract(
        id, product, contracts::usage_testing::Party{kProv.id, kProv.key},
        contracts::usage_testing::Party{consumer.id, consumer.key}, terms, kT0 - kDay);
    Seed(contracts::usage_testing::kSeedContractTx, c.SerializeAsString());
  }

  sdk::PreparedRun Prepare(const std::string& contract_id, tds::PsiParams params,
                           const Party& consumer = kBank,
                           const std::string& purpose = "credit_risk") {
    params.set_items(ConsumerIds().size());
    return sdk::PreparePsi(*KeyFromByte(consumer.key), consumer.id, contract_id, purpose, params);
  }

  // A request for `operation` built by hand (operations PreparePsi never makes).
  sdk::PreparedRun PrepareOperation(const std::string& contract_id, const std::string& operation,
                                    tds::PsiParams params, const Party& signer = kBank,
                                    const std::string& consumer_id = "") {
    params.set_items(ConsumerIds().size());
    sdk::PreparedRun run;
    run.psi = params;
    run.params = params.SerializeAsString();
    run.request = sdk::BuildUsageRequest(
        *KeyFromByte(signer.key), consumer_id.empty() ? signer.id : consumer_id, contract_id,
        operation, "credit_risk", {}, std::string(AsBytes(Sha256(run.params))), "");
    return run;
  }

  absl::StatusOr<sdk::PsiRunResult> RunPrepared(const sdk::PreparedRun& run) {
    return sdk::RunPrepared(channel_, 30'000, run, ConsumerIds());
  }

  static tds::PsiParams Params(const std::string& output) {
    tds::PsiParams p;
    p.set_output(output);
    return p;
  }

  tds::UsageCounters Counters(const std::string& contract_id) {
    auto c = contracts::ReadCounters(ledger_->state(), contract_id);
    EXPECT_TRUE(c.ok()) << c.status();
    return c.value_or(tds::UsageCounters());
  }

  int Scans() const {
    int n = 0;
    for (const auto& [id, source] : counting_) n += source->scans.load();
    return n;
  }

  // Expects `run` refused with `code` and a message containing `message`, no data read and
  // nothing metered on `contract_id`.
  void ExpectRefused(const sdk::PreparedRun& run, absl::StatusCode code, const std::string& message,
                     const std::string& contract_id) {
    const int scans = Scans();
    const tds::UsageCounters before = Counters(contract_id);
    const uint64_t height = ledger_->Status().height;
    absl::StatusOr<sdk::PsiRunResult> r = RunPrepared(run);
    ASSERT_FALSE(r.ok()) << "expected a refusal containing: " << message;
    EXPECT_EQ(r.status().code(), code) << r.status();
    EXPECT_THAT(std::string(r.status().message()), HasSubstr(message));
    EXPECT_EQ(Scans(), scans) << "a refused run read data";
    EXPECT_EQ(Counters(contract_id).SerializeAsString(), before.SerializeAsString());
    EXPECT_EQ(ledger_->Status().height, height) << "a refused run submitted a transaction";
  }

  // A batched record commits after the run: waits (up to 5 s) for transaction `txid`.
  absl::StatusOr<ledger::TxRecord> WaitForTransaction(const Hash& txid) {
    absl::StatusOr<ledger::TxRecord> tx = ledger_->GetTransaction(txid);
    for (int i = 0; i < 500 && !tx.ok(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      tx = ledger_->GetTransaction(txid);
    }
    return tx;
  }

  // A Compute.Run stream opened by hand with `run`'s ComputeStart, for tests that drive the
  // consumer's side themselves.
  struct RawRun {
    grpc::ClientContext ctx;
    std::unique_ptr<grpc::ClientReaderWriter<tds::ComputeMessage, tds::ComputeMessage>> stream;
    bool started = false;  // the start message was written
  };
  std::unique_ptr<RawRun> StartRaw(const sdk::PreparedRun& run) {
    auto raw = std::make_unique<RawRun>();
    raw->stream = tds::Compute::NewStub(channel_)->Run(&raw->ctx);
    tds::ComputeMessage start;
    start.mutable_start()->set_request(run.request);
    start.mutable_start()->set_params(run.params);
    raw->started = raw->stream->Write(start);
    return raw;
  }

  // As ExpectRefused, but the consumer only opens the run and waits for the node's answer (no
  // protocol of its own that could fail first, e.g. an OT-PSI receiver refusing size_only).
  void ExpectStartRefused(const sdk::PreparedRun& run, absl::StatusCode code,
                          const std::string& message, const std::string& contract_id) {
    const int scans = Scans();
    const tds::UsageCounters before = Counters(contract_id);
    const uint64_t height = ledger_->Status().height;
    std::unique_ptr<RawRun> raw = StartRaw(run);
    ASSERT_TRUE(raw->started);
    auto& stream = raw->stream;
    tds::ComputeMessage ignored;
    while (stream->Read(&ignored)) {
    }
    const grpc::Status status = stream->Finish();
    EXPECT_EQ(static_cast<int>(status.error_code()), static_cast<int>(code))
        << status.error_message();
    EXPECT_THAT(status.error_message(), HasSubstr(message));
    EXPECT_EQ(Scans(), scans) << "a refused run read data";
    EXPECT_EQ(Counters(contract_id).SerializeAsString(), before.SerializeAsString());
    EXPECT_EQ(ledger_->Status().height, height) << "a refused run submitted a transaction";
  }

  using SubmitFilter = std::function<void(std::string, ledger::Ledger::Done)>;

  TempDir dir_;
  std::atomic<int64_t> clock_ms_{kT0};
  std::string genesis_json_;
  ledger::Application app_;
  std::unique_ptr<ledger::Ledger> ledger_;
  uint64_t tx_nonce_ = 0;
  std::unique_ptr<ProductSources> sources_;
  std::map<std::string, CountingSource*> counting_;
  SubmitFilter filter_;
  std::mutex reports_mu_;
  std::vector<RunReport> reports_;
  std::unique_ptr<Gateway> gateway_;
  std::unique_ptr<ComputeService> service_;
  std::unique_ptr<grpc::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
  int port_ = 0;  // the gateway's server (127.0.0.1)
};

}  // namespace tds::node::gateway
