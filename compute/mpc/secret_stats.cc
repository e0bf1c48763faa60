// Secret-shared statistics: plan, handshake, groups and result, shared by both modes. See
// secret_stats.h, README.md. How the parties get shares of the products differs by mode:
// beaver_products.h (with a dealer), ot_products.h (two parties).
//
// Wire format (integers little-endian; word := u64, a Z_2^64 element; f64 := IEEE bits as u64):
//
//   bank <-> provider (both send hello; then the mode's set-up and chunks; the bank sends
//   groups; the provider answers with result or abort)
//     hello   := 'H' version:u8 role:u8 mode:u8 rows:u64 options_digest[32]
//                (version 2; role 0 bank, 1 provider; mode 0 with a dealer, 1 two-party)
//     chunk   := 'C' index:u32 n:u32 word[W]   (one per chunk each way; n the chunk's rows)
//                with a dealer: W = U * n from the bank (d = u - a), V * n from the provider
//                (e = v - b), vector-major (element (j, i) at j * n + i);
//                two-party (only when P > 0 and rows > 0): from the bank, the OT extension's
//                columns: W = 8 * A * ceil64(n) (A = bank vectors with products, ascending; 512
//                columns of A * ceil64(n) bits, column after column; OT row a * ceil64(n) + i
//                is row i's OT for the a-th of them, padding rows choose 0); from the
//                provider t: W = P * n, for the a-th bank vector with products (ascending),
//                for each row i, one word per product of it in plan order
//     groups  := 'G' count:u32 share[count]:word                      (bank -> provider)
//     result  := 'R' count:u32 share[count]:word quantile_bounds:f64* scale:u8*
//                (provider -> bank; one scale per value or square vector, in plan order)
//     abort   := 'X' code:u8 text                                      (either way, then close)
//   two-party set-up (after hello, only when P > 0 and rows > 0)
//     base_ot := 'O' A[32]                                             (bank -> provider)
//     reply   := 'B' B[512][32]                                        (provider -> bank)
//   with a dealer: party -> dealer (after hello)
//     shape   := 'D' version:u8 role:u8 rows:u64 chunk_rows:u32 U:u32 V:u32 P:u32
//                (u:u32 v:u32)[P]
//   dealer -> party
//     seed    := 'S' seed[32]
//     triples := 'T' index:u32 n:u32 c1[P * n]:word                   (to the provider only)
//
// U bank vectors, V provider vectors, P products (pairs (u, v)); see Plan. Chunk k covers rows
// [k * chunk_rows, min(rows, (k + 1) * chunk_rows)). Each party sends chunk k + 1 before it
// receives chunk k (with a dealer both send at once; two-party the provider answers the bank's
// columns with t).
//
// Aggregates: Σu for each bank vector (the bank's share; the provider's is 0), then the product
// sums, whose shares come from the mode's ProductShares.

#include "compute/mpc/secret_stats.h"

#include <sodium.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <memory>
#include <type_traits>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "compute/mpc/beaver_products.h"
#include "compute/mpc/ot_products.h"
#include "compute/mpc/products.h"
#include "compute/mpc/wire.h"
#include "compute/sodium_init.h"

