// Secret-shared statistics: plan, wire format, the three parties. See secret_stats.h, README.md.
//
// Wire format (integers little-endian; word := u64, a Z_2^64 element; f64 := IEEE bits as u64):
//
//   bank <-> provider (both send hello, then chunks; bank sends groups; provider answers)
//     hello   := 'H' version:u8 role:u8 rows:u64 options_digest[32]
//     chunk   := 'C' index:u32 n:u32 open[W * n]:word    (one per chunk each way; W = U from
//                the bank, V from the provider)
//     groups  := 'G' count:u32 share[count]:word                      (bank -> provider)
//     result  := 'R' count:u32 share[count]:word quantile_bounds:f64* scale:u8*
//                (provider -> bank; one scale per value or square vector, in plan order)
//     abort   := 'X' code:u8 text                                      (either way, then close)
//   party -> dealer
//     shape   := 'D' version:u8 role:u8 rows:u64 chunk_rows:u32 U:u32 V:u32 P:u32
//                (u:u32 v:u32)[P]
//   dealer -> party
//     seed    := 'S' seed[32]
//     triples := 'T' index:u32 n:u32 c1[P * n]:word                   (to the provider only)
//
// U bank vectors, V provider vectors, P products (pairs (u, v)); see Plan. Chunk k covers rows
// [k * chunk_rows, min(rows, (k + 1) * chunk_rows)). In a chunk, vectors are laid out
// vector-major: element (j, i) of an array of J vectors is at j * n + i.
//
// Beaver multiplication of privately held inputs (each input is the trivial sharing (x, 0) of
// its owner), per chunk:
//   dealer: seed_0 stream a[U*n], c_0[P*n] (the bank's); seed_1 stream b[V*n] (the provider's);
//           sends c_1 = a_u * b_v - c_0 for every product (u, v).
//   bank sends d = u - a (U*n words); the provider sends e = v - b (V*n words). Each is a
//   one-time pad under a mask only the sender and the dealer know.
//   [z]_0 = c_0 + u * e and [z]_1 = c_1 + d * b; [z]_0 + [z]_1 = ab + uv - ub + ub - ab = uv.
// Aggregates: Σu for each bank vector (the bank's share; the provider's is 0), then Σ[z_p] for
// each product.

#include "compute/mpc/secret_stats.h"

#include <sodium.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>
#include <type_traits>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "compute/mpc/prg.h"
#include "compute/sodium_init.h"

namespace tds::compute::mpc {
namespace {

constexpr uint8_t kVersion = 1;
constexpr uint8_t kRoleBank = 0;
constexpr uint8_t kRoleProvider = 1;
constexpr size_t kDigestBytes = 32;
constexpr size_t kMaxAbortText = 4096;
constexpr uint32_t kMaxChunkRows = 65536;
// Largest chunk or triples message (well under SocketLink's default 64 MiB frame): wide plans
// get fewer rows per chunk.
constexpr size_t kMaxMessageBytes = 16 << 20;

// Rows per chunk for a plan's widths: the options' chunk_rows unless a message would exceed
// kMaxMessageBytes. Both parties and the dealer derive the same number.
uint32_t ChunkRows(uint32_t requested, size_t words_per_row) {
  const size_t fit = kMaxMessageBytes / (sizeof(uint64_t) * std::max<size_t>(words_per_row, 1));
  return static_cast<uint32_t>(std::max<size_t>(1, std::min<size_t>(requested, fit)));
}
constexpr uint32_t kMaxVectors = 1 << 16;
constexpr uint32_t kMaxProducts = 1 << 16;

const char* RoleName(uint8_t role) { return role == kRoleBank ? "bank" : "provider"; }

// ---- bytes ------------------------------------------------------------------------------------

void PutU8(std::string* out, uint8_t v) { out->push_back(static_cast<char>(v)); }
void PutU32(std::string* out, uint32_t v) { out->append(reinterpret_cast<const char*>(&v), 4); }
void PutU64(std::string* out, uint64_t v) { out->append(reinterpret_cast<const char*>(&v), 8); }
void PutWords(std::string* out, const uint64_t* w, size_t n) {
  out->append(reinterpret_cast<const char*>(w), n * sizeof(uint64_t));
}

// Reads a received message front to back; any read past the end marks it short.
class Reader {
 public:
  explicit Reader(const std::string& s) : s_(s) {}
  uint8_t U8() {
    uint8_t v = 0;
    Copy(&v, 1);
    return v;
  }
  uint32_t U32() {
    uint32_t v = 0;
    Copy(&v, 4);
    return v;
  }
  uint64_t U64() {
    uint64_t v = 0;
    Copy(&v, 8);
    return v;
  }
  void Bytes(void* out, size_t n) { Copy(out, n); }
  size_t remaining() const { return ok_ ? s_.size() - pos_ : 0; }
  const char* here() const { return s_.data() + pos_; }
  void Skip(size_t n) {
    if (!ok_ || s_.size() - pos_ < n) {
      ok_ = false;
      return;
    }
    pos_ += n;
  }
  bool ok() const { return ok_; }
  bool done() const { return ok_ && pos_ == s_.size(); }

