// stats_bench: secret-shared statistics (compute/mpc/secret_stats.h) end to end — bank,
// provider and dealer in this process (three threads), connected pairwise by real loopback TCP
// sockets (SocketLink).
//
//   stats_bench [--rows N] [--columns C] [--buckets B] [--frac-bits F] [--chunk R] [--k K]
//
// Per provider column: mean, variance and WOE/IV over B quantile buckets of the column against
// the bank's label (which also reports the bucket histogram), plus one count — over the rows the
// bank selects (about 80%, label about 10% events). Wall time runs from the start of the three
// parties to the end of all three. Traffic is the sum of what every party sent (Link byte counts:
// message payloads, without the 4-byte frame headers). Results are checked against a plaintext
// reference (bucket counts exact, means within the fixed-point bound). Last line:
//   "stats rows=<N> columns=<C> wall_s=<s> mb=<MB, all links>"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "bench/compute_bench_util.h"
#include "compute/mpc/secret_stats.h"

namespace tds::compute::mpc {
namespace {

namespace compute_bench = ::tds::compute_bench;

using compute_bench::Clock;
using compute_bench::Die;

int Main(int argc, char** argv) {
  uint64_t rows = 1000000, chunk = 4096, k = 10;
  uint32_t columns = 10, buckets = 10;
  uint64_t frac_bits = kDefaultFracBits;
  compute_bench::FlagReader flags(
      "stats_bench",
      "usage: stats_bench [--rows N] [--columns C] [--buckets B] [--frac-bits F] [--chunk R] "
      "[--k K]",
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

  auto bp = compute_bench::LoopbackLinks();
  auto bd = compute_bench::LoopbackLinks();
  auto pd = compute_bench::LoopbackLinks();

  const Clock::time_point start = Clock::now();
  absl::Status dealer_status;
  absl::StatusOr<ProviderSummary> provider_result = absl::UnknownError("not run");
  std::thread dealer([&] { dealer_status = RunDealer(*bd.second, *pd.second, options.max_rows); });
  std::thread provider_thread(
      [&] { provider_result = RunProvider(options, provider, *bp.second, *pd.first); });
  absl::StatusOr<SecretStatsResult> result = RunBank(options, bank, *bp.first, *bd.first);
  provider_thread.join();
  dealer.join();
  const double wall = compute_bench::SecondsSince(start);
  if (!result.ok()) Die(absl::StrCat("bank: ", result.status().ToString()));
  if (!provider_result.ok()) Die(absl::StrCat("provider: ", provider_result.status().ToString()));
  if (!dealer_status.ok()) Die(absl::StrCat("dealer: ", dealer_status.ToString()));

  const uint64_t bank_sent = bp.first->bytes_sent() + bd.first->bytes_sent();
  const uint64_t provider_sent = bp.second->bytes_sent() + pd.first->bytes_sent();
  const uint64_t dealer_sent = bd.second->bytes_sent() + pd.second->bytes_sent();
  const uint64_t total = bank_sent + provider_sent + dealer_sent;

  // Plaintext reference: selected rows, means, and the first column's buckets.
  uint64_t selected = 0;
  for (uint64_t i = 0; i < rows; ++i) selected += bank.selection[i];
  if (result->stats[0].rows != selected) Die("count differs from the plaintext reference");
  double max_mean_error = 0;
  for (uint32_t c = 0; c < columns; ++c) {
    const std::vector<double>& col = provider.columns[absl::StrCat("f", c)];
    long double sum = 0;
    for (uint64_t i = 0; i < rows; ++i) {
      if (bank.selection[i]) sum += col[i];
    }
    const double mean = selected ? static_cast<double>(sum / selected) : 0;
    max_mean_error =
        std::max(max_mean_error, std::fabs(result->stats[1 + 3 * c].value.value_or(0) - mean));
    const StatResult& woe = result->stats[3 + 3 * c];
    std::vector<uint64_t> counts(woe.bounds.size() + 1, 0);
    for (uint64_t i = 0; i < rows; ++i) {
      if (!bank.selection[i]) continue;
      ++counts[std::lower_bound(woe.bounds.begin(), woe.bounds.end(), col[i]) - woe.bounds.begin()];
    }
    if (counts != woe.bucket_rows) Die(absl::StrCat("bucket counts of f", c, " differ"));
  }
  if (max_mean_error > std::ldexp(1.0, -(options.frac_bits + 1)) + 1e-9) {
    Die("a mean is off by more than the fixed-point bound");
  }

  std::printf("secret-shared statistics, 3 parties over loopback TCP (bank, provider, dealer)\n");
  std::printf("  rows %llu (selected %llu), provider columns %u, statistics %zu, buckets %u\n",
              static_cast<unsigned long long>(rows), static_cast<unsigned long long>(selected),
              columns, options.requests.size(), buckets);
  std::printf("  fixed point: %d fractional bits, k = %u\n", options.frac_bits,
              options.min_group_size);
  std::printf("  wall time          %.3f s (%.0f rows/s)\n", wall, rows / wall);
  std::printf("  bank sent          %.1f MB\n", bank_sent / 1e6);
  std::printf("  provider sent      %.1f MB\n", provider_sent / 1e6);
  std::printf("  dealer sent        %.1f MB\n", dealer_sent / 1e6);
  std::printf("  total              %.1f MB (%.0f bytes/row)\n", total / 1e6,
              static_cast<double>(total) / std::max<uint64_t>(rows, 1));
  std::printf("  max |mean error|   %.3g (bound %.3g); bucket counts exact\n", max_mean_error,
              std::ldexp(1.0, -(options.frac_bits + 1)));
  std::printf("  f0: IV %.4f, smallest group %llu rows\n", result->stats[3].iv.value_or(NAN),
              static_cast<unsigned long long>(result->min_group_rows));
  std::printf("stats rows=%llu columns=%u wall_s=%.3f mb=%.1f\n",
              static_cast<unsigned long long>(rows), columns, wall, total / 1e6);
  return 0;
}

}  // namespace
}  // namespace tds::compute::mpc

int main(int argc, char** argv) { return tds::compute::mpc::Main(argc, argv); }