namespace tds::compute::mpc {
namespace {

constexpr uint8_t kModeDealer = 0;
constexpr uint8_t kModeTwoParty = 1;
constexpr size_t kDigestBytes = 32;
constexpr uint32_t kMaxChunkRows = 65536;

const char* ModeName(uint8_t mode) {
  return mode == kModeDealer ? "with a dealer" : "two-party (without a dealer)";
}
// ---- options and plan -------------------------------------------------------------------------

bool Bucketed(StatKind kind) { return kind == StatKind::kHistogram || kind == StatKind::kWoeIv; }

std::string Describe(size_t i, const StatRequest& r) {
  return absl::StrCat("requests[", i, "] (", StatKindName(r.kind), " of '", r.column, "')");
}

// Everything both parties derive identically from the options.
struct ProviderVector {
  enum Kind { kValue, kSquare, kIndicator } kind;
  std::string column;
};

struct RequestPlan {
  uint32_t buckets = 0;
  uint32_t first_indicator = 0;  // provider vector of bucket 0; buckets are contiguous
  int value_product = -1;
  int square_product = -1;
  int value_vector = -1;  // provider vectors of x and x², whose scale the result announces
  int square_vector = -1;
  std::vector<uint32_t> bucket_products;  // (selection, indicator_i)
  std::vector<uint32_t> event_products;   // (selection * label, indicator_i)
};

struct Group {
  uint32_t aggregate;  // index into the aggregates
  std::string name;    // for the refusal; never a provider value
};

struct Plan {
  uint32_t bank_vectors = 1;  // 0: selection; 1: selection * label (only with a WOE/IV)
  std::vector<ProviderVector> provider_vectors;
  std::vector<std::pair<uint32_t, uint32_t>> products;
  std::vector<RequestPlan> requests;
  std::vector<Group> groups;
  uint32_t U() const { return bank_vectors; }
  uint32_t V() const { return static_cast<uint32_t>(provider_vectors.size()); }
  uint32_t P() const { return static_cast<uint32_t>(products.size()); }
  // ChunkRows(options.chunk_rows, max(U + V, P)). The two-party columns (64·A ≤ 128 bytes per
  // row) stay under the message limit at any chunk_rows ≤ kMaxChunkRows.
  uint32_t chunk_rows = 0;
  ProductShape Shape(uint64_t rows) const { return {rows, chunk_rows, U(), V(), products}; }
};

std::string FormatBound(double b) { return absl::StrCat(b); }

Plan MakePlan(const SecretStatsOptions& options) {
  Plan plan;
  for (const StatRequest& r : options.requests) {
    if (r.kind == StatKind::kWoeIv) plan.bank_vectors = 2;
  }
  std::map<std::pair<int, std::string>, uint32_t> column_vectors;
  std::map<std::pair<uint32_t, uint32_t>, uint32_t> product_index;
  auto vector_of = [&](ProviderVector::Kind kind, const std::string& column) {
    auto [it, inserted] = column_vectors.try_emplace({kind, column}, plan.V());
    if (inserted) plan.provider_vectors.push_back({kind, column});
    return it->second;
  };
  auto product_of = [&](uint32_t u, uint32_t v) {
    auto [it, inserted] = product_index.try_emplace({u, v}, plan.P());
    if (inserted) plan.products.emplace_back(u, v);
    return it->second;
  };
  for (size_t i = 0; i < options.requests.size(); ++i) {
    const StatRequest& r = options.requests[i];
    RequestPlan rp;
    const std::string what = absl::StrCat(StatKindName(r.kind), " of ", r.column);
    switch (r.kind) {
      case StatKind::kCount:
        plan.groups.push_back({0, absl::StrCat("count: the selected rows")});
        break;
      case StatKind::kVariance:
        rp.square_vector = static_cast<int>(vector_of(ProviderVector::kSquare, r.column));
        rp.square_product = static_cast<int>(product_of(0, rp.square_vector));
        [[fallthrough]];
      case StatKind::kSum:
      case StatKind::kMean:
        rp.value_vector = static_cast<int>(vector_of(ProviderVector::kValue, r.column));
        rp.value_product = static_cast<int>(product_of(0, rp.value_vector));
        plan.groups.push_back({0, absl::StrCat(what, ": the selected rows")});
        break;
      case StatKind::kHistogram:
      case StatKind::kWoeIv: {
        rp.buckets = r.quantiles > 0 ? r.quantiles : static_cast<uint32_t>(r.bounds.size() + 1);
        rp.first_indicator = plan.V();
        // Indicators are per request (not shared), so each request's buckets stay contiguous.
        for (uint32_t b = 0; b < rp.buckets; ++b) {
          plan.provider_vectors.push_back({ProviderVector::kIndicator, r.column});
        }
        for (uint32_t b = 0; b < rp.buckets; ++b) {
          rp.bucket_products.push_back(product_of(0, rp.first_indicator + b));
          std::string name = absl::StrCat(what, ": bucket ", b);
          if (r.quantiles == 0) {
            absl::StrAppend(&name, " ", b == 0 ? "(-inf" : "(" + FormatBound(r.bounds[b - 1]), ", ",
                            b == r.bounds.size() ? "+inf)" : FormatBound(r.bounds[b]) + "]");
          }
          plan.groups.push_back({plan.U() + rp.bucket_products.back(), name});
        }
        if (r.kind == StatKind::kWoeIv) {
          for (uint32_t b = 0; b < rp.buckets; ++b) {
            rp.event_products.push_back(product_of(1, rp.first_indicator + b));
          }
        }
        break;
      }
    }
    plan.requests.push_back(std::move(rp));
  }
  plan.chunk_rows = ChunkRows(options.chunk_rows, std::max(plan.U() + plan.V(), plan.P()));
  return plan;
}

// A digest of everything both parties must agree on (the plan follows from it).
void OptionsDigest(const SecretStatsOptions& o, unsigned char (&out)[kDigestBytes]) {
  std::string s = "tds-mpc-stats-v1";
  PutU32(&s, static_cast<uint32_t>(o.frac_bits));
  PutU32(&s, o.min_group_size);
  PutU32(&s, o.chunk_rows);
  PutU32(&s, static_cast<uint32_t>(o.requests.size()));
  for (const StatRequest& r : o.requests) {
    PutU8(&s, static_cast<uint8_t>(r.kind));
    PutU64(&s, r.column.size());
    s += r.column;
    PutU32(&s, r.quantiles);
    PutU32(&s, static_cast<uint32_t>(r.bounds.size()));
    for (double b : r.bounds) PutU64(&s, std::bit_cast<uint64_t>(b));
  }
  EnsureSodium();
  crypto_generichash(out, kDigestBytes, reinterpret_cast<const unsigned char*>(s.data()), s.size(),
                     nullptr, 0);
}

int64_t Encode(double x, int frac_bits) {
  return static_cast<int64_t>(std::llround(std::ldexp(x, frac_bits)));
}

// ---- the two data parties ---------------------------------------------------------------------

// One data party's view of a run. The role decides which vectors it owns; a dealer link, or
// none, the mode.
class Party {
 public:
  Party(uint8_t role, const SecretStatsOptions& options, uint64_t rows, Link& peer, Link* dealer)
      : role_(role),
        mode_(dealer != nullptr ? kModeDealer : kModeTwoParty),
        peer_name_(RoleName(1 - role)),
        options_(options),
        plan_(MakePlan(options)),
        rows_(rows),
        peer_(peer),
        dealer_(dealer) {}

