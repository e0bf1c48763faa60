// lr_bench: two-party vertical federated LR (compute/fl/hetero_lr.h), 2048-bit Paillier keys,
// guest and host in this process (two threads, one WorkerPool each) over a real loopback TCP
// socket (SocketLink).
//
//   deploy/bench.sh lr [ROWS] [--batch B] [--workers W]
//
// 1. Breast-cancer split (bank 10 features + labels, provider 20; 70/30 split, 5 epochs,
//    batch 64): joint, plaintext and bank-only AUC on the held-out 30%.
// 2. Synthetic 100,000 rows x (20 + 20) features, one epoch of ROWS rows (default all 100,000;
//    fewer rows are extrapolated linearly to the full epoch and the output says so: every row
//    costs the same work and traffic). Offline = the r^n precomputation, online = the batches.
//    Traffic = both directions of the link (message payloads).
// 3. Joint scoring (ScoreLrGuest/Host) of the 100,000 synthetic rows over the socket.
// Last line:
//   lr rows=<N> epoch_s=<online s> offline_s=<s> mb_per_epoch=<MB> score_rows_per_s=<r/s>
//      auc_joint=.. auc_plain=.. auc_bank=.. measured_rows=<rows run> batch=<B> cpu_s=<s>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>

#include "bench/compute_bench_util.h"
#include "compute/fl/dataset.h"
#include "compute/fl/hetero_lr.h"

