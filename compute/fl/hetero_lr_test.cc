#include "compute/fl/hetero_lr.h"

#include <gtest/gtest.h>

#include <cmath>
#include <thread>

#include "compute/fl/dataset.h"
#include "compute/fl/test_key.h"

namespace tds::compute::fl {
namespace {

// Federated weights equal the plaintext Taylor-LR weights up to fixed-point rounding (2^-16 on
// u_B, the residuals and the features); this bound has ~10x margin on the runs below.
constexpr double kWeightTolerance = 1e-3;

const PaillierPrivateKey& Key() { return TestKey(); }

HeteroLrOptions TestOptions() {
  HeteroLrOptions o;
  o.min_key_bits = 1024;
  o.epochs = 3;
  o.batch_size = 64;
  o.learning_rate = 0.15;
  return o;
}

struct Parties {
  absl::StatusOr<LrWeights> guest = absl::UnknownError("not run");
  absl::StatusOr<LrWeights> host = absl::UnknownError("not run");
  absl::Status arbiter;
};

// The three parties on threads over in-memory links.
Parties Train(const HeteroLrOptions& go, const HeteroLrOptions& ho, const Matrix& xa,
              const std::vector<int>& y, const Matrix& xb) {
  auto [gh, hg] = MemoryLinkPair();
  auto [ga, ag] = MemoryLinkPair();
  auto [ha, ah] = MemoryLinkPair();
  WorkerPool wg(1), wh(1), wa(1);
  Parties r;
  std::thread arbiter([&] { r.arbiter = RunHeteroLrArbiter(Key(), *ag, *ah, wa); });
  std::thread host([&] {
    r.host = RunHeteroLrHost(ho, xb, *hg, *ha, wh);
    if (!r.host.ok()) hg->Close(), ha->Close();
  });
  r.guest = RunHeteroLrGuest(go, xa, y, *gh, *ga, wg);
  if (!r.guest.ok()) gh->Close(), ga->Close();
  host.join();
  arbiter.join();
  return r;
}

void ExpectMatchesPlain(const Parties& r, const LrWeights& plain, size_t fa) {
  ASSERT_TRUE(r.guest.ok()) << r.guest.status();
  ASSERT_TRUE(r.host.ok()) << r.host.status();
  ASSERT_TRUE(r.arbiter.ok()) << r.arbiter;
  EXPECT_NEAR(r.guest->bias, plain.bias, kWeightTolerance);
  for (size_t j = 0; j < r.guest->w.size(); ++j) {
    EXPECT_NEAR(r.guest->w[j], plain.w[j], kWeightTolerance) << "guest w" << j;
  }
  for (size_t j = 0; j < r.host->w.size(); ++j) {
    EXPECT_NEAR(r.host->w[j], plain.w[fa + j], kWeightTolerance) << "host w" << j;
  }
}

TEST(HeteroLrTest, SyntheticFederatedMatchesPlaintextTaylor) {
  LabeledData d = SyntheticLogistic(300, 7, 11);
  Matrix xa = d.x.Slice({}, 0, 3), xb = d.x.Slice({}, 3, 7);
  HeteroLrOptions o = TestOptions();
  Parties r = Train(o, o, xa, d.y, xb);
  LrWeights plain = TrainPlainLr(o, d.x, d.y, /*taylor=*/true);
  ExpectMatchesPlain(r, plain, 3);
  // The model learnt something: weights moved away from zero.
  double norm = 0;
  for (double w : plain.w) norm += w * w;
  EXPECT_GT(norm, 0.01);
}

TEST(HeteroLrTest, BreastCancerJointAucWithinTwoHundredthsOfPlaintext) {
  auto data = LoadBreastCancer();
  ASSERT_TRUE(data.ok()) << data.status() << " -- this test needs the data set; it does not skip";
  ASSERT_EQ(data->x.rows, 569u);
  ASSERT_EQ(data->x.cols, 30u);
  std::vector<size_t> train, test;
  TrainTestSplit(569, 0.7, 2024, &train, &test);
  Matrix xtr = data->x.Slice(train, 0, 30), xte = data->x.Slice(test, 0, 30);
  Standardize(&xtr, &xte);
  std::vector<int> ytr, yte;
  for (size_t i : train) ytr.push_back(data->y[i]);
  for (size_t i : test) yte.push_back(data->y[i]);
  Matrix atr = xtr.Slice({}, 0, 10), btr = xtr.Slice({}, 10, 30);
  Matrix ate = xte.Slice({}, 0, 10), bte = xte.Slice({}, 10, 30);

  HeteroLrOptions o = TestOptions();
  o.epochs = 5;
  Parties r = Train(o, o, atr, ytr, btr);
  LrWeights taylor = TrainPlainLr(o, xtr, ytr, /*taylor=*/true);
  ExpectMatchesPlain(r, taylor, 10);
  ASSERT_TRUE(r.guest.ok() && r.host.ok());

  // Joint scoring of the held-out rows through the scoring exchange.
  auto [gl, hl] = MemoryLinkPair();
  absl::Status host_status;
  std::thread host([&] { host_status = ScoreLrHost(*r.host, bte, *hl); });
  auto scores = ScoreLrGuest(*r.guest, ate, *gl);
  host.join();
  ASSERT_TRUE(host_status.ok()) << host_status;
  ASSERT_TRUE(scores.ok()) << scores.status();
  const double auc_joint = Auc(*scores, yte);

  LrWeights plain = TrainPlainLr(o, xtr, ytr, /*taylor=*/false);
  const double auc_plain = Auc(PartialScores(plain, xte), yte);
  HeteroLrOptions bank_o = o;
  LrWeights bank = TrainPlainLr(bank_o, atr, ytr, /*taylor=*/false);
  const double auc_bank = Auc(PartialScores(bank, ate), yte);
  std::printf("breast-cancer test split: auc_joint=%.4f auc_plain=%.4f auc_bank=%.4f\n", auc_joint,
              auc_plain, auc_bank);
  EXPECT_NEAR(auc_joint, auc_plain, 0.02);
  EXPECT_GT(auc_joint, 0.95);
}

TEST(HeteroLrTest, OptionMismatchIsRefused) {
  LabeledData d = SyntheticLogistic(50, 4, 3);
  Matrix xa = d.x.Slice({}, 0, 2), xb = d.x.Slice({}, 2, 4);
  HeteroLrOptions go = TestOptions(), ho = TestOptions();
  ho.batch_size = 32;
  Parties r = Train(go, ho, xa, d.y, xb);
  ASSERT_FALSE(r.guest.ok());
  EXPECT_EQ(r.guest.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(std::string(r.guest.status().message()).find("disagree"), std::string::npos);
  EXPECT_FALSE(r.host.ok());
}

TEST(HeteroLrTest, ShortKeyIsRefused) {
  LabeledData d = SyntheticLogistic(50, 4, 3);
  Matrix xa = d.x.Slice({}, 0, 2), xb = d.x.Slice({}, 2, 4);
  HeteroLrOptions o = TestOptions();
  o.min_key_bits = 2048;
  Parties r = Train(o, o, xa, d.y, xb);
  ASSERT_FALSE(r.guest.ok());
  EXPECT_EQ(r.guest.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(std::string(r.guest.status().message()).find("1024 bits"), std::string::npos);
}

// A dishonest host sends ciphertexts that are not units (all zero): the guest refuses them.
TEST(HeteroLrTest, MalformedForwardCiphertextIsRefused) {
  LabeledData d = SyntheticLogistic(40, 2, 5);
  HeteroLrOptions o = TestOptions();
  o.batch_size = 40;
  auto [gh, hg] = MemoryLinkPair();
  auto [ga, ag] = MemoryLinkPair();
  auto [ha, ah] = MemoryLinkPair();
  WorkerPool wg(1), wa(1);
  absl::Status arbiter_status;
  std::thread arbiter([&] { arbiter_status = RunHeteroLrArbiter(Key(), *ag, *ah, wa); });
  std::thread fake_host([&] {
    auto pk = ha->Recv();
    auto hello = hg->Recv();  // echo the guest's hello so the handshake passes
    if (!pk.ok() || !hello.ok() || !hg->Send(*hello).ok()) return;
    std::string fwd(1, '\x03');
    fwd += std::string("\x00\x00\x00\x28", 4);  // 40 elements
    fwd += std::string(40 * Key().public_key().ciphertext_bytes(), '\0');
    (void)hg->Send(fwd);
    (void)hg->Recv();  // until the guest gives up
    ha->Close();
  });
  auto guest = RunHeteroLrGuest(o, d.x.Slice({}, 0, 1), d.y, *gh, *ga, wg);
  gh->Close();
  ga->Close();
  fake_host.join();
  arbiter.join();
  ASSERT_FALSE(guest.ok());
  EXPECT_EQ(guest.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(guest.status().message()).find("not a unit"), std::string::npos)
      << guest.status();
}

TEST(HeteroLrTest, ScoringRefusesRowCountMismatch) {
  LrWeights a{{1.0, -1.0}, 0.5}, b{{2.0}, 0.0};
  Matrix xa(3, 2), xb(4, 1);
  auto [gl, hl] = MemoryLinkPair();
  ASSERT_TRUE(ScoreLrHost(b, xb, *hl).ok());
  auto s = ScoreLrGuest(a, xa, *gl);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(std::string(s.status().message()).find("4 elements, expected 3"), std::string::npos)
      << s.status();
}

TEST(HeteroLrTest, ScoringCombinesPartialScores) {
  LrWeights a{{1.0, -1.0}, 0.5}, b{{2.0}, 0.0};
  Matrix xa(2, 2), xb(2, 1);
  xa.data = {1, 2, 0, 0};
  xb.data = {0.25, -1};
  auto [gl, hl] = MemoryLinkPair();
  ASSERT_TRUE(ScoreLrHost(b, xb, *hl).ok());
  auto s = ScoreLrGuest(a, xa, *gl);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_NEAR((*s)[0], Sigmoid(0.5 + 1 - 2 + 0.5), 1e-12);
  EXPECT_NEAR((*s)[1], Sigmoid(0.5 - 2), 1e-12);
}

TEST(DatasetTest, MissingFileFailsClearly) {
  auto d = LoadBreastCancer("/nonexistent/breast_cancer.csv");
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(std::string(d.status().message()).find("python3-sklearn"), std::string::npos);
}

TEST(DatasetTest, AucCountsTiesHalf) {
  EXPECT_DOUBLE_EQ(Auc({0.1, 0.4, 0.35, 0.8}, {0, 0, 1, 1}), 0.75);
  EXPECT_DOUBLE_EQ(Auc({0.5, 0.5}, {0, 1}), 0.5);
  EXPECT_DOUBLE_EQ(Auc({1, 2, 3}, {1, 1, 1}), 0.5);
}

}  // namespace
}  // namespace tds::compute::fl
