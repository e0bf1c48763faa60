// OT product shares. See ot_products.h; messages (base OT, chunk) at the top of secret_stats.cc.

#include "compute/mpc/ot_products.h"

#include <sodium.h>

#include <algorithm>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "compute/mpc/prg.h"
#include "compute/psi/base_ot.h"
#include "compute/psi/ot_extension.h"
#include "compute/sodium_init.h"
#include "compute/worker_pool.h"

namespace tds::compute::mpc {
namespace {

using psi::kCodeBits;
using psi::kCodeWords;

static_assert(kSeedBytes <= 32, "an OT key is at most one SHA-256 output");

// A random OT's output: a ChaCha20 key.
struct Key {
  unsigned char bytes[kSeedBytes];
};

// Words of a row's stream to generate for m products: libsodium's ChaCha20 runs its fast
// 8-block (512-byte) path only on whole multiples of 512 bytes and a shorter tail costs about
// twice as much per byte, so whole 64-word batches are generated and the first m used (the
// keystream's prefix is the same either way).
size_t StreamWords(size_t m) { return (m + 63) / 64 * 64; }

// Rows whose provider words are gathered at once.
constexpr size_t kGatherRows = 64;

// The repetition code: the rows of choice 0 and choice 1.
constexpr uint64_t kZeros[kCodeWords] = {};
constexpr uint64_t kOnes[kCodeWords] = {~0ULL, ~0ULL, ~0ULL, ~0ULL, ~0ULL, ~0ULL, ~0ULL, ~0ULL};

class OtShares final : public ProductShares {
 public:
  OtShares(uint8_t role, const ProductShape& shape, Link& peer)
      : bank_(role == kRoleBank), shape_(shape), peer_(peer), pool_(1) {
    // The bank vectors with products, each with its products in plan order (none without rows).
    if (shape_.rows == 0) return;
    std::vector<std::vector<uint32_t>> of(shape_.bank_vectors);
    for (uint32_t p = 0; p < shape_.products.size(); ++p) of[shape_.products[p].first].push_back(p);
    for (uint32_t u = 0; u < shape_.bank_vectors; ++u) {
      if (of[u].empty()) continue;
      std::vector<uint32_t> vectors;
      for (uint32_t p : of[u]) vectors.push_back(shape_.products[p].second);
      active_.push_back({u, std::move(of[u]), std::move(vectors)});
    }
  }

  ~OtShares() override {
    for (std::vector<Key>& keys : keys_) sodium_memzero(keys.data(), keys.size() * sizeof(Key));
  }

  absl::Status Start() override {
    if (active_.empty()) return absl::OkStatus();
    const size_t cap = shape_.chunk_rows;
    const size_t ot_rows = active_.size() * Padded(cap);
    cols_.resize(ot_rows * kCodeWords);
    rows_.resize(ot_rows * kCodeWords);
    t_.resize(shape_.products.size() * cap);
    size_t widest = 0;
    for (const Active& a : active_) widest = std::max(widest, a.products.size());
    for (std::vector<uint64_t>* v : {&g0_, &g1_, &acc_}) v->resize(StreamWords(widest));
    v_.resize(kGatherRows * widest);
    return bank_ ? StartBank() : StartProvider();
  }

  absl::Status Send(uint64_t k, size_t n, const uint64_t* plain, Sender& out) override {
    if (!bank_ || active_.empty()) return absl::OkStatus();
    // Code rows C(u_i) (padding rows: C(0)), then the extension: u's columns go to the provider,
    // t0's rows give the bank's keys H(i, t0_i) = F_i(u_i).
    const size_t n64 = Padded(n), ot_rows = active_.size() * n64;
    code_.assign(ot_rows * kCodeWords, 0);
    for (size_t a = 0; a < active_.size(); ++a) {
      const uint64_t* u = plain + active_[a].vector * n;
      for (size_t i = 0; i < n; ++i) {
        if (u[i] != 0) std::memcpy(&code_[(a * n64 + i) * kCodeWords], kOnes, sizeof(kOnes));
      }
    }
    receiver_->Extend(code_.data(), ot_rows, cols_.data(), rows_.data(), pool_);
    out.Push(ChunkMessage('C', k, n, cols_.data(), ot_rows * kCodeWords));
    std::vector<Key>& keys = keys_[k % 2];
    keys.resize(active_.size() * n);
    for (size_t a = 0; a < active_.size(); ++a) {
      for (size_t i = 0; i < n; ++i) {
        hasher_.Hash(Instance(k, i, active_[a].vector), &rows_[(a * n64 + i) * kCodeWords],
                     keys[a * n + i].bytes, kSeedBytes);
      }
    }
    return absl::OkStatus();
  }

