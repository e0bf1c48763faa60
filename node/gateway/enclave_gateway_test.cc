// "enclave_sql" end to end in one process: the bank's node hosts the enclave (EnclaveHostService
// over EnclaveJobHost, key kBank), two providers' gateways (prov: credit-features, prov2:
// loan-book) each release one input under their own contract, and the bank's SDK client checks
// the signed result. Real ledger, real CSV sources, real sandboxed tds-enclave (needs root, as
// the node runs here).

#include <unistd.h>

#include "common/file.h"
#include "compute/enclave/attestation.h"
#include "compute/enclave/enclave_test_util.h"
#include "compute/enclave/job_spec.h"
#include "compute/enclave/row_format.h"
#include "compute/enclave/sealed_stream.h"
#include "node/gateway/enclave_host.h"
#include "node/gateway/enclave_sql.h"
#include "node/gateway/gateway_test.h"
#include "sdk/enclave_client.h"

namespace tds::node::gateway {
namespace {

namespace enclave = compute::enclave;
using enclave::Cell;
using enclave::testing::TestTable;

constexpr char kLoanBook[] = "loan-book";  // prov2's product

// features (prov, ProviderCsv: id-i, income 1000·i + 0.25, region north|south), loans (prov2:
// id-20..id-119, amount 3·i) and the bank's customers (id-0..id-79, segment S0..S2).
const std::string kSql =
    "SELECT f.region AS region, b.segment AS segment, COUNT(*) AS n, SUM(l.amount) AS total, "
    "AVG(f.income) AS avg_income FROM features f JOIN loans l ON l.id_hash = f.id_hash "
    "JOIN bank b ON b.customer_id = f.id_hash GROUP BY f.region, b.segment "
    "ORDER BY region, segment";

std::string LoansCsv() {
  std::string csv = "id_hash,amount\n";
  for (int i = 20; i < 120; ++i) absl::StrAppend(&csv, "id-", i, ",", 3 * i, "\n");
  return csv;
}

TestTable BankTable() {
  TestTable t{{"bank",
               {{"customer_id", enclave::ColumnType::kText, true},
                {"segment", enclave::ColumnType::kText}}},
              {}};
  for (int i = 0; i < 80; ++i) {
    t.rows.push_back({absl::StrCat("id-", i), absl::StrCat("S", i % 3)});
  }
  return t;
}

// The providers' tables as the enclave sees them, for the plain SQLite comparison.
TestTable FeaturesTable() {
  TestTable t{{"features",
               {{"id_hash", enclave::ColumnType::kText, true},
                {"income", enclave::ColumnType::kReal},
                {"region", enclave::ColumnType::kText}}},
              {}};
  for (int i = 0; i < 100; ++i) {
    t.rows.push_back(
        {absl::StrCat("id-", i), 1000.0 * i + 0.25, std::string(i % 2 ? "north" : "south")});
  }
  return t;
}

TestTable LoansTable() {
  TestTable t{
      {"loans",
       {{"id_hash", enclave::ColumnType::kText, true}, {"amount", enclave::ColumnType::kInteger}}},
      {}};
  for (int i = 20; i < 120; ++i) t.rows.push_back({absl::StrCat("id-", i), int64_t{3 * i}});
  return t;
}

std::string BinarySha256(const std::string& path) {
  auto bytes = ReadFile(path);
  EXPECT_TRUE(bytes.ok()) << bytes.status();
  return HexEncode(Sha256(bytes.value_or("")));
}

// Strict terms granting enclave_sql over `columns` (id_hash the identifier), k = 5.
tds::Terms EnclaveTerms(const std::vector<std::string>& columns, const std::string& sql = kSql,
                        const std::vector<std::string>& platforms = {"software"}) {
  tds::Terms t = BaseTerms(tds::METERING_STRICT);
  t.clear_operations();
  t.add_operations("enclave_sql");
  t.clear_columns();
  for (const std::string& c : columns) t.add_columns(c);
  t.set_min_group_size(5);
  tds::EnclaveTerms* e = t.mutable_enclave();
  e->set_sql_sha256(HexEncode(Sha256(sql)));
  e->set_binary_sha256(BinarySha256(TDS_ENCLAVE_BINARY));
  for (const char* c : {"region", "segment", "n", "total", "avg_income"}) e->add_output_columns(c);
  e->set_count_column("n");
  e->set_max_rows(100);
  e->add_identifier_columns("id_hash");
  for (const std::string& p : platforms) e->add_platforms(p);
  return t;
}

class EnclaveGatewayTest : public GatewayTest {
 protected:
  void SetUp() override {
    GatewayTest::SetUp();
    // prov2's product, source, gateway and Compute server.
    tds::Product loans = Product(kLoanBook, 2);
    loans.set_provider(kProv2.id);
    loans.clear_schema();
    *loans.add_schema() = Col("id_hash", "string");
    *loans.add_schema() = Col("amount", "int64");
    Seed(contracts::usage_testing::kSeedProductTx, loans.SerializeAsString());
    {
      std::ofstream out(dir_.Sub("loans.csv"));
      out << LoansCsv();
    }
    sources2_ = std::make_unique<ProductSources>();
    tds::DataSourceConfig config;
    config.set_product(kLoanBook);
    config.set_kind("csv");
    config.set_path(dir_.Sub("loans.csv"));
    config.set_id_column("id_hash");
    auto source = OpenDataSource(config);
    ASSERT_TRUE(source.ok()) << source.status();
    auto counting = std::make_unique<CountingSource>(*std::move(source));
    counting_[kLoanBook] = counting.get();
    sources2_->Add(config, std::move(counting));
    GatewayOptions options;
    options.key = std::shared_ptr<const SigningKey>(KeyFromByte(kProv2.key));
    options.clock = [this] { return clock_ms_.load(); };
    options.psi_threads = 1;
    options.commit_timeout_ms = 10'000;
    gateway2_ = std::make_unique<Gateway>(ledger_.get(), sources2_.get(), std::move(options));
    service2_ = std::make_unique<ComputeService>(gateway2_.get());
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port2_);
    builder.RegisterService(service2_.get());
    server2_ = builder.BuildAndStart();
    ASSERT_NE(server2_, nullptr);

