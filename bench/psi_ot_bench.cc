// psi_ot_bench: two-party OT-extension PSI (compute/psi/kkrt_psi.h) end to end, n × n items,
// both parties in this process (two threads) connected by a real loopback TCP socket
// (SocketLink), optionally followed by ECDH-PSI (compute/psi/ecdh_psi.h) on the same sets.
//
//   psi_ot_bench [--n N] [--overlap F] [--threads T] [--output consumer-only|both]
//                [--bucket B] [--chunk C] [--compare-ecdh]
//
// Wall time runs from the start of both parties to the end of both (hashing, base OTs,
// extension, tags, sealing, matching, I/O). The intersection found is checked against the
// known overlap. Traffic is the link's own byte count (payloads plus the 4-byte frame
// headers are not included: Link counts message bytes). Peak RSS is
// getrusage(RUSAGE_SELF).ru_maxrss of this process — both parties and both input sets —
// taken before the optional ECDH run. Last line:
//   "psi-ot n=<n> wall_s=<s> mb=<MB both ways> peak_rss_mb=<MB>" (+ ecdh_wall_s, ecdh_mb).

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "bench/compute_bench_util.h"
#include "compute/psi/ecdh_psi.h"
#include "compute/psi/kkrt_psi.h"

namespace tds::compute::psi {
namespace {

using namespace tds::compute_bench;

struct Flags {
  uint64_t n = uint64_t{1} << 20;
  double overlap = 0.5;
  int threads = 0;
  PsiOutput output = PsiOutput::kConsumerOnly;
  uint64_t bucket = KkrtPsiOptions{}.max_bucket_items;
  size_t chunk = KkrtPsiOptions{}.chunk_items;
  bool compare_ecdh = false;
};

Flags ParseFlags(int argc, char** argv) {
  Flags f;
  FlagReader flags(
      "psi_ot_bench",
      "usage: psi_ot_bench [--n N] [--overlap F] [--threads T] [--output consumer-only|both]\n"
      "                    [--bucket B] [--chunk C] [--compare-ecdh]\n",
      argc, argv);
  while (flags.Next()) {
    if (flags.Is("--n")) {
      f.n = flags.Count();
    } else if (flags.Is("--overlap")) {
      f.overlap = flags.Fraction();
    } else if (flags.Is("--threads")) {
      f.threads = static_cast<int>(flags.Count());
    } else if (flags.Is("--bucket")) {
      f.bucket = flags.Count();
    } else if (flags.Is("--chunk")) {
      f.chunk = flags.Count();
    } else if (flags.Is("--compare-ecdh")) {
      f.compare_ecdh = true;
    } else if (flags.Is("--output")) {
      f.output = flags.Output(/*size_only=*/false);
    } else {
      flags.Unknown();
    }
  }
  return f;
}

struct Run {
  double wall = 0;
  double cpu = 0;
  double r_sent_mb = 0, s_sent_mb = 0;
  uint64_t r_matched = 0, s_matched = 0, size = 0;
};

template <typename Options, typename Fn>
Run RunBoth(const std::vector<std::string>& r_items, const std::vector<std::string>& s_items,
            const Options& options, Fn run_psi, const char* name) {
  const PsiRun psi = RunPsiOverLoopback(run_psi, options, r_items, s_items);
  if (!psi.receiver.ok()) {
    Die(std::string(name) + " receiver: " + std::string(psi.receiver.status().message()));
  }
  if (!psi.sender.ok()) {
    Die(std::string(name) + " sender: " + std::string(psi.sender.status().message()));
  }
  Run run;
  run.wall = psi.wall;
  run.cpu = psi.cpu;
  run.r_sent_mb = psi.r_sent / 1e6;
  run.s_sent_mb = psi.s_sent / 1e6;
  run.r_matched = psi.receiver->matched.size();
  run.s_matched = psi.sender->matched.size();
  run.size = psi.receiver->intersection_size;
  return run;
}

void Check(const char* name, const Run& run, uint64_t overlap, PsiOutput output) {
  if (run.size != overlap || run.r_matched != overlap) {
    Die(std::string(name) + ": intersection " + std::to_string(run.size) + " (" +
        std::to_string(run.r_matched) + " positions), expected " + std::to_string(overlap));
  }
  if (output == PsiOutput::kBoth && run.s_matched != overlap) {
    Die(std::string(name) + ": sender matched " + std::to_string(run.s_matched));
  }
}

}  // namespace
}  // namespace tds::compute::psi

