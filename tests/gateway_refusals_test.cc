// The metered gateway end to end, with real tdsd processes driven through the SDK: a validator,
// a credit bureau's node serving deploy/sample/bureau_credit_scores.csv (a CSV source, strict
// metering), a utility's node serving a SQLite copy of deploy/sample/utility_payments.csv
// (batched metering) and the bank's node. The happy path computes PSI and statistics whose
// figures equal deploy/sample/manifest.json and whose receipts verify offline; each refusal —
// no contract, expired, quota exhausted, wrong purpose, wrong operation, wrong role, bad
// signature, replayed nonce, unknown member, raw export of level-3 data — names what failed,
// and meters nothing.

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/bytes.h"
#include "common/config.h"
#include "common/keys.h"
#include "common/sha256.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "proto/catalog.pb.h"
#include "proto/compute_service.pb.h"
#include "proto/contracts.pb.h"
#include "proto/envelope.pb.h"
#include "sdk/channel.h"
#include "sdk/client.h"
#include "sdk/compute_client.h"
#include "sdk/data_space.h"
#include "sdk/tx_builders.h"
#include "tests/test_util.h"

#ifndef TDS_SOURCE_DIR
#error "TDS_SOURCE_DIR must name the repository root (for deploy/sample)"
#endif

namespace tds::testing {
namespace {

using ::testing::HasSubstr;

constexpr char kBureauProduct[] = "bureau-credit-scores";
constexpr char kUtilityProduct[] = "utility-payment-history";
constexpr int64_t kCallTimeoutMs = 30000;

std::string Sample(const std::string& path) {
  return std::string(TDS_SOURCE_DIR) + "/deploy/sample/" + path;
}

// Column `name` of a simple CSV file (header row; no quoted fields, as generate.py writes).
std::vector<std::string> CsvColumn(const std::string& path, const std::string& name) {
  std::ifstream in(path);
  std::string line;
  std::vector<std::string> out;
  if (!std::getline(in, line)) return out;
  std::vector<std::string> header;
  std::stringstream hs(line);
  for (std::string cell; std::getline(hs, cell, ',');) header.push_back(cell);
  const auto col = std::find(header.begin(), header.end(), name) - header.begin();
  while (std::getline(in, line)) {
    std::stringstream ls(line);
    std::string cell;
    for (long i = 0; i <= col && std::getline(ls, cell, ','); ++i) {
    }
    out.push_back(cell);
  }
  return out;
}

nlohmann::json Manifest() {
  std::ifstream in(Sample("manifest.json"));
  return nlohmann::json::parse(in);
}

template <typename M>
M LoadYaml(const std::string& path) {
  M message;
  absl::Status s = LoadConfigFile(path, &message);
  EXPECT_TRUE(s.ok()) << s;
  return message;
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

tds::StatSpec Stat(const std::string& column, const std::string& kind,
                   const std::vector<std::string>& bounds = {}) {
  tds::StatSpec s;
  s.set_column(column);
  s.set_kind(kind);
  for (const std::string& b : bounds) s.add_bounds(b);
  return s;
}

// The whole data space, started once for the suite (four tdsd processes).
struct DataSpace {
  TempDir dir;
  std::string genesis;
  std::unique_ptr<Node> validator, bureau, utility, bank;
  std::vector<std::string> bank_ids;
  // The bank's contract on the bureau's product (bank-bureau-request, countered, accepted).
  std::string contract;
};
DataSpace* g_space = nullptr;

sdk::ClientOptions Options(const std::string& address) {
  sdk::ClientOptions o;
  o.address = address;
  o.insecure_dev = true;
  o.timeout_ms = kCallTimeoutMs;
  return o;
}

std::unique_ptr<sdk::DataSpaceClient> Client(const std::string& member,
                                             const std::string& address) {
  auto c =
      sdk::DataSpaceClient::Connect(Options(address), g_space->dir.File(member + ".key"), member);
  EXPECT_TRUE(c.ok()) << member << ": " << c.status();
  return c.ok() ? std::move(*c) : nullptr;
}

std::unique_ptr<SigningKey> Key(const std::string& member) {
  auto k = SigningKey::LoadFromFile(g_space->dir.File(member + ".key"));
  EXPECT_TRUE(k.ok()) << k.status();
  return k.ok() ? std::move(*k) : nullptr;
}

// Waits until every follower has applied the validator's latest block, so that a gateway
// checks a contract against the same state the test just committed.
void Sync() {
  auto v = sdk::LedgerClient::Connect(Options(g_space->validator->address()));
  ASSERT_TRUE(v.ok()) << v.status();
  auto vs = (*v)->GetStatus();
  ASSERT_TRUE(vs.ok()) << vs.status();
  for (Node* n : {g_space->bureau.get(), g_space->utility.get(), g_space->bank.get()}) {
    auto f = sdk::LedgerClient::Connect(Options(n->address()));
    ASSERT_TRUE(f.ok()) << f.status();
    uint64_t height = 0;
    for (int i = 0; i < 400 && height < vs->height(); ++i) {
      auto fs = (*f)->GetStatus();
      ASSERT_TRUE(fs.ok()) << fs.status();
      height = fs->height();
      if (height < vs->height()) std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    ASSERT_GE(height, vs->height()) << n->Log();
  }
}

absl::Status Publish(const std::string& member, const std::string& node, const std::string& yaml) {
  const tds::Product product = LoadYaml<tds::Product>(yaml);
  auto key = Key(member);
  const sdk::TxBody tx = sdk::PublishProduct(product);
  auto ledger = sdk::LedgerClient::Connect(Options(node));
  if (!ledger.ok()) return ledger.status();
  return (*ledger)->Submit(sdk::BuildTransaction(*key, member, tx.type, tx.body)).status();
}

// The bank requests `terms` on `product`; the provider counters with `counter` when given, and
// the other party accepts. Returns the ACTIVE contract's id.
std::string Negotiate(const std::string& product, const std::string& provider,
                      const tds::Terms& terms, const tds::Terms* counter = nullptr) {
  const std::string at = g_space->validator->address();
  auto bank = Client("bank", at);
  auto prov = Client(provider, at);
  if (bank == nullptr || prov == nullptr) return "";
  auto id = bank->RequestContract(product, terms);
  EXPECT_TRUE(id.ok()) << id.status();
  if (!id.ok()) return "";
  sdk::DataSpaceClient* acceptor = prov.get();
  if (counter != nullptr) {
    absl::Status s = prov->CounterContract(*id, *counter);
    EXPECT_TRUE(s.ok()) << s;
    acceptor = bank.get();
  }
  auto contract = acceptor->GetContract(*id);
  EXPECT_TRUE(contract.ok()) << contract.status();
  if (!contract.ok()) return "";
  absl::Status s = acceptor->AcceptContract(contract->contract());
  EXPECT_TRUE(s.ok()) << s;
  auto active = bank->GetContract(*id);
  EXPECT_TRUE(active.ok()) << active.status();
  if (active.ok()) EXPECT_EQ(active->contract().state(), tds::ACTIVE);
  Sync();
  return *id;
}

tds::Terms BureauTerms() { return LoadYaml<tds::Terms>(Sample("terms/bank-bureau-request.yaml")); }

tds::UsageCounters Counters(const std::string& contract_id) {
  auto auditor = Client("auditor", g_space->validator->address());
  if (auditor == nullptr) return {};
  auto c = auditor->GetContract(contract_id);
  EXPECT_TRUE(c.ok()) << c.status();
  return c.ok() ? c->counters() : tds::UsageCounters{};
}

// Usage records of `contract_id`, or of the whole data space when it is empty.
size_t UsageRecords(const std::string& contract_id) {
  auto auditor = Client("auditor", g_space->validator->address());
  if (auditor == nullptr) return 0;
  tds::ListUsageRequest filter;
  filter.set_contract_id(contract_id);
  auto items = auditor->ListUsage(filter);
  EXPECT_TRUE(items.ok()) << items.status();
  return items.ok() ? items->size() : 0;
}

tds::PsiParams Params(const std::string& output = "both") {
  tds::PsiParams p;
  p.set_output(output);
  p.set_items(g_space->bank_ids.size());
  return p;
}

// Runs a prepared request against the bureau's gateway.
absl::StatusOr<sdk::PsiRunResult> RunAtBureau(const sdk::PreparedRun& run) {
  auto channel = sdk::OpenChannel(Options(g_space->bureau->address()));
  if (!channel.ok()) return channel.status();
  return sdk::RunPrepared(*channel, kCallTimeoutMs, run, g_space->bank_ids);
}

class GatewayRefusalsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    g_space = new DataSpace();
    DataSpace& s = *g_space;
    auto genesis = MakeGenesis(s.dir.path(), "gateway.tds.test",
                               {{"operator", "validator"},
                                {"credit-bureau", "provider"},
                                {"utility", "provider"},
                                {"bank", "consumer"},
                                {"bank2", "consumer"},
                                {"auditor", "auditor"}});
    ASSERT_TRUE(genesis.ok()) << genesis.status();
    s.genesis = *genesis;
    ASSERT_TRUE(MakeKeyFile(s.dir.File("ghost.key")).ok());  // in no genesis

    // The utility's SQLite database, made from the sample CSV by the sample generator.
    const std::string db = s.dir.File("utility_payments.db");
    CommandResult made =
        RunCommand({"/usr/bin/env", "python3", Sample("generate.py"), "--sqlite",
                    Sample("utility_payments.csv"), db, "--table", "utility_payments"});
    ASSERT_EQ(made.exit_code, 0) << made.Describe();
    {
      std::ofstream(s.dir.File("bureau.yaml"))
          << "sources:\n  - product: " << kBureauProduct
          << "\n    kind: csv\n    path: " << Sample("bureau_credit_scores.csv")
          << "\n    id_column: person_id\n";
      std::ofstream(s.dir.File("utility.yaml"))
          << "sources:\n  - product: " << kUtilityProduct << "\n    kind: sqlite\n    path: " << db
          << "\n    table: utility_payments\n    id_column: person_id\n";
    }
    s.validator = StartNode("operator", {});
    ASSERT_NE(s.validator, nullptr);
    const std::string v = s.validator->address();
    s.bureau =
        StartNode("credit-bureau", {"--validator", v, "--config", s.dir.File("bureau.yaml")});
    s.utility = StartNode("utility", {"--validator", v, "--config", s.dir.File("utility.yaml")});
    s.bank = StartNode("bank", {"--validator", v});
    ASSERT_TRUE(s.bureau && s.utility && s.bank);

    s.bank_ids = CsvColumn(Sample("bank_customers.csv"), "person_id");
    ASSERT_EQ(s.bank_ids.size(), Manifest()["files"]["bank_customers.csv"]["rows"].get<size_t>());
    // Each provider publishes through its own node.
    absl::Status p =
        Publish("credit-bureau", s.bureau->address(), Sample("products/bureau-credit-scores.yaml"));
    ASSERT_TRUE(p.ok()) << p;
    p = Publish("utility", s.utility->address(), Sample("products/utility-payment-history.yaml"));
    ASSERT_TRUE(p.ok()) << p;
    const tds::Terms counter = LoadYaml<tds::Terms>(Sample("terms/bureau-counter.yaml"));
    const tds::Terms request = BureauTerms();
    s.contract = Negotiate(kBureauProduct, "credit-bureau", request, &counter);
    ASSERT_FALSE(s.contract.empty());
  }

  static void TearDownTestSuite() {
    delete g_space;
    g_space = nullptr;
  }

  static std::unique_ptr<Node> StartNode(const std::string& member,
                                         std::vector<std::string> extra) {
    Node::Options o;
    o.data_dir = g_space->dir.File(member + "-data");
    o.genesis = g_space->genesis;
    o.key = g_space->dir.File(member + ".key");
    o.work_dir = g_space->dir.File(member + "-work");
    o.extra_flags = std::move(extra);
    std::filesystem::create_directories(o.work_dir);
    auto n = Node::Start(o);
    EXPECT_TRUE(n.ok()) << member << ": " << n.status();
    return n.ok() ? std::move(*n) : nullptr;
  }

  void SetUp() override {
    ASSERT_NE(g_space, nullptr);
    ASSERT_FALSE(g_space->contract.empty()) << "the data space did not start";
  }

  // `run` is refused at the bureau's gateway with `code` and a message containing `message`,
  // and nothing was metered: the data space has no new usage record and, when `contract_id`
  // names an existing contract, its counters (calls and open reservations) are unchanged.
  void ExpectRefused(const sdk::PreparedRun& run, const std::string& contract_id,
                     absl::StatusCode code, const std::string& message) {
    const tds::UsageCounters before =
        contract_id.empty() ? tds::UsageCounters{} : Counters(contract_id);
    const size_t records = UsageRecords("");
    auto r = RunAtBureau(run);
    ASSERT_FALSE(r.ok()) << "not refused; expected: " << message;
    EXPECT_EQ(r.status().code(), code) << r.status();
    EXPECT_THAT(std::string(r.status().message()), HasSubstr(message));
    EXPECT_THAT(std::string(r.status().message()), HasSubstr("Compute.Run: "));
    Sync();
    EXPECT_EQ(UsageRecords(""), records) << "a refused run was recorded";
    if (contract_id.empty()) return;
    const tds::UsageCounters after = Counters(contract_id);
    EXPECT_EQ(after.calls_total(), before.calls_total()) << "a refused run was counted";
    EXPECT_EQ(after.reserved_open(), before.reserved_open()) << "a refused run reserved quota";
  }
};

// --- The happy path ---------------------------------------------------------------------------

TEST_F(GatewayRefusalsTest, PsiAndStatisticsMatchTheSampleAndTheirReceiptsVerifyOffline) {
  const nlohmann::json expected = Manifest()["expected"];
  auto bank = Client("bank", g_space->bureau->address());
  ASSERT_NE(bank, nullptr);
  const tds::UsageCounters before = Counters(g_space->contract);

  // PSI: exactly the bank's customers that the bureau's CSV holds.
  auto psi = bank->RunPsi(g_space->contract, "credit_risk", g_space->bank_ids);
  ASSERT_TRUE(psi.ok()) << psi.status() << "\n" << g_space->bureau->Log();
  EXPECT_EQ(psi->intersection_size, expected["bank_x_bureau"].get<uint64_t>());
  const std::vector<std::string> bureau_ids =
      CsvColumn(Sample("bureau_credit_scores.csv"), "person_id");
  const std::set<std::string> at_bureau(bureau_ids.begin(), bureau_ids.end());
  std::set<std::string> want, got;
  for (const std::string& id : g_space->bank_ids) {
    if (at_bureau.contains(id)) want.insert(id);
  }
  for (uint64_t i : psi->matched) got.insert(g_space->bank_ids.at(i));
  EXPECT_EQ(got, want);
  // Strict metering: released with the receipt of its committed usage record.
  ASSERT_TRUE(psi->result.has_receipt());
  auto verified =
      sdk::DataSpaceClient::VerifyReceiptLocally(psi->result.receipt(), g_space->genesis);
  ASSERT_TRUE(verified.ok()) << verified.status();
  // The record commits at the release gate, before anyone knows the intersection.
  EXPECT_EQ(psi->result.measurement().rows_out(), 0u);
  EXPECT_EQ(psi->result.measurement().rows_in(), bureau_ids.size());
  EXPECT_TRUE(psi->result.violations().empty());

  // Statistics over the matched rows, exact.
  const nlohmann::json& bs = expected["bureau_stats"];
  std::vector<std::string> bounds = bs["credit_score_histogram_bounds"];
  auto stats = bank->RunStats(
      g_space->contract, "credit_risk", g_space->bank_ids,
      {Stat("credit_score", "count"), Stat("credit_score", "mean"), Stat("credit_score", "sum"),
       Stat("default_flag_12m", "sum"), Stat("credit_score", "histogram", bounds)});
  ASSERT_TRUE(stats.ok()) << stats.status() << "\n" << g_space->bureau->Log();
  ASSERT_EQ(stats->stats.size(), 5u);
  EXPECT_EQ(stats->stats[0].value(), std::to_string(bs["count"].get<int>()));
  EXPECT_EQ(stats->stats[1].value(), bs["credit_score_mean"].get<std::string>());
  EXPECT_EQ(stats->stats[2].value(), bs["credit_score_sum"].get<std::string>());
  EXPECT_EQ(stats->stats[3].value(), bs["default_flag_12m_sum"].get<std::string>());
  std::vector<uint64_t> buckets(stats->stats[4].buckets().begin(), stats->stats[4].buckets().end());
  EXPECT_EQ(buckets, bs["credit_score_histogram"].get<std::vector<uint64_t>>());
  ASSERT_TRUE(stats->result.has_receipt());
  EXPECT_TRUE(
      sdk::DataSpaceClient::VerifyReceiptLocally(stats->result.receipt(), g_space->genesis).ok());

  // Both calls are on the ledger: counted in the contract, listed for the auditor, each with a
  // receipt the auditor's node serves and that verifies offline too.
  Sync();
  const tds::UsageCounters after = Counters(g_space->contract);
  EXPECT_EQ(after.calls_total(), before.calls_total() + 2);
  auto auditor = Client("auditor", g_space->bank->address());
  ASSERT_NE(auditor, nullptr);
  tds::ListUsageRequest filter;
  filter.set_contract_id(g_space->contract);
  filter.set_with_receipts(true);
  auto usage = auditor->ListUsage(filter);
  ASSERT_TRUE(usage.ok()) << usage.status();
  std::set<std::string> txids;
  for (const tds::UsageItem& item : *usage) {
    txids.insert(item.record().txid());
    EXPECT_TRUE(sdk::DataSpaceClient::VerifyReceiptLocally(item.receipt(), g_space->genesis).ok());
  }
  EXPECT_TRUE(txids.contains(psi->result.usage_txid()));
  EXPECT_TRUE(txids.contains(stats->result.usage_txid()));
}

TEST_F(GatewayRefusalsTest, BatchedPsiOnTheUtilitysSqliteSourceIsRecordedAfterItsRelease) {
  const tds::Terms terms = LoadYaml<tds::Terms>(Sample("terms/bank-utility-request.yaml"));
  const std::string contract = Negotiate(kUtilityProduct, "utility", terms);
  ASSERT_FALSE(contract.empty());
  auto bank = Client("bank", g_space->utility->address());
  ASSERT_NE(bank, nullptr);
  auto psi = bank->RunPsi(contract, "anti_fraud", g_space->bank_ids);
  ASSERT_TRUE(psi.ok()) << psi.status() << "\n" << g_space->utility->Log();
  EXPECT_EQ(psi->intersection_size, Manifest()["expected"]["bank_x_utility"].get<uint64_t>());
  EXPECT_FALSE(psi->result.has_receipt()) << "batched metering releases before the commit";
  ASSERT_FALSE(psi->result.usage_txid().empty());
  // The record commits within the contract's delay; then its receipt verifies offline.
  auto auditor = Client("auditor", g_space->validator->address());
  ASSERT_NE(auditor, nullptr);
  auto txid = HashFromBytes(psi->result.usage_txid());
  ASSERT_TRUE(txid.ok());
  absl::StatusOr<tds::Receipt> receipt = absl::NotFoundError("not yet");
  for (int i = 0; i < 400 && !receipt.ok(); ++i) {
    receipt = auditor->GetReceipt(*txid);
    if (!receipt.ok()) std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  ASSERT_TRUE(receipt.ok()) << receipt.status();
  EXPECT_TRUE(sdk::DataSpaceClient::VerifyReceiptLocally(*receipt, g_space->genesis).ok());
  EXPECT_EQ(Counters(contract).calls_total(), 1u);
}

// --- Refusals: each names what failed and meters nothing ---------------------------------------

TEST_F(GatewayRefusalsTest, RefusesARunWithoutAContract) {
  const std::string none = "c-00000000000000000000000000000000";
  auto bank = Key("bank");
  ExpectRefused(sdk::PreparePsi(*bank, "bank", none, "credit_risk", Params()), "",
                absl::StatusCode::kNotFound, "no contract " + none);
}

TEST_F(GatewayRefusalsTest, RefusesAnExpiredContract) {
  tds::Terms terms = BureauTerms();
  // Long enough to negotiate, short enough to wait out.
  terms.set_valid_until_ms(NowMs() + 3000);
  const std::string contract = Negotiate(kBureauProduct, "credit-bureau", terms);
  ASSERT_FALSE(contract.empty());
  while (NowMs() <= terms.valid_until_ms() + 50) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  // Block time moves only with blocks: commit one after the window has ended.
  auto bank = Client("bank", g_space->validator->address());
  ASSERT_NE(bank, nullptr);
  ASSERT_TRUE(bank->RequestContract(kBureauProduct, BureauTerms()).ok());
  Sync();
  auto key = Key("bank");
  ExpectRefused(sdk::PreparePsi(*key, "bank", contract, "credit_risk", Params()), contract,
                absl::StatusCode::kFailedPrecondition, "contract " + contract + " is EXPIRED");
}

TEST_F(GatewayRefusalsTest, RefusesOnceTheQuotaIsExhausted) {
  tds::Terms terms = BureauTerms();
  terms.set_max_calls_total(1);
  const std::string contract = Negotiate(kBureauProduct, "credit-bureau", terms);
  ASSERT_FALSE(contract.empty());
  auto key = Key("bank");
  auto first = RunAtBureau(sdk::PreparePsi(*key, "bank", contract, "credit_risk", Params()));
  ASSERT_TRUE(first.ok()) << first.status();
  Sync();
  ExpectRefused(sdk::PreparePsi(*key, "bank", contract, "credit_risk", Params()), contract,
                absl::StatusCode::kResourceExhausted,
                "terms.max_calls_total: 1 of 1 calls used or reserved in contract " + contract);
}

TEST_F(GatewayRefusalsTest, RefusesAPurposeTheContractDoesNotGrant) {
  auto key = Key("bank");
  ExpectRefused(sdk::PreparePsi(*key, "bank", g_space->contract, "anti_fraud", Params()),
                g_space->contract, absl::StatusCode::kPermissionDenied,
                "terms.purposes: 'anti_fraud' is not permitted by contract " + g_space->contract +
                    " (allowed: 'credit_risk')");
}

TEST_F(GatewayRefusalsTest, RefusesAnOperationTheContractDoesNotGrant) {
  tds::Terms terms = BureauTerms();
  terms.clear_operations();
  terms.add_operations("psi");
  const std::string contract = Negotiate(kBureauProduct, "credit-bureau", terms);
  ASSERT_FALSE(contract.empty());
  tds::PsiParams stats = Params();
  *stats.add_stats() = Stat("credit_score", "mean");
  auto key = Key("bank");
  ExpectRefused(
      sdk::PreparePsi(*key, "bank", contract, "credit_risk", stats), contract,
      absl::StatusCode::kPermissionDenied,
      "terms.operations: 'stats' is not permitted by contract " + contract + " (allowed: 'psi')");
}

TEST_F(GatewayRefusalsTest, RefusesAMemberWithoutTheConsumerRole) {
  // The auditor signs a request of its own on the bank's contract.
  auto key = Key("auditor");
  ExpectRefused(sdk::PreparePsi(*key, "auditor", g_space->contract, "credit_risk", Params()),
                g_space->contract, absl::StatusCode::kPermissionDenied,
                "member 'auditor' lacks role 'consumer'");
  // Another consumer cannot use the bank's contract either.
  auto bank2 = Key("bank2");
  ExpectRefused(
      sdk::PreparePsi(*bank2, "bank2", g_space->contract, "credit_risk", Params()),
      g_space->contract, absl::StatusCode::kPermissionDenied,
      "usage request: consumer 'bank2' is not the consumer of contract " + g_space->contract);
}

TEST_F(GatewayRefusalsTest, RefusesARequestWithABadSignature) {
  // Signed by bank2's key, claiming to be the bank.
  auto bank2 = Key("bank2");
  ExpectRefused(sdk::PreparePsi(*bank2, "bank", g_space->contract, "credit_risk", Params()),
                g_space->contract, absl::StatusCode::kUnauthenticated,
                "usage request: bad signature: not signed by the key of consumer 'bank'");
  // The bank's own signature, over other bytes.
  auto bank = Key("bank");
  sdk::PreparedRun run = sdk::PreparePsi(*bank, "bank", g_space->contract, "credit_risk", Params());
  tds::Envelope env;
  ASSERT_TRUE(env.ParseFromString(run.request));
  std::string sig = env.signature();
  sig[0] ^= 1;
  env.set_signature(sig);
  run.request = env.SerializeAsString();
  ExpectRefused(run, g_space->contract, absl::StatusCode::kUnauthenticated,
                "usage request: bad signature: envelope signature: does not verify");
}

TEST_F(GatewayRefusalsTest, RefusesAReplayedNonce) {
  auto key = Key("bank");
  const sdk::PreparedRun run =
      sdk::PreparePsi(*key, "bank", g_space->contract, "credit_risk", Params());
  auto first = RunAtBureau(run);
  ASSERT_TRUE(first.ok()) << first.status();
  Sync();
  ExpectRefused(run, g_space->contract, absl::StatusCode::kAlreadyExists,
                "usage request nonce already used in contract " + g_space->contract);
}

TEST_F(GatewayRefusalsTest, RefusesAnUnknownMember) {
  auto ghost = SigningKey::LoadFromFile(g_space->dir.File("ghost.key"));
  ASSERT_TRUE(ghost.ok());
  ExpectRefused(sdk::PreparePsi(**ghost, "ghost", g_space->contract, "credit_risk", Params()),
                g_space->contract, absl::StatusCode::kUnauthenticated,
                "usage request: consumer 'ghost' is not a current member");
}

TEST_F(GatewayRefusalsTest, NeverExportsRawRowsOfLevel3Data) {
  // The gateway: a raw-row operation on the bureau's level-3 product, even under an ACTIVE
  // contract, is refused before anything is read.
  auto key = Key("bank");
  sdk::PreparedRun run;
  run.psi = Params();
  run.params = run.psi.SerializeAsString();
  run.request = sdk::BuildUsageRequest(*key, "bank", g_space->contract, "query", "credit_risk",
                                       {"person_id", "credit_score"},
                                       std::string(AsBytes(Sha256(run.params))), "");
  ExpectRefused(run, g_space->contract, absl::StatusCode::kPermissionDenied,
                "product bureau-credit-scores is classified level 3: operation 'query' exports "
                "raw rows, which is never allowed at level 3 or above");

  // The ledger: no contract may grant it ...
  auto bank = Client("bank", g_space->bank->address());
  ASSERT_NE(bank, nullptr);
  tds::Terms terms = BureauTerms();
  terms.add_operations("query");
  auto id = bank->RequestContract(kBureauProduct, terms);
  ASSERT_FALSE(id.ok());
  EXPECT_THAT(std::string(id.status().message()),
              HasSubstr("terms.operations: 'query' releases rows and product bureau-credit-scores "
                        "is level 3 (levels 3-5 allow only MPC and enclave operations)"));
  // ... and no level-3 product may offer it.
  tds::Product product = LoadYaml<tds::Product>(Sample("products/bureau-credit-scores.yaml"));
  product.set_id("bureau-raw-export");
  product.add_operations("query");
  auto prov = sdk::LedgerClient::Connect(Options(g_space->bureau->address()));
  ASSERT_TRUE(prov.ok());
  const sdk::TxBody tx = sdk::PublishProduct(product);
  auto published = (*prov)->Submit(
      sdk::BuildTransaction(*Key("credit-bureau"), "credit-bureau", tx.type, tx.body));
  ASSERT_FALSE(published.ok());
  EXPECT_THAT(std::string(published.status().message()),
              HasSubstr("'query' releases raw rows (export) and is forbidden at level 3 and "
                        "above"));
}

}  // namespace
}  // namespace tds::testing