  const Plan& plan() const { return plan_; }
  const std::vector<uint64_t>& aggregates() const { return aggregates_; }

  // Hello with the peer: version, roles, mode, rows and options must agree.
  absl::Status Handshake() {
    unsigned char digest[kDigestBytes];
    OptionsDigest(options_, digest);
    std::string hello;
    PutU8(&hello, 'H');
    PutU8(&hello, kProtocolVersion);
    PutU8(&hello, role_);
    PutU8(&hello, mode_);
    PutU64(&hello, rows_);
    hello.append(reinterpret_cast<const char*>(digest), kDigestBytes);
    if (absl::Status s = peer_.Send(std::move(hello)); !s.ok()) {
      // A peer that refused to start told us why before closing: report that instead.
      absl::StatusOr<std::string> why = RecvFrom(peer_, peer_name_, "the hello");
      if (!why.ok() && absl::StrContains(why.status().message(), "aborted")) return why.status();
      return absl::Status(s.code(), absl::StrCat("sending hello to the ", peer_name_, ": ",
                                                 std::string(s.message())));
    }
    absl::StatusOr<std::string> m = RecvFrom(peer_, peer_name_, "the hello");
    if (!m.ok()) return m.status();
    Reader r(*m);
    const uint8_t tag = r.U8(), version = r.U8(), role = r.U8(), mode = r.U8();
    const uint64_t rows = r.U64();
    unsigned char peer_digest[kDigestBytes];
    r.Bytes(peer_digest, kDigestBytes);
    if (!r.done() || tag != 'H') return Malformed(peer_name_, "hello");
    if (version != kProtocolVersion) {
      return absl::FailedPreconditionError(absl::StrCat("the ", peer_name_, " speaks version ",
                                                        version, ", we speak ", kProtocolVersion));
    }
    if (role != 1 - role_) {
      return absl::FailedPreconditionError(
          absl::StrCat("the peer announced role ", role, ", expected the ", peer_name_));
    }
    if (mode != mode_) {
      return absl::FailedPreconditionError(
          absl::StrCat("the ", peer_name_, " runs ",
                       mode == kModeDealer || mode == kModeTwoParty ? ModeName(mode) : "mode ?",
                       ", we run ", ModeName(mode_)));
    }
    if (rows != rows_) {
      return absl::FailedPreconditionError(
          absl::StrCat("the ", peer_name_, " has ", rows, " aligned rows, we have ", rows_));
    }
    if (std::memcmp(digest, peer_digest, kDigestBytes) != 0) {
      return absl::FailedPreconditionError(absl::StrCat(
          "the ", peer_name_,
          " runs different options (statistics, k, fixed point or chunk size differ)"));
    }
    return absl::OkStatus();
  }