    // Contracts: the bank with prov on its features, with prov2 on its loans.
    SeedContract("c-feat", EnclaveTerms({"id_hash", "income", "region"}));
    tds::Contract c = contracts::usage_testing::ActiveContract(
        "c-loans", kLoanBook, contracts::usage_testing::Party{kProv2.id, kProv2.key},
        contracts::usage_testing::Party{kBank.id, kBank.key}, EnclaveTerms({"id_hash", "amount"}),
        kT0 - kDay);
    Seed(contracts::usage_testing::kSeedContractTx, c.SerializeAsString());
    StartHost(TDS_ENCLAVE_BINARY);
  }

  void TearDown() override {
    if (host_server_ != nullptr) host_server_->Shutdown();
    if (server2_ != nullptr) server2_->Shutdown();
    GatewayTest::TearDown();
  }

  // The bank's node: hosts jobs for member bank with `binary`.
  void StartHost(const std::string& binary) {
    if (host_server_ != nullptr) host_server_->Shutdown();
    EnclaveHostOptions options;
    options.key = std::shared_ptr<const SigningKey>(KeyFromByte(kBank.key));
    options.member_id = [] { return std::string(kBank.id); };
    options.enclave_binary = binary;
    options.provider_timeout_ms = 60'000;
    host_ = std::make_unique<EnclaveJobHost>(ledger_.get(), std::move(options));
    host_service_ = std::make_unique<EnclaveHostService>(host_.get());
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(host_service_.get());
    host_server_ = builder.BuildAndStart();
    ASSERT_NE(host_server_, nullptr);
    host_channel_ =
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials());
  }

  sdk::EnclaveSqlJob Job(const std::string& sql = kSql) const {
    sdk::EnclaveSqlJob job;
    job.sql = sql;
    for (const char* c : {"region", "segment", "n", "total", "avg_income"}) {
      job.policy.add_allowed_columns(c);
    }
    job.policy.set_count_column("n");
    job.policy.set_min_group_size(5);
    job.policy.set_max_rows(100);
    job.local.set_name("bank");
    tds::EnclaveColumn* id = job.local.add_columns();
    id->set_name("customer_id");
    id->set_type("TEXT");
    id->set_identifier(true);
    tds::EnclaveColumn* segment = job.local.add_columns();
    segment->set_name("segment");
    segment->set_type("TEXT");
    tds::EnclaveProviderInput features;
    features.set_name("features");
    features.set_contract_id("c-feat");
    features.set_address(absl::StrCat("127.0.0.1:", port_));
    tds::EnclaveProviderInput loans;
    loans.set_name("loans");
    loans.set_contract_id("c-loans");
    loans.set_address(absl::StrCat("127.0.0.1:", port2_));
    job.providers = {features, loans};
    job.purpose = "credit_risk";
    return job;
  }

