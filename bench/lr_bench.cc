// deploy/bench.sh lr [SYNTH_ROWS_MEASURED]: vertical federated LR (Paillier, 2048-bit keys).
// 1. Breast-cancer split (bank 10 features + labels, provider 20): joint, plaintext and
//    bank-only AUC on the held-out 30%.
// 2. Synthetic 100,000 rows x (20 + 20) features: a measured fraction of an epoch (default
//    2,000 rows; all three parties share this machine's cores), extrapolated to a full epoch.
//    Online time and bytes scale linearly in rows (every row costs the same work and traffic);
//    the r^n precomputation ("offline") is reported separately.
// 3. Joint scoring throughput over the 100,000 synthetic rows.

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "compute/fl/dataset.h"
#include "compute/fl/hetero_lr.h"
#include "compute/link.h"

using namespace tds::compute;
using namespace tds::compute::fl;

namespace {

double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

struct Result {
  LrWeights guest, host;
  HeteroLrStats gs, hs;
  uint64_t bytes = 0;  // all traffic, every link, both directions counted once
  double wall = 0;
};

Result Train(const PaillierPrivateKey& key, const HeteroLrOptions& o, const Matrix& xa,
             const std::vector<int>& y, const Matrix& xb) {
  auto [gh, hg] = MemoryLinkPair();
  auto [ga, ag] = MemoryLinkPair();
  auto [ha, ah] = MemoryLinkPair();
  WorkerPool wg(2), wh(2), wa(1);
  Result r;
  absl::Status as;
  absl::StatusOr<LrWeights> h = absl::UnknownError("");
  const double t0 = Now();
  std::thread arbiter([&] { as = RunHeteroLrArbiter(key, *ag, *ah, wa); });
  std::thread host([&] { h = RunHeteroLrHost(o, xb, *hg, *ha, wh, &r.hs); });
  auto g = RunHeteroLrGuest(o, xa, y, *gh, *ga, wg, &r.gs);
  host.join();
  arbiter.join();
  r.wall = Now() - t0;
  if (!g.ok() || !h.ok() || !as.ok()) {
    std::fprintf(stderr, "training failed: guest %s host %s arbiter %s\n",
                 g.status().ToString().c_str(), h.status().ToString().c_str(),
                 as.ToString().c_str());
    std::exit(1);
  }
  r.guest = *g;
  r.host = *h;
  r.bytes = gh->bytes_sent() + hg->bytes_sent() + ga->bytes_sent() + ag->bytes_sent() +
            ha->bytes_sent() + ah->bytes_sent();
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  const size_t measured = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 2000;
  double t = Now();
  auto key = PaillierPrivateKey::Generate(2048);
  if (!key.ok()) return 1;
  std::printf("paillier keygen 2048-bit: %.2f s\n", Now() - t);

  // ---- breast cancer ----
  auto data = LoadBreastCancer();
  if (!data.ok()) {
    std::fprintf(stderr, "%s\n", data.status().ToString().c_str());
    return 1;
  }
  std::vector<size_t> train, test;
  TrainTestSplit(data->x.rows, 0.7, 2024, &train, &test);
  Matrix xtr = data->x.Slice(train, 0, 30), xte = data->x.Slice(test, 0, 30);
  Standardize(&xtr, &xte);
  std::vector<int> ytr, yte;
  for (size_t i : train) ytr.push_back(data->y[i]);
  for (size_t i : test) yte.push_back(data->y[i]);
  HeteroLrOptions o;
  o.epochs = 5;
  o.batch_size = 64;
  Result bc = Train(*key, o, xtr.Slice({}, 0, 10), ytr, xtr.Slice({}, 10, 30));
  auto [gl, hl] = MemoryLinkPair();
  if (!ScoreLrHost(bc.host, xte.Slice({}, 10, 30), *hl).ok()) return 1;
  auto scores = ScoreLrGuest(bc.guest, xte.Slice({}, 0, 10), *gl);
  if (!scores.ok()) return 1;
  const double auc_joint = Auc(*scores, yte);
  const double auc_plain = Auc(PartialScores(TrainPlainLr(o, xtr, ytr, false), xte), yte);
  const Matrix bank_tr = xtr.Slice({}, 0, 10), bank_te = xte.Slice({}, 0, 10);
  const double auc_bank = Auc(PartialScores(TrainPlainLr(o, bank_tr, ytr, false), bank_te), yte);
  std::printf(
      "breast-cancer: %zu train / %zu test rows, bank 10 + provider 20 features, "
      "%d epochs, batch %zu\n",
      train.size(), test.size(), o.epochs, o.batch_size);
  std::printf("  AUC joint (federated) %.4f | plaintext LR %.4f | bank-only LR %.4f\n", auc_joint,
              auc_plain, auc_bank);
  std::printf("  training wall %.1f s (offline r^n %.1f s guest / %.1f s host), %.1f MB\n", bc.wall,
              bc.gs.offline_seconds, bc.hs.offline_seconds, bc.bytes / 1e6);

  // ---- synthetic 100,000 x (20 + 20) ----
  const size_t rows = 100000;
  LabeledData syn = SyntheticLogistic(rows, 40, 7);
  Matrix sa = syn.x.Slice({}, 0, 20), sb = syn.x.Slice({}, 20, 40);
  HeteroLrOptions so;
  so.epochs = 1;
  so.batch_size = 1000;
  so.max_rows_per_epoch = measured;
  Result sr = Train(*key, so, sa, syn.y, sb);
  const double scale = static_cast<double>(rows) / static_cast<double>(sr.gs.rows_processed);
  const double online = std::max(sr.gs.online_seconds, sr.hs.online_seconds);
  const double offline = std::max(sr.gs.offline_seconds, sr.hs.offline_seconds);
  const double epoch_s = online * scale;
  const double offline_epoch_s = offline * scale;
  const double mb_epoch = static_cast<double>(sr.bytes) * scale / 1e6;
  std::printf(
      "synthetic: %zu rows x (20 + 20) features, batch %zu; measured %llu rows "
      "(EXTRAPOLATED x%.0f to one epoch)\n",
      rows, so.batch_size, static_cast<unsigned long long>(sr.gs.rows_processed), scale);
  std::printf("  online: %.2f s measured -> %.1f s per epoch\n", online, epoch_s);
  std::printf(
      "  offline r^n precomputation (per party, in parallel): %.2f s measured -> %.1f s "
      "per epoch\n",
      offline, offline_epoch_s);
  std::printf("  traffic: %.1f MB measured -> %.1f MB per epoch (all links)\n", sr.bytes / 1e6,
              mb_epoch);

  // ---- scoring ----
  auto [sg, sh] = MemoryLinkPair(1 << 30);
  t = Now();
  absl::Status hs;
  std::thread host([&] { hs = ScoreLrHost(sr.host, sb, *sh); });
  auto s = ScoreLrGuest(sr.guest, sa, *sg);
  host.join();
  const double score_s = Now() - t;
  if (!s.ok() || !hs.ok()) return 1;
  std::printf("scoring: %zu rows in %.3f s = %.0f rows/s, %.1f MB\n", rows, score_s, rows / score_s,
              sh->bytes_sent() / 1e6);
  std::printf(
      "lr rows=%zu epoch_s=%.1f offline_epoch_s=%.1f mb_epoch=%.1f score_rows_s=%.0f "
      "auc_joint=%.4f auc_plain=%.4f auc_bank=%.4f extrapolated_from=%llu\n",
      rows, epoch_s, offline_epoch_s, mb_epoch, rows / score_s, auc_joint, auc_plain, auc_bank,
      static_cast<unsigned long long>(sr.gs.rows_processed));
  return 0;
}