  // `fill(begin, n, out)` writes this party's own plaintext vectors for rows [begin, begin + n)
  // (vector-major, bank: U vectors, provider: V vectors). Afterwards aggregates() holds this
  // party's shares.
  absl::Status Compute(const std::function<void(uint64_t, size_t, uint64_t*)>& fill) {
    const ProductShape shape = plan_.Shape(rows_);
    std::unique_ptr<ProductShares> products = dealer_ != nullptr
                                                  ? BeaverProducts(role_, shape, peer_, *dealer_)
                                                  : OtProducts(role_, shape, peer_);
    if (absl::Status s = products->Start(); !s.ok()) return s;
    const bool bank = role_ == kRoleBank;
    const size_t U = plan_.U();
    aggregates_.assign(U + plan_.P(), 0);
    return RunProducts(
        *products, shape, bank ? U : plan_.V(), peer_, peer_name_,
        [&](uint64_t begin, size_t n, uint64_t* out) {
          fill(begin, n, out);
          if (!bank) return;
          for (size_t u = 0; u < U; ++u) {  // Σu: the bank's share is the sum, the provider's 0
            uint64_t sum = 0;
            for (size_t i = 0; i < n; ++i) sum += out[u * n + i];
            aggregates_[u] += sum;
          }
        },
        aggregates_.data() + U);
  }

