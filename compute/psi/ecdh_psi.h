#pragma once
// Two-party ECDH private set intersection over X25519.
//
// [HFH99] B. A. Huberman, M. Franklin, T. Hogg. Enhancing privacy and trust in electronic
//         communities. ACM EC 1999. (Also [Mea86] C. Meadows, IEEE S&P 1986.)
//
// Each party hashes its identifiers to 32-byte X25519 u-coordinates, multiplies them by a
// per-session secret scalar, exchanges them, multiplies the other's by its own secret, and
// compares: X25519(a, X25519(b, H(x))) = X25519(b, X25519(a, H(x))). Values a party sends in
// its own order are shuffled by the other where positions would leak. See compute/psi/README.md
// for the message flow, what each party learns, and the security model (semi-honest).

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "compute/link.h"
#include "compute/psi/psi_types.h"

namespace tds::compute::psi {

struct EcdhPsiOptions {
  PsiOutput output = PsiOutput::kConsumerOnly;
  // Items per message; bounds memory in flight (32 bytes per item on the wire).
  size_t chunk_items = 1 << 14;
  // Worker threads for the scalar multiplications (0 = hardware concurrency).
  int threads = 0;
  // Largest peer set accepted; a peer announcing more is refused before any work.
  uint64_t max_peer_items = 200'000'000;
  // Called from the protocol thread now and then; may be empty.
  std::function<void(const PsiProgress&)> progress;
  // Sender only: the release gate. Called once the sender's work is done and before the
  // receiver can learn anything about the intersection — what the receiver still needs is
  // sent encrypted under a fresh session key, and the key follows only if this returns OK.
  // The metered gateway records the usage here (strict metering: the record has committed
  // when this returns). An error aborts the session: the receiver learns nothing.
  std::function<absl::Status(const PsiReleaseInfo&)> before_release;
};

// Runs one party. Both parties must pass the same `output`; a mismatch, a malformed or
// truncated message, a wrong count or length, or a low-order point ends the session with an
// InvalidArgument / DataLoss error naming what was wrong. Duplicate items are allowed (each
// position is reported). `items` may be empty. On any failure the link is closed, so that
// the peer's session ends too instead of waiting. At most 2^32 - 2 items per party.
absl::StatusOr<PsiResult> RunEcdhPsi(PsiRole role, const std::vector<std::string>& items,
                                     const EcdhPsiOptions& options, Link& link);

}  // namespace tds::compute::psi