int main(int argc, char** argv) {
  using namespace tds::compute;
  using namespace tds::compute::psi;
  const Flags f = ParseFlags(argc, argv);
  const uint64_t n = f.n;
  const uint64_t overlap = static_cast<uint64_t>(static_cast<double>(n) * f.overlap);
  std::vector<std::string> r_items, s_items;
  OverlappingSets(n, overlap, r_items, s_items);
  const double input_rss = PeakRssMb();

  const int hw = std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  const uint64_t buckets = std::max<uint64_t>(1, (n + f.bucket - 1) / f.bucket);
  std::printf(
      "psi-ot: %llu x %llu items, overlap %llu, output %s, %llu bucket(s) of <= %llu items, "
      "%d worker threads per party, %d hardware threads\n",
      static_cast<unsigned long long>(n), static_cast<unsigned long long>(n),
      static_cast<unsigned long long>(overlap),
      f.output == PsiOutput::kBoth ? "both" : "consumer-only",
      static_cast<unsigned long long>(buckets), static_cast<unsigned long long>(f.bucket),
      f.threads > 0 ? f.threads : hw, hw);
  std::printf(
      "both parties run in this process over loopback TCP (SocketLink); the machine may be "
      "shared\n");
  std::fflush(stdout);

  KkrtPsiOptions options;
  options.output = f.output;
  options.threads = f.threads;
  options.max_bucket_items = f.bucket;
  options.chunk_items = f.chunk;
  const Run ot = RunBoth(r_items, s_items, options, RunKkrtPsi, "kkrt");
  Check("kkrt", ot, overlap, f.output);
  const double rss = PeakRssMb();
  const double mb = ot.r_sent_mb + ot.s_sent_mb;
  std::printf("intersection: %llu (verified against the known overlap)\n",
              static_cast<unsigned long long>(ot.size));
  std::printf("wall:         %.2f s  (%.0f items/s per party)\n", ot.wall,
              static_cast<double>(n) / ot.wall);
  std::printf("CPU time:     %.2f s user+sys (%.2f cores busy on average)\n", ot.cpu,
              ot.cpu / ot.wall);
  std::printf("traffic:      receiver sent %.1f MB, sender sent %.1f MB (%.1f B per item pair)\n",
              ot.r_sent_mb, ot.s_sent_mb, mb * 1e6 / static_cast<double>(std::max<uint64_t>(1, n)));
  std::printf(
      "peak RSS:     %.0f MB (both parties, one process; the two input sets alone: %.0f MB)\n", rss,
      input_rss);

  double ecdh_wall = 0, ecdh_mb = 0;
  if (f.compare_ecdh) {
    EcdhPsiOptions eo;
    eo.output = f.output;
    eo.threads = f.threads;
    std::printf("ecdh-psi on the same sets (this takes ~30 us x 4n of CPU)...\n");
    std::fflush(stdout);
    const Run ecdh = RunBoth(r_items, s_items, eo, RunEcdhPsi, "ecdh");
    Check("ecdh", ecdh, overlap, f.output);
    ecdh_wall = ecdh.wall;
    ecdh_mb = ecdh.r_sent_mb + ecdh.s_sent_mb;
    std::printf("ecdh wall:    %.2f s, CPU %.2f s, traffic %.1f MB (%.1f B per item pair)\n",
                ecdh.wall, ecdh.cpu, ecdh_mb,
                ecdh_mb * 1e6 / static_cast<double>(std::max<uint64_t>(1, n)));
    std::printf("ot vs ecdh:   %.1fx faster, %.2fx the traffic\n", ecdh.wall / ot.wall,
                mb / std::max(1e-9, ecdh_mb));
  }
  std::printf("psi-ot n=%llu wall_s=%.2f mb=%.1f peak_rss_mb=%.0f",
              static_cast<unsigned long long>(n), ot.wall, mb, rss);
  if (f.compare_ecdh) std::printf(" ecdh_wall_s=%.2f ecdh_mb=%.1f", ecdh_wall, ecdh_mb);
  std::printf("\n");
  return 0;
}
