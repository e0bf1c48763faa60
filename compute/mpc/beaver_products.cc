// Beaver product shares and the dealer. See beaver_products.h; messages (shape, seed, triples,
// chunk) at the top of secret_stats.cc.

#include "compute/mpc/beaver_products.h"

#include <sodium.h>

#include <algorithm>
#include <cstring>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "compute/mpc/prg.h"

namespace tds::compute::mpc {
namespace {

class Beaver final : public ProductShares {
 public:
  Beaver(uint8_t role, const ProductShape& shape, Link& peer, Link& dealer)
      : bank_(role == kRoleBank),
        peer_name_(RoleName(1 - role)),
        shape_(shape),
        peer_(peer),
        dealer_(dealer) {}

  ~Beaver() override { sodium_memzero(seed_, kSeedBytes); }

  absl::Status Start() override {
    std::string shape;
    PutU8(&shape, 'D');
    PutU8(&shape, kProtocolVersion);
    PutU8(&shape, bank_ ? kRoleBank : kRoleProvider);
    PutU64(&shape, shape_.rows);
    PutU32(&shape, shape_.chunk_rows);
    PutU32(&shape, shape_.bank_vectors);
    PutU32(&shape, shape_.provider_vectors);
    PutU32(&shape, static_cast<uint32_t>(shape_.products.size()));
    for (auto [u, v] : shape_.products) {
      PutU32(&shape, u);
      PutU32(&shape, v);
    }
    if (absl::Status s = dealer_.Send(std::move(shape)); !s.ok()) {
      return absl::Status(
          s.code(), absl::StrCat("sending the shape to the dealer: ", std::string(s.message())));
    }
    absl::StatusOr<std::string> m = RecvFrom(dealer_, "dealer", "the triple seed");
    if (!m.ok()) return m.status();
    if (m->size() != 1 + kSeedBytes || (*m)[0] != 'S') return Malformed("dealer", "seed");
    std::memcpy(seed_, m->data() + 1, kSeedBytes);
    dealt_.emplace(seed_);
    sodium_memzero(seed_, kSeedBytes);
    const size_t cap = shape_.chunk_rows;
    for (Slot& slot : slots_) {
      slot.mask.resize(Mine() * cap);
      slot.c.resize(shape_.products.size() * cap);
    }
    open_.resize(Mine() * cap);
    peer_open_.resize(Theirs() * cap);
    return absl::OkStatus();
  }

  absl::Status Send(uint64_t k, size_t n, const uint64_t* plain, Sender& out) override {
    Slot& slot = slots_[k % 2];
    const size_t P = shape_.products.size();
    // The same Fill calls in the same order as ServeTriples.
    dealt_->Fill(slot.mask.data(), Mine() * n);
    if (bank_) dealt_->Fill(slot.c.data(), P * n);
    for (size_t j = 0; j < Mine() * n; ++j) open_[j] = plain[j] - slot.mask[j];
    out.Push(ChunkMessage('C', k, n, open_.data(), Mine() * n));
    return absl::OkStatus();
  }

  absl::Status Receive(uint64_t k, size_t n, const uint64_t* plain, Sender&,
                       uint64_t* shares) override {
    Slot& slot = slots_[k % 2];
    const size_t P = shape_.products.size();
    if (!bank_) {
      if (absl::Status s = RecvChunkWords(dealer_, "dealer", absl::StrCat("triples for chunk ", k),
                                          'T', k, n, P * n, slot.c.data());
          !s.ok()) {
        return s;
      }
    }
    if (absl::Status s = RecvChunkWords(peer_, peer_name_, absl::StrCat("chunk ", k), 'C', k, n,
                                        Theirs() * n, peer_open_.data());
        !s.ok()) {
      return s;
    }
    // Bank: [z]_0 = c_0 + u * e. Provider: [z]_1 = c_1 + d * b. Sum: u * v.
    for (size_t p = 0; p < P; ++p) {
      const auto [u, v] = shape_.products[p];
      const uint64_t* cp = slot.c.data() + p * n;
      // Bank: its u times the provider's e. Provider: the bank's d times its mask b.
      const uint64_t* x = bank_ ? plain + u * n : peer_open_.data() + u * n;
      const uint64_t* y = bank_ ? peer_open_.data() + v * n : slot.mask.data() + v * n;
      uint64_t z = 0;
      for (size_t i = 0; i < n; ++i) z += cp[i] + x[i] * y[i];
      shares[p] += z;
    }
    return absl::OkStatus();
  }

 private:
  size_t Mine() const { return bank_ ? shape_.bank_vectors : shape_.provider_vectors; }
  size_t Theirs() const { return bank_ ? shape_.provider_vectors : shape_.bank_vectors; }