 private:
  void Copy(void* out, size_t n) {
    if (!ok_ || s_.size() - pos_ < n) {
      ok_ = false;
      return;
    }
    std::memcpy(out, s_.data() + pos_, n);
    pos_ += n;
  }
  const std::string& s_;
  size_t pos_ = 0;
  bool ok_ = true;
};

std::string AbortMessage(const absl::Status& status) {
  std::string out;
  PutU8(&out, 'X');
  PutU8(&out, static_cast<uint8_t>(status.code()));
  out += std::string(status.message()).substr(0, kMaxAbortText);
  return out;
}

// The status a peer's abort message carries, attributed to `who`.
absl::Status FromAbort(const std::string& message, const char* who) {
  if (message.size() < 2 || message.size() > 2 + kMaxAbortText) {
    return absl::DataLossError(absl::StrCat("malformed abort message from the ", who));
  }
  int code = static_cast<uint8_t>(message[1]);
  if (code == 0 || code > static_cast<int>(absl::StatusCode::kUnauthenticated)) {
    code = static_cast<int>(absl::StatusCode::kAborted);
  }
  return absl::Status(static_cast<absl::StatusCode>(code),
                      absl::StrCat("the ", who, " aborted: ", message.substr(2)));
}

// Receives one message; an abort from the peer becomes its status.
absl::StatusOr<std::string> RecvFrom(Link& link, const char* who, const std::string& what) {
  absl::StatusOr<std::string> m = link.Recv();
  if (!m.ok()) {
    return absl::Status(m.status().code(), absl::StrCat("waiting for ", what, " from the ", who,
                                                        ": ", std::string(m.status().message())));
  }
  if (!m->empty() && (*m)[0] == 'X') return FromAbort(*m, who);
  return m;
}

absl::Status Malformed(const char* who, const std::string& what) {
  return absl::DataLossError(absl::StrCat("malformed ", what, " from the ", who));
}

// Receives chunk `k`'s words from `who`: tag || index:u32 || n:u32 || words[words], with index
// k and n the chunk's rows; copies the words to `out`. `what` names the message in errors
// ("waiting for <what> from the <who>", "malformed <what> from the <who>").
absl::Status RecvChunkWords(Link& link, const char* who, const std::string& what, uint8_t tag,
                            uint64_t k, size_t n, size_t words, uint64_t* out) {
  absl::StatusOr<std::string> m = RecvFrom(link, who, what);
  if (!m.ok()) return m.status();
  Reader r(*m);
  const uint8_t got_tag = r.U8();
  const uint32_t index = r.U32(), count = r.U32();
  if (!r.ok() || got_tag != tag || index != k || count != n ||
      r.remaining() != words * sizeof(uint64_t)) {
    return Malformed(who, what);
  }
  std::memcpy(out, r.here(), words * sizeof(uint64_t));
  return absl::OkStatus();
}

// Sends a party's chunk messages from a thread of its own, so that both parties can send a
// chunk while the other is sending too (a full socket buffer would otherwise deadlock them).
class Sender {
 public:
  explicit Sender(Link& link) : link_(link), thread_([this] { Run(); }) {}
  // An unfinished sender closes the link first, so a Send blocked on a stuck peer returns.
  ~Sender() {
    if (thread_.joinable()) {
      link_.Close();
      Stop();
    }
  }

