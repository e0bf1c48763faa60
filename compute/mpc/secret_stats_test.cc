#include "compute/mpc/secret_stats.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <random>
#include <thread>

#include "compute/mpc/ot_products.h"
#include "compute/mpc/products.h"
#include "compute/socket_link.h"

namespace tds::compute::mpc {
namespace {

using ::testing::HasSubstr;

// Rewrites (or drops, by returning nullopt) the index-th message sent through a link.
class TamperLink final : public Link {
 public:
  using Fn = std::function<std::optional<std::string>(int index, std::string message)>;
  TamperLink(std::unique_ptr<Link> inner, Fn fn) : inner_(std::move(inner)), fn_(std::move(fn)) {}
  absl::Status Send(std::string message) override {
    std::optional<std::string> m = fn_(sent_++, std::move(message));
    if (!m) return absl::OkStatus();
    return inner_->Send(std::move(*m));
  }
  absl::StatusOr<std::string> Recv() override { return inner_->Recv(); }
  void Close() override { inner_->Close(); }

 private:
  std::unique_ptr<Link> inner_;
  Fn fn_;
  int sent_ = 0;
};

StatRequest Req(StatKind kind, std::string column = "", std::vector<double> bounds = {},
                uint32_t quantiles = 0) {
  StatRequest r;
  r.kind = kind;
  r.column = std::move(column);
  r.bounds = std::move(bounds);
  r.quantiles = quantiles;
  return r;
}

struct Outcome {
  absl::StatusOr<SecretStatsResult> bank = absl::UnknownError("not run");
  absl::StatusOr<ProviderSummary> provider = absl::UnknownError("not run");
  absl::Status dealer = absl::UnknownError("not run");
};

struct Tamper {
  TamperLink::Fn provider_to_bank;  // applied to what the provider sends the bank
  TamperLink::Fn bank_to_provider;
  TamperLink::Fn dealer_to_provider;
};

std::unique_ptr<Link> Wrap(std::unique_ptr<Link> link, const TamperLink::Fn& fn) {
  if (!fn) return link;
  return std::make_unique<TamperLink>(std::move(link), fn);
}

enum class Mode { kTwoParty, kDealer };

// Two parties (two threads, a MemoryLinkPair) or three (a dealer too).
Outcome RunAll(Mode mode, const SecretStatsOptions& bank_options, const BankInput& bank_input,
               const SecretStatsOptions& provider_options, const ProviderInput& provider_input,
               const Tamper& tamper = {}) {
  auto [bp_b, bp_p] = MemoryLinkPair();
  auto [bd_b, bd_d] = MemoryLinkPair();
  auto [pd_p, pd_d] = MemoryLinkPair();
  std::unique_ptr<Link> bank_to_provider = Wrap(std::move(bp_b), tamper.bank_to_provider);
  std::unique_ptr<Link> provider_to_bank = Wrap(std::move(bp_p), tamper.provider_to_bank);
  std::unique_ptr<Link> dealer_to_provider = Wrap(std::move(pd_d), tamper.dealer_to_provider);
  Outcome out;
  if (mode == Mode::kTwoParty) {
    out.dealer = absl::OkStatus();
    std::thread provider(
        [&] { out.provider = RunProvider(provider_options, provider_input, *provider_to_bank); });
    out.bank = RunBank(bank_options, bank_input, *bank_to_provider);
    provider.join();
    return out;
  }
  std::thread dealer([&] { out.dealer = RunDealer(*bd_d, *dealer_to_provider); });
  std::thread provider([&] {
    out.provider = RunProvider(provider_options, provider_input, *provider_to_bank, *pd_p);
  });
  out.bank = RunBank(bank_options, bank_input, *bank_to_provider, *bd_b);
  provider.join();
  dealer.join();
  return out;
}

// Every test of the statistics runs in both modes: they share everything but the products.
class SecretStatsTest : public ::testing::TestWithParam<Mode> {
 protected:
  bool WithDealer() const { return GetParam() == Mode::kDealer; }
  Outcome RunAll(const SecretStatsOptions& bank_options, const BankInput& bank_input,
                 const SecretStatsOptions& provider_options, const ProviderInput& provider_input,
                 const Tamper& tamper = {}) {
    return mpc::RunAll(GetParam(), bank_options, bank_input, provider_options, provider_input,
                       tamper);
  }
  Outcome RunAll(const SecretStatsOptions& options, const BankInput& bank,
                 const ProviderInput& provider, const Tamper& tamper = {}) {
    return RunAll(options, bank, options, provider, tamper);
  }
};

INSTANTIATE_TEST_SUITE_P(Modes, SecretStatsTest, ::testing::Values(Mode::kTwoParty, Mode::kDealer),
                         [](const ::testing::TestParamInfo<Mode>& info) {
                           return info.param == Mode::kDealer ? "Dealer" : "TwoParty";
                         });

struct Data {
  BankInput bank;
  ProviderInput provider;
};

// Integer columns "age" and "income", a real column "ratio", a label and a selection.
Data MakeData(uint64_t rows, uint32_t seed, bool select = true) {
  std::mt19937_64 rng(seed);
  Data d;
  d.bank.rows = d.provider.rows = rows;
  auto& age = d.provider.columns["age"];
  auto& income = d.provider.columns["income"];
  auto& ratio = d.provider.columns["ratio"];
  for (uint64_t i = 0; i < rows; ++i) {
    age.push_back(static_cast<double>(18 + rng() % 60));
    income.push_back(static_cast<double>(static_cast<int64_t>(rng() % 200000) - 20000));
    ratio.push_back(std::uniform_real_distribution<double>(-3, 3)(rng));
    if (select) d.bank.selection.push_back(rng() % 4 != 0);
    d.bank.label.push_back(rng() % 5 == 0);
  }
  return d;
}

bool Selected(const BankInput& b, size_t i) { return b.selection.empty() || b.selection[i]; }

struct Reference {
  uint64_t rows = 0;
  long double sum = 0, sum_squares = 0;
};

Reference Plain(const Data& d, const std::string& column) {
  Reference r;
  const auto& col = d.provider.columns.at(column);
  for (size_t i = 0; i < col.size(); ++i) {
    if (!Selected(d.bank, i)) continue;
    ++r.rows;
    r.sum += col[i];
    r.sum_squares += static_cast<long double>(col[i]) * col[i];
  }
  return r;
}

// Plain bucket rows and events (bucket i: b[i-1] < v <= b[i]).
void PlainBuckets(const Data& d, const std::string& column, const std::vector<double>& bounds,
                  std::vector<uint64_t>* rows, std::vector<uint64_t>* events) {
  rows->assign(bounds.size() + 1, 0);
  events->assign(bounds.size() + 1, 0);
  const auto& col = d.provider.columns.at(column);
  for (size_t i = 0; i < col.size(); ++i) {
    if (!Selected(d.bank, i)) continue;
    size_t k = std::lower_bound(bounds.begin(), bounds.end(), col[i]) - bounds.begin();
    ++(*rows)[k];
    if (d.bank.label[i]) ++(*events)[k];
  }
}

TEST_P(SecretStatsTest, CountSumMeanVarianceOfIntegersAreExact) {
  const Data d = MakeData(10000, 1);
  SecretStatsOptions o;
  o.chunk_rows = 777;  // several chunks, the last one partial
  o.requests = {Req(StatKind::kCount, ""), Req(StatKind::kSum, "income"),
                Req(StatKind::kMean, "age"), Req(StatKind::kVariance, "income")};
  Outcome out = RunAll(o, d.bank, d.provider);
  ASSERT_TRUE(out.bank.ok()) << out.bank.status();
  ASSERT_TRUE(out.provider.ok()) << out.provider.status();
  ASSERT_TRUE(out.dealer.ok()) << out.dealer;  // OK when there is none
  const auto& s = out.bank->stats;
  ASSERT_EQ(s.size(), 4u);
  const Reference income = Plain(d, "income"), age = Plain(d, "age");
  EXPECT_EQ(s[0].rows, income.rows);
  EXPECT_EQ(*s[0].value, static_cast<double>(income.rows));
  EXPECT_EQ(s[1].sum_fixed, static_cast<int64_t>(income.sum) << o.frac_bits);
  EXPECT_EQ(*s[1].value, static_cast<double>(income.sum));
  EXPECT_EQ(s[2].sum_fixed, static_cast<int64_t>(age.sum) << o.frac_bits);
  EXPECT_NEAR(*s[2].value, static_cast<double>(age.sum / age.rows), 1e-9);
  EXPECT_EQ(s[3].sum_fixed, static_cast<int64_t>(income.sum) << o.frac_bits);
  // Σ income² is about 2^44: at 16 fractional bits it would pass 2^62, so the provider scaled
  // the squares down (integers stay exact at any scale).
  EXPECT_EQ(s[3].frac_bits, 16);
  EXPECT_LT(s[3].square_frac_bits, 16);
  EXPECT_GT(s[3].square_frac_bits, 10);
  EXPECT_EQ(s[3].sum_squares_fixed, static_cast<int64_t>(income.sum_squares)
                                        << s[3].square_frac_bits);
  const long double mean = income.sum / income.rows;
  const double var = static_cast<double>(income.sum_squares / income.rows - mean * mean);
  EXPECT_NEAR(*s[3].value, var, var * 1e-12);
  EXPECT_EQ(out.bank->min_group_rows, income.rows);
  EXPECT_EQ(out.provider->min_group_rows, income.rows);
}

TEST_P(SecretStatsTest, RealValuesWithinTheFixedPointBound) {
  const Data d = MakeData(5000, 2);
  for (int f : {8, 16, 20}) {
    SecretStatsOptions o;
    o.frac_bits = f;
    o.requests = {Req(StatKind::kSum, "ratio"), Req(StatKind::kVariance, "ratio")};
    Outcome out = RunAll(o, d.bank, d.provider);
    ASSERT_TRUE(out.bank.ok()) << out.bank.status();
    const Reference ref = Plain(d, "ratio");
    const double ulp = std::ldexp(1.0, -(f + 1));  // per-value encoding error bound
    EXPECT_LE(std::fabs(*out.bank->stats[0].value - static_cast<double>(ref.sum)), ref.rows * ulp);
    const long double mean = ref.sum / ref.rows;
    const double var = static_cast<double>(ref.sum_squares / ref.rows - mean * mean);
    // |Δ E[x²]| <= ulp, |Δ mean²| <= (2|mean| + ulp) ulp.
    EXPECT_LE(std::fabs(*out.bank->stats[1].value - var),
              ulp + (2 * std::fabs(static_cast<double>(mean)) + ulp) * ulp);
    if (f == 8) {  // and the error is real: 8 bits are visibly coarser than double
      EXPECT_NE(*out.bank->stats[0].value, static_cast<double>(ref.sum));
    }
  }
}

TEST_P(SecretStatsTest, LargeValuesGetACoarserScaleAndStayWithinItsBound) {
  Data d = MakeData(2000, 21);
  std::mt19937_64 rng(21);
  for (double& x : d.provider.columns["ratio"]) {
    x = 1e6 + std::uniform_real_distribution<double>(0, 1)(rng);  // Σx²·2^16 ≈ 2^77
  }
  SecretStatsOptions o;
  o.requests = {Req(StatKind::kMean, "ratio"), Req(StatKind::kVariance, "ratio")};
  Outcome out = RunAll(o, d.bank, d.provider);
  ASSERT_TRUE(out.bank.ok()) << out.bank.status();
  const StatResult& mean = out.bank->stats[0];
  const StatResult& var = out.bank->stats[1];
  EXPECT_EQ(mean.frac_bits, 16);  // Σ|x|·2^16 ≈ 2^47 fits
  // The largest scale at which Σx² over all rows stays below 2^62 (about 2^51 · 2^11).
  long double all_squares = 0;
  for (double x : d.provider.columns["ratio"]) all_squares += static_cast<long double>(x) * x;
  int f = 16;
  while (std::ldexp(all_squares, f) >= std::ldexp(1.0L, 62)) --f;
  EXPECT_EQ(var.square_frac_bits, f);
  EXPECT_LT(f, 16);
  const Reference ref = Plain(d, "ratio");
  const double ulp = std::ldexp(1.0, -17), ulp_sq = std::ldexp(1.0, -(f + 1));
  EXPECT_LE(std::fabs(*mean.value - static_cast<double>(ref.sum / ref.rows)), ulp);
  const long double m = ref.sum / ref.rows;
  const double expected = static_cast<double>(ref.sum_squares / ref.rows - m * m);
  // The stated bound: |Δ E[x²]| <= 2^-(f_sq+1), |Δ mean²| <= (2|mean| + ulp) ulp.
  EXPECT_LE(std::fabs(*var.value - expected), ulp_sq + (2 * static_cast<double>(m) + ulp) * ulp);
}

TEST_P(SecretStatsTest, HistogramCountsAreExactIncludingBoundaries) {
  Data d = MakeData(3000, 3);
  d.provider.columns["age"][0] = 30;  // exactly on a bound: bucket (-inf, 30]
  d.bank.selection[0] = 1;
  SecretStatsOptions o;
  o.requests = {Req(StatKind::kHistogram, "age", {30, 45, 60})};
  Outcome out = RunAll(o, d.bank, d.provider);
  ASSERT_TRUE(out.bank.ok()) << out.bank.status();
  std::vector<uint64_t> rows, events;
  PlainBuckets(d, "age", {30, 45, 60}, &rows, &events);
  EXPECT_EQ(out.bank->stats[0].bucket_rows, rows);
  EXPECT_EQ(out.bank->stats[0].bounds, (std::vector<double>{30, 45, 60}));
  EXPECT_FALSE(out.bank->stats[0].value.has_value());
  EXPECT_EQ(out.provider->group_rows, rows);  // the provider learns exactly the group sizes
}

TEST_P(SecretStatsTest, QuantileBucketsUseTheProvidersQuantiles) {
  const Data d = MakeData(4000, 4, /*select=*/false);
  SecretStatsOptions o;
  o.requests = {Req(StatKind::kHistogram, "income", {}, 4)};
  Outcome out = RunAll(o, d.bank, d.provider);
  ASSERT_TRUE(out.bank.ok()) << out.bank.status();
  std::vector<double> sorted = d.provider.columns.at("income");
  std::sort(sorted.begin(), sorted.end());
  const std::vector<double> bounds = {sorted[999], sorted[1999], sorted[2999]};
  EXPECT_EQ(out.bank->stats[0].bounds, bounds);
  std::vector<uint64_t> rows, events;
  PlainBuckets(d, "income", bounds, &rows, &events);
  EXPECT_EQ(out.bank->stats[0].bucket_rows, rows);
  EXPECT_EQ(rows, (std::vector<uint64_t>{1000, 1000, 1000, 1000}));  // distinct values
}

TEST_P(SecretStatsTest, WidePlansUseSmallerChunks) {
  const Data d = MakeData(3000, 22);
  SecretStatsOptions o;
  o.chunk_rows = 65536;  // 2056 words per row would make 1 GB messages: cut to 16 MiB
  for (int i = 0; i < 8; ++i) {
    o.requests.push_back(Req(StatKind::kHistogram, i % 2 ? "age" : "income", {}, 257));
  }
  Outcome out = RunAll(o, d.bank, d.provider);
  ASSERT_TRUE(out.bank.ok()) << out.bank.status();
  for (const StatResult& s : out.bank->stats) {
    ASSERT_EQ(s.bounds.size(), 256u);
    std::vector<uint64_t> rows, events;
    PlainBuckets(d, s.column, s.bounds, &rows, &events);
    EXPECT_EQ(s.bucket_rows, rows);
  }
}

TEST_P(SecretStatsTest, WoeIvMatchesPlaintext) {
  const Data d = MakeData(20000, 5);
  const std::vector<double> bounds = {25, 35, 50, 65};
  SecretStatsOptions o;
  o.chunk_rows = 4096;
  o.requests = {Req(StatKind::kWoeIv, "age", bounds), Req(StatKind::kMean, "ratio")};
  Outcome out = RunAll(o, d.bank, d.provider);
  ASSERT_TRUE(out.bank.ok()) << out.bank.status();
  std::vector<uint64_t> rows, events;
  PlainBuckets(d, "age", bounds, &rows, &events);
  const StatResult& s = out.bank->stats[0];
  EXPECT_EQ(s.bucket_rows, rows);
  EXPECT_EQ(s.bucket_events, events);
  double E = 0, N = 0;
  for (size_t i = 0; i < rows.size(); ++i) {
    E += events[i];
    N += rows[i] - events[i];
  }
  double iv = 0;
  ASSERT_EQ(s.woe.size(), rows.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    const double e = events[i], ne = rows[i] - events[i];
    const double woe = std::log((e / E) / (ne / N));
    EXPECT_NEAR(s.woe[i], woe, 1e-12);
    iv += (e / E - ne / N) * woe;
  }
  ASSERT_TRUE(s.iv.has_value());
  EXPECT_NEAR(*s.iv, iv, 1e-12);
}

TEST_P(SecretStatsTest, WoeAdjustsEmptyCellsAndHasNoIvWithoutEvents) {
  Data d = MakeData(1000, 6, /*select=*/false);
  for (size_t i = 0; i < 1000; ++i) d.bank.label[i] = d.provider.columns["age"][i] > 60;
  SecretStatsOptions o;
  o.requests = {Req(StatKind::kWoeIv, "age", {40, 60})};
  Outcome out = RunAll(o, d.bank, d.provider);
  ASSERT_TRUE(out.bank.ok()) << out.bank.status();
  const StatResult& s = out.bank->stats[0];
  EXPECT_EQ(s.bucket_events[0], 0u);
  ASSERT_EQ(s.woe.size(), 3u);
  EXPECT_TRUE(std::isfinite(s.woe[0]) && std::isfinite(s.woe[2]));
  EXPECT_TRUE(s.iv.has_value());

  std::fill(d.bank.label.begin(), d.bank.label.end(), 0);
  out = RunAll(o, d.bank, d.provider);
  ASSERT_TRUE(out.bank.ok()) << out.bank.status();
  EXPECT_TRUE(out.bank->stats[0].woe.empty());
  EXPECT_FALSE(out.bank->stats[0].iv.has_value());
}

TEST_P(SecretStatsTest, SmallBucketRefusesEverythingAndNamesTheBucket) {
  Data d = MakeData(2000, 7, /*select=*/false);
  auto& age = d.provider.columns["age"];
  for (double& a : age) a = std::min(a, 70.0);
  for (int i = 0; i < 4; ++i) age[i] = 90;  // 4 rows in (80, +inf)
  SecretStatsOptions o;
  o.min_group_size = 10;
  o.requests = {Req(StatKind::kSum, "income"), Req(StatKind::kHistogram, "age", {40, 80})};
  Outcome out = RunAll(o, d.bank, d.provider);
  ASSERT_FALSE(out.bank.ok());
  EXPECT_EQ(out.bank.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(out.bank.status().message()),
              HasSubstr("histogram of age: bucket 2 (80, +inf) has fewer than 10 rows"));
  EXPECT_THAT(std::string(out.bank.status().message()), HasSubstr("requires at least 10"));
  EXPECT_THAT(std::string(out.bank.status().message()), ::testing::Not(HasSubstr(" 4 ")));
  EXPECT_EQ(out.provider.status().code(), absl::StatusCode::kFailedPrecondition);

  // Exactly k rows, and empty buckets, pass.
  for (int i = 4; i < 10; ++i) age[i] = 90;
  o.requests[1].bounds = {40, 80, 85};
  out = RunAll(o, d.bank, d.provider);
  ASSERT_TRUE(out.bank.ok()) << out.bank.status();
  EXPECT_EQ(out.bank->stats[1].bucket_rows[2], 0u);
  EXPECT_EQ(out.bank->stats[1].bucket_rows[3], 10u);
  EXPECT_EQ(out.bank->min_group_rows, 10u);
}

TEST_P(SecretStatsTest, SmallSelectionRefusesScalarStatistics) {
  Data d = MakeData(500, 8);
  std::fill(d.bank.selection.begin(), d.bank.selection.end(), 0);
  d.bank.selection[7] = d.bank.selection[8] = 1;
  SecretStatsOptions o;
  o.min_group_size = 3;
  o.requests = {Req(StatKind::kMean, "income")};
  Outcome out = RunAll(o, d.bank, d.provider);
  EXPECT_EQ(out.bank.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(out.bank.status().message()),
              HasSubstr("mean of income: the selected rows has fewer than 3 rows"));
}

TEST_P(SecretStatsTest, MeanOverNoRowsIsAbsent) {
  Data d = MakeData(100, 9);
  std::fill(d.bank.selection.begin(), d.bank.selection.end(), 0);
  SecretStatsOptions o;
  o.min_group_size = 5;  // an empty group describes nobody
  o.requests = {Req(StatKind::kMean, "age"), Req(StatKind::kVariance, "age")};
  Outcome out = RunAll(o, d.bank, d.provider);
  ASSERT_TRUE(out.bank.ok()) << out.bank.status();
  EXPECT_FALSE(out.bank->stats[0].value.has_value());
  EXPECT_FALSE(out.bank->stats[1].value.has_value());
  EXPECT_EQ(out.bank->min_group_rows, 0u);
}

TEST_P(SecretStatsTest, ZeroRows) {
  Data d = MakeData(0, 10);
  SecretStatsOptions o;
  o.requests = {Req(StatKind::kCount, ""), Req(StatKind::kHistogram, "age", {}, 3)};
  Outcome out = RunAll(o, d.bank, d.provider);
  ASSERT_TRUE(out.bank.ok()) << out.bank.status();
  EXPECT_EQ(*out.bank->stats[0].value, 0);
  EXPECT_EQ(out.bank->stats[1].bucket_rows, (std::vector<uint64_t>{0, 0, 0}));
}

TEST_P(SecretStatsTest, MismatchedOptionsAreRefusedBeforeData) {
  const Data d = MakeData(100, 11);
  SecretStatsOptions a, b;
  a.requests = b.requests = {Req(StatKind::kSum, "age")};
  b.min_group_size = 5;
  Outcome out = RunAll(a, d.bank, b, d.provider);
  EXPECT_EQ(out.bank.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(out.bank.status().message()), HasSubstr("different options"));
  EXPECT_EQ(out.provider.status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_P(SecretStatsTest, MismatchedRowCountsAreRefused) {
  Data d = MakeData(100, 12);
  d.bank = MakeData(99, 12).bank;
  SecretStatsOptions o;
  o.requests = {Req(StatKind::kSum, "age")};
  Outcome out = RunAll(o, d.bank, d.provider);
  EXPECT_THAT(std::string(out.bank.status().message()),
              HasSubstr("the provider has 100 aligned rows, we have 99"));
  EXPECT_FALSE(out.provider.ok());
  if (WithDealer()) {
    EXPECT_FALSE(out.dealer.ok());
  }
}

TEST_P(SecretStatsTest, BadInputsAreRefusedAndEveryoneEnds) {
  SecretStatsOptions o;
  o.requests = {Req(StatKind::kWoeIv, "age", {40})};
  {
    Data d = MakeData(100, 13);
    d.bank.label[5] = 2;
    Outcome out = RunAll(o, d.bank, d.provider);
    EXPECT_EQ(out.bank.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(out.bank.status().message()), HasSubstr("label[5] is neither"));
    EXPECT_THAT(std::string(out.provider.status().message()), HasSubstr("the bank aborted"));
    if (WithDealer()) {
      EXPECT_FALSE(out.dealer.ok());
    }
  }
  {
    Data d = MakeData(100, 13);
    d.provider.columns.erase("age");
    Outcome out = RunAll(o, d.bank, d.provider);
    EXPECT_THAT(std::string(out.provider.status().message()), HasSubstr("no column 'age'"));
    EXPECT_THAT(std::string(out.bank.status().message()), HasSubstr("the provider aborted"));
  }
  {
    Data d = MakeData(100, 13);
    d.provider.columns["income"][3] = 1e19;  // Σ|x| overflows 2^62 at any scale
    SecretStatsOptions s;
    s.requests = {Req(StatKind::kSum, "income")};
    Outcome out = RunAll(s, d.bank, d.provider);
    EXPECT_THAT(std::string(out.provider.status().message()),
                HasSubstr("exceeds the fixed-point range"));
    EXPECT_FALSE(out.bank.ok());
  }
  {
    Data d = MakeData(100, 13);
    d.provider.columns["age"][3] = std::nan("");
    Outcome out = RunAll(o, d.bank, d.provider);
    EXPECT_THAT(std::string(out.provider.status().message()), HasSubstr("not a number"));
  }
}

TEST(SecretStatsOptionsTest, ValidateOptionsNamesTheRequest) {
  SecretStatsOptions o;
  EXPECT_FALSE(ValidateOptions(o).ok());
  o.requests = {Req(StatKind::kSum, "age"), Req(StatKind::kHistogram, "income", {5, 5})};
  EXPECT_THAT(std::string(ValidateOptions(o).message()),
              HasSubstr("requests[1] (histogram of 'income'): bounds[1] is not above bounds[0]"));
  o.requests = {Req(StatKind::kMean, "age", {1})};
  EXPECT_THAT(std::string(ValidateOptions(o).message()), HasSubstr("only histograms"));
  o.requests = {Req(StatKind::kHistogram, "age", {}, 1)};
  EXPECT_THAT(std::string(ValidateOptions(o).message()), HasSubstr("quantiles must be"));
  o.requests = {Req(StatKind::kSum, "")};
  EXPECT_THAT(std::string(ValidateOptions(o).message()), HasSubstr("no column"));
  o.requests = {Req(StatKind::kSum, "age")};
  o.frac_bits = 31;
  EXPECT_FALSE(ValidateOptions(o).ok());
}

// ---- malformed and truncated shares ----

SecretStatsOptions SmallOptions() {
  SecretStatsOptions o;
  o.chunk_rows = 64;
  o.requests = {Req(StatKind::kSum, "income"), Req(StatKind::kWoeIv, "age", {40})};
  return o;
}

// Edits, in place, every message with the given tag.
TamperLink::Fn OnTag(char tag, std::function<void(std::string&)> edit) {
  return [tag, edit](int, std::string m) -> std::optional<std::string> {
    if (m.size() > 0 && m.data()[0] == tag) edit(m);
    return m;
  };
}

TEST_P(SecretStatsTest, TruncatedChunkIsRefused) {
  const Data d = MakeData(300, 14);
  Tamper t;
  t.provider_to_bank = OnTag('C', [](std::string& m) { m.resize(m.size() - 3); });
  Outcome out = RunAll(SmallOptions(), d.bank, d.provider, t);
  EXPECT_EQ(out.bank.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(out.bank.status().message()),
              HasSubstr("malformed chunk 0 from the provider"));
  EXPECT_FALSE(out.provider.ok());  // the bank closed the link

  Tamper other_way;  // the bank's chunk (with a dealer d = u - a; two-party the OT columns)
  other_way.bank_to_provider = OnTag('C', [](std::string& m) { m.pop_back(); });
  out = RunAll(SmallOptions(), d.bank, d.provider, other_way);
  EXPECT_EQ(out.provider.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(out.provider.status().message()),
              HasSubstr("malformed chunk 0 from the bank"));
  EXPECT_FALSE(out.bank.ok());
}

TEST_P(SecretStatsTest, ChunkOutOfOrderIsRefused) {
  const Data d = MakeData(300, 15);
  Tamper t;
  t.bank_to_provider = OnTag('C', [](std::string& m) {
    m[1] ^= 1;  // chunk index
  });
  Outcome out = RunAll(SmallOptions(), d.bank, d.provider, t);
  EXPECT_THAT(std::string(out.provider.status().message()),
              HasSubstr("malformed chunk 0 from the bank"));
  EXPECT_FALSE(out.bank.ok());
}

TEST(SecretStatsDealerTest, TruncatedTriplesAreRefused) {
  const Data d = MakeData(300, 16);
  Tamper t;
  t.dealer_to_provider = [](int index, std::string m) -> std::optional<std::string> {
    if (index == 2) m.pop_back();  // seed, triples 0, triples 1 (truncated)
    return m;
  };
  Outcome out = RunAll(Mode::kDealer, SmallOptions(), d.bank, SmallOptions(), d.provider, t);
  EXPECT_THAT(std::string(out.provider.status().message()),
              HasSubstr("malformed triples for chunk 1 from the dealer"));
  EXPECT_FALSE(out.bank.ok());
}

TEST_P(SecretStatsTest, MalformedGroupSharesAreRefused) {
  const Data d = MakeData(300, 17);
  {
    Tamper t;
    t.bank_to_provider = OnTag('G', [](std::string& m) { m.push_back('x'); });
    Outcome out = RunAll(SmallOptions(), d.bank, d.provider, t);
    EXPECT_THAT(std::string(out.provider.status().message()),
                HasSubstr("malformed group shares from the bank"));
    EXPECT_FALSE(out.bank.ok());
  }
  {
    // A share that makes a count impossible (above the row count).
    Tamper t;
    t.bank_to_provider = OnTag('G', [](std::string& m) { m[5 + 7] ^= 0x40; });
    Outcome out = RunAll(SmallOptions(), d.bank, d.provider, t);
    EXPECT_THAT(std::string(out.provider.status().message()), HasSubstr("count out of range"));
  }
}

TEST_P(SecretStatsTest, MalformedResultSharesAreRefused) {
  const Data d = MakeData(300, 18);
  {
    Tamper t;
    t.provider_to_bank = OnTag('R', [](std::string& m) { m.resize(m.size() - 8); });
    Outcome out = RunAll(SmallOptions(), d.bank, d.provider, t);
    EXPECT_THAT(std::string(out.bank.status().message()),
                HasSubstr("malformed result from the provider"));
  }
  {
    Tamper t;  // a corrupted event share: events above the bucket's rows, or out of range
    t.provider_to_bank = OnTag('R', [](std::string& m) {
      m[m.size() - 2] ^= 0x10;  // the last share (the trailer is one scale byte)
    });
    Outcome out = RunAll(SmallOptions(), d.bank, d.provider, t);
    EXPECT_EQ(out.bank.status().code(), absl::StatusCode::kDataLoss);
  }
  {
    Tamper t;  // a scale finer than the agreed frac_bits
    t.provider_to_bank = OnTag('R', [](std::string& m) { m.back() = 17; });
    Outcome out = RunAll(SmallOptions(), d.bank, d.provider, t);
    EXPECT_THAT(std::string(out.bank.status().message()), HasSubstr("result (scale)"));
  }
}

TEST_P(SecretStatsTest, MalformedAbortAndHelloAreRefused) {
  const Data d = MakeData(50, 19);
  Tamper t;
  t.provider_to_bank = OnTag('H', [](std::string& m) { m.resize(10); });
  Outcome out = RunAll(SmallOptions(), d.bank, d.provider, t);
  EXPECT_THAT(std::string(out.bank.status().message()),
              HasSubstr("malformed hello from the provider"));
  EXPECT_FALSE(out.provider.ok());
}

TEST_P(SecretStatsTest, RunsOverLoopbackSockets) {
  const Data d = MakeData(2000, 20);
  auto bp = LoopbackSocketPair();
  auto bd = LoopbackSocketPair();
  auto pd = LoopbackSocketPair();
  ASSERT_TRUE(bp.ok() && bd.ok() && pd.ok());
  SecretStatsOptions o;
  o.requests = {Req(StatKind::kSum, "age"), Req(StatKind::kWoeIv, "income", {}, 5)};
  absl::Status dealer;
  absl::StatusOr<ProviderSummary> provider = absl::UnknownError("");
  absl::StatusOr<SecretStatsResult> bank = absl::UnknownError("");
  if (WithDealer()) {
    std::thread td([&] { dealer = RunDealer(*bd->second, *pd->second); });
    std::thread tp([&] { provider = RunProvider(o, d.provider, *bp->second, *pd->first); });
    bank = RunBank(o, d.bank, *bp->first, *bd->first);
    tp.join();
    td.join();
  } else {
    std::thread tp([&] { provider = RunProvider(o, d.provider, *bp->second); });
    bank = RunBank(o, d.bank, *bp->first);
    tp.join();
  }
  ASSERT_TRUE(bank.ok()) << bank.status();
  ASSERT_TRUE(provider.ok()) << provider.status();
  ASSERT_TRUE(dealer.ok()) << dealer;
  EXPECT_EQ(bank->stats[0].sum_fixed, static_cast<int64_t>(Plain(d, "age").sum) << 16);
  std::vector<uint64_t> rows, events;
  PlainBuckets(d, "income", bank->stats[1].bounds, &rows, &events);
  EXPECT_EQ(bank->stats[1].bucket_rows, rows);
  EXPECT_EQ(bank->stats[1].bucket_events, events);
}

// ---- two-party only: mode and base OTs ----

TEST(SecretStatsTwoPartyTest, MixedModesAreRefusedBeforeData) {
  const Data d = MakeData(100, 23);
  SecretStatsOptions o;
  o.requests = {Req(StatKind::kSum, "age")};
  auto [bp_b, bp_p] = MemoryLinkPair();
  auto [pd_p, pd_d] = MemoryLinkPair();
  auto [bd_b, bd_d] = MemoryLinkPair();
  absl::Status dealer;
  absl::StatusOr<ProviderSummary> provider = absl::UnknownError("not run");
  std::thread td([&] { dealer = RunDealer(*bd_d, *pd_d); });
  std::thread tp([&] { provider = RunProvider(o, d.provider, *bp_p, *pd_p); });
  absl::StatusOr<SecretStatsResult> bank = RunBank(o, d.bank, *bp_b);  // without the dealer
  tp.join();
  bd_b->Close();  // the bank never talks to the dealer
  td.join();
  EXPECT_EQ(bank.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(bank.status().message()),
              HasSubstr("the provider runs with a dealer, we run two-party (without a dealer)"));
  EXPECT_THAT(std::string(provider.status().message()),
              HasSubstr("the bank runs two-party (without a dealer), we run with a dealer"));
  EXPECT_FALSE(dealer.ok());
}

TEST(SecretStatsTwoPartyTest, MalformedBaseOtMessagesAreRefused) {
  const Data d = MakeData(100, 24);
  {
    Tamper t;
    t.provider_to_bank = OnTag('B', [](std::string& m) { m.pop_back(); });
    Outcome out = RunAll(Mode::kTwoParty, SmallOptions(), d.bank, SmallOptions(), d.provider, t);
    EXPECT_EQ(out.bank.status().code(), absl::StatusCode::kDataLoss);
    EXPECT_THAT(std::string(out.bank.status().message()),
                HasSubstr("malformed base OT reply from the provider"));
    EXPECT_FALSE(out.provider.ok());
  }
  {
    Tamper t;
    t.bank_to_provider = OnTag('O', [](std::string& m) { m.resize(10); });
    Outcome out = RunAll(Mode::kTwoParty, SmallOptions(), d.bank, SmallOptions(), d.provider, t);
    EXPECT_THAT(std::string(out.provider.status().message()),
                HasSubstr("malformed base OT message from the bank"));
    EXPECT_THAT(std::string(out.bank.status().message()), HasSubstr("the provider aborted"));
  }
  {
    Tamper t;  // the right length, but not a point
    t.bank_to_provider =
        OnTag('O', [](std::string& m) { std::fill(m.begin() + 1, m.end(), '\xff'); });
    Outcome out = RunAll(Mode::kTwoParty, SmallOptions(), d.bank, SmallOptions(), d.provider, t);
    EXPECT_THAT(std::string(out.provider.status().message()),
                HasSubstr("malformed base OT message from the bank: "));
    EXPECT_FALSE(out.bank.ok());
  }
  {
    Tamper t;  // chunks before the base OTs
    t.provider_to_bank = OnTag('B', [](std::string& m) { m[0] = 'C'; });
    Outcome out = RunAll(Mode::kTwoParty, SmallOptions(), d.bank, SmallOptions(), d.provider, t);
    EXPECT_THAT(std::string(out.bank.status().message()),
                HasSubstr("malformed base OT reply from the provider"));
  }
}

// ---- the OT products themselves (ot_products.h), driven by RunProducts ----

struct ProductRun {
  absl::Status bank = absl::UnknownError("not run");
  absl::Status provider = absl::UnknownError("not run");
  std::vector<uint64_t> bank_shares, provider_shares;
  uint64_t bank_sent = 0, provider_sent = 0;
};

// u: the bank's U vectors over all rows (vector-major), v: the provider's V vectors.
ProductRun RunOtProducts(const ProductShape& shape, const std::vector<uint64_t>& u,
                         const std::vector<uint64_t>& v,
                         const TamperLink::Fn& provider_to_bank = {}) {
  auto [bank_link, provider_inner] = MemoryLinkPair();
  std::unique_ptr<Link> provider_link = Wrap(std::move(provider_inner), provider_to_bank);
  ProductRun out;
  out.bank_shares.assign(shape.products.size(), 0);
  out.provider_shares.assign(shape.products.size(), 0);
  auto party = [&shape](uint8_t role, Link& link, const std::vector<uint64_t>& all, size_t width,
                        std::vector<uint64_t>& shares) {
    std::unique_ptr<ProductShares> source = OtProducts(role, shape, link);
    absl::Status s = source->Start();
    if (s.ok()) {
      s = RunProducts(
          *source, shape, width, link, role == kRoleBank ? "provider" : "bank",
          [&](uint64_t begin, size_t n, uint64_t* dst) {
            for (size_t j = 0; j < width; ++j) {
              for (size_t i = 0; i < n; ++i) dst[j * n + i] = all[j * shape.rows + begin + i];
            }
          },
          shares.data());
    }
    if (!s.ok()) link.Close();
    return s;
  };
  std::thread provider([&] {
    out.provider =
        party(kRoleProvider, *provider_link, v, shape.provider_vectors, out.provider_shares);
  });
  out.bank = party(kRoleBank, *bank_link, u, shape.bank_vectors, out.bank_shares);
  provider.join();
  out.bank_sent = bank_link->bytes_sent();
  out.provider_sent = bank_link->bytes_received();
  return out;
}

struct ProductCase {
  ProductShape shape;
  std::vector<uint64_t> u, v;
  // Σ_i u·v per product, mod 2^64.
  std::vector<uint64_t> Expected() const {
    std::vector<uint64_t> sums;
    for (auto [a, b] : shape.products) {
      uint64_t sum = 0;
      for (uint64_t i = 0; i < shape.rows; ++i) {
        sum += u[a * shape.rows + i] * v[b * shape.rows + i];
      }
      sums.push_back(sum);
    }
    return sums;
  }
};

// Random bits u and random words v (the whole ring: the identity holds mod 2^64).
ProductCase MakeProductCase(uint64_t rows, uint32_t chunk_rows, uint32_t seed) {
  ProductCase c;
  c.shape.rows = rows;
  c.shape.chunk_rows = chunk_rows;
  c.shape.bank_vectors = 2;
  c.shape.provider_vectors = 3;
  c.shape.products = {{0, 0}, {0, 1}, {1, 1}, {0, 2}, {1, 2}};
  std::mt19937_64 rng(seed);
  for (uint64_t i = 0; i < 2 * rows; ++i) c.u.push_back(rng() & 1);
  for (uint64_t i = 0; i < 3 * rows; ++i) c.v.push_back(rng());
  return c;
}

std::vector<uint64_t> Sum(const ProductRun& r) {
  std::vector<uint64_t> sums;
  for (size_t p = 0; p < r.bank_shares.size(); ++p) {
    sums.push_back(r.bank_shares[p] + r.provider_shares[p]);
  }
  return sums;
}

TEST(OtProductsTest, SharesAddUpToTheProducts) {
  // Four chunks, none a multiple of 64 rows.
  const ProductCase c = MakeProductCase(1000, 300, 30);
  const ProductRun r = RunOtProducts(c.shape, c.u, c.v);
  ASSERT_TRUE(r.bank.ok()) << r.bank;
  ASSERT_TRUE(r.provider.ok()) << r.provider;
  const std::vector<uint64_t> expected = c.Expected();
  EXPECT_EQ(Sum(r), expected);
  for (size_t p = 0; p < expected.size(); ++p) {  // neither share is the product by itself
    EXPECT_NE(r.bank_shares[p], expected[p]);
    EXPECT_NE(r.provider_shares[p], expected[p]);
  }
  // Wire cost: one base OT each way; per chunk of n rows the bank sends 64 bytes per OT row
  // (2 bank vectors × n rounded up to 64), the provider 8 bytes per product and row.
  uint64_t ot_rows = 0;
  for (uint64_t n : {300, 300, 300, 100}) ot_rows += 2 * ((n + 63) / 64 * 64);
  EXPECT_EQ(r.bank_sent, 33 + 4 * 9 + 64 * ot_rows);
  EXPECT_EQ(r.provider_sent, 1 + 512 * 32 + 4 * 9 + 8 * 5 * 1000);
}

TEST(OtProductsTest, EveryRowAndChunkSizeAndChoice) {
  for (uint32_t chunk_rows : {1u, 63u, 64u, 65u}) {
    ProductCase c = MakeProductCase(130, chunk_rows, 31 + chunk_rows);
    const ProductRun r = RunOtProducts(c.shape, c.u, c.v);
    ASSERT_TRUE(r.bank.ok()) << r.bank;
    EXPECT_EQ(Sum(r), c.Expected()) << "chunk_rows " << chunk_rows;
  }
  ProductCase c = MakeProductCase(100, 64, 32);
  for (uint64_t bit : {0, 1}) {  // all choices 0, all 1
    std::fill(c.u.begin(), c.u.end(), bit);
    const ProductRun r = RunOtProducts(c.shape, c.u, c.v);
    ASSERT_TRUE(r.bank.ok()) << r.bank;
    EXPECT_EQ(Sum(r), c.Expected()) << "u = " << bit;
  }
}

TEST(OtProductsTest, BankVectorsWithoutProductsNeedNoOts) {
  ProductCase c = MakeProductCase(200, 128, 33);
  c.shape.products = {{0, 2}, {0, 0}};  // bank vector 1 has none
  ProductRun r = RunOtProducts(c.shape, c.u, c.v);
  ASSERT_TRUE(r.bank.ok()) << r.bank;
  EXPECT_EQ(Sum(r), c.Expected());
  EXPECT_EQ(r.bank_sent, 33 + 2 * 9 + 64 * (128 + 128));

  c.shape.products.clear();  // nothing to multiply: no messages at all
  r = RunOtProducts(c.shape, c.u, c.v);
  ASSERT_TRUE(r.bank.ok()) << r.bank;
  EXPECT_EQ(r.bank_sent, 0u);
  EXPECT_EQ(r.provider_sent, 0u);
}

// Where t's word for product p and row i sits in a chunk of n rows (after the 9-byte header):
// per bank vector with products, per row, that vector's products in plan order.
size_t MaskedWordAt(const ProductShape& shape, size_t n, size_t p, size_t i) {
  size_t offset = 0;
  for (uint32_t u = 0; u < shape.bank_vectors; ++u) {
    std::vector<size_t> of_u;
    for (size_t q = 0; q < shape.products.size(); ++q) {
      if (shape.products[q].first == u) of_u.push_back(q);
    }
    if (u == shape.products[p].first) {
      const size_t j = std::find(of_u.begin(), of_u.end(), p) - of_u.begin();
      return 9 + (offset + i * of_u.size() + j) * 8;
    }
    offset += n * of_u.size();
  }
  return 0;
}

TEST(OtProductsTest, ACorruptedMaskedWordChangesOnlyItsProductAndOnlyWhereUIsOne) {
  const ProductCase c = MakeProductCase(200, 64, 34);
  const std::vector<uint64_t> expected = c.Expected();
  // In chunk 1 (rows 64..127), add delta to t of product 2 = (u1, v1) at row 64 + 5 and of
  // product 3 = (u0, v2) at row 64 + 6.
  const uint64_t delta = 0x123456789abcdefULL;
  auto add_at = [&](std::string& m, size_t p, size_t i) {
    const size_t at = MaskedWordAt(c.shape, 64, p, i);
    uint64_t w;
    std::memcpy(&w, m.data() + at, 8);
    w += delta;
    std::memcpy(m.data() + at, &w, 8);
  };
  const uint64_t u1 = c.u[1 * 200 + 69], u0 = c.u[0 * 200 + 70];
  const ProductRun r =
      RunOtProducts(c.shape, c.u, c.v, [&](int, std::string m) -> std::optional<std::string> {
        if (m[0] == 'C' && m[1] == 1) {
          add_at(m, 2, 5);
          add_at(m, 3, 6);
        }
        return m;
      });
  ASSERT_TRUE(r.bank.ok()) << r.bank;
  std::vector<uint64_t> want = expected;
  want[2] += u1 * delta;  // the bank uses t only where its bit is 1
  want[3] += u0 * delta;
  EXPECT_EQ(Sum(r), want);
  EXPECT_NE(u1 + u0, 0u) << "pick a seed where at least one of the two bits is 1";
  EXPECT_NE(u1 * u0, 1u) << "pick a seed where at least one of the two bits is 0";
}

TEST(OtProductsTest, TruncatedMaskedWordsAreRefused) {
  const ProductCase c = MakeProductCase(200, 64, 35);
  const ProductRun r =
      RunOtProducts(c.shape, c.u, c.v, [](int, std::string m) -> std::optional<std::string> {
        if (m[0] == 'C' && m[1] == 0) m.resize(m.size() - 8);
        return m;
      });
  EXPECT_EQ(r.bank.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(r.bank.message()), HasSubstr("malformed chunk 0 from the provider"));
  EXPECT_FALSE(r.provider.ok());  // it waits for chunk 2's columns, which never come
}

}  // namespace
}  // namespace tds::compute::mpc