  absl::StatusOr<sdk::EnclaveSqlRun> RunJob(const sdk::EnclaveSqlJob& job) {
    auto bytes = std::make_shared<std::string>(BankTable().Encode());
    auto sent = std::make_shared<bool>(false);
    return sdk::RunEnclaveSql(host_channel_, 60'000, *KeyFromByte(kBank.key), kBank.id, job,
                              [bytes, sent](std::string* out) {
                                if (!*sent) out->append(*bytes);
                                *sent = true;
                                return false;
                              });
  }

  // Expects `job` refused with `code` and `message`, no provider data read, nothing recorded.
  void ExpectJobRefused(const sdk::EnclaveSqlJob& job, absl::StatusCode code,
                        const std::string& message) {
    const int scans = Scans();
    const uint64_t height = ledger_->Status().height;
    const tds::UsageCounters feat = Counters("c-feat"), loans = Counters("c-loans");
    auto r = RunJob(job);
    ASSERT_FALSE(r.ok()) << "expected a refusal containing: " << message;
    EXPECT_EQ(r.status().code(), code) << r.status();
    EXPECT_THAT(std::string(r.status().message()), HasSubstr(message));
    EXPECT_EQ(Scans(), scans) << "a refused job read provider data";
    EXPECT_EQ(ledger_->Status().height, height) << "a refused job submitted a transaction";
    EXPECT_EQ(Counters("c-feat").SerializeAsString(), feat.SerializeAsString());
    EXPECT_EQ(Counters("c-loans").SerializeAsString(), loans.SerializeAsString());
  }

  int port2_ = 0;
  std::unique_ptr<ProductSources> sources2_;
  std::unique_ptr<Gateway> gateway2_;
  std::unique_ptr<ComputeService> service2_;
  std::unique_ptr<grpc::Server> server2_;
  std::unique_ptr<EnclaveJobHost> host_;
  std::unique_ptr<EnclaveHostService> host_service_;
  std::unique_ptr<grpc::Server> host_server_;
  std::shared_ptr<grpc::Channel> host_channel_;
};

TEST_F(EnclaveGatewayTest, TwoProvidersJoinedWithTheBankEachMeteredUnderItsOwnContract) {
  auto r = RunJob(Job());
  ASSERT_TRUE(r.ok()) << r.status();
  const TestTable features = FeaturesTable(), loans = LoansTable(), bank = BankTable();
  EXPECT_EQ(r->table.rows, enclave::testing::PlainSqlite({&features, &loans, &bank}, kSql));
  EXPECT_EQ(r->table.rows.size(), 6u);  // north|south x S0..S2 over ids 20..79
  EXPECT_THAT(r->table.columns,
              ::testing::ElementsAre("region", "segment", "n", "total", "avg_income"));
  // The enclave's signed statement: every input, with the rows each party sent.
  ASSERT_EQ(r->statement.inputs.size(), 3u);
  EXPECT_EQ(r->statement.inputs[0].name, "features");
  EXPECT_EQ(r->statement.inputs[0].rows, 100u);
  EXPECT_EQ(r->statement.inputs[1].rows, 100u);
  EXPECT_EQ(r->statement.inputs[2].rows, 80u);

  // One usage record per provider input, under that provider's contract, committed (strict)
  // before the input was released: the receipt verifies with the genesis alone.
  auto genesis = ledger::GenesisInfo::Parse(genesis_json_, "genesis");
  ASSERT_TRUE(genesis.ok());
  ASSERT_EQ(r->raw.usage_size(), 2);
  const std::vector<std::pair<std::string, std::string>> expected = {{"c-feat", kProv.id},
                                                                     {"c-loans", kProv2.id}};
  for (int i = 0; i < 2; ++i) {
    const tds::EnclaveProviderUsage& usage = r->raw.usage(i);
    EXPECT_EQ(usage.contract_id(), expected[i].first);
    auto verified = ledger::VerifyReceipt(usage.result().receipt(), *genesis);
    ASSERT_TRUE(verified.ok()) << verified.status();
    EXPECT_EQ(verified->tx.type(), contracts::kRecordTxType);
    EXPECT_EQ(verified->submitter, expected[i].second);
    EXPECT_EQ(AsBytes(verified->txid), usage.result().usage_txid());
    EXPECT_EQ(usage.result().measurement().rows_in(), 100u);
    EXPECT_EQ(usage.result().measurement().input_digest().size(), 32u);  // the measurement
    auto record = contracts::ReadUsageRecord(ledger_->state(), usage.result().receipt().index());
    ASSERT_TRUE(record.ok() && record->has_value());
    EXPECT_EQ((*record)->operation(), "enclave_sql");
    EXPECT_EQ((*record)->contract_id(), expected[i].first);
    // Kept to the contract: strict metering reserved before it recorded (the gate does both).
    EXPECT_THAT((*record)->violations(), ::testing::IsEmpty());
    EXPECT_TRUE(usage.result().violations().empty());
    EXPECT_EQ(Counters(expected[i].first).calls_total(), 1u);
  }
}

