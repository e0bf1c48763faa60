// psi_ecdh_bench: two-party ECDH-PSI (compute/psi/ecdh_psi.h) end to end, n × n items, both
// parties in this process (two threads) connected by a real loopback TCP socket (SocketLink).
//
//   psi_ecdh_bench [--n N] [--overlap F] [--threads T] [--chunk C] [--output MODE]
//                  [--floor-ops K]
//
// Wall time runs from the start of both parties to the end of both (handshake, hashing,
// masking, shuffles, matching, I/O). The floor is the time of the protocol's own X25519
// operations, measured in the same run:
//
//   floor = 2 × (n_R + n_S) scalar multiplications × t_op / cores
//
// where t_op is the time of one crypto_scalarmult (MaskingKey::Mask, the call the protocol
// makes) on one core: K calls in blocks of 10,000, half before the run and half after it, and
// t_op the median block's mean (the machine is shared: the median ignores blocks slowed by
// other work, and before/after brackets the run); cores = min(hardware threads, worker
// threads of both parties). Peak RSS is getrusage(RUSAGE_SELF).ru_maxrss of this process, which
// holds both parties and both input sets. The intersection found is checked against the known
// overlap. Last line: "psi-ecdh n=<n> wall_s=<s> floor_s=<s> ratio=<wall/floor> peak_rss_mb=<mb>".

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "bench/compute_bench_util.h"
#include "compute/psi/ecdh_psi.h"
#include "compute/psi/x25519.h"

namespace tds::compute::psi {
namespace {

using namespace tds::compute_bench;

struct Flags {
  uint64_t n = uint64_t{1} << 20;
  double overlap = 0.5;
  int threads = 0;
  size_t chunk = EcdhPsiOptions{}.chunk_items;
  PsiOutput output = PsiOutput::kConsumerOnly;
  uint64_t floor_ops = 200'000;
};

Flags ParseFlags(int argc, char** argv) {
  Flags f;
  FlagReader flags(
      "psi_ecdh_bench",
      "usage: psi_ecdh_bench [--n N] [--overlap F] [--threads T] [--chunk C]\n"
      "                      [--output consumer-only|both|size-only] [--floor-ops K]\n",
      argc, argv);
  while (flags.Next()) {
    if (flags.Is("--n")) {
      f.n = flags.Count();
    } else if (flags.Is("--overlap")) {
      f.overlap = flags.Fraction();
    } else if (flags.Is("--threads")) {
      f.threads = static_cast<int>(flags.Count());
    } else if (flags.Is("--chunk")) {
      f.chunk = flags.Count();
    } else if (flags.Is("--floor-ops")) {
      f.floor_ops = std::max<uint64_t>(2, flags.Count());
    } else if (flags.Is("--output")) {
      f.output = flags.Output(/*size_only=*/true);
    } else {
      flags.Unknown();
    }
  }
  return f;
}

constexpr uint64_t kTimingBlock = 10'000;

// Appends to `blocks` the mean seconds per X25519 scalar multiplication on this thread of each
// block of up to kTimingBlock calls, `ops` calls in all, each input the previous output.
void TimeScalarMult(uint64_t ops, std::vector<double>& blocks) {
  MaskingKey key;
  uint8_t p[kPointBytes], q[kPointBytes];
  HashToPoint("floor", p);
  while (ops > 0) {
    const uint64_t block = std::min(ops, kTimingBlock);
    const Clock::time_point start = Clock::now();
    for (uint64_t i = 0; i < block; ++i) {
      if (!key.Mask(p, q)) Die("low-order point while timing");
      std::memcpy(p, q, kPointBytes);
    }
    blocks.push_back(SecondsSince(start) / static_cast<double>(block));
    ops -= block;
  }
}

// Whole-machine CPU time from /proc/stat (all cores, in clock ticks): {idle, total}. Lets the
// report tell cores left idle by this run from cores taken by other processes.
std::pair<double, double> MachineTicks() {
  FILE* f = std::fopen("/proc/stat", "r");
  if (f == nullptr) return {0, 0};
  unsigned long long v[8] = {};
  const int got = std::fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2],
                              &v[3], &v[4], &v[5], &v[6], &v[7]);
  std::fclose(f);
  if (got < 5) return {0, 0};
  double total = 0;
  for (unsigned long long x : v) total += static_cast<double>(x);
  return {static_cast<double>(v[3] + v[4]), total};  // idle + iowait
}

}  // namespace
}  // namespace tds::compute::psi

