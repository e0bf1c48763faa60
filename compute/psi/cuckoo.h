#pragma once
// Cuckoo hashing for OT-extension PSI (kkrt_psi.h): the receiver places each of its items in
// one of three candidate bins, at most one item per bin, no stash; the sender evaluates each
// of its items at all three candidates.
//
// Parameters are integers, so that both parties derive the same ones bit for bit:
//   bins(n) = ⌈e(n)·n⌉ rounded up to a multiple of 128 (at least 128), with the expansion e(n)
//   for 3 hash functions, no stash and failure probability ≤ 2^-40 taken from the empirical
//   fit of cryptoTools' CuckooIndex::selectParams (libOTe; after the experiments of
//   [PSWW18] B. Pinkas, T. Schneider, C. Weinert, U. Wieder. Efficient Circuit-based PSI via
//   Cuckoo Hashing. EUROCRYPT 2018): for n ≥ 512, 40 = 240·e − log2 n − 256, i.e.
//   e = (296 + log2 n)/240 (1.275 at 2^10, 1.317 at 2^20, 1.333 at 2^24; log2 n rounded up
//   here), and a per-size table below 512 items (e = 6.12 down to 1.40).

#include <cstdint>
#include <vector>

#include "absl/status/status.h"

namespace tds::compute::psi {

inline constexpr int kCuckooHashes = 3;
inline constexpr uint32_t kEmptyBin = UINT32_MAX;

// ⌈log2 n⌉ for n ≥ 1 (0 for n ≤ 1).
int CeilLog2(uint64_t n);

// The number of bins for n items (a multiple of 128, at least 128).
uint64_t CuckooBins(uint64_t n);

// The most items any one of `buckets` buckets may hold when n items are spread by a random
// function: ⌈μ + sqrt(2μL) + 2L/3⌉ with μ = ⌈n/buckets⌉ and L = (41 + ⌈log2 buckets⌉)·ln 2,
// which bounds the chance that any bucket exceeds it by 2^-41 (Bernstein's inequality and a
// union bound). n itself when buckets ≤ 1; never more than n.
uint64_t BucketCapacity(uint64_t n, uint64_t buckets);

// The three candidate bins of an item with 64-bit hash word `word` (a keyed hash of the item)
// among `bins` bins. Candidates may coincide.
void CandidateBins(uint64_t word, uint64_t bins, uint32_t out[kCuckooHashes]);

// The result of placing items: for each bin, the item in it (kEmptyBin if none) and which of
// the item's candidates the bin is (0..2).
struct CuckooPlacement {
  std::vector<uint32_t> item;
  std::vector<uint8_t> hash;
};

// Places items 0..count-1 (hash words words[i]) into `bins` bins. ResourceExhausted when some
// item cannot be placed within the eviction limit (for bins ≥ CuckooBins(count): probability
// ≤ 2^-40). REQUIRES: count < kEmptyBin, bins ≤ 2^32.
absl::Status CuckooInsert(const uint64_t* words, uint64_t count, uint64_t bins,
                          CuckooPlacement& out);

}  // namespace tds::compute::psi