  void Push(std::string message) {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back(std::move(message));
    changed_.notify_all();
  }

  // Waits until everything queued was sent; the first send failure, or OK.
  absl::Status Finish() {
    Stop();
    std::lock_guard<std::mutex> lock(mu_);
    return status_;
  }

 private:
  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
      changed_.notify_all();
    }
    thread_.join();
  }

  void Run() {
    while (true) {
      std::string message;
      {
        std::unique_lock<std::mutex> lock(mu_);
        changed_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
        if (queue_.empty()) return;
        message = std::move(queue_.front());
        queue_.pop_front();
        if (!status_.ok()) continue;  // drop the rest after a failure
      }
      absl::Status s = link_.Send(std::move(message));
      if (!s.ok()) {
        link_.Close();  // our Recv fails too instead of waiting for a peer that never hears us
        std::lock_guard<std::mutex> lock(mu_);
        status_ = s;
      }
    }
  }

  Link& link_;
  std::mutex mu_;
  std::condition_variable changed_;
  std::deque<std::string> queue_;  // GUARDED_BY(mu_)
  bool stopping_ = false;          // GUARDED_BY(mu_)
  absl::Status status_;            // GUARDED_BY(mu_)
  std::thread thread_;
};

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
  uint32_t chunk_rows = 0;  // ChunkRows(options.chunk_rows, max(U + V, P))
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

// One data party's view of a run. The role decides which vectors it owns.
class Party {
 public:
  Party(uint8_t role, const SecretStatsOptions& options, uint64_t rows, Link& peer, Link& dealer)
      : role_(role),
        peer_name_(RoleName(1 - role)),
        options_(options),
        plan_(MakePlan(options)),
        rows_(rows),
        peer_(peer),
        dealer_(dealer) {}

  const Plan& plan() const { return plan_; }
  const std::vector<uint64_t>& aggregates() const { return aggregates_; }

