#pragma once
// Product shares from random oblivious transfers: the two-party mode, no dealer
// (README.md, "Products from oblivious transfer").
//
// [Gil99]   N. Gilboa. Two Party RSA Key Generation. CRYPTO 1999.
// [IKNP03]  Y. Ishai, J. Kilian, K. Nissim, E. Petrank. Extending Oblivious Transfers
//           Efficiently. CRYPTO 2003.
// [KKRT16]  V. Kolesnikov, R. Kumaresan, M. Rosulek, N. Trieu. Efficient Batched Oblivious PRF
//           with Applications to Private Set Intersection. CCS 2016.
//
// Every product multiplies a bank bit u_i ∈ {0, 1} by a provider word v_i ∈ Z_2^64, so one
// random 1-out-of-2 OT per (bank vector, row) serves every product of that bank vector. The
// provider (OT sender) gets keys k0_i, k1_i; the bank (receiver, choice u_i) gets k_{u_i}. With
// the word streams G0 = PRG(k0_i), G1 = PRG(k1_i), word j for the j-th product (u, v_j):
//   provider: sends t_j = G0_j − G1_j + v_j[i], keeps the share −G0_j;
//   bank:     share G_{u_i, j} + u_i·t_j   (u_i = 0: G0_j; u_i = 1: G0_j − G1_j + v_j + G1_j);
//   the shares add up to u_i·v_j[i] mod 2^64.
// The bank cannot compute G_{1−u_i}, which pads t_j; the provider sees only the extension's
// columns, which hide u. PRG: ChaCha20 (prg.h) keyed by the 32-byte OT output.
//
// The OTs: the OT extension of compute/psi/ot_extension.h (KKRT16, width 512), the bank as
// OPRF receiver with the repetition code C(0) = 0^512, C(1) = 1^512 as its code rows — which
// makes it IKNP's random OT: k_b = F_i(b) = H(i, q_i ⊕ b·s), where s is the provider's 512
// secret base-OT choice bits; instance i = 2·row + u. The 512 base OTs (compute/psi/base_ot.h)
// run once per session, in Start: the bank is their OT sender.

#include <cstdint>
#include <memory>

#include "compute/link.h"
#include "compute/mpc/products.h"

namespace tds::compute::mpc {

// A data party's side (`role` kRoleBank or kRoleProvider). The bank's `plain` vectors must
// hold only 0 and 1. Bank vectors without products need no OTs; with no products at all, no
// messages are exchanged. REQUIRES: `peer` outlives the result.
std::unique_ptr<ProductShares> OtProducts(uint8_t role, const ProductShape& shape, Link& peer);

}  // namespace tds::compute::mpc
