// The joint operations through the metered gateway, end to end in process: the SDK's consumer
// side (sdk/joint_client.h) against the provider's gateway over a loopback gRPC stream.
//   joint_stats  two-party secret-shared statistics over the PSI-aligned rows
//   lr_train     vertical logistic regression, each side keeping its half of the model
//   lr_score     joint scores with such a model, metered per customer asked

#include <cmath>

#include "compute/fl/hetero_lr.h"
#include "node/gateway/gateway_test.h"
#include "node/gateway/model_store.h"
#include "sdk/joint_client.h"

namespace tds::node::gateway {
namespace {

constexpr char kC[] = "c-joint";
constexpr uint32_t kK = 5;
constexpr int kKeyBits = 1024;  // tests; production is 2048

// Provider row i (id-i, i < 100): income 1000 i + 0.25, age 20 + i % 50 (ProviderCsv).
double Income(int i) { return 1000.0 * i + 0.25; }
double Age(int i) { return 20 + i % 50; }
// The bank's label of id-i and its own two features.
uint8_t Label(int i) { return (i * 7 + i / 3) % 5 < 2 ? 1 : 0; }
double BankFeature(int i, int j) { return j == 0 ? std::sin(i * 0.7) : (i % 7) - 3.0; }

class JointGatewayTest : public GatewayTest {
 protected:
  void SetUp() override {
    GatewayTest::SetUp();
    GatewayOptions options;
    options.lr_key_bits = kKeyBits;
    options.model_dir = dir_.Sub("node");
    StartGateway(std::move(options));
  }

  tds::Terms JointTerms(tds::MeteringMode mode = tds::METERING_STRICT,
                        const std::string& output = "both") {
    tds::Terms t = BaseTerms(mode, output);
    t.clear_operations();
    for (const char* op : {"joint_stats", "lr_train", "lr_score"}) t.add_operations(op);
    t.set_min_group_size(kK);
    return t;
  }

  sdk::JointCall Call(const std::string& contract = kC) {
    sdk::JointCall call;
    call.channel = channel_;
    call.timeout_ms = 60'000;
    bank_key_ = KeyFromByte(kBank.key);
    call.key = bank_key_.get();
    call.consumer_id = kBank.id;
    call.contract_id = contract;
    call.purpose = "credit_risk";
    return call;
  }

  // Labels for ConsumerIds() (id-50..id-149).
  static std::vector<uint8_t> Labels() {
    std::vector<uint8_t> y;
    for (int i = 50; i < 150; ++i) y.push_back(Label(i));
    return y;
  }

  static tds::JointStatSpec Spec(const std::string& kind, const std::string& column,
                                 std::vector<double> bounds = {}, uint32_t quantiles = 0) {
    tds::JointStatSpec s;
    s.set_kind(kind);
    s.set_column(column);
    for (double b : bounds) s.add_bounds(b);
    s.set_quantiles(quantiles);
    return s;
  }