  // Hello with the peer and shape with the dealer; receives the seeds.
  absl::Status Handshake() {
    OptionsDigest(options_, digest_);
    std::string hello;
    PutU8(&hello, 'H');
    PutU8(&hello, kVersion);
    PutU8(&hello, role_);
    PutU64(&hello, rows_);
    hello.append(reinterpret_cast<const char*>(digest_), kDigestBytes);
    if (absl::Status s = peer_.Send(std::move(hello)); !s.ok()) {
      // A peer that refused to start told us why before closing: report that instead.
      absl::StatusOr<std::string> why = RecvFrom(peer_, peer_name_, "the hello");
      if (!why.ok() && absl::StrContains(why.status().message(), "aborted")) return why.status();
      return absl::Status(s.code(), absl::StrCat("sending hello to the ", peer_name_, ": ",
                                                 std::string(s.message())));
    }
    std::string shape;
    PutU8(&shape, 'D');
    PutU8(&shape, kVersion);
    PutU8(&shape, role_);
    PutU64(&shape, rows_);
    PutU32(&shape, plan_.chunk_rows);
    PutU32(&shape, plan_.U());
    PutU32(&shape, plan_.V());
    PutU32(&shape, plan_.P());
    for (auto [u, v] : plan_.products) {
      PutU32(&shape, u);
      PutU32(&shape, v);
    }
    if (absl::Status s = dealer_.Send(std::move(shape)); !s.ok()) {
      return absl::Status(
          s.code(), absl::StrCat("sending the shape to the dealer: ", std::string(s.message())));
    }

    absl::StatusOr<std::string> m = RecvFrom(peer_, peer_name_, "the hello");
    if (!m.ok()) return m.status();
    Reader r(*m);
    const uint8_t tag = r.U8(), version = r.U8(), role = r.U8();
    const uint64_t rows = r.U64();
    unsigned char digest[kDigestBytes];
    r.Bytes(digest, kDigestBytes);
    if (!r.done() || tag != 'H') return Malformed(peer_name_, "hello");
    if (version != kVersion) {
      return absl::FailedPreconditionError(
          absl::StrCat("the ", peer_name_, " speaks version ", version, ", we speak ", kVersion));
    }
    if (role != 1 - role_) {
      return absl::FailedPreconditionError(
          absl::StrCat("the peer announced role ", role, ", expected the ", peer_name_));
    }
    if (rows != rows_) {
      return absl::FailedPreconditionError(
          absl::StrCat("the ", peer_name_, " has ", rows, " aligned rows, we have ", rows_));
    }
    if (std::memcmp(digest, digest_, kDigestBytes) != 0) {
      return absl::FailedPreconditionError(absl::StrCat(
          "the ", peer_name_,
          " runs different options (statistics, k, fixed point or chunk size differ)"));
    }

    m = RecvFrom(dealer_, "dealer", "the triple seed");
    if (!m.ok()) return m.status();
    if (m->size() != 1 + kSeedBytes || (*m)[0] != 'S') return Malformed("dealer", "seed");
    std::memcpy(dealer_seed_, m->data() + 1, kSeedBytes);
    return absl::OkStatus();
  }

  // `fill(begin, n, out)` writes this party's own plaintext vectors for rows [begin, begin + n)
  // (vector-major, bank: U vectors, provider: V vectors).
  absl::Status Compute(const std::function<void(uint64_t, size_t, uint64_t*)>& fill) {
    const size_t U = plan_.U(), V = plan_.V(), P = plan_.P();
    const bool bank = role_ == kRoleBank;
    const size_t mine = bank ? U : V, theirs = bank ? V : U;
    const size_t cap = plan_.chunk_rows;
    SeededPrg dealt(dealer_seed_);
    sodium_memzero(dealer_seed_, kSeedBytes);
    // mask: the bank's a (U vectors) or the provider's b (V vectors); c: this party's share of
    // a_u * b_v per product; open: plain - mask; peer_open: the peer's (d at the provider, e at
    // the bank).
    std::vector<uint64_t> plain(mine * cap), mask(mine * cap), c(P * cap), open(mine * cap),
        peer_open(theirs * cap);
    aggregates_.assign(U + P, 0);
    Sender sender(peer_);
    const uint64_t chunks = (rows_ + cap - 1) / cap;
    for (uint64_t k = 0; k < chunks; ++k) {
      const uint64_t begin = k * cap;
      const size_t n = static_cast<size_t>(std::min<uint64_t>(cap, rows_ - begin));
      dealt.Fill(mask.data(), mine * n);
      if (bank) {
        dealt.Fill(c.data(), P * n);
      } else {
        if (absl::Status s =
                RecvChunkWords(dealer_, "dealer", absl::StrCat("triples for chunk ", k), 'T', k, n,
                               P * n, c.data());
            !s.ok()) {
          return s;
        }
      }
      fill(begin, n, plain.data());
      for (size_t j = 0; j < mine * n; ++j) open[j] = plain[j] - mask[j];
      if (bank) {  // Σu: the bank's share is the sum itself, the provider's 0
        for (size_t u = 0; u < U; ++u) {
          uint64_t s = 0;
          for (size_t i = 0; i < n; ++i) s += plain[u * n + i];
          aggregates_[u] += s;
        }
      }
      std::string message;
      message.reserve(9 + mine * n * sizeof(uint64_t));
      PutU8(&message, 'C');
      PutU32(&message, static_cast<uint32_t>(k));
      PutU32(&message, static_cast<uint32_t>(n));
      PutWords(&message, open.data(), mine * n);
      sender.Push(std::move(message));

      if (absl::Status s = RecvChunkWords(peer_, peer_name_, absl::StrCat("chunk ", k), 'C', k, n,
                                          theirs * n, peer_open.data());
          !s.ok()) {
        return s;
      }
      // Bank: [z]_0 = c_0 + u * e. Provider: [z]_1 = c_1 + d * b. Sum: u * v (see the top).
      for (size_t p = 0; p < P; ++p) {
        const auto [u, v] = plan_.products[p];
        const uint64_t* cp = c.data() + p * n;
        uint64_t z = 0;
        if (bank) {
          const uint64_t* uu = plain.data() + u * n;
          const uint64_t* ev = peer_open.data() + v * n;
          for (size_t i = 0; i < n; ++i) z += cp[i] + uu[i] * ev[i];
        } else {
          const uint64_t* du = peer_open.data() + u * n;
          const uint64_t* bv = mask.data() + v * n;
          for (size_t i = 0; i < n; ++i) z += cp[i] + du[i] * bv[i];
        }
        aggregates_[U + p] += z;
      }
    }
    if (absl::Status s = sender.Finish(); !s.ok()) {
      return absl::Status(s.code(), absl::StrCat("sending chunks to the ", peer_name_, ": ",
                                                 std::string(s.message())));
    }
    return absl::OkStatus();
  }

