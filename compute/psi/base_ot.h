#pragma once
// Base oblivious transfers for the OT extension (ot_extension.h): a batch of random 1-out-of-2
// OTs over ristretto255 (libsodium).
//
// [CO15] T. Chou, C. Orlandi. The Simplest Protocol for Oblivious Transfer. LATINCRYPT 2015.
//
// The OT sender draws a scalar a and sends A = a·G (one message). For OT j the receiver, with
// choice bit c_j, draws b_j and answers B_j = b_j·G + c_j·A (all B_j in one message). Then
//   sender:   k0_j = KDF(j, A, B_j, a·B_j),  k1_j = KDF(j, A, B_j, a·(B_j − A))
//   receiver: k_j  = KDF(j, A, B_j, b_j·A)   (= k{c_j}_j)
// with KDF = the first 16 bytes of SHA-256("tds-base-ot-v1" 0x00 || j:u32le || A || B_j || P).
// Semi-honest security under CDH in the random-oracle model; the receiver's choices are
// perfectly hidden (B_j is uniform either way). Every received point is checked: a valid
// canonical ristretto255 encoding and not the identity.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"

namespace tds::compute {
class WorkerPool;
}

namespace tds::compute::psi {

inline constexpr size_t kOtSeedBytes = 16;
inline constexpr size_t kOtPointBytes = 32;

// A random 16-byte OT output (a PRG seed in the extension).
struct OtSeed {
  uint8_t bytes[kOtSeedBytes];
};

// Wipes seeds that are secret to their holder.
void WipeSeeds(std::vector<OtSeed>& seeds);

// The OT sender's side: it ends up with both seeds of every OT.
class BaseOtSender {
 public:
  BaseOtSender();   // draws a
  ~BaseOtSender();  // wipes a
  BaseOtSender(const BaseOtSender&) = delete;
  BaseOtSender& operator=(const BaseOtSender&) = delete;

  // A = a·G, the sender's one message (kOtPointBytes bytes).
  std::string FirstMessage() const { return std::string(a_point_, a_point_ + kOtPointBytes); }

  // Reads the receiver's reply, `count` points B_j, and derives k0[j], k1[j]. DataLoss when
  // the reply is not exactly count × 32 bytes, InvalidArgument naming the first point that is
  // not a valid encoding or gives the identity. Runs the 2·count scalar multiplications on
  // `pool` when given.
  absl::Status Finish(std::string_view reply, size_t count, std::vector<OtSeed>& k0,
                      std::vector<OtSeed>& k1, WorkerPool* pool = nullptr) const;

 private:
  unsigned char a_[32];
  unsigned char a_point_[kOtPointBytes];
};

// The OT receiver's side: reads the sender's first message, chooses choices[j] (0 or 1) for
// each OT, writes the reply (choices.size() points) and the chosen seeds. InvalidArgument /
// DataLoss when the first message is malformed or the identity.
absl::Status BaseOtReceive(std::string_view first_message, const std::vector<uint8_t>& choices,
                           std::string& reply, std::vector<OtSeed>& seeds,
                           WorkerPool* pool = nullptr);

}  // namespace tds::compute::psi
