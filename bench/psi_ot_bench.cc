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

#include <sys/resource.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "compute/psi/ecdh_psi.h"
#include "compute/psi/kkrt_psi.h"
#include "compute/socket_link.h"

namespace tds::compute::psi {
namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "psi_ot_bench: %s\n", what.c_str());
  std::exit(1);
}

struct Flags {
  uint64_t n = uint64_t{1} << 20;
  double overlap = 0.5;
  int threads = 0;
  PsiOutput output = PsiOutput::kConsumerOnly;
  uint64_t bucket = KkrtPsiOptions{}.max_bucket_items;
  size_t chunk = KkrtPsiOptions{}.chunk_items;
  bool compare_ecdh = false;
};

uint64_t ParseCount(const char* flag, const char* v) {
  char* end = nullptr;
  errno = 0;
  const double d = std::strtod(v, &end);  // accepts 1e7 and 1048576
  if (errno != 0 || end == v || *end != '\0' || d < 0 || d > 1e12 ||
      d != static_cast<uint64_t>(d)) {
    Die(std::string(flag) + ": not a count: " + v);
  }
  return static_cast<uint64_t>(d);
}

Flags ParseFlags(int argc, char** argv) {
  Flags f;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc) Die(arg + " needs a value");
      return argv[++i];
    };
    if (arg == "--n") {
      f.n = ParseCount("--n", value());
    } else if (arg == "--overlap") {
      f.overlap = std::strtod(value(), nullptr);
      if (!(f.overlap >= 0 && f.overlap <= 1)) Die("--overlap must be in [0, 1]");
    } else if (arg == "--threads") {
      f.threads = static_cast<int>(ParseCount("--threads", value()));
    } else if (arg == "--bucket") {
      f.bucket = ParseCount("--bucket", value());
    } else if (arg == "--chunk") {
      f.chunk = ParseCount("--chunk", value());
    } else if (arg == "--compare-ecdh") {
      f.compare_ecdh = true;
    } else if (arg == "--output") {
      const std::string m = value();
      if (m == "consumer-only") {
        f.output = PsiOutput::kConsumerOnly;
      } else if (m == "both") {
        f.output = PsiOutput::kBoth;
      } else {
        Die("--output must be consumer-only or both (size-only needs ECDH-PSI)");
      }
    } else if (arg == "-h" || arg == "--help") {
      std::printf(
          "usage: psi_ot_bench [--n N] [--overlap F] [--threads T] [--output consumer-only|both]\n"
          "                    [--bucket B] [--chunk C] [--compare-ecdh]\n");
      std::exit(0);
    } else {
      Die("unknown flag " + arg);
    }
  }
  return f;
}

// Identifier k: 15 characters (short-string optimised, no heap block per item).
std::string Id(uint64_t k) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "u%014llx",
                static_cast<unsigned long long>(k & 0xffffffffffffffull));
  return std::string(buf, 15);
}

double CpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_utime.tv_usec * 1e-6 + u.ru_stime.tv_sec +
         u.ru_stime.tv_usec * 1e-6;
}

double PeakRssMb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;  // KiB on Linux
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
  auto links = LoopbackSocketPair();
  if (!links.ok()) Die(std::string(links.status().message()));
  absl::StatusOr<PsiResult> r_result = absl::UnknownError("not run");
  absl::StatusOr<PsiResult> s_result = absl::UnknownError("not run");
  const double cpu_start = CpuSeconds();
  const Clock::time_point start = Clock::now();
  std::thread sender(
      [&] { s_result = run_psi(PsiRole::kSender, s_items, options, *links->second); });
  r_result = run_psi(PsiRole::kReceiver, r_items, options, *links->first);
  sender.join();
  Run run;
  run.wall = Seconds(start);
  run.cpu = CpuSeconds() - cpu_start;
  if (!r_result.ok())
    Die(std::string(name) + " receiver: " + std::string(r_result.status().message()));
  if (!s_result.ok())
    Die(std::string(name) + " sender: " + std::string(s_result.status().message()));
  run.r_sent_mb = links->first->bytes_sent() / 1e6;
  run.s_sent_mb = links->second->bytes_sent() / 1e6;
  run.r_matched = r_result->matched.size();
  run.s_matched = s_result->matched.size();
  run.size = r_result->intersection_size;
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
  r_items.reserve(n);
  s_items.reserve(n);
  for (uint64_t i = 0; i < n; ++i) r_items.push_back(Id(i));
  for (uint64_t i = 0; i < n; ++i) s_items.push_back(Id(n - overlap + i));
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
