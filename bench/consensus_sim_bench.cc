// Consensus simulator sweep: runs the seeded scenario of tests/consensus_sim.h (chaos, heal,
// liveness; crashes and Byzantine replicas) for seeds 1..N on T threads.
//
//   consensus_sim_bench [--seeds N] [--first S] [--threads T]
//       seeds S..S+N-1 (default 1..100000) on T threads (2); a line of progress on stderr every
//       5,000 seeds (a long sweep can be split into ranges, or resumed)
//   consensus_sim_bench --seed S [--verbose]        one seed; --verbose traces every step
//
// Prints human-readable figures, then a last machine-readable line:
//   consensus_sim seeds=N failures=F seeds_per_s=... commits=... view_changes=...
// Exits 1 if any seed fails, after printing the first failing seed, its report and the command
// that replays it.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tests/consensus_sim.h"

namespace {

namespace sim = ::tds::consensus::sim;

[[noreturn]] void Usage(const char* message) {
  std::fprintf(
      stderr,
      "error: %s\nusage: consensus_sim_bench [--seeds N] [--first S] [--threads T] | --seed S "
      "[--verbose]\n",
      message);
  std::exit(2);
}

uint64_t ParseCount(const char* flag, const char* text) {
  char* end = nullptr;
  const unsigned long long v = std::strtoull(text, &end, 10);
  if (end == text || *end != '\0' || v == 0) Usage(flag);
  return v;
}

struct Totals {
  uint64_t seeds = 0, failures = 0, commits = 0, view_changes = 0, steps = 0, messages = 0,
           refused = 0, crashes = 0, crafted = 0, equivocations = 0, must_refuse = 0,
           block_requests = 0;
  int64_t sim_ms = 0;
  uint64_t first_failed_seed = 0;
  std::string first_failure;

  void Add(uint64_t seed, const sim::SimResult& r) {
    ++seeds;
    commits += r.commits;
    view_changes += r.view_changes;
    steps += r.steps;
    messages += r.messages;
    refused += r.refused;
    crashes += r.crashes;
    crafted += r.crafted;
    equivocations += r.equivocations;
    must_refuse += r.must_refuse;
    block_requests += r.block_requests;
    sim_ms += r.sim_ms;
    if (!r.ok) {
      ++failures;
      if (first_failure.empty() || seed < first_failed_seed) {
        first_failed_seed = seed;
        first_failure = r.failure;
      }
    }
  }
};

}  // namespace

int main(int argc, char** argv) {
  uint64_t seeds = 100'000;
  uint64_t threads = 2;
  uint64_t only = 0;
  uint64_t from = 1;
  bool verbose = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--verbose") {
      verbose = true;
      continue;
    }
    if (i + 1 >= argc) Usage(("missing value for " + arg).c_str());
    if (arg == "--seeds") {
      seeds = ParseCount("--seeds needs a positive count", argv[++i]);
    } else if (arg == "--first") {
      from = ParseCount("--first needs a positive seed", argv[++i]);
    } else if (arg == "--threads") {
      threads = ParseCount("--threads needs a positive count", argv[++i]);
    } else if (arg == "--seed") {
      only = ParseCount("--seed needs a positive seed", argv[++i]);
    } else {
      Usage(("unknown argument " + arg).c_str());
    }
  }

  sim::SimOptions options;
  options.verbose = verbose;
  const uint64_t first = only != 0 ? only : from;
  const uint64_t last = only != 0 ? only : from + seeds - 1;
  if (only != 0) threads = 1;

  Totals totals;
  std::mutex mu;
  std::atomic<uint64_t> next{first};
  const auto start = std::chrono::steady_clock::now();
  auto worker = [&] {
    for (uint64_t seed = next++; seed <= last; seed = next++) {
      const sim::SimResult r = sim::RunSeed(seed, options);
      std::lock_guard<std::mutex> lock(mu);
      totals.Add(seed, r);
      if (!r.ok) std::fprintf(stderr, "FAIL seed %llu\n", static_cast<unsigned long long>(seed));
      if (totals.seeds % 5000 == 0) {
        const double s =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        std::fprintf(stderr, "progress: %llu seeds, %llu failures, %.1f seeds/s\n",
                     static_cast<unsigned long long>(totals.seeds),
                     static_cast<unsigned long long>(totals.failures), totals.seeds / s);
      }
    }
  };
  std::vector<std::thread> pool;
  for (uint64_t t = 0; t < threads; ++t) pool.emplace_back(worker);
  for (std::thread& t : pool) t.join();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  const double per_s = totals.seeds / seconds;
  std::printf("seeds %llu..%llu on %llu thread(s): %.1f s, %.1f seeds/s\n",
              static_cast<unsigned long long>(first), static_cast<unsigned long long>(last),
              static_cast<unsigned long long>(threads), seconds, per_s);
  std::printf(
      "per seed: %.1f commits, %.2f view changes, %.0f steps, %.0f messages, %.1f s "
      "simulated\n",
      double(totals.commits) / totals.seeds, double(totals.view_changes) / totals.seeds,
      double(totals.steps) / totals.seeds, double(totals.messages) / totals.seeds,
      totals.sim_ms / 1000.0 / totals.seeds);
  std::printf(
      "faults: %llu crashes, %llu Byzantine messages (%llu equivocations), %llu "
      "refusals (%llu checked must-refuse), %llu block requests\n",
      static_cast<unsigned long long>(totals.crashes),
      static_cast<unsigned long long>(totals.crafted),
      static_cast<unsigned long long>(totals.equivocations),
      static_cast<unsigned long long>(totals.refused),
      static_cast<unsigned long long>(totals.must_refuse),
      static_cast<unsigned long long>(totals.block_requests));
  if (totals.failures > 0) {
    std::printf("FAILED: %llu seed(s); the first:\n%s\nreproduce: %s --verbose\n",
                static_cast<unsigned long long>(totals.failures), totals.first_failure.c_str(),
                sim::ReproduceCommand(totals.first_failed_seed).c_str());
  }
  std::printf(
      "consensus_sim seeds=%llu failures=%llu seeds_per_s=%.1f commits=%llu "
      "view_changes=%llu\n",
      static_cast<unsigned long long>(totals.seeds),
      static_cast<unsigned long long>(totals.failures), per_s,
      static_cast<unsigned long long>(totals.commits),
      static_cast<unsigned long long>(totals.view_changes));
  return totals.failures > 0 ? 1 : 0;
}