  Link& peer() { return peer_; }

 private:
  const uint8_t role_;
  const char* peer_name_;
  const SecretStatsOptions& options_;
  const Plan plan_;
  const uint64_t rows_;
  Link& peer_;
  Link& dealer_;
  unsigned char digest_[kDigestBytes] = {};
  unsigned char dealer_seed_[kSeedBytes] = {};
  std::vector<uint64_t> aggregates_;  // this party's shares (U input sums, then P products)
};

// Ends a failed party: tells the peer why (best effort) and closes both links.
template <typename T>
T Fail(T result, Link& peer, Link& dealer) {
  absl::Status status = [&] {
    if constexpr (std::is_same_v<T, absl::Status>) {
      return result;
    } else {
      return result.status();
    }
  }();
  if (!status.ok()) {
    (void)peer.Send(AbortMessage(status));
    (void)dealer.Send(AbortMessage(status));
    peer.Close();
    dealer.Close();
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
                                           const BankInput& input, Link& provider, Link& dealer) {
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
                                             const ProviderInput& input, Link& bank, Link& dealer) {
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

// ---- the dealer -------------------------------------------------------------------------------

struct Shape {
  uint8_t role = 0;
  uint64_t rows = 0;
  uint32_t chunk_rows = 0, U = 0, V = 0, P = 0;
  std::vector<std::pair<uint32_t, uint32_t>> products;
};

absl::StatusOr<Shape> RecvShape(Link& link, const char* who, uint64_t max_rows) {
  absl::StatusOr<std::string> m = RecvFrom(link, who, "the shape");
  if (!m.ok()) return m.status();
  Reader r(*m);
  Shape s;
  const uint8_t tag = r.U8(), version = r.U8();
  s.role = r.U8();
  s.rows = r.U64();
  s.chunk_rows = r.U32();
  s.U = r.U32();
  s.V = r.U32();
  s.P = r.U32();
  if (!r.ok() || tag != 'D' || s.U < 1 || s.U > 2 || s.V > kMaxVectors || s.P > kMaxProducts ||
      s.chunk_rows == 0 || s.chunk_rows != ChunkRows(s.chunk_rows, std::max(s.U + s.V, s.P)) ||
      r.remaining() != s.P * 2 * sizeof(uint32_t)) {
    return Malformed(who, "shape");
  }
  if (version != kVersion) {
    return absl::FailedPreconditionError(
        absl::StrCat("the ", who, " speaks version ", version, ", we speak ", kVersion));
  }
  if (s.rows > max_rows) {
    return absl::FailedPreconditionError(
        absl::StrCat("the ", who, " announced ", s.rows, " rows; the dealer serves ", max_rows));
  }
  for (uint32_t p = 0; p < s.P; ++p) {
    const uint32_t u = r.U32(), v = r.U32();
    if (u >= s.U || v >= s.V) return Malformed(who, "shape (product out of range)");
    s.products.emplace_back(u, v);
  }
  return s;
}

absl::Status DealerImpl(Link& bank, Link& provider, uint64_t max_rows) {
  absl::StatusOr<Shape> b = RecvShape(bank, "bank", max_rows);
  if (!b.ok()) return b.status();
  absl::StatusOr<Shape> p = RecvShape(provider, "provider", max_rows);
  if (!p.ok()) return p.status();
  if (b->role != kRoleBank || p->role != kRoleProvider) {
    return absl::FailedPreconditionError("the parties announced the wrong roles");
  }
  if (b->rows != p->rows || b->chunk_rows != p->chunk_rows || b->U != p->U || b->V != p->V ||
      b->products != p->products) {
    return absl::FailedPreconditionError("the bank and the provider announced different shapes");
  }
  unsigned char seed0[kSeedBytes], seed1[kSeedBytes];
  RandomSeed(seed0);
  RandomSeed(seed1);
  for (auto [link, seed] : {std::pair<Link*, unsigned char*>{&bank, seed0}, {&provider, seed1}}) {
    std::string m(1, 'S');
    m.append(reinterpret_cast<const char*>(seed), kSeedBytes);
    if (absl::Status s = link->Send(std::move(m)); !s.ok()) {
      return absl::Status(s.code(), absl::StrCat("sending a seed: ", std::string(s.message())));
    }
  }
  SeededPrg prg0(seed0), prg1(seed1);
  sodium_memzero(seed0, kSeedBytes);
  sodium_memzero(seed1, kSeedBytes);
  const size_t U = b->U, V = b->V, P = b->P, cap = b->chunk_rows;
  std::vector<uint64_t> mask_a(U * cap), c0(P * cap), mask_b(V * cap);
  const uint64_t chunks = (b->rows + cap - 1) / cap;
  for (uint64_t k = 0; k < chunks; ++k) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(cap, b->rows - k * cap));
    // Same calls in the same order as Party::Compute.
    prg0.Fill(mask_a.data(), U * n);
    prg0.Fill(c0.data(), P * n);
    prg1.Fill(mask_b.data(), V * n);
    std::string m;
    m.resize(9 + P * n * sizeof(uint64_t));
    m[0] = 'T';
    const uint32_t index = static_cast<uint32_t>(k), count = static_cast<uint32_t>(n);
    std::memcpy(m.data() + 1, &index, 4);
    std::memcpy(m.data() + 5, &count, 4);
    char* out = m.data() + 9;
    for (size_t q = 0; q < P; ++q) {
      const auto [u, v] = b->products[q];
      for (size_t i = 0; i < n; ++i) {
        const uint64_t c1 = mask_a[u * n + i] * mask_b[v * n + i] - c0[q * n + i];
        std::memcpy(out + (q * n + i) * sizeof(uint64_t), &c1, sizeof(c1));
      }
    }
    if (absl::Status s = provider.Send(std::move(m)); !s.ok()) {
      return absl::Status(s.code(), absl::StrCat("sending triples ", k,
                                                 " to the provider: ", std::string(s.message())));
    }
  }
  return absl::OkStatus();
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
  return Fail(BankImpl(options, input, provider, dealer), provider, dealer);
}

absl::StatusOr<ProviderSummary> RunProvider(const SecretStatsOptions& options,
                                            const ProviderInput& input, Link& bank, Link& dealer) {
  return Fail(ProviderImpl(options, input, bank, dealer), bank, dealer);
}

absl::Status RunDealer(Link& bank, Link& provider, uint64_t max_rows) {
  return Fail(DealerImpl(bank, provider, max_rows), bank, provider);
}

}  // namespace tds::compute::mpc
