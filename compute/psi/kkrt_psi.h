#pragma once
// Two-party private set intersection from OT extension (an OPRF on every receiver item).
//
// [KKRT16] V. Kolesnikov, R. Kumaresan, M. Rosulek, N. Trieu. Efficient Batched Oblivious PRF
//          with Applications to Private Set Intersection. CCS 2016.
// [PSZ18]  B. Pinkas, T. Schneider, M. Zohner. Scalable Private Set Intersection Based on OT
//          Extension. ACM TOPS 2018 (the hashing-to-bins framework used here).
//
// The receiver (consumer, bank) places its items by cuckoo hashing into bins and obtains, by
// OT extension (ot_extension.h), one OPRF value per bin; the sender (provider) evaluates the
// same OPRFs on each of its items at its three candidate bins and sends those tags. Equal
// tags are the intersection. Much less CPU than ECDH-PSI (AES and SHA-256 instead of a scalar
// multiplication per item), somewhat more traffic. Message flow, parameters, what each party
// learns and the costs: compute/psi/OT_PSI.md. Semi-honest security.
//
// Same types, outputs and release gate as ECDH-PSI (ecdh_psi.h), except kSizeOnly, which an
// OPRF-PSI cannot provide (the receiver can always test each of its own OPRF values, which
// are bound to its items): it is refused — use ECDH-PSI for size_only.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "compute/link.h"
#include "compute/psi/psi_types.h"

namespace tds::compute::psi {

struct KkrtPsiOptions {
  // kConsumerOnly or kBoth; kSizeOnly is refused (InvalidArgument).
  PsiOutput output = PsiOutput::kConsumerOnly;
  // Worker threads for AES, hashing and transposes (0 = hardware concurrency).
  int threads = 0;
  // Largest peer set accepted; a peer announcing more is refused before any work.
  uint64_t max_peer_items = 200'000'000;
  // Items per bucket. Both sets are split by a keyed public hash into
  // B = ⌈max(n_R, n_S) / limit⌉ buckets, limit the smaller of the two parties' values, which
  // run one after the other, so the working memory follows the bucket, not the set: about
  // 150 bytes per bucket item on the receiver and 120 on the sender (see OT_PSI.md).
  uint64_t max_bucket_items = uint64_t{1} << 21;
  // Sender: item slots per tag message (3 tags of 6..32 bytes each); at most 2^18.
  size_t chunk_items = 1 << 15;
  // Called from the protocol thread now and then; may be empty.
  std::function<void(const PsiProgress&)> progress;
  // Sender only: the release gate. Called once every tag has been sent — sealed under a
  // fresh session key — and before the receiver can learn anything about the intersection;
  // the key follows only if this returns OK. An error aborts the session: the receiver
  // learns nothing beyond the set sizes.
  std::function<absl::Status(const PsiReleaseInfo&)> before_release;
};

// Runs one party. Both parties must pass the same `output`; a mismatch, a malformed,
// truncated, oversized or out-of-order message, or a peer set above max_peer_items ends the
// session with an InvalidArgument / DataLoss error naming the party and what was expected.
// On any failure the link is closed, so that the peer's session ends too. Duplicate items are
// allowed (each position is reported); `items` may be empty. At most 2^32 - 2 items.
absl::StatusOr<PsiResult> RunKkrtPsi(PsiRole role, const std::vector<std::string>& items,
                                     const KkrtPsiOptions& options, Link& link);

}  // namespace tds::compute::psi
