// stats_bench: secret-shared statistics (compute/mpc/secret_stats.h) end to end, in both modes
// in one run: two-party (bank and provider, products from OTs) and, for comparison, with a
// dealer (bank, provider, dealer). The parties run in this process (one thread each), connected
// pairwise by real loopback TCP sockets (SocketLink).
//
//   stats_bench [--rows N] [--columns C] [--buckets B] [--frac-bits F] [--chunk R] [--k K]
//               [--mode both|two-party|dealer]
//
// Per provider column: mean, variance and WOE/IV over B quantile buckets of the column against
// the bank's label (which also reports the bucket histogram), plus one count — over the rows the
// bank selects (about 80%, label about 10% events). Wall time runs from the start of the parties
// to the end of all of them; CPU is this process's user + system time over the same span (all
// parties). Traffic is the sum of what every party sent (Link byte counts: message payloads,
// without the 4-byte frame headers). Results are checked against a plaintext reference (bucket
// counts exact, means within the fixed-point bound). Last line (keys of the modes run):
//   "stats rows=<N> columns=<C> wall_s=<s> mb=<MB> dealer_wall_s=<s> dealer_mb=<MB>"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "bench/compute_bench_util.h"
#include "compute/mpc/secret_stats.h"

namespace tds::compute::mpc {
namespace {

namespace compute_bench = ::tds::compute_bench;

using compute_bench::Clock;
using compute_bench::Die;

struct Run {
  absl::StatusOr<SecretStatsResult> result = absl::UnknownError("not run");
  double wall = 0, cpu = 0, max_mean_error = 0;
  uint64_t bank_sent = 0, provider_sent = 0, dealer_sent = 0;
  std::string load;  // the load average at the start
};

std::string LoadAverage() {
  double load[3] = {0, 0, 0};
  if (getloadavg(load, 3) != 3) return "?";
  return absl::StrFormat("%.2f %.2f %.2f (2 cores, shared)", load[0], load[1], load[2]);
}

// One run of the mode; dies if a party fails.
Run RunMode(bool with_dealer, const SecretStatsOptions& options, const BankInput& bank,
            const ProviderInput& provider) {
  Run run;
  run.load = LoadAverage();
  auto bp = compute_bench::LoopbackLinks();
  std::pair<std::unique_ptr<Link>, std::unique_ptr<Link>> bd, pd;
  if (with_dealer) {
    bd = compute_bench::LoopbackLinks();
    pd = compute_bench::LoopbackLinks();
  }
  const double cpu = compute_bench::CpuSeconds();
  const Clock::time_point start = Clock::now();
  absl::Status dealer_status;
  absl::StatusOr<ProviderSummary> provider_result = absl::UnknownError("not run");
  std::thread dealer;
  if (with_dealer) {
    dealer =
        std::thread([&] { dealer_status = RunDealer(*bd.second, *pd.second, options.max_rows); });
  }
  std::thread provider_thread([&] {
    provider_result = with_dealer ? RunProvider(options, provider, *bp.second, *pd.first)
                                  : RunProvider(options, provider, *bp.second);
  });
  run.result = with_dealer ? RunBank(options, bank, *bp.first, *bd.first)
                           : RunBank(options, bank, *bp.first);
  provider_thread.join();
  if (dealer.joinable()) dealer.join();
  run.wall = compute_bench::SecondsSince(start);
  run.cpu = compute_bench::CpuSeconds() - cpu;
  if (!run.result.ok()) Die(absl::StrCat("bank: ", run.result.status().ToString()));
  if (!provider_result.ok()) Die(absl::StrCat("provider: ", provider_result.status().ToString()));
  if (!dealer_status.ok()) Die(absl::StrCat("dealer: ", dealer_status.ToString()));
  run.bank_sent = bp.first->bytes_sent();
  run.provider_sent = bp.second->bytes_sent();
  if (with_dealer) {
    run.bank_sent += bd.first->bytes_sent();
    run.provider_sent += pd.first->bytes_sent();
    run.dealer_sent = bd.second->bytes_sent() + pd.second->bytes_sent();
  }
  return run;
}

// Compares a run with the plaintext reference (selected rows, means, every column's buckets);
// dies on a difference. Sets run.max_mean_error.
void Check(Run& run, const SecretStatsOptions& options, const BankInput& bank,
           const ProviderInput& provider, uint32_t columns) {
  const SecretStatsResult& result = *run.result;
  const uint64_t rows = bank.rows;
  uint64_t selected = 0;
  for (uint64_t i = 0; i < rows; ++i) selected += bank.selection[i];
  if (result.stats[0].rows != selected) Die("count differs from the plaintext reference");
  for (uint32_t c = 0; c < columns; ++c) {
    const std::vector<double>& col = provider.columns.at(absl::StrCat("f", c));
    long double sum = 0;
    for (uint64_t i = 0; i < rows; ++i) {
      if (bank.selection[i]) sum += col[i];
    }
    const double mean = selected ? static_cast<double>(sum / selected) : 0;
    run.max_mean_error =
        std::max(run.max_mean_error, std::fabs(result.stats[1 + 3 * c].value.value_or(0) - mean));
    const StatResult& woe = result.stats[3 + 3 * c];
    std::vector<uint64_t> counts(woe.bounds.size() + 1, 0);
    for (uint64_t i = 0; i < rows; ++i) {
      if (!bank.selection[i]) continue;
      ++counts[std::lower_bound(woe.bounds.begin(), woe.bounds.end(), col[i]) - woe.bounds.begin()];
    }
    if (counts != woe.bucket_rows) Die(absl::StrCat("bucket counts of f", c, " differ"));
  }
  if (run.max_mean_error > std::ldexp(1.0, -(options.frac_bits + 1)) + 1e-9) {
    Die("a mean is off by more than the fixed-point bound");
  }
}

int Main(int argc, char** argv) {
  uint64_t rows = 1000000, chunk = 4096, k = 10;
  uint32_t columns = 10, buckets = 10;
  uint64_t frac_bits = kDefaultFracBits;
  std::string mode = "both";
  compute_bench::FlagReader flags(
      "stats_bench",
      "usage: stats_bench [--rows N] [--columns C] [--buckets B] [--frac-bits F] [--chunk R] "
      "[--k K] [--mode both|two-party|dealer]",
      argc, argv);
  while (flags.Next()) {
    if (flags.Is("--rows")) {
      rows = flags.Count();
    } else if (flags.Is("--columns")) {
      columns = static_cast<uint32_t>(flags.Count());
    } else if (flags.Is("--buckets")) {
      buckets = static_cast<uint32_t>(flags.Count());
    } else if (flags.Is("--frac-bits")) {
      frac_bits = flags.Count();
    } else if (flags.Is("--chunk")) {
      chunk = flags.Count();
    } else if (flags.Is("--k")) {
      k = flags.Count();
    } else if (flags.Is("--mode")) {
      mode = flags.Value();
      if (mode != "both" && mode != "two-party" && mode != "dealer") {
        Die("--mode is both, two-party or dealer");
      }
    } else {
      flags.Unknown();
    }
  }

  SecretStatsOptions options;
  options.frac_bits = static_cast<int>(frac_bits);
  options.chunk_rows = static_cast<uint32_t>(chunk);
  options.min_group_size = static_cast<uint32_t>(k);
  options.max_rows = std::max<uint64_t>(rows, options.max_rows);
  options.requests.push_back({StatKind::kCount, "", {}, 0});
  std::mt19937_64 rng(42);
  BankInput bank;
  ProviderInput provider;
  bank.rows = provider.rows = rows;
  for (uint64_t i = 0; i < rows; ++i) {
    bank.selection.push_back(rng() % 5 != 0);
    bank.label.push_back(rng() % 10 == 0);
  }
  for (uint32_t c = 0; c < columns; ++c) {
    const std::string name = absl::StrCat("f", c);
    options.requests.push_back({StatKind::kMean, name, {}, 0});
    options.requests.push_back({StatKind::kVariance, name, {}, 0});
    options.requests.push_back({StatKind::kWoeIv, name, {}, buckets});
    std::vector<double>& col = provider.columns[name];
    col.reserve(rows);
    // Two-decimal values in [0, 4000): Σx²·2^16 stays below 2^62 at 10^6 rows.
    for (uint64_t i = 0; i < rows; ++i) {
      col.push_back(static_cast<double>(rng() % 400000) / 100 + (bank.label[i] ? c * 10.0 : 0));
    }
  }

  std::printf("secret-shared statistics over loopback TCP, every party in this process\n");
  std::printf("  rows %llu, provider columns %u, statistics %zu, buckets %u\n",
              static_cast<unsigned long long>(rows), columns, options.requests.size(), buckets);
  std::printf("  fixed point: %d fractional bits, k = %u\n", options.frac_bits,
              options.min_group_size);
  std::string last = absl::StrCat("stats rows=", rows, " columns=", columns);
  for (bool with_dealer : {false, true}) {
    if (with_dealer ? mode == "two-party" : mode == "dealer") continue;
    Run run = RunMode(with_dealer, options, bank, provider);
    Check(run, options, bank, provider, columns);
    const double total = static_cast<double>(run.bank_sent + run.provider_sent + run.dealer_sent);
    std::printf("%s\n", with_dealer ? "with a dealer (bank, provider, dealer)"
                                    : "two-party (bank, provider; products from OTs)");
    std::printf("  load average       %s\n", run.load.c_str());
    std::printf("  wall time          %.3f s (%.0f rows/s)\n", run.wall, rows / run.wall);
    std::printf("  CPU, all parties   %.3f s\n", run.cpu);
    std::printf("  bank sent          %.1f MB\n", run.bank_sent / 1e6);
    std::printf("  provider sent      %.1f MB\n", run.provider_sent / 1e6);
    if (with_dealer) std::printf("  dealer sent        %.1f MB\n", run.dealer_sent / 1e6);
    std::printf("  total              %.1f MB (%.0f bytes/row)\n", total / 1e6,
                total / std::max<uint64_t>(rows, 1));
    std::printf("  max |mean error|   %.3g (bound %.3g); bucket counts exact\n", run.max_mean_error,
                std::ldexp(1.0, -(options.frac_bits + 1)));
    std::printf("  f0: IV %.4f, smallest group %llu rows\n", run.result->stats[3].iv.value_or(NAN),
                static_cast<unsigned long long>(run.result->min_group_rows));
    const char* prefix = with_dealer ? "dealer_" : "";
    absl::StrAppend(&last, " ", prefix, "wall_s=", absl::StrFormat("%.3f", run.wall), " ", prefix,
                    "mb=", absl::StrFormat("%.1f", total / 1e6));
  }
  std::printf("%s\n", last.c_str());
  return 0;
}

}  // namespace
}  // namespace tds::compute::mpc

int main(int argc, char** argv) { return tds::compute::mpc::Main(argc, argv); }