int main(int argc, char** argv) {
  using namespace tds::compute;
  using namespace tds::compute::psi;
  const Flags f = ParseFlags(argc, argv);
  EnsureSodium();

  const uint64_t n = f.n;
  const uint64_t overlap = static_cast<uint64_t>(static_cast<double>(n) * f.overlap);
  std::vector<std::string> r_items, s_items;
  OverlappingSets(n, overlap, r_items, s_items);

  const int hw = std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  const int per_party = f.threads > 0 ? f.threads : hw;
  const int cores = std::min(hw, 2 * per_party);
  std::printf(
      "psi-ecdh: %llu x %llu items, overlap %llu, output %s, chunk %zu, %d worker "
      "threads per party, %d hardware threads\n",
      static_cast<unsigned long long>(n), static_cast<unsigned long long>(n),
      static_cast<unsigned long long>(overlap), OutputName(f.output), f.chunk, per_party, hw);
  std::printf(
      "both parties run in this process over loopback TCP (SocketLink); the machine "
      "may be shared\n");
  std::fflush(stdout);

  std::vector<double> before, after;
  TimeScalarMult(f.floor_ops / 2, before);

  EcdhPsiOptions options;
  options.output = f.output;
  options.threads = f.threads;
  options.chunk_items = f.chunk;
  const auto machine_start = MachineTicks();
  const PsiRun run = RunPsiOverLoopback(RunEcdhPsi, options, r_items, s_items);
  const auto machine_end = MachineTicks();
  const double wall = run.wall;
  const double cpu = run.cpu;
  const double machine_total = machine_end.second - machine_start.second;
  const double idle_share =
      machine_total > 0 ? (machine_end.first - machine_start.first) / machine_total : 0;
  if (!run.receiver.ok()) Die("receiver: " + std::string(run.receiver.status().message()));
  if (!run.sender.ok()) Die("sender: " + std::string(run.sender.status().message()));
  const PsiResult& r_result = *run.receiver;
  const PsiResult& s_result = *run.sender;

  TimeScalarMult(f.floor_ops - f.floor_ops / 2, after);
  std::vector<double> blocks = before;
  blocks.insert(blocks.end(), after.begin(), after.end());
  const double t_op = Median(blocks);
  const double t_before = Median(before);
  const double t_after = Median(after);
  const double t_min = *std::min_element(blocks.begin(), blocks.end());
  const double t_max = *std::max_element(blocks.begin(), blocks.end());
  const uint64_t ops = 2 * (n + n);
  const double floor_s = static_cast<double>(ops) * t_op / cores;
  const double rss = PeakRssMb();

  if (r_result.intersection_size != overlap) {
    Die("intersection size " + std::to_string(r_result.intersection_size) + ", expected " +
        std::to_string(overlap));
  }
  if (f.output != PsiOutput::kSizeOnly && r_result.matched.size() != overlap) {
    Die("receiver matched " + std::to_string(r_result.matched.size()) + " positions");
  }
  if (f.output == PsiOutput::kBoth && s_result.matched.size() != overlap) {
    Die("sender matched " + std::to_string(s_result.matched.size()) + " positions");
  }

  std::printf("intersection: %llu (verified against the known overlap)\n",
              static_cast<unsigned long long>(r_result.intersection_size));
  std::printf("wall:         %.2f s  (%.0f items/s per party)\n", wall,
              static_cast<double>(n) / wall);
  std::printf(
      "X25519:       %.2f us per op on one core (median; %.2f before, %.2f after the run)\n",
      t_op * 1e6, t_before * 1e6, t_after * 1e6);
  std::printf(
      "              (median of %zu blocks of up to %llu calls; blocks ranged %.2f-%.2f us)\n",
      blocks.size(), static_cast<unsigned long long>(kTimingBlock), t_min * 1e6, t_max * 1e6);
  std::printf("floor:        %.2f s = 2 x (n_R + n_S) = %llu ops x %.2f us / %d cores\n", floor_s,
              static_cast<unsigned long long>(ops), t_op * 1e6, cores);
  std::printf("ratio:        %.3f (wall / floor)\n", wall / floor_s);
  std::printf(
      "CPU time:     %.2f s user+sys during the run, %.2f s of it X25519 (%.3f); %.2f "
      "cores busy on average\n",
      cpu, static_cast<double>(ops) * t_op, cpu / (static_cast<double>(ops) * t_op), cpu / wall);
  std::printf(
      "machine:      %.0f%% of all cores idle during the run (the rest of the %d cores "
      "not used by this run went to other processes)\n",
      idle_share * 100, hw);
  std::printf("traffic:      receiver sent %.1f MB, received %.1f MB\n", run.r_sent / 1e6,
              run.r_received / 1e6);
  std::printf("peak RSS:     %.0f MB (both parties and both input sets, one process)\n", rss);
  std::printf("psi-ecdh n=%llu wall_s=%.2f floor_s=%.2f ratio=%.3f peak_rss_mb=%.0f\n",
              static_cast<unsigned long long>(n), wall, floor_s, wall / floor_s, rss);
  return 0;
}