 private:
  const uint8_t role_;
  const uint8_t mode_;
  const char* peer_name_;
  const SecretStatsOptions& options_;
  const Plan plan_;
  const uint64_t rows_;
  Link& peer_;
  Link* const dealer_;                // null in the two-party mode
  std::vector<uint64_t> aggregates_;  // this party's shares (U input sums, then P products)
};

// Ends a failed party: tells the peer (and the dealer) why, best effort, and closes the links.
template <typename T>
T Fail(T result, Link& peer, Link* dealer) {
  absl::Status status = [&] {
    if constexpr (std::is_same_v<T, absl::Status>) {
      return result;
    } else {
      return result.status();
    }
  }();
  if (!status.ok()) {
    for (Link* link : {&peer, dealer}) {
      if (link == nullptr) continue;
      (void)link->Send(AbortMessage(status));
      link->Close();
    }
  }
  return result;
}
absl::Status CheckBinary(const std::vector<uint8_t>& v, uint64_t rows, const char* what) {
  if (v.size() != rows) {
    return absl::InvalidArgumentError(
        absl::StrCat("the bank's ", what, " has ", v.size(), " entries for ", rows, " rows"));
  }
  for (size_t i = 0; i < v.size(); ++i) {
    if (v[i] > 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("the bank's ", what, "[", i, "] is neither 0 nor 1"));
    }
  }
  return absl::OkStatus();
}

// What either data party checks before it talks to anyone: valid options, at most max_rows rows.
absl::Status CheckPartyInput(const SecretStatsOptions& options, uint8_t role, uint64_t rows) {
  if (absl::Status s = ValidateOptions(options); !s.ok()) return s;
  if (rows > options.max_rows) {
    return absl::InvalidArgumentError(absl::StrCat("the ", RoleName(role), " has ", rows,
                                                   " rows; max_rows is ", options.max_rows));
  }
  return absl::OkStatus();
}

absl::StatusOr<SecretStatsResult> BankImpl(const SecretStatsOptions& options,
                                           const BankInput& input, Link& provider, Link* dealer) {
  if (absl::Status s = CheckPartyInput(options, kRoleBank, input.rows); !s.ok()) return s;
  if (!input.selection.empty()) {
    if (absl::Status s = CheckBinary(input.selection, input.rows, "selection"); !s.ok()) return s;
  }
  Party party(kRoleBank, options, input.rows, provider, dealer);
  if (party.plan().U() == 2) {
    if (absl::Status s = CheckBinary(input.label, input.rows, "label"); !s.ok()) return s;
  }
  if (absl::Status s = party.Handshake(); !s.ok()) return s;
  const size_t U = party.plan().U();
  absl::Status s = party.Compute([&](uint64_t begin, size_t n, uint64_t* out) {
    for (size_t i = 0; i < n; ++i) {
      const uint64_t sel = input.selection.empty() ? 1 : input.selection[begin + i];
      out[i] = sel;
      if (U == 2) out[n + i] = sel * input.label[begin + i];
    }
  });
  if (!s.ok()) return s;

  const Plan& plan = party.plan();
  const std::vector<uint64_t>& mine = party.aggregates();
  std::string groups;
  PutU8(&groups, 'G');
  PutU32(&groups, static_cast<uint32_t>(plan.groups.size()));
  for (const Group& g : plan.groups) PutU64(&groups, mine[g.aggregate]);
  if (s = provider.Send(std::move(groups)); !s.ok()) {
    return absl::Status(
        s.code(), absl::StrCat("sending group shares to the provider: ", std::string(s.message())));
  }
  absl::StatusOr<std::string> m = RecvFrom(provider, "provider", "the result shares");
  if (!m.ok()) return m.status();
  Reader r(*m);
  const uint8_t tag = r.U8();
  const uint32_t count = r.U32();
  size_t released_bounds = 0;
  for (const StatRequest& req : options.requests) {
    if (req.quantiles > 0) released_bounds += req.quantiles - 1;
  }
  size_t scaled_vectors = 0;
  for (const ProviderVector& pv : plan.provider_vectors) {
    scaled_vectors += pv.kind != ProviderVector::kIndicator;
  }
  if (!r.ok() || tag != 'R' || count != mine.size() ||
      r.remaining() != (count + released_bounds) * sizeof(uint64_t) + scaled_vectors) {
    return Malformed("provider", "result");
  }
  std::vector<uint64_t> total(count);
  for (uint32_t i = 0; i < count; ++i) total[i] = mine[i] + r.U64();
  // The scale of each value / square vector: the trailer after the quantile bounds.
  std::vector<int> scale(plan.V(), 0);
  {
    Reader trailer(*m);
    trailer.Skip(m->size() - scaled_vectors);
    for (uint32_t v = 0; v < plan.V(); ++v) {
      if (plan.provider_vectors[v].kind == ProviderVector::kIndicator) continue;
      scale[v] = trailer.U8();
      if (scale[v] > options.frac_bits) return Malformed("provider", "result (scale)");
    }
  }

  SecretStatsResult result;
  result.rows = input.rows;
  auto count_of = [&](uint64_t aggregate) -> absl::StatusOr<uint64_t> {
    if (total[aggregate] > input.rows) return Malformed("provider", "result (count out of range)");
    return total[aggregate];
  };
  absl::StatusOr<uint64_t> selected = count_of(0);
  if (!selected.ok()) return selected.status();
  for (size_t i = 0; i < options.requests.size(); ++i) {
    const StatRequest& req = options.requests[i];
    const RequestPlan& rp = plan.requests[i];
    StatResult out;
    out.kind = req.kind;
    out.column = req.column;
    out.rows = *selected;
    const long double m_rows = static_cast<long double>(*selected);
    if (rp.value_product >= 0) {
      out.sum_fixed = static_cast<int64_t>(total[U + rp.value_product]);
      out.frac_bits = scale[rp.value_vector];
    }
    if (rp.square_product >= 0) {
      out.sum_squares_fixed = static_cast<int64_t>(total[U + rp.square_product]);
      out.square_frac_bits = scale[rp.square_vector];
    }
    const long double sum = std::ldexp(static_cast<long double>(out.sum_fixed), -out.frac_bits);
    switch (req.kind) {
      case StatKind::kCount:
        out.value = static_cast<double>(*selected);
        break;
      case StatKind::kSum:
        out.value = static_cast<double>(sum);
        break;
      case StatKind::kMean:
        if (*selected > 0) out.value = static_cast<double>(sum / m_rows);
        break;
      case StatKind::kVariance:
        if (*selected > 0) {
          const long double sq =
              std::ldexp(static_cast<long double>(out.sum_squares_fixed), -out.square_frac_bits);
          const long double mean = sum / m_rows;
          out.value = static_cast<double>(std::max<long double>(0, sq / m_rows - mean * mean));
        }
        break;
      case StatKind::kHistogram:
      case StatKind::kWoeIv: {
        uint64_t events = 0, all = 0;
        for (uint32_t b = 0; b < rp.buckets; ++b) {
          absl::StatusOr<uint64_t> c = count_of(U + rp.bucket_products[b]);
          if (!c.ok()) return c.status();
          out.bucket_rows.push_back(*c);
          all += *c;
          if (req.kind == StatKind::kWoeIv) {
            absl::StatusOr<uint64_t> e = count_of(U + rp.event_products[b]);
            if (!e.ok()) return e.status();
            if (*e > *c) return Malformed("provider", "result (events above bucket rows)");
            out.bucket_events.push_back(*e);
            events += *e;
          }
        }
        if (all != *selected) return Malformed("provider", "result (buckets do not add up)");
        if (req.kind == StatKind::kWoeIv && events > 0 && events < all) {
          const double E = static_cast<double>(events), N = static_cast<double>(all - events);
          double iv = 0;
          for (uint32_t b = 0; b < rp.buckets; ++b) {
            double e = static_cast<double>(out.bucket_events[b]);
            double ne = static_cast<double>(out.bucket_rows[b] - out.bucket_events[b]);
            if (e == 0 || ne == 0) {
              e += 0.5;
              ne += 0.5;
            }
            const double woe = std::log((e / E) / (ne / N));
            out.woe.push_back(woe);
            iv += (e / E - ne / N) * woe;
          }
          out.iv = iv;
        }
        if (req.quantiles > 0) {
          for (uint32_t b = 0; b + 1 < rp.buckets; ++b) {
            out.bounds.push_back(std::bit_cast<double>(r.U64()));
          }
        } else {
          out.bounds = req.bounds;
        }
        break;
      }
    }
    result.stats.push_back(std::move(out));
  }
  if (!r.ok() || r.remaining() != scaled_vectors) return Malformed("provider", "result (length)");
  for (const Group& g : plan.groups) {
    const uint64_t c = total[g.aggregate];
    if (c > 0 && (result.min_group_rows == 0 || c < result.min_group_rows)) {
      result.min_group_rows = c;
    }
  }
  return result;
}

// The provider's q-quantile bounds of a column over all aligned rows: the values at ranks
// ceil(i * rows / q), i = 1..q-1 (0 for an empty column).
std::vector<double> QuantileBounds(const std::vector<double>& column, uint32_t q) {
  std::vector<double> sorted = column;
  std::sort(sorted.begin(), sorted.end());
  std::vector<double> bounds;
  for (uint32_t i = 1; i < q; ++i) {
    if (sorted.empty()) {
      bounds.push_back(0);
      continue;
    }
    const uint64_t rank = (static_cast<uint64_t>(i) * sorted.size() + q - 1) / q;
    bounds.push_back(sorted[std::max<uint64_t>(rank, 1) - 1]);
  }
  return bounds;
}

absl::StatusOr<ProviderSummary> ProviderImpl(const SecretStatsOptions& options,
                                             const ProviderInput& input, Link& bank, Link* dealer) {
  if (absl::Status s = CheckPartyInput(options, kRoleProvider, input.rows); !s.ok()) return s;
  Party party(kRoleProvider, options, input.rows, bank, dealer);
  const Plan& plan = party.plan();
  // Every column used must be complete and finite, and every aggregate of it must fit the
  // ring with a bit to spare: Σ|x|·2^f and Σx²·2^f over all rows bound every selection. A
  // vector whose total does not fit at frac_bits gets the largest scale that fits.
  const long double limit = std::ldexp(1.0L, 62);
  std::vector<const std::vector<double>*> columns(plan.V());
  std::vector<int> scale(plan.V(), 0);
  for (uint32_t v = 0; v < plan.V(); ++v) {
    const ProviderVector& pv = plan.provider_vectors[v];
    auto it = input.columns.find(pv.column);
    if (it == input.columns.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat("the provider has no column '", pv.column, "'"));
    }
    const std::vector<double>& col = it->second;
    if (col.size() != input.rows) {
      return absl::InvalidArgumentError(absl::StrCat("column '", pv.column, "' has ", col.size(),
                                                     " values for ", input.rows, " rows"));
    }
    columns[v] = &col;
    if (pv.kind == ProviderVector::kIndicator) continue;
    long double total = 0;
    for (double x : col) {
      if (!std::isfinite(x)) {
        return absl::InvalidArgumentError(
            absl::StrCat("column '", pv.column, "' holds a value that is not finite"));
      }
      total += pv.kind == ProviderVector::kValue ? std::fabs(static_cast<long double>(x))
                                                 : static_cast<long double>(x) * x;
    }
    if (total >= limit) {
      return absl::InvalidArgumentError(absl::StrCat(
          "column '", pv.column, "': the sum of ",
          pv.kind == ProviderVector::kValue ? "|values|" : "squares",
          " over all rows exceeds the fixed-point range 2^62 even at 0 fractional bits"));
    }
    scale[v] = options.frac_bits;
    while (scale[v] > 0 && std::ldexp(total, scale[v]) >= limit) --scale[v];
  }
  // Bucket bounds: the request's, or the provider's quantiles.
  std::vector<std::vector<double>> bounds(options.requests.size());
  std::vector<double> released_bounds;
  for (size_t i = 0; i < options.requests.size(); ++i) {
    const StatRequest& req = options.requests[i];
    if (!Bucketed(req.kind)) continue;
    const std::vector<double>& col = *columns[plan.requests[i].first_indicator];
    for (double x : col) {
      if (std::isnan(x)) {
        return absl::InvalidArgumentError(
            absl::StrCat("column '", req.column, "' holds a value that is not a number"));
      }
    }
    if (req.quantiles > 0) {
      bounds[i] = QuantileBounds(col, req.quantiles);
      released_bounds.insert(released_bounds.end(), bounds[i].begin(), bounds[i].end());
    } else {
      bounds[i] = req.bounds;
    }
  }
  if (absl::Status s = party.Handshake(); !s.ok()) return s;

