#pragma once
// The receiver's side of the comparison: 16-byte digests (truncated doubly-masked values),
// each at a position, indexed so that a digest's positions are found in O(1).
//
// Memory: the digests (16 bytes each, adopted, not copied) plus a 4-byte slot per bucket,
// buckets being the smallest power of two >= 4/3 × count (load <= 0.75): 21.3–26.7 bytes per
// digest, 224 MB at 10^7. Buckets are chosen by SipHash-2-4 under a random per-table key, so
// a peer cannot craft values that pile into one probe chain.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace tds::compute::psi {

inline constexpr size_t kDigestBytes = 16;

class MatchTable {
 public:
  // Indexes `digests`: position p is bytes [16p, 16p + 16). Equal digests may occur at
  // several positions. REQUIRES: digests.size() is a multiple of 16, below 16 × (2^32 - 1).
  explicit MatchTable(std::string digests);
  ~MatchTable();
  MatchTable(const MatchTable&) = delete;
  MatchTable& operator=(const MatchTable&) = delete;

  // Calls fn(position) for every position holding `digest`, in no particular order.
  template <typename Fn>
  void ForEachMatch(const uint8_t digest[kDigestBytes], Fn&& fn) const {
    for (uint64_t b = Bucket(digest);; b = (b + 1) & mask_) {
      const uint32_t slot = slots_[b];
      if (slot == 0) return;
      if (Equal(At(slot - 1), digest)) fn(uint64_t{slot - 1});
    }
  }

  uint64_t size() const { return digests_.size() / kDigestBytes; }

 private:
  uint64_t Bucket(const uint8_t digest[kDigestBytes]) const;
  const uint8_t* At(uint64_t position) const {
    return reinterpret_cast<const uint8_t*>(digests_.data()) + position * kDigestBytes;
  }
  static bool Equal(const uint8_t* a, const uint8_t* b);

  unsigned char key_[16];  // SipHash key, random per table
  const std::string digests_;
  std::vector<uint32_t> slots_;  // 0 = empty, else position + 1
  uint64_t mask_ = 0;            // buckets - 1
};

}  // namespace tds::compute::psi
