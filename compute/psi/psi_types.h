#pragma once
// Public types shared by the PSI protocols (ECDH-PSI in ecdh_psi.h, OT-extension PSI in
// kkrt_psi.h): the output modes, the two roles, progress reports, the release gate's argument
// and the result; the names errors and reports print for roles and outputs.

#include <cstdint>
#include <vector>

namespace tds::compute::psi {

enum class PsiOutput {
  kConsumerOnly,  // the receiver learns which of its items are in the intersection
  kBoth,          // both parties learn which of their items are in the intersection
  kSizeOnly,      // the receiver learns only the intersection's size; the sender nothing
};

enum class PsiRole {
  kReceiver,  // the consumer (bank)
  kSender,    // the provider
};

inline const char* RoleName(PsiRole role) {
  return role == PsiRole::kReceiver ? "receiver" : "sender";
}
// The other party's role name.
inline const char* PeerName(PsiRole role) {
  return role == PsiRole::kReceiver ? "sender" : "receiver";
}

inline const char* OutputName(PsiOutput output) {
  switch (output) {
    case PsiOutput::kConsumerOnly:
      return "consumer-only";
    case PsiOutput::kBoth:
      return "both";
    case PsiOutput::kSizeOnly:
      return "size-only";
  }
  return "unknown";
}

struct PsiProgress {
  // ECDH-PSI: receiver "mask-own" (its items masked and sent), then "match" (the sender's
  // values masked again; the lookups follow the release key); sender "mask-peer" (the
  // receiver's values masked again), then "mask-own".
  // OT-extension PSI: both "bucket" (buckets done of all), receiver then "match".
  const char* phase;
  uint64_t done;
  uint64_t total;
};

struct PsiReleaseInfo {
  uint64_t own_items = 0;
  uint64_t peer_items = 0;
};

struct PsiResult {
  // Positions in this party's input that are in the intersection, ascending (empty for a
  // party that learns no membership).
  std::vector<uint64_t> matched;
  // Size of the intersection (known to the receiver in every mode, to the sender in kBoth):
  // the number of the receiver's positions, duplicates counted, whose item the sender holds.
  uint64_t intersection_size = 0;
  uint64_t peer_items = 0;
};

}  // namespace tds::compute::psi
