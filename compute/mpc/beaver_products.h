#pragma once
// Product shares from Beaver multiplication triples handed out by a third, non-colluding
// dealer (the mode with a dealer; README.md, "Beaver multiplication of private inputs").
//
// [Beaver91] D. Beaver, Efficient Multiparty Protocols Using Circuit Randomization, CRYPTO 1991.
//
// Per chunk of n rows, with U bank vectors, V provider vectors and P products:
//   dealer: seed_0 stream a[U*n], c_0[P*n] (the bank's); seed_1 stream b[V*n] (the provider's);
//           sends c_1 = a_u * b_v - c_0 for every product (u, v).
//   the bank sends d = u - a (U*n words); the provider sends e = v - b (V*n words). Each is a
//   one-time pad under a mask only the sender and the dealer know.
//   [z]_0 = c_0 + u * e and [z]_1 = c_1 + d * b; [z]_0 + [z]_1 = ab + uv - ub + ub - ab = uv.

#include <cstdint>
#include <memory>

#include "absl/status/status.h"
#include "compute/link.h"
#include "compute/mpc/products.h"

namespace tds::compute::mpc {

// A data party's side (`role` kRoleBank or kRoleProvider). Start sends the shape to the dealer
// and receives the party's seed. REQUIRES: `peer` and `dealer` outlive the result.
std::unique_ptr<ProductShares> BeaverProducts(uint8_t role, const ProductShape& shape, Link& peer,
                                              Link& dealer);

// The dealer: receives both parties' shapes, checks they agree and announce at most max_rows
// rows, sends each its seed and the provider its c_1 chunk by chunk.
absl::Status ServeTriples(Link& bank, Link& provider, uint64_t max_rows);

}  // namespace tds::compute::mpc