namespace tds::compute::fl {
namespace {

namespace compute_bench = ::tds::compute_bench;
using compute_bench::Clock;
using compute_bench::Die;

std::string LoadAverage() {
  std::ifstream f("/proc/loadavg");
  std::string a, b, c;
  f >> a >> b >> c;
  return a + " " + b + " " + c;
}

struct Run {
  LrWeights guest, host;
  HeteroLrStats gs, hs;
  double wall = 0, cpu = 0;
};

Run Train(const PaillierPrivateKey& guest_key, const PaillierPrivateKey& host_key,
          const HeteroLrOptions& o, const Matrix& xa, const std::vector<int>& y, const Matrix& xb,
          int workers) {
  auto [gl, hl] = compute_bench::LoopbackLinks();
  WorkerPool wg(workers), wh(workers);
  Run r;
  absl::StatusOr<LrWeights> h = absl::UnknownError("not run");
  const double cpu0 = compute_bench::CpuSeconds();
  const auto t0 = Clock::now();
  std::thread host([&, hl = hl.get()] {
    h = RunHeteroLrHost(o, xb, host_key, *hl, wh, &r.hs);
    if (!h.ok()) hl->Close();
  });
  auto g = RunHeteroLrGuest(o, xa, y, guest_key, *gl, wg, &r.gs);
  if (!g.ok()) gl->Close();
  host.join();
  r.wall = compute_bench::SecondsSince(t0);
  r.cpu = compute_bench::CpuSeconds() - cpu0;
  if (!g.ok() || !h.ok()) {
    Die("training failed: guest " + g.status().ToString() + ", host " + h.status().ToString());
  }
  r.guest = *std::move(g);
  r.host = *std::move(h);
  return r;
}

void PrintPhases(const char* who, const HeteroLrStats& s) {
  std::printf(
      "    %s: offline %.2f s | online %.2f s = encrypt %.2f + gradient %.2f + decrypt %.2f + "
      "waiting/link %.2f | sent %.1f MB\n",
      who, s.offline_seconds, s.online_seconds, s.encrypt_seconds, s.gradient_seconds,
      s.decrypt_seconds,
      s.online_seconds - s.encrypt_seconds - s.gradient_seconds - s.decrypt_seconds,
      s.bytes_sent / 1e6);
}

int Main(int argc, char** argv) {
  constexpr size_t kRows = 100000;
  uint64_t measured = kRows, batch = 4096, workers = 2;
  compute_bench::FlagReader flags(
      "lr_bench", "usage: lr_bench [ROWS (<= 100000)] [--batch B] [--workers W]\n", argc, argv);
  while (flags.Next()) {
    if (flags.Is("--batch")) {
      batch = flags.Count();
    } else if (flags.Is("--workers")) {
      workers = flags.Count();
    } else if (!flags.arg().empty() && flags.arg()[0] != '-') {
      measured = compute_bench::ParseCount("ROWS", flags.arg().c_str());
    } else {
      flags.Unknown();
    }
  }
  if (measured == 0 || measured > kRows) Die("ROWS must be in 1..100000");
  if (batch == 0 || workers == 0) Die("--batch and --workers must be positive");
  std::printf("load average at start: %s (2 cores shared)\n", LoadAverage().c_str());

  auto t = Clock::now();
  auto guest_key = PaillierPrivateKey::Generate(2048);
  auto host_key = PaillierPrivateKey::Generate(2048);
  if (!guest_key.ok() || !host_key.ok()) Die("key generation failed");
  std::printf("paillier keygen 2048-bit (with DJN tables), two keys: %.2f s\n",
              compute_bench::SecondsSince(t));

  // ---- breast cancer ----
  auto data = LoadBreastCancer();
  if (!data.ok()) Die(data.status().ToString());
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
  const Run bc = Train(*guest_key, *host_key, o, xtr.Slice({}, 0, 10), ytr, xtr.Slice({}, 10, 30),
                       static_cast<int>(workers));
  auto [sgl, shl] = compute_bench::LoopbackLinks();
  absl::Status score_host;
  std::thread bc_host(
      [&, shl = shl.get()] { score_host = ScoreLrHost(bc.host, xte.Slice({}, 10, 30), *shl); });
  auto scores = ScoreLrGuest(bc.guest, xte.Slice({}, 0, 10), *sgl);
  bc_host.join();
  if (!scores.ok() || !score_host.ok()) Die("breast-cancer scoring failed");
  const double auc_joint = Auc(*scores, yte);
  const double auc_plain = Auc(PartialScores(TrainPlainLr(o, xtr, ytr, false), xte), yte);
  const Matrix bank_tr = xtr.Slice({}, 0, 10), bank_te = xte.Slice({}, 0, 10);
  const double auc_bank = Auc(PartialScores(TrainPlainLr(o, bank_tr, ytr, false), bank_te), yte);
  std::printf(
      "breast-cancer: %zu train / %zu test rows, bank 10 + provider 20 features, %d epochs, "
      "batch %zu\n",
      train.size(), test.size(), o.epochs, o.batch_size);
  std::printf("  AUC joint (federated) %.4f | plaintext LR %.4f | bank-only LR %.4f\n", auc_joint,
              auc_plain, auc_bank);
  std::printf("  training wall %.1f s (offline %.1f s), %.1f MB\n", bc.wall,
              std::max(bc.gs.offline_seconds, bc.hs.offline_seconds),
              (bc.gs.bytes_sent + bc.hs.bytes_sent) / 1e6);

  // ---- synthetic 100,000 x (20 + 20), one epoch ----
  LabeledData syn = SyntheticLogistic(kRows, 40, 7);
  Matrix sa = syn.x.Slice({}, 0, 20), sb = syn.x.Slice({}, 20, 40);
  HeteroLrOptions so;
  so.epochs = 1;
  so.batch_size = batch;
  so.max_rows_per_epoch = measured < kRows ? measured : 0;
  const Run sr = Train(*guest_key, *host_key, so, sa, syn.y, sb, static_cast<int>(workers));
  const double scale = static_cast<double>(kRows) / static_cast<double>(sr.gs.rows_processed);
  const double online = std::max(sr.gs.online_seconds, sr.hs.online_seconds) * scale;
  const double offline = std::max(sr.gs.offline_seconds, sr.hs.offline_seconds) * scale;
  const double mb = static_cast<double>(sr.gs.bytes_sent + sr.hs.bytes_sent) * scale / 1e6;
  std::printf(
      "synthetic: %zu rows x (20 + 20) features, batch %llu, %llu workers per party; "
      "%llu rows run%s\n",
      kRows, static_cast<unsigned long long>(batch), static_cast<unsigned long long>(workers),
      static_cast<unsigned long long>(sr.gs.rows_processed),
      scale > 1 ? " (figures EXTRAPOLATED to the full epoch)" : " (a full epoch, measured)");
  PrintPhases("guest", sr.gs);
  PrintPhases("host ", sr.hs);
  std::printf("  per epoch: offline %.1f s + online %.1f s; %.1f MB; wall %.1f s, CPU %.1f s%s\n",
              offline, online, mb, sr.wall * scale, sr.cpu * scale,
              scale > 1 ? " (extrapolated)" : "");

  // ---- scoring ----
  auto [gl, hl] = compute_bench::LoopbackLinks();
  t = Clock::now();
  absl::Status hs;
  std::thread host([&, hl = hl.get()] { hs = ScoreLrHost(sr.host, sb, *hl); });
  auto s = ScoreLrGuest(sr.guest, sa, *gl);
  host.join();
  const double score_s = compute_bench::SecondsSince(t);
  if (!s.ok() || !hs.ok()) Die("scoring failed");
  std::printf("scoring over loopback TCP: %zu rows in %.3f s = %.0f rows/s, %.1f MB\n", kRows,
              score_s, kRows / score_s, hl->bytes_sent() / 1e6);
  std::printf("load average at end: %s\n", LoadAverage().c_str());
  std::printf(
      "lr rows=%zu epoch_s=%.1f offline_s=%.1f mb_per_epoch=%.1f score_rows_per_s=%.0f "
      "auc_joint=%.4f auc_plain=%.4f auc_bank=%.4f measured_rows=%llu batch=%llu cpu_s=%.1f\n",
      kRows, online, offline, mb, kRows / score_s, auc_joint, auc_plain, auc_bank,
      static_cast<unsigned long long>(sr.gs.rows_processed), static_cast<unsigned long long>(batch),
      sr.cpu * scale);
  return 0;
}

}  // namespace
}  // namespace tds::compute::fl

int main(int argc, char** argv) { return tds::compute::fl::Main(argc, argv); }