  std::vector<uint32_t> bucket;  // per row of a chunk
  absl::Status s = party.Compute([&](uint64_t begin, size_t n, uint64_t* out) {
    for (uint32_t v = 0; v < plan.V(); ++v) {
      const ProviderVector& pv = plan.provider_vectors[v];
      uint64_t* dst = out + static_cast<size_t>(v) * n;
      const double* x = columns[v]->data() + begin;
      if (pv.kind == ProviderVector::kValue) {
        for (size_t i = 0; i < n; ++i) dst[i] = static_cast<uint64_t>(Encode(x[i], scale[v]));
      } else if (pv.kind == ProviderVector::kSquare) {
        for (size_t i = 0; i < n; ++i)
          dst[i] = static_cast<uint64_t>(Encode(x[i] * x[i], scale[v]));
      } else {
        std::fill(dst, dst + n, 0);
      }
    }
    for (size_t q = 0; q < options.requests.size(); ++q) {
      if (!Bucketed(options.requests[q].kind)) continue;
      const RequestPlan& rp = plan.requests[q];
      const std::vector<double>& b = bounds[q];
      const double* x = columns[rp.first_indicator]->data() + begin;
      for (size_t i = 0; i < n; ++i) {
        // Bucket i holds b[i-1] < v <= b[i]: the first bound >= v.
        const size_t k = std::lower_bound(b.begin(), b.end(), x[i]) - b.begin();
        out[(rp.first_indicator + k) * n + i] = 1;
      }
    }
  });
  if (!s.ok()) return s;

