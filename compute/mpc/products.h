#pragma once
// The one part of the secret-shared statistics that differs between the two modes: how the
// two data parties obtain additive shares of the products u·v, where the bank holds u and the
// provider holds v in the clear, row by row. With a dealer: Beaver triples
// (beaver_products.h). Without: random OTs (ot_products.h). Internal to compute/mpc; the plan,
// handshake, groups and result around it are in secret_stats.cc.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "compute/mpc/wire.h"

namespace tds::compute::mpc {

// What both data parties (and the dealer) derive identically from the options.
struct ProductShape {
  uint64_t rows = 0;
  uint32_t chunk_rows = 1;        // rows per chunk; chunk k covers [k * chunk_rows, +n)
  uint32_t bank_vectors = 1;      // U: 1 or 2
  uint32_t provider_vectors = 0;  // V
  // P products (u, v): bank vector u < U times provider vector v < V.
  std::vector<std::pair<uint32_t, uint32_t>> products;

  uint64_t chunks() const { return (rows + chunk_rows - 1) / chunk_rows; }
  size_t chunk_size(uint64_t k) const {
    return static_cast<size_t>(std::min<uint64_t>(chunk_rows, rows - k * chunk_rows));
  }
};

// One data party's source of product shares. The engine calls Start once, then for every chunk
// Send(k) and Receive(k), in chunk order, with Send(k + 1) before Receive(k) so that both
// parties compute while the messages travel. `plain` holds this party's own vectors for the
// chunk's n rows, vector-major (element (j, i) at j * n + i; the bank: U vectors of 0/1, the
// provider: V vectors of Z_2^64 words); the engine keeps it unchanged from Send(k) to the end
// of Receive(k). Chunk messages to the peer go through `out`.
class ProductShares {
 public:
  virtual ~ProductShares() = default;

  // Set-up messages before any chunk (the dealer's seed, or the base OTs).
  virtual absl::Status Start() = 0;
  // The first half of chunk k.
  virtual absl::Status Send(uint64_t k, size_t n, const uint64_t* plain, Sender& out) = 0;
  // The second half: adds this party's share of Σ_i u_p[i]·v_p[i] over the chunk's rows to
  // shares[p] for every product p (mod 2^64). The bank's and the provider's shares add up to
  // the product sums.
  virtual absl::Status Receive(uint64_t k, size_t n, const uint64_t* plain, Sender& out,
                               uint64_t* shares) = 0;
};

// Drives `source` (started) over every chunk of `shape`, sending through a Sender on `peer`
// (named `peer_name` in errors). fill(begin, n, out) writes this party's `width` vectors for
// rows [begin, begin + n), vector-major; this party's product shares are added to
// shares[0..P). The pipelining (Send of chunk k + 1 before Receive of chunk k) lives here, once
// for both modes.
absl::Status RunProducts(ProductShares& source, const ProductShape& shape, size_t width, Link& peer,
                         const char* peer_name,
                         const std::function<void(uint64_t, size_t, uint64_t*)>& fill,
                         uint64_t* shares);

}  // namespace tds::compute::mpc