  absl::Status Receive(uint64_t k, size_t n, const uint64_t* plain, Sender& out,
                       uint64_t* shares) override {
    if (active_.empty()) return absl::OkStatus();
    return bank_ ? ReceiveBank(k, n, plain, shares) : ReceiveProvider(k, n, plain, out, shares);
  }

 private:
  struct Active {
    uint32_t vector;                 // the bank vector
    std::vector<uint32_t> products;  // its products, ascending
    std::vector<uint32_t> provider;  // the provider vector of each of them
  };

  // OT rows per bank vector in a chunk of n rows: the extension works on blocks of 64.
  static size_t Padded(size_t n) { return (n + 63) / 64 * 64; }
  uint64_t Instance(uint64_t k, size_t i, uint32_t vector) const {
    return 2 * (k * shape_.chunk_rows + i) + vector;
  }

  // The bank is the base OTs' sender and the extension's receiver.
  absl::Status StartBank() {
    psi::BaseOtSender base;
    if (absl::Status s = peer_.Send(std::string(1, 'O') + base.FirstMessage()); !s.ok()) {
      return absl::Status(s.code(), absl::StrCat("sending the base OT message to the provider: ",
                                                 std::string(s.message())));
    }
    absl::StatusOr<std::string> m = RecvFrom(peer_, "provider", "the base OT reply");
    if (!m.ok()) return m.status();
    if (m->empty() || (*m)[0] != 'B') return Malformed("provider", "base OT reply");
    std::vector<psi::OtSeed> k0, k1;
    absl::Status s = base.Finish(std::string_view(*m).substr(1), kCodeBits, k0, k1);
    if (!s.ok()) {
      return absl::Status(s.code(), absl::StrCat("malformed base OT reply from the provider: ",
                                                 std::string(s.message())));
    }
    receiver_.emplace(k0, k1);
    psi::WipeSeeds(k0);
    psi::WipeSeeds(k1);
    return absl::OkStatus();
  }

  // The provider is the base OTs' receiver, with the secret choice bits s of the extension.
  absl::Status StartProvider() {
    absl::StatusOr<std::string> m = RecvFrom(peer_, "bank", "the base OT message");
    if (!m.ok()) return m.status();
    if (m->size() != 1 + psi::kOtPointBytes || (*m)[0] != 'O') {
      return Malformed("bank", "base OT message");
    }
    EnsureSodium();
    std::vector<uint8_t> choices(kCodeBits);  // s
    for (uint8_t& c : choices) c = static_cast<uint8_t>(randombytes_uniform(2));
    std::string points;
    std::vector<psi::OtSeed> seeds;
    absl::Status s = psi::BaseOtReceive(std::string_view(*m).substr(1), choices, points, seeds);
    if (s.ok()) sender_.emplace(seeds, choices);
    psi::WipeSeeds(seeds);
    sodium_memzero(choices.data(), choices.size());
    if (!s.ok()) {
      return absl::Status(s.code(), absl::StrCat("malformed base OT message from the bank: ",
                                                 std::string(s.message())));
    }
    if (s = peer_.Send("B" + points); !s.ok()) {
      return absl::Status(s.code(), absl::StrCat("sending the base OT reply to the bank: ",
                                                 std::string(s.message())));
    }
    return absl::OkStatus();
  }

  // The bank: t from the provider; its share G_{u_i} + u_i·t per product and row.
  absl::Status ReceiveBank(uint64_t k, size_t n, const uint64_t* plain, uint64_t* shares) {
    const size_t P = shape_.products.size();
    if (absl::Status s = RecvChunkWords(peer_, "provider", absl::StrCat("chunk ", k), 'C', k, n,
                                        P * n, t_.data());
        !s.ok()) {
      return s;
    }
    const std::vector<Key>& keys = keys_[k % 2];
    const uint64_t* t = t_.data();
    for (size_t a = 0; a < active_.size(); ++a) {
      const size_t m = active_[a].products.size();
      const uint64_t* u = plain + active_[a].vector * n;
      std::fill(acc_.begin(), acc_.begin() + m, 0);
      for (size_t i = 0; i < n; ++i, t += m) {
        SeededPrg(keys[a * n + i].bytes).Fill(g0_.data(), StreamWords(m));
        const uint64_t choice = 0 - (u[i] & 1);  // all ones when u_i = 1
        for (size_t j = 0; j < m; ++j) acc_[j] += g0_[j] + (choice & t[j]);
      }
      for (size_t j = 0; j < m; ++j) shares[active_[a].products[j]] += acc_[j];
    }
    return absl::OkStatus();
  }