  // The group sizes: the bank's shares of them, plus ours; then the k check.
  const std::vector<uint64_t>& mine = party.aggregates();
  absl::StatusOr<std::string> m = RecvFrom(bank, "bank", "the group shares");
  if (!m.ok()) return m.status();
  Reader r(*m);
  const uint8_t tag = r.U8();
  const uint32_t count = r.U32();
  if (!r.ok() || tag != 'G' || count != plan.groups.size() ||
      r.remaining() != count * sizeof(uint64_t)) {
    return Malformed("bank", "group shares");
  }
  ProviderSummary summary;
  summary.rows = input.rows;
  for (const Group& g : plan.groups) {
    const uint64_t c = mine[g.aggregate] + r.U64();
    if (c > input.rows) return Malformed("bank", "group shares (count out of range)");
    summary.group_rows.push_back(c);
  }
  const uint32_t k = options.min_group_size;
  for (size_t i = 0; i < plan.groups.size(); ++i) {
    const uint64_t c = summary.group_rows[i];
    if (c > 0 && c < k) {
      return absl::FailedPreconditionError(absl::StrCat(
          plan.groups[i].name, " has fewer than ", k, " rows; the contract requires at least ", k));
    }
    if (c > 0 && (summary.min_group_rows == 0 || c < summary.min_group_rows)) {
      summary.min_group_rows = c;
    }
  }
  std::string result;
  PutU8(&result, 'R');
  PutU32(&result, static_cast<uint32_t>(mine.size()));
  PutWords(&result, mine.data(), mine.size());
  for (double b : released_bounds) PutU64(&result, std::bit_cast<uint64_t>(b));
  for (uint32_t v = 0; v < plan.V(); ++v) {
    if (plan.provider_vectors[v].kind != ProviderVector::kIndicator) PutU8(&result, scale[v]);
  }
  if (s = bank.Send(std::move(result)); !s.ok()) {
    return absl::Status(s.code(), absl::StrCat("sending the result shares to the bank: ",
                                               std::string(s.message())));
  }
  return summary;
}

}  // namespace