TEST_F(EnclaveGatewayTest, SqlOtherThanTheContractsIsRefusedBeforeAnythingIsRecorded) {
  ExpectJobRefused(Job(kSql + " LIMIT 3"), absl::StatusCode::kPermissionDenied,
                   "provider of input 'features' refused the job: contract c-feat at");
  ExpectJobRefused(Job(kSql + " LIMIT 3"), absl::StatusCode::kPermissionDenied,
                   "terms.enclave.sql_sha256: the job's SQL (" +
                       HexEncode(Sha256(kSql + " LIMIT 3")) +
                       ") is not the SQL contract c-feat approved");
}

TEST_F(EnclaveGatewayTest, APolicyWeakerThanTheContractsIsRefused) {
  sdk::EnclaveSqlJob rows = Job();
  rows.policy.set_max_rows(1000);
  ExpectJobRefused(rows, absl::StatusCode::kPermissionDenied,
                   "the output policy is weaker than contract c-feat's: max_rows 1000 exceeds the "
                   "contract's 100");
  sdk::EnclaveSqlJob k = Job();
  k.policy.set_min_group_size(4);
  ExpectJobRefused(k, absl::StatusCode::kPermissionDenied,
                   "minimum group size 4 is below the contract's 5");
  sdk::EnclaveSqlJob ids = Job();
  ids.policy.add_allowed_columns("id_hash");
  ExpectJobRefused(ids, absl::StatusCode::kPermissionDenied, "it allows column 'id_hash'");
}

TEST_F(EnclaveGatewayTest, AnUnapprovedEnclaveBinaryIsRefusedByTheProviders) {
  // The same program with one byte appended: it runs, but it is not the build the contracts name.
  auto binary = ReadFile(TDS_ENCLAVE_BINARY);
  ASSERT_TRUE(binary.ok());
  const std::string changed = dir_.Sub("tds-enclave");
  ASSERT_TRUE(WriteFileExclusive(changed, *binary + std::string(1, '\0'), 0755).ok());
  StartHost(changed);
  ExpectJobRefused(Job(), absl::StatusCode::kPermissionDenied,
                   "provider of input 'features' refused the enclave");
  ExpectJobRefused(Job(), absl::StatusCode::kPermissionDenied,
                   "is not among the accepted measurements (a changed enclave binary");
}

TEST_F(EnclaveGatewayTest, APlatformTheContractDoesNotAcceptIsRefused) {
  SeedContract("c-hw", EnclaveTerms({"id_hash", "income", "region"}, kSql, {"sgx-dcap"}));
  sdk::EnclaveSqlJob job = Job();
  job.providers[0].set_contract_id("c-hw");
  const tds::UsageCounters before = Counters("c-hw");
  ExpectJobRefused(job, absl::StatusCode::kPermissionDenied,
                   "terms.enclave.platforms: the enclave's report is from platform 'software'; "
                   "the contract accepts [sgx-dcap]");
  EXPECT_EQ(Counters("c-hw").SerializeAsString(), before.SerializeAsString());
}

TEST_F(EnclaveGatewayTest, OutputPolicyRefusalReachesTheBankWithItsReason) {
  // k = 50 is stricter than the contracts' 5 (so allowed); the data's groups are ~10 rows. The
  // inputs had reached the enclave: their usage records stand.
  sdk::EnclaveSqlJob job = Job();
  job.policy.set_min_group_size(50);
  auto r = RunJob(job);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kPermissionDenied) << r.status();
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("output policy: minimum group size"));
  EXPECT_THAT(std::string(r.status().message()),
              HasSubstr("usage stands under contract(s) c-feat, c-loans"));
  EXPECT_EQ(Counters("c-feat").calls_total(), 1u);
  EXPECT_EQ(Counters("c-loans").calls_total(), 1u);
}

