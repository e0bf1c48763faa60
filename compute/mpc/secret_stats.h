#pragma once
// Joint statistics of a provider's columns over the rows a bank selects, computed under
// two-party additive secret sharing over Z_2^64. Neither the bank nor the provider sees the
// other's per-row values; the bank learns the aggregates, the provider learns only the group
// sizes it needs to enforce the contract's minimum group size k. Two modes, with the same
// options, plan, results, k enforcement and errors; they differ only in how the parties get
// shares of the products (bank value × provider value):
//   - two-party (no dealer): random oblivious transfers between the two parties (Gilboa
//     products over an OT extension; ot_products.h). Nobody else is involved.
//   - with a dealer: Beaver multiplication triples from a third, non-colluding member node
//     (beaver_products.h).
// Protocol, trust assumptions, leakage and costs: README.md in this folder; wire format at the
// top of secret_stats.cc.
//
// Rows are already aligned (by PSI): row i of the bank's vectors and row i of the provider's
// columns describe the same customer. The parties run RunBank and RunProvider (and, with a
// dealer, RunDealer), each over its links; both data parties must be given the same options and
// the same mode (checked: the mode and a digest of the options are exchanged, a mismatch is
// refused before any data moves).
//
// Fixed point. A provider value x travels as round(x * 2^f) in two's complement (f =
// frac_bits, default 16), so each encoded value is off by at most 2^-(f+1); integers (and
// their squares) are exact. Bank values (selection, label) and bucket indicators are plain
// integers, so every product is integer × fixed-point and no truncation is ever needed: a sum
// over m rows is off by at most m * 2^-(f+1), a mean by at most 2^-(f+1). Every aggregate must
// stay below 2^62 in magnitude after scaling: the provider checks Σ|x|·2^f and Σx²·2^f over all
// rows (which bound every selection) before it starts and, per column and for x and x²
// separately, lowers f to the largest scale that fits (announced with the result, in
// StatResult::frac_bits / square_frac_bits; the bounds above then hold with that f). It
// refuses a column whose sums do not fit even at f = 0.
//
// Groups and k (as in compute/stats/stats.h). count, sum, mean and variance report one group:
// the selected rows. A histogram or WOE/IV reports one group per bucket; bucket i of bounds b_0
// < ... < b_{n-1} holds the values v with b_{i-1} < v <= b_i (n + 1 buckets). With
// min_group_size k > 0, a reported group with 1..k-1 rows refuses the whole computation
// (FailedPrecondition naming the statistic, column and bucket, on every party); nothing else is
// opened. The refusal does not say how many rows the group has. Empty groups are reported as 0.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "compute/link.h"

