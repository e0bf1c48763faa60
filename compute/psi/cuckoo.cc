#include "compute/psi/cuckoo.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"

namespace tds::compute::psi {
namespace {

// Evictions tried for one insertion before giving up. At the loads chosen by CuckooBins an
// insertion needs a handful; the limit only ends a (vanishingly rare) cycle.
constexpr int kMaxEvictions = 2000;

uint64_t Mix(uint64_t z) {  // the splitmix64 finaliser, a bijection on 64 bits
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

uint64_t MulHi(uint64_t a, uint64_t b) {
  return static_cast<uint64_t>((static_cast<unsigned __int128>(a) * b) >> 64);
}

// Integer square root: the largest r with r² ≤ x.
uint64_t ISqrt(uint64_t x) {
  uint64_t r = static_cast<uint64_t>(std::sqrt(static_cast<double>(x)));
  while (r > 0 && static_cast<unsigned __int128>(r) * r > x) --r;
  while (static_cast<unsigned __int128>(r + 1) * (r + 1) <= x) ++r;
  return r;
}

}  // namespace

int CeilLog2(uint64_t n) {
  int b = 0;
  while (b < 64 && (uint64_t{1} << b) < n) ++b;
  return b;
}

uint64_t CuckooBins(uint64_t n) {
  // e(n) in thousandths: per ⌊log2 n⌋ below 512 items (cryptoTools' table of
  // 40 = slope·e + y), then (296 + ⌈log2 n⌉)/240.
  static constexpr uint64_t kSmallMilli[9] = {6119, 6119, 6119, 4715, 3489, 2562, 1775, 1530, 1395};
  uint64_t bins;
  if (n < 512) {
    const int floor_log = n <= 1 ? 0 : 63 - __builtin_clzll(n);
    bins = (n * kSmallMilli[floor_log] + 999) / 1000;
  } else {
    const uint64_t num = 296 + static_cast<uint64_t>(CeilLog2(n));
    bins = static_cast<uint64_t>((static_cast<unsigned __int128>(n) * num + 239) / 240);
  }
  return std::max<uint64_t>(128, (bins + 127) / 128 * 128);
}

uint64_t BucketCapacity(uint64_t n, uint64_t buckets) {
  if (buckets <= 1) return n;
  const uint64_t mu = (n + buckets - 1) / buckets;
  // L = (41 + ⌈log2 B⌉)·ln 2, rounded up to an integer.
  const uint64_t l = (static_cast<uint64_t>(41 + CeilLog2(buckets)) * 6932 + 9999) / 10000;
  const uint64_t cap = mu + ISqrt(2 * mu * l) + 1 + (2 * l + 2) / 3;
  return std::min(n, cap);
}

void CandidateBins(uint64_t word, uint64_t bins, uint32_t out[kCuckooHashes]) {
  for (int i = 0; i < kCuckooHashes; ++i) {
    out[i] = static_cast<uint32_t>(
        MulHi(Mix(word + static_cast<uint64_t>(i + 1) * 0x9e3779b97f4a7c15ULL), bins));
  }
}

absl::Status CuckooInsert(const uint64_t* words, uint64_t count, uint64_t bins,
                          CuckooPlacement& out) {
  // A bin holds its item's hash word beside the item, so an eviction step touches one cache
  // line (the bins are random accesses into a table larger than the caches). The first
  // candidate of the item kAhead places ahead is prefetched (most insertions end there).
  struct Bin {
    uint64_t word;
    uint32_t item;
    uint32_t hash;
  };
  std::vector<Bin> table(bins, Bin{0, kEmptyBin, 0});
  constexpr uint64_t kAhead = 16;
  uint32_t cand[kCuckooHashes];
  for (uint64_t i = 0; i < count; ++i) {
    if (i + kAhead < count) {
      CandidateBins(words[i + kAhead], bins, cand);
      __builtin_prefetch(&table[cand[0]], 1);
    }
    Bin cur{words[i], static_cast<uint32_t>(i), 0};
    int evictions = 0;
    for (;;) {
      CandidateBins(cur.word, bins, cand);
      std::swap(table[cand[cur.hash]], cur);
      if (cur.item == kEmptyBin) break;
      if (++evictions > kMaxEvictions) {
        return absl::ResourceExhaustedError(
            absl::StrCat("cuckoo hashing of ", count, " items into ", bins,
                         " bins failed (probability below 2^-40; a new session draws new hash "
                         "functions)"));
      }
      cur.hash = (cur.hash + 1) % kCuckooHashes;
    }
  }
  out.item.resize(bins);
  out.hash.resize(bins);
  for (uint64_t b = 0; b < bins; ++b) {
    out.item[b] = table[b].item;
    out.hash[b] = static_cast<uint8_t>(table[b].hash);
  }
  return absl::OkStatus();
}

}  // namespace tds::compute::psi