// The provider's gate driven by hand as a host: a report answering another nonce, or replaying
// the report of an earlier run, is refused; a host that never says "go" gets nothing recorded.
TEST_F(EnclaveGatewayTest, TheProviderRefusesAWrongOrReplayedNonce) {
  // The job as the bank's node would build it.
  auto features_product = catalog::ReadProduct(ledger_->state(), kProduct);
  ASSERT_TRUE(features_product.ok());
  enclave::JobSpec spec;
  spec.sql = kSql;
  spec.sql_digest = Sha256(kSql);
  const tds::Terms terms = EnclaveTerms({"id_hash", "income", "region"});
  auto features = ContractInputSchema("features", *features_product, terms);
  ASSERT_TRUE(features.ok()) << features.status();
  spec.inputs = {*features, LoansTable().schema, BankTable().schema};
  spec.policy = {{"region", "segment", "n", "total", "avg_income"}, "n", 5, 100};
  ASSERT_TRUE(enclave::ValidateJobSpec(spec).ok());
  tds::EnclaveSqlParams params;
  params.set_job_spec(enclave::EncodeJobSpec(spec));
  params.set_input("features");
  const Hash measurement =
      enclave::SoftwareMeasurementOfDigest(Sha256(*ReadFile(TDS_ENCLAVE_BINARY)), spec);
  std::unique_ptr<SigningKey> bank_key = KeyFromByte(kBank.key);
  enclave::SoftwareBackend backend(*bank_key);
  enclave::SealingKeyPair box;
  const enclave::EnclaveKeys keys{box.public_key(), SigningKey::Generate()->public_key()};

  auto request = [&] {
    sdk::PreparedRun run;
    run.params = params.SerializeAsString();
    run.request = sdk::BuildUsageRequest(*bank_key, kBank.id, "c-feat", "enclave_sql",
                                         "credit_risk", {"id_hash", "income", "region"},
                                         std::string(AsBytes(Sha256(run.params))), "");
    return run;
  };
  using Stream = grpc::ClientReaderWriter<tds::ComputeMessage, tds::ComputeMessage>;
  const int scans = Scans();
  const uint64_t height = ledger_->Status().height;

  // Run A answers its nonce correctly: the provider sends its header and waits for "go", which
  // never comes.
  std::string report_a;
  {
    std::unique_ptr<RawRun> raw = StartRaw(request());
    compute::StreamLink<Stream> link(raw->stream.get(), {});
    auto nonce = RecvEnclaveWire(link, {EnclaveWire::kNonce}, "nonce");
    ASSERT_TRUE(nonce.ok()) << nonce.status();
    enclave::Nonce n;
    std::copy(nonce->begin() + 1, nonce->end(), n.begin());
    report_a = *backend.Attest(AsBytes(measurement), keys, n);
    ASSERT_TRUE(link.Send(EnclaveWireMessage(EnclaveWire::kReport, report_a)).ok());
    auto header = RecvEnclaveWire(link, {EnclaveWire::kHeader}, "header");
    ASSERT_TRUE(header.ok()) << header.status();
    raw->ctx.TryCancel();
    tds::ComputeMessage ignored;
    while (raw->stream->Read(&ignored)) {
    }
    raw->stream->Finish();
  }
  // Run B replays A's report; run C answers a nonce the provider never issued.
  enclave::Nonce other{};
  other[0] = 7;
  for (const std::string& report : {report_a, *backend.Attest(AsBytes(measurement), keys, other)}) {
    std::unique_ptr<RawRun> raw = StartRaw(request());
    compute::StreamLink<Stream> link(raw->stream.get(), {});
    ASSERT_TRUE(RecvEnclaveWire(link, {EnclaveWire::kNonce}, "nonce").ok());
    ASSERT_TRUE(link.Send(EnclaveWireMessage(EnclaveWire::kReport, report)).ok());
    tds::ComputeMessage ignored;
    while (raw->stream->Read(&ignored)) {
    }
    const grpc::Status status = raw->stream->Finish();
    EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED) << status.error_message();
    EXPECT_THAT(status.error_message(),
                HasSubstr("the report answers a different nonce than the one this verifier sent"));
  }
  EXPECT_EQ(Scans(), scans);
  // Strict contracts reserve at the start; nothing was recorded.
  EXPECT_EQ(Counters("c-feat").calls_total(), 0u);
  (void)height;
}

}  // namespace
}  // namespace tds::node::gateway