  // The provider: the bank's columns; both keys per OT; t = G0 − G1 + v, its share −G0.
  absl::Status ReceiveProvider(uint64_t k, size_t n, const uint64_t* plain, Sender& out,
                               uint64_t* shares) {
    const size_t n64 = Padded(n), ot_rows = active_.size() * n64;
    if (absl::Status s = RecvChunkWords(peer_, "bank", absl::StrCat("chunk ", k), 'C', k, n,
                                        ot_rows * kCodeWords, cols_.data());
        !s.ok()) {
      return s;
    }
    sender_->Extend(cols_.data(), ot_rows, rows_.data(), pool_);
    Key k0, k1;
    uint64_t* t = t_.data();
    for (size_t a = 0; a < active_.size(); ++a) {
      const std::vector<uint32_t>& products = active_[a].products;
      const size_t m = products.size();
      std::fill(acc_.begin(), acc_.begin() + m, 0);
      for (size_t i = 0; i < n; ++i, t += m) {
        // v of the next kGatherRows rows, row-major: a run of each vector at a time, rather
        // than one word of every vector per row (they lie n words apart, often a multiple of
        // 4 KiB and so in one cache set).
        if (i % kGatherRows == 0) {
          const size_t rows = std::min(kGatherRows, n - i);
          for (size_t j = 0; j < m; ++j) {
            const uint64_t* src = plain + active_[a].provider[j] * n + i;
            for (size_t r = 0; r < rows; ++r) v_[r * m + j] = src[r];
          }
        }
        const uint64_t* v = &v_[(i % kGatherRows) * m];
        const uint64_t instance = Instance(k, i, active_[a].vector);
        const uint64_t* q = &rows_[(a * n64 + i) * kCodeWords];
        sender_->Evaluate(instance, q, kZeros, hasher_, k0.bytes, kSeedBytes);
        sender_->Evaluate(instance, q, kOnes, hasher_, k1.bytes, kSeedBytes);
        SeededPrg(k0.bytes).Fill(g0_.data(), StreamWords(m));
        SeededPrg(k1.bytes).Fill(g1_.data(), StreamWords(m));
        for (size_t j = 0; j < m; ++j) {
          t[j] = g0_[j] - g1_[j] + v[j];
          acc_[j] -= g0_[j];
        }
      }
      for (size_t j = 0; j < m; ++j) shares[products[j]] += acc_[j];
    }
    sodium_memzero(&k0, sizeof(k0));
    sodium_memzero(&k1, sizeof(k1));
    out.Push(ChunkMessage('C', k, n, t_.data(), shape_.products.size() * n));
    return absl::OkStatus();
  }

  const bool bank_;
  const ProductShape shape_;
  Link& peer_;
  WorkerPool pool_;  // one thread: each party runs on one core, as with a dealer
  std::vector<Active> active_;
  std::optional<psi::OprfReceiver> receiver_;  // the bank
  std::optional<psi::OprfSender> sender_;      // the provider
  psi::RowHasher hasher_;
  std::vector<uint64_t> code_;  // the bank: code rows of a chunk
  std::vector<uint64_t> cols_;  // u's columns (sent by the bank)
  std::vector<uint64_t> rows_;  // t0's rows (the bank) or q's rows (the provider)
  std::vector<Key> keys_[2];    // the bank: F_i(u_i) per OT, kept from Send(k) to Receive(k)
  // t of a chunk: per active bank vector a (ascending), per row i, a's products in plan order.
  std::vector<uint64_t> t_;
  std::vector<uint64_t> g0_, g1_, acc_;  // one row's streams; sums per product
  std::vector<uint64_t> v_;              // the provider: v of kGatherRows rows, row-major
};

}  // namespace

std::unique_ptr<ProductShares> OtProducts(uint8_t role, const ProductShape& shape, Link& peer) {
  return std::make_unique<OtShares>(role, shape, peer);
}

}  // namespace tds::compute::mpc