  // A chunk's dealt values, kept from its Send to its Receive.
  struct Slot {
    std::vector<uint64_t> mask;  // the bank's a (U vectors) or the provider's b (V vectors)
    std::vector<uint64_t> c;     // this party's share of a_u * b_v per product
  };

  const bool bank_;
  const char* peer_name_;
  const ProductShape shape_;
  Link& peer_;
  Link& dealer_;
  unsigned char seed_[kSeedBytes] = {};
  std::optional<SeededPrg> dealt_;
  Slot slots_[2];
  std::vector<uint64_t> open_;       // plain - mask, sent
  std::vector<uint64_t> peer_open_;  // the peer's: d at the provider, e at the bank
};

struct Shape {
  uint8_t role = 0;
  ProductShape shape;
};

absl::StatusOr<Shape> RecvShape(Link& link, const char* who, uint64_t max_rows) {
  absl::StatusOr<std::string> m = RecvFrom(link, who, "the shape");
  if (!m.ok()) return m.status();
  Reader r(*m);
  Shape s;
  ProductShape& ps = s.shape;
  const uint8_t tag = r.U8(), version = r.U8();
  s.role = r.U8();
  ps.rows = r.U64();
  ps.chunk_rows = r.U32();
  ps.bank_vectors = r.U32();
  ps.provider_vectors = r.U32();
  const uint32_t P = r.U32();
  const uint32_t U = ps.bank_vectors, V = ps.provider_vectors;
  if (!r.ok() || tag != 'D' || U < 1 || U > 2 || V > kMaxVectors || P > kMaxProducts ||
      ps.chunk_rows == 0 || ps.chunk_rows != ChunkRows(ps.chunk_rows, std::max(U + V, P)) ||
      r.remaining() != P * 2 * sizeof(uint32_t)) {
    return Malformed(who, "shape");
  }
  if (version != kProtocolVersion) {
    return absl::FailedPreconditionError(
        absl::StrCat("the ", who, " speaks version ", version, ", we speak ", kProtocolVersion));
  }
  if (ps.rows > max_rows) {
    return absl::FailedPreconditionError(
        absl::StrCat("the ", who, " announced ", ps.rows, " rows; the dealer serves ", max_rows));
  }
  for (uint32_t p = 0; p < P; ++p) {
    const uint32_t u = r.U32(), v = r.U32();
    if (u >= U || v >= V) return Malformed(who, "shape (product out of range)");
    ps.products.emplace_back(u, v);
  }
  return s;
}

}  // namespace

std::unique_ptr<ProductShares> BeaverProducts(uint8_t role, const ProductShape& shape, Link& peer,
                                              Link& dealer) {
  return std::make_unique<Beaver>(role, shape, peer, dealer);
}

absl::Status ServeTriples(Link& bank, Link& provider, uint64_t max_rows) {
  absl::StatusOr<Shape> b = RecvShape(bank, "bank", max_rows);
  if (!b.ok()) return b.status();
  absl::StatusOr<Shape> p = RecvShape(provider, "provider", max_rows);
  if (!p.ok()) return p.status();
  if (b->role != kRoleBank || p->role != kRoleProvider) {
    return absl::FailedPreconditionError("the parties announced the wrong roles");
  }
  const ProductShape& shape = b->shape;
  const ProductShape& other = p->shape;
  if (shape.rows != other.rows || shape.chunk_rows != other.chunk_rows ||
      shape.bank_vectors != other.bank_vectors ||
      shape.provider_vectors != other.provider_vectors || shape.products != other.products) {
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
  const size_t U = shape.bank_vectors, V = shape.provider_vectors, P = shape.products.size();
  const size_t cap = shape.chunk_rows;
  std::vector<uint64_t> mask_a(U * cap), c0(P * cap), mask_b(V * cap), c1(P * cap);
  for (uint64_t k = 0; k < shape.chunks(); ++k) {
    const size_t n = shape.chunk_size(k);
    // Same calls in the same order as Beaver::Send.
    prg0.Fill(mask_a.data(), U * n);
    prg0.Fill(c0.data(), P * n);
    prg1.Fill(mask_b.data(), V * n);
    for (size_t q = 0; q < P; ++q) {
      const auto [u, v] = shape.products[q];
      for (size_t i = 0; i < n; ++i) {
        c1[q * n + i] = mask_a[u * n + i] * mask_b[v * n + i] - c0[q * n + i];
      }
    }
    if (absl::Status s = provider.Send(ChunkMessage('T', k, n, c1.data(), P * n)); !s.ok()) {
      return absl::Status(s.code(), absl::StrCat("sending triples ", k,
                                                 " to the provider: ", std::string(s.message())));
    }
  }
  return absl::OkStatus();
}

}  // namespace tds::compute::mpc