  std::unique_ptr<SigningKey> bank_key_;
};

TEST_F(JointGatewayTest, JointStatsOverTheAlignedRowsMatchPlaintextAndAreMeteredOnce) {
  SeedContract(kC, JointTerms());
  tds::JointStatsParams params;
  *params.add_stats() = Spec("count", "");
  *params.add_stats() = Spec("mean", "income");
  *params.add_stats() = Spec("variance", "age");
  *params.add_stats() = Spec("woe_iv", "income", {70000.25});
  auto run = sdk::RunJointStats(Call(), ConsumerIds(), Labels(), {}, params, kK);
  ASSERT_TRUE(run.ok()) << run.status();

  // Plaintext over the matched ids id-50..id-99.
  double sum_income = 0, sum_age = 0, sum_age2 = 0;
  uint64_t low_rows = 0, low_events = 0, events = 0;
  for (int i = 50; i < 100; ++i) {
    sum_income += Income(i);
    sum_age += Age(i);
    sum_age2 += Age(i) * Age(i);
    events += Label(i);
    if (Income(i) <= 70000.25) {
      ++low_rows;
      low_events += Label(i);
    }
  }
  const auto& s = run->stats.stats;
  ASSERT_EQ(s.size(), 4u);
  EXPECT_EQ(run->info.aligned_rows, 50u);
  EXPECT_EQ(s[0].value.value_or(-1), 50.0);
  EXPECT_NEAR(s[1].value.value_or(-1), sum_income / 50, 1e-4);
  EXPECT_NEAR(s[2].value.value_or(-1), sum_age2 / 50 - (sum_age / 50) * (sum_age / 50), 1e-6);
  ASSERT_EQ(s[3].bucket_rows.size(), 2u);
  EXPECT_EQ(s[3].bucket_rows[0], low_rows);
  EXPECT_EQ(s[3].bucket_events[0], low_events);
  EXPECT_EQ(s[3].bucket_events[0] + s[3].bucket_events[1], events);
  EXPECT_TRUE(s[3].iv.has_value());

  // Metered once, strict: the record committed before anything left, with its receipt.
  const tds::ComputeResult& result = run->info.result;
  EXPECT_TRUE(result.has_receipt());
  EXPECT_TRUE(ledger::VerifyReceipt(result.receipt(), ledger_->genesis()).ok());
  EXPECT_EQ(Counters(kC).calls_total(), 1u);
  EXPECT_GE(result.min_group_rows(), kK);
}

TEST_F(JointGatewayTest, AGroupBelowTheContractsKReleasesNothing) {
  SeedContract(kC, JointTerms());
  tds::JointStatsParams params;
  *params.add_stats() = Spec("mean", "income");
  params.set_selection(true);
  std::vector<uint8_t> selection(ConsumerIds().size(), 0);
  selection[0] = selection[1] = selection[2] = 1;  // three matched rows: fewer than k = 5
  auto run = sdk::RunJointStats(Call(), ConsumerIds(), {}, selection, params, kK);
  ASSERT_FALSE(run.ok());
  EXPECT_EQ(run.status().code(), absl::StatusCode::kFailedPrecondition) << run.status();
  EXPECT_THAT(std::string(run.status().message()), HasSubstr("fewer than 5 rows"));
  // The PSI alignment was used: the call counts.
  EXPECT_EQ(Counters(kC).calls_total(), 1u);
}

TEST_F(JointGatewayTest, JointRefusalsNameWhatFailedAndReadNothing) {
  SeedContract(kC, JointTerms());
  SeedContract("c-consumer-only", JointTerms(tds::METERING_STRICT, "consumer_only"));
  const int scans = Scans();
  tds::JointStatsParams params;
  *params.add_stats() = Spec("mean", "region");  // a string column
  auto text = sdk::RunJointStats(Call(), ConsumerIds(), {}, {}, params, kK);
  EXPECT_THAT(std::string(text.status().message()), HasSubstr("needs int64 or double"));

  params.clear_stats();
  *params.add_stats() = Spec("mean", "income");
  auto output = sdk::RunJointStats(Call("c-consumer-only"), ConsumerIds(), {}, {}, params, kK);
  EXPECT_EQ(output.status().code(), absl::StatusCode::kPermissionDenied) << output.status();
  EXPECT_THAT(std::string(output.status().message()), HasSubstr("grants 'consumer_only'"));

  tds::LrModelHalf unknown;
  unknown.set_contract_id(kC);
  unknown.set_model_id("m-00000000000000000000000000000000");
  compute::fl::Matrix x(ConsumerIds().size(), 0);
  auto score = sdk::ScoreLr(Call(), unknown, ConsumerIds(), x, tds::PsiParams());
  EXPECT_EQ(score.status().code(), absl::StatusCode::kNotFound) << score.status();
  EXPECT_THAT(std::string(score.status().message()), HasSubstr("no model"));

  EXPECT_EQ(Scans(), scans) << "refused runs read data";
  EXPECT_EQ(Counters(kC).calls_total(), 0u);

  // Another k than the contract's: both sides must run identical options. It passes the gate
  // (the node cannot know the consumer's k), so it reads data and counts; the protocol refuses.
  auto k = sdk::RunJointStats(Call(), ConsumerIds(), {}, {}, params, kK + 1);
  EXPECT_FALSE(k.ok());
  EXPECT_EQ(Counters(kC).calls_total(), 1u);
}

TEST_F(JointGatewayTest, TrainedHalvesScoreJointlyAndScoringIsMeteredPerCustomer) {
  SeedContract(kC, JointTerms(tds::METERING_STRICT));
  const std::vector<std::string> ids = ConsumerIds();
  compute::fl::Matrix x(ids.size(), 2);
  std::vector<int> y;
  for (size_t r = 0; r < ids.size(); ++r) {
    const int i = 50 + static_cast<int>(r);
    x.row(r)[0] = BankFeature(i, 0);
    x.row(r)[1] = BankFeature(i, 1);
    y.push_back(Label(i));
  }
  tds::LrTrainParams params;
  params.set_epochs(2);
  params.set_batch_size(16);
  auto trained = sdk::TrainLr(Call(), {"income", "age"}, ids, {"f0", "f1"}, x, y, params, kKeyBits);
  ASSERT_TRUE(trained.ok()) << trained.status();
  const tds::LrModelHalf& bank = trained->model;
  ASSERT_FALSE(bank.model_id().empty());
  EXPECT_EQ(bank.trained_rows(), 50u);
  EXPECT_EQ(bank.weights_size(), 2);

  // The provider's half stays on its node.
  auto host = ModelStore(dir_.Sub("node")).Load(kC, bank.model_id());
  ASSERT_TRUE(host.ok()) << host.status();
  EXPECT_EQ(host->weights_size(), 2);
  EXPECT_EQ(host->trained_rows(), 50u);
  EXPECT_EQ(Counters(kC).calls_total(), 1u);

  auto scored = sdk::ScoreLr(Call(), bank, ids, x, tds::PsiParams());
  ASSERT_TRUE(scored.ok()) << scored.status();
  for (size_t r = 0; r < ids.size(); ++r) {
    const int i = 50 + static_cast<int>(r);
    EXPECT_EQ(scored->matched[r], i < 100) << ids[r];
    if (i >= 100) continue;
    double z = bank.bias();
    for (int j = 0; j < 2; ++j) {
      z += bank.weights(j) * (x.row(r)[j] - bank.means(j)) / bank.scales(j);
    }
    const double provider[] = {Income(i), Age(i)};
    for (int j = 0; j < 2; ++j) {
      z += host->weights(j) * (provider[j] - host->means(j)) / host->scales(j);
    }
    EXPECT_NEAR(scored->scores[r], compute::fl::Sigmoid(z), 1e-9) << ids[r];
  }
  // Metered per customer asked, as the contract prices lr_score.
  EXPECT_EQ(scored->info.result.measurement().rows_out(), ids.size());
  EXPECT_EQ(Counters(kC).calls_total(), 2u);

  // Another contract cannot score with it.
  SeedContract("c-other", JointTerms(tds::METERING_STRICT));
  tds::LrModelHalf moved = bank;
  moved.set_contract_id("c-other");
  auto other = sdk::ScoreLr(Call("c-other"), moved, ids, x, tds::PsiParams());
  EXPECT_EQ(other.status().code(), absl::StatusCode::kNotFound) << other.status();
}

}  // namespace
}  // namespace tds::node::gateway