const char* StatKindName(StatKind kind) {
  switch (kind) {
    case StatKind::kCount:
      return "count";
    case StatKind::kSum:
      return "sum";
    case StatKind::kMean:
      return "mean";
    case StatKind::kVariance:
      return "variance";
    case StatKind::kHistogram:
      return "histogram";
    case StatKind::kWoeIv:
      return "woe_iv";
  }
  return "unknown";
}

absl::Status ValidateOptions(const SecretStatsOptions& o) {
  if (o.requests.empty() || o.requests.size() > kMaxRequests) {
    return absl::InvalidArgumentError(
        absl::StrCat("between 1 and ", kMaxRequests, " statistics, got ", o.requests.size()));
  }
  if (o.frac_bits < 0 || o.frac_bits > kMaxFracBits) {
    return absl::InvalidArgumentError(
        absl::StrCat("frac_bits must be 0..", kMaxFracBits, ", got ", o.frac_bits));
  }
  if (o.chunk_rows == 0 || o.chunk_rows > kMaxChunkRows) {
    return absl::InvalidArgumentError(
        absl::StrCat("chunk_rows must be 1..", kMaxChunkRows, ", got ", o.chunk_rows));
  }
  for (size_t i = 0; i < o.requests.size(); ++i) {
    const StatRequest& r = o.requests[i];
    if (static_cast<int>(r.kind) < 0 || static_cast<int>(r.kind) > 5) {
      return absl::InvalidArgumentError(absl::StrCat("requests[", i, "]: unknown kind"));
    }
    if (r.kind != StatKind::kCount && r.column.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(Describe(i, r), ": no column"));
    }
    if (!Bucketed(r.kind)) {
      if (!r.bounds.empty() || r.quantiles != 0) {
        return absl::InvalidArgumentError(
            absl::StrCat(Describe(i, r), ": only histograms and WOE/IV take bounds"));
      }
      continue;
    }
    if (r.quantiles != 0) {
      if (!r.bounds.empty() || r.quantiles < 2 || r.quantiles > kMaxBounds + 1) {
        return absl::InvalidArgumentError(absl::StrCat(Describe(i, r), ": quantiles must be 2..",
                                                       kMaxBounds + 1, " and exclude bounds"));
      }
      continue;
    }
    if (r.bounds.empty() || r.bounds.size() > kMaxBounds) {
      return absl::InvalidArgumentError(
          absl::StrCat(Describe(i, r), ": needs 1..", kMaxBounds, " bounds or quantiles"));
    }
    for (size_t j = 0; j < r.bounds.size(); ++j) {
      if (!std::isfinite(r.bounds[j])) {
        return absl::InvalidArgumentError(
            absl::StrCat(Describe(i, r), ": bounds[", j, "] is not finite"));
      }
      if (j > 0 && !(r.bounds[j] > r.bounds[j - 1])) {
        return absl::InvalidArgumentError(
            absl::StrCat(Describe(i, r), ": bounds[", j, "] is not above bounds[", j - 1, "]"));
      }
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<SecretStatsResult> RunBank(const SecretStatsOptions& options, const BankInput& input,
                                          Link& provider, Link& dealer) {
  return Fail(BankImpl(options, input, provider, &dealer), provider, &dealer);
}

absl::StatusOr<SecretStatsResult> RunBank(const SecretStatsOptions& options, const BankInput& input,
                                          Link& provider) {
  return Fail(BankImpl(options, input, provider, nullptr), provider, nullptr);
}

absl::StatusOr<ProviderSummary> RunProvider(const SecretStatsOptions& options,
                                            const ProviderInput& input, Link& bank, Link& dealer) {
  return Fail(ProviderImpl(options, input, bank, &dealer), bank, &dealer);
}

absl::StatusOr<ProviderSummary> RunProvider(const SecretStatsOptions& options,
                                            const ProviderInput& input, Link& bank) {
  return Fail(ProviderImpl(options, input, bank, nullptr), bank, nullptr);
}

absl::Status RunDealer(Link& bank, Link& provider, uint64_t max_rows) {
  return Fail(ServeTriples(bank, provider, max_rows), bank, &provider);
}

}  // namespace tds::compute::mpc
