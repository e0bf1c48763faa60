#include "compute/fl/hetero_lr.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <thread>

#include "common/bytes.h"
#include "compute/fl/dataset.h"
#include "compute/fl/test_key.h"

namespace tds::compute::fl {
namespace {

// Federated weights equal the plaintext Taylor-LR weights up to fixed-point rounding (2^-16 on
// u_B, the residuals and the features); this bound has ~10x margin on the runs below.
constexpr double kWeightTolerance = 1e-3;

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
  HeteroLrStats guest_stats, host_stats;
};

// Both parties on threads over an in-memory link, each with its own test key (or the given
// ones), the link queueing at most `max_queued_bytes` towards each party.
Parties Train(const HeteroLrOptions& go, const HeteroLrOptions& ho, const Matrix& xa,
              const std::vector<int>& y, const Matrix& xb,
              const PaillierPrivateKey& guest_key = TestKey(0),
              const PaillierPrivateKey& host_key = TestKey(1), size_t max_queued_bytes = 64 << 20) {
  auto [gh, hg] = MemoryLinkPair(max_queued_bytes);
  WorkerPool wg(1), wh(1);
  Parties r;
  std::thread host([&] {
    r.host = RunHeteroLrHost(ho, xb, host_key, *hg, wh, &r.host_stats);
    if (!r.host.ok()) hg->Close();
  });
  r.guest = RunHeteroLrGuest(go, xa, y, guest_key, *gh, wg, &r.guest_stats);
  if (!r.guest.ok()) gh->Close();
  host.join();
  return r;
}

void ExpectMatchesPlain(const Parties& r, const LrWeights& plain, size_t fa) {
  ASSERT_TRUE(r.guest.ok()) << r.guest.status();
  ASSERT_TRUE(r.host.ok()) << r.host.status();
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
  // Stats: every row of every epoch, all randomness precomputed, traffic counted both ways
  // (per row one 256-byte ciphertext each way at least).
  EXPECT_EQ(r.guest_stats.rows_processed, 3u * 300u);
  EXPECT_EQ(r.host_stats.rows_processed, 3u * 300u);
  EXPECT_EQ(r.guest_stats.randomness_misses, 0u);
  EXPECT_EQ(r.host_stats.randomness_misses, 0u);
  EXPECT_GT(r.guest_stats.bytes_sent, 3u * 300u * 256u);
  EXPECT_EQ(r.guest_stats.bytes_sent, r.host_stats.bytes_received);
  EXPECT_EQ(r.host_stats.bytes_sent, r.guest_stats.bytes_received);
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

// A batch larger than one message's chunk (1024 ciphertexts) over a link that lets a party
// queue only one message towards the other: both parties send their share at once, so this
// completes only because each reads the peer's chunks while sending its own.
TEST(HeteroLrTest, MultiChunkMessagesOverATinyBufferDoNotDeadlock) {
  LabeledData d = SyntheticLogistic(1100, 3, 9);
  Matrix xa = d.x.Slice({}, 0, 1), xb = d.x.Slice({}, 1, 3);
  HeteroLrOptions o = TestOptions();
  o.epochs = 1;
  o.batch_size = 1100;
  Parties r = Train(o, o, xa, d.y, xb, TestKey(0), TestKey(1), /*max_queued_bytes=*/1);
  ExpectMatchesPlain(r, TrainPlainLr(o, d.x, d.y, /*taylor=*/true), 1);
  // Two share chunks and one chunk each for the masked and decrypted gradients per party.
  EXPECT_GT(r.guest_stats.bytes_sent, 1100u * 256u);
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

TEST(HeteroLrTest, ShortPeerKeyIsRefused) {
  LabeledData d = SyntheticLogistic(50, 4, 3);
  Matrix xa = d.x.Slice({}, 0, 2), xb = d.x.Slice({}, 2, 4);
  HeteroLrOptions go = TestOptions();
  go.min_key_bits = 2048;  // the guest wants more than the host's 1024-bit key
  Parties r = Train(go, TestOptions(), xa, d.y, xb);
  ASSERT_FALSE(r.guest.ok());
  EXPECT_EQ(r.guest.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(std::string(r.guest.status().message()).find("peer key has 1024 bits, need >= 2048"),
            std::string::npos)
      << r.guest.status();
  EXPECT_FALSE(r.host.ok());
}

TEST(HeteroLrTest, OwnKeyFromPeerIsRefused) {
  LabeledData d = SyntheticLogistic(50, 4, 3);
  Matrix xa = d.x.Slice({}, 0, 2), xb = d.x.Slice({}, 2, 4);
  Parties r = Train(TestOptions(), TestOptions(), xa, d.y, xb, TestKey(0), TestKey(0));
  ASSERT_FALSE(r.guest.ok());
  EXPECT_NE(std::string(r.guest.status().message()).find("own public key"), std::string::npos)
      << r.guest.status();
}

// A fake host: answers the guest's hello with `hello` (built by the test), then sends `next`
// and reads until the guest gives up. Returns the guest's result.
absl::StatusOr<LrWeights> GuestAgainstFakeHost(const std::function<std::string(std::string)>& hello,
                                               const std::string& next) {
  LabeledData d = SyntheticLogistic(40, 2, 5);
  HeteroLrOptions o = TestOptions();
  o.batch_size = 40;
  auto [gh, hg] = MemoryLinkPair();
  WorkerPool wg(1);
  std::thread fake_host([&, hg = hg.get()] {
    auto guest_hello = hg->Recv();
    if (!guest_hello.ok() || !hg->Send(hello(*guest_hello)).ok()) return;
    if (!next.empty() && !hg->Send(next).ok()) return;
    while (hg->Recv().ok()) {
    }
  });
  auto guest = RunHeteroLrGuest(o, d.x.Slice({}, 0, 1), d.y, TestKey(0), *gh, wg);
  gh->Close();
  fake_host.join();
  return guest;
}

// The host's hello: the guest's own with the host's key and term count in place of its own.
std::string HostHello(const std::string& guest_hello, const std::string& key) {
  std::string h(1, '\x02');
  h += std::string("\x00\x00\x00\x01", 4);  // one gradient term
  PutFixed32BE(&h, static_cast<uint32_t>(key.size()));
  h += key;
  const uint32_t guest_key_len = DecodeFixed32BE(guest_hello.data() + 5);
  h += guest_hello.substr(9 + guest_key_len);  // the options fingerprint
  return h;
}

// A host share of 40 ciphertexts, each `element` (wrong sizes allowed).
std::string HostShare(const std::string& element, uint32_t count = 40) {
  std::string m(1, '\x03');
  PutFixed32BE(&m, count);
  for (uint32_t i = 0; i < count; ++i) m += element;
  return m;
}

void ExpectRefused(const absl::StatusOr<LrWeights>& guest, const std::string& why) {
  ASSERT_FALSE(guest.ok()) << why;
  EXPECT_EQ(guest.status().code(), absl::StatusCode::kInvalidArgument) << guest.status();
  EXPECT_NE(std::string(guest.status().message()).find(why), std::string::npos) << guest.status();
}

TEST(HeteroLrTest, MalformedPeerCiphertextsAreRefused) {
  const PaillierPublicKey& host_pk = TestKey(1).public_key();
  auto hello = [&](std::string g) { return HostHello(g, host_pk.Serialize()); };
  const size_t w = host_pk.ciphertext_bytes();
  // Not units: all zero, and a multiple of n.
  ExpectRefused(GuestAgainstFakeHost(hello, HostShare(std::string(w, '\0'))), "not a unit");
  std::string nn(w, '\0');
  BN_bn2binpad(host_pk.n(), reinterpret_cast<unsigned char*>(nn.data()), static_cast<int>(w));
  ExpectRefused(GuestAgainstFakeHost(hello, HostShare(nn)), "not a unit");
  // >= n^2.
  ExpectRefused(GuestAgainstFakeHost(hello, HostShare(std::string(w, '\xff'))), ">= n^2");
  // Wrong element length (one byte short each), wrong count.
  BnCtx ctx = NewBnCtx();
  const std::string good = host_pk.SerializeCiphertext(host_pk.EncryptWith(
      host_pk.ToPlaintext(1).get(), host_pk.FreshRandomness(ctx.get()).get(), ctx.get()));
  ExpectRefused(GuestAgainstFakeHost(hello, HostShare(good.substr(1))), "bytes, expected");
  ExpectRefused(GuestAgainstFakeHost(hello, HostShare(good, 39)), "39 elements, expected 40");
}

TEST(HeteroLrTest, MalformedPeerKeyIsRefused) {
  const std::string key = TestKey(1).public_key().Serialize();
  // Truncated key (the length header still claims 1024 bits).
  ExpectRefused(
      GuestAgainstFakeHost([&](std::string g) { return HostHello(g, key.substr(0, 100)); }, ""),
      "peer public key");
  // An even modulus.
  std::string even = key;
  even.back() = static_cast<char>(even.back() & ~1);
  ExpectRefused(GuestAgainstFakeHost([&](std::string g) { return HostHello(g, even); }, ""),
                "modulus is even");
  // A key length beyond the message.
  ExpectRefused(GuestAgainstFakeHost(
                    [&](std::string g) {
                      std::string h = HostHello(g, key);
                      h[5] = '\x7f';
                      return h;
                    },
                    ""),
                "-byte key in");
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