namespace tds::compute::mpc {

inline constexpr size_t kMaxRequests = 64;
inline constexpr size_t kMaxBounds = 256;
inline constexpr int kDefaultFracBits = 16;
inline constexpr int kMaxFracBits = 30;

enum class StatKind { kCount, kSum, kMean, kVariance, kHistogram, kWoeIv };
const char* StatKindName(StatKind kind);

struct StatRequest {
  StatKind kind = StatKind::kCount;
  // The provider column; ignored (may be empty) for kCount.
  std::string column;
  // kHistogram / kWoeIv: bucket bounds, strictly ascending and finite (1..kMaxBounds) ...
  std::vector<double> bounds;
  // ... or, instead of bounds, q = 2..kMaxBounds+1 buckets whose bounds the provider takes at
  // the q-quantiles of its own column over all aligned rows: the values at ranks
  // ceil(i * rows / q), i = 1..q-1, released with the result. Ties may repeat a bound; the
  // bucket between two equal bounds is then empty.
  uint32_t quantiles = 0;
};

struct SecretStatsOptions {
  std::vector<StatRequest> requests;  // 1..kMaxRequests
  uint32_t min_group_size = 0;        // k from the contract; 0 = no minimum
  int frac_bits = kDefaultFracBits;   // 0..kMaxFracBits
  // Rows per message, 1..65536; fewer when a chunk of a wide plan would pass 16 MiB.
  uint32_t chunk_rows = 4096;
  uint64_t max_rows = uint64_t{1} << 27;  // a peer or dealer announcing more rows is refused
};

// The bank's side of the aligned rows.
struct BankInput {
  uint64_t rows = 0;
  // Which rows the statistics cover: empty = all, else `rows` entries of 0 or 1.
  std::vector<uint8_t> selection;
  // The binary label (1 = event, e.g. default): `rows` entries of 0 or 1; needed only when a
  // kWoeIv is requested.
  std::vector<uint8_t> label;
};

// The provider's side of the aligned rows: column name → one finite value per row.
struct ProviderInput {
  uint64_t rows = 0;
  std::map<std::string, std::vector<double>, std::less<>> columns;
};

struct StatResult {
  StatKind kind = StatKind::kCount;
  std::string column;
  // count..variance: the selected rows (the statistic's one group).
  uint64_t rows = 0;
  // kSum/kMean/kVariance: Σx and (kVariance) Σx² over the selected rows, exact fixed-point
  // units of 2^-frac_bits and 2^-square_frac_bits: the options' frac_bits, or fewer where the
  // column's magnitude needs it (see the top of this file).
  int64_t sum_fixed = 0;
  int64_t sum_squares_fixed = 0;
  int frac_bits = 0;
  int square_frac_bits = 0;
  // count, sum, mean or population variance (Σx²/m − (Σx/m)²); nullopt for a mean or variance
  // over zero rows and for histograms / WOE.
  std::optional<double> value;
  // kHistogram / kWoeIv: the bounds used, rows per bucket (and, kWoeIv, label events per bucket).
  std::vector<double> bounds;
  std::vector<uint64_t> bucket_rows;
  std::vector<uint64_t> bucket_events;
  // kWoeIv: WOE_i = ln((e_i/E) / (n_i/N)) with e_i events, n_i non-events in bucket i, E and N
  // the totals; a bucket with e_i = 0 or n_i = 0 uses e_i + 0.5 and n_i + 0.5.
  // IV = Σ (e_i/E − n_i/N) · WOE_i. Empty / nullopt when E = 0 or N = 0.
  std::vector<double> woe;
  std::optional<double> iv;
};

struct SecretStatsResult {
  std::vector<StatResult> stats;  // one per request, in order
  uint64_t rows = 0;              // aligned rows
  uint64_t min_group_rows = 0;    // smallest non-empty group reported; 0 when none
};

// What the provider learns besides its own data; the gateway meters with it.
struct ProviderSummary {
  uint64_t rows = 0;
  uint64_t min_group_rows = 0;
  std::vector<uint64_t> group_rows;  // the size of every reported group, in plan order
};

// InvalidArgument naming the request when the options are unusable.
absl::Status ValidateOptions(const SecretStatsOptions& options);

// The two data parties, two-party mode: each over its one link to the other. Each closes its
// link when it fails, so the other ends too; a party that detects an error before the data
// phase also tells its peer why.
absl::StatusOr<SecretStatsResult> RunBank(const SecretStatsOptions& options, const BankInput& input,
                                          Link& provider);
absl::StatusOr<ProviderSummary> RunProvider(const SecretStatsOptions& options,
                                            const ProviderInput& input, Link& bank);

// The three parties of the mode with a dealer. Each closes both of its links when it fails, so
// the others end too.
absl::StatusOr<SecretStatsResult> RunBank(const SecretStatsOptions& options, const BankInput& input,
                                          Link& provider, Link& dealer);
absl::StatusOr<ProviderSummary> RunProvider(const SecretStatsOptions& options,
                                            const ProviderInput& input, Link& bank, Link& dealer);
// The dealer learns only the shape (rows, vector and product counts) announced by both parties,
// which must agree.
absl::Status RunDealer(Link& bank, Link& provider, uint64_t max_rows = uint64_t{1} << 27);

}  // namespace tds::compute::mpc
