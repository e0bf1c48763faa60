#include "ledger/merkle.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/sha256.h"
#include "common/status_macros.h"

namespace tds::ledger::merkle {
namespace {

constexpr uint8_t kLeafPrefix = 0x00;
constexpr uint8_t kNodePrefix = 0x01;

[[noreturn]] void Die(const char* what) {
  std::fprintf(stderr, "merkle: %s\n", what);
  std::abort();
}

// RFC 9162's k for a range of n >= 2 leaves: the largest power of two strictly less than n.
uint64_t SplitPoint(uint64_t n) { return std::bit_floor(n - 1); }

// MTH(D[lo:hi]) read from stored perfect nodes, never from leaves. The RFC recursion splits a
// range of m leaves into perfect subtrees of sizes given by the set bits of m, largest first,
// and hashes them right to left. Those subtrees are stored nodes when lo is aligned to the
// largest of them, which holds for every range the PATH/SUBPROOF recursions visit (each range
// starts at a multiple of the power of two that bounds its length). Reads popcount(m) nodes.
// REQUIRES: lo < hi.
absl::StatusOr<Hash> RangeHash(const NodeStore& store, uint64_t lo, uint64_t hi) {
  const uint64_t m = hi - lo;
  if ((lo & (std::bit_floor(m) - 1)) != 0) {
    return absl::InternalError(
        absl::StrCat("merkle: range [", lo, ", ", hi, ") is not aligned to stored nodes"));
  }
  std::array<Hash, 64> parts;
  int count = 0;
  uint64_t offset = lo;
  for (int level = std::bit_width(m) - 1; level >= 0; --level) {
    const uint64_t width = uint64_t{1} << level;
    if ((m & width) == 0) continue;
    TDS_ASSIGN_OR_RETURN(parts[count], store.Get(static_cast<uint32_t>(level), offset >> level));
    ++count;
    offset += width;
  }
  Hash h = parts[count - 1];
  for (int i = count - 2; i >= 0; --i) h = NodeHash(parts[i], h);
  return h;
}

// Number of hashes in PATH(index, D[0:size]), REQUIRES index < size: one per level below the
// point where the paths to `index` and to the last leaf diverge (those subtrees are perfect),
// plus one per left sibling on the right edge above it.
uint64_t InclusionProofLength(uint64_t index, uint64_t size) {
  const int inner = std::bit_width(index ^ (size - 1));
  return inner + std::popcount(index >> inner);
}

}  // namespace

Hash LeafHash(std::string_view entry) {
  Sha256Hasher hasher;
  const char prefix = static_cast<char>(kLeafPrefix);
  hasher.Update(std::string_view(&prefix, 1)).Update(entry);
  return hasher.Finish();
}

Hash NodeHash(const Hash& left, const Hash& right) {
  // One-shot hashing of a stack buffer: cheaper than an incremental context per node.
  std::array<char, 1 + 2 * sizeof(Hash)> buf;
  buf[0] = static_cast<char>(kNodePrefix);
  std::copy(left.begin(), left.end(), buf.begin() + 1);
  std::copy(right.begin(), right.end(), buf.begin() + 1 + sizeof(Hash));
  return Sha256(std::string_view(buf.data(), buf.size()));
}

Hash EmptyRoot() { return Sha256(std::string_view()); }

// ---- Frontier ----
// Invariant: nodes_[i] is the root of the perfect subtree for the i-th set bit of size_ (most
// significant first), covering the leaves just after those of nodes_[0..i-1].

absl::StatusOr<Frontier> Frontier::Load(const NodeStore& store, uint64_t size) {
  Frontier f;
  f.size_ = size;
  uint64_t offset = 0;
  for (int level = std::bit_width(size) - 1; level >= 0; --level) {
    const uint64_t width = uint64_t{1} << level;
    if ((size & width) == 0) continue;
    TDS_ASSIGN_OR_RETURN(Hash h, store.Get(static_cast<uint32_t>(level), offset >> level));
    f.nodes_.push_back(h);
    offset += width;
  }
  return f;
}

Hash Frontier::Root() const {
  if (nodes_.empty()) return EmptyRoot();
  // MTH folds the right edge right to left: the smallest subtree is the innermost right child.
  Hash h = nodes_.back();
  for (size_t i = nodes_.size() - 1; i-- > 0;) h = NodeHash(nodes_[i], h);
  return h;
}

void Frontier::Append(const Hash& leaf_hash, std::vector<StoredNode>* completed) {
  if (size_ == UINT64_MAX) Die("Frontier::Append: tree is full (2^64 - 1 leaves)");
  const uint64_t index = size_;  // of the new leaf
  completed->push_back({0, index, leaf_hash});
  // Binary increment: each trailing one bit of size_ is a perfect subtree that merges with the
  // new one into a perfect subtree one level up, containing the new leaf.
  Hash h = leaf_hash;
  uint32_t level = 0;
  while ((size_ >> level) & 1) {
    h = NodeHash(nodes_.back(), h);
    nodes_.pop_back();
    ++level;
    completed->push_back({level, index >> level, h});
  }
  nodes_.push_back(h);
  ++size_;
}

// ---- MemoryNodeStore ----

absl::StatusOr<Hash> MemoryNodeStore::Get(uint32_t level, uint64_t index) const {
  if (level >= levels_.size() || index >= levels_[level].size()) {
    return absl::NotFoundError(
        absl::StrCat("merkle node (level ", level, ", index ", index, ") is not stored"));
  }
  return levels_[level][index];
}

// Nodes of one level must arrive in index order, as Frontier::Append emits them (a level is a
// dense vector, so a gap could not be told apart from a stored node); re-putting overwrites.
void MemoryNodeStore::Put(const StoredNode& node) {
  if (node.level >= 64) Die("MemoryNodeStore::Put: level >= 64");
  if (node.level >= levels_.size()) levels_.resize(node.level + 1);
  std::vector<Hash>& level = levels_[node.level];
  if (node.index < level.size()) {
    level[node.index] = node.hash;
  } else if (node.index == level.size()) {
    level.push_back(node.hash);
  } else {
    Die("MemoryNodeStore::Put: node index skips ahead of its level");
  }
}

void MemoryNodeStore::AppendLeaf(const Hash& leaf_hash) {
  std::vector<StoredNode> completed;
  frontier_.Append(leaf_hash, &completed);
  for (const StoredNode& node : completed) Put(node);
}

// ---- Proofs ----

absl::StatusOr<Hash> RootAt(const NodeStore& store, uint64_t size) {
  if (size == 0) return EmptyRoot();
  return RangeHash(store, 0, size);
}

// PATH(m, D[n]) = PATH(m, D[0:k]) : MTH(D[k:n]) if m < k, else PATH(m - k, D[k:n]) : MTH(D[0:k]).
// Walked top-down (collecting one sibling per level) and then reversed, because the RFC lists the
// deepest sibling first. Only the first step into a left subtree leaves the right edge, so at
// most one sibling is a right-edge range (<= log2 n reads); every other one is one perfect node.
absl::StatusOr<std::vector<Hash>> InclusionProof(const NodeStore& store, uint64_t index,
                                                 uint64_t size) {
  if (index >= size) {
    return absl::InvalidArgumentError(
        absl::StrCat("inclusion proof: index ", index, " >= size ", size));
  }
  std::vector<Hash> proof;
  uint64_t lo = 0, hi = size;  // current subtree D[lo:hi] contains `index`
  while (hi - lo > 1) {
    const uint64_t k = SplitPoint(hi - lo);
    if (index - lo < k) {
      TDS_ASSIGN_OR_RETURN(Hash sibling, RangeHash(store, lo + k, hi));
      proof.push_back(sibling);
      hi = lo + k;
    } else {
      TDS_ASSIGN_OR_RETURN(Hash sibling, RangeHash(store, lo, lo + k));
      proof.push_back(sibling);
      lo += k;
    }
  }
  std::reverse(proof.begin(), proof.end());
  return proof;
}

// PROOF(m, D[n]) = SUBPROOF(m, D[n], true), where for m <= n:
//   SUBPROOF(m, D[m], true) = {};  SUBPROOF(m, D[m], false) = {MTH(D[m])}
//   m <= k: SUBPROOF(m, D[0:k], b) : MTH(D[k:n])
//   m > k:  SUBPROOF(m - k, D[k:n], false) : MTH(D[0:k])
// Walked top-down with absolute offsets, then reversed. As for PATH, at most one emitted hash
// is a right-edge range; the terminal MTH(D[m]) with b false is always a perfect node.
absl::StatusOr<std::vector<Hash>> ConsistencyProof(const NodeStore& store, uint64_t size1,
                                                   uint64_t size2) {
  if (size1 == 0) {
    return absl::InvalidArgumentError("consistency proof: size1 must be > 0");
  }
  if (size1 > size2) {
    return absl::InvalidArgumentError(
        absl::StrCat("consistency proof: size1 ", size1, " > size2 ", size2));
  }
  std::vector<Hash> proof;
  uint64_t lo = 0, hi = size2;  // current subtree D[lo:hi]; the old tree ends at size1 inside it
  bool b = true;                // true while D[lo:hi]'s left edge is the old tree's left edge
  while (true) {
    if (size1 == hi) {
      if (!b) {
        TDS_ASSIGN_OR_RETURN(Hash h, RangeHash(store, lo, hi));
        proof.push_back(h);
      }
      break;
    }
    const uint64_t k = SplitPoint(hi - lo);
    if (size1 - lo <= k) {
      TDS_ASSIGN_OR_RETURN(Hash h, RangeHash(store, lo + k, hi));
      proof.push_back(h);
      hi = lo + k;
    } else {
      TDS_ASSIGN_OR_RETURN(Hash h, RangeHash(store, lo, lo + k));
      proof.push_back(h);
      lo += k;
      b = false;
    }
  }
  std::reverse(proof.begin(), proof.end());
  return proof;
}

// ---- Verification ----

// RFC 9162 §2.1.3.2, after checking the proof length up front so that a wrong length is
// reported as such rather than as a root mismatch.
absl::Status VerifyInclusion(const Hash& leaf_hash, uint64_t index, uint64_t size,
                             const std::vector<Hash>& proof, const Hash& root) {
  if (index >= size) {
    return absl::InvalidArgumentError(
        absl::StrCat("inclusion proof: index ", index, " >= size ", size));
  }
  const uint64_t expected = InclusionProofLength(index, size);
  if (proof.size() != expected) {
    return absl::InvalidArgumentError(
        absl::StrCat("inclusion proof: expected ", expected, " hashes, got ", proof.size()));
  }
  uint64_t fn = index, sn = size - 1;
  Hash r = leaf_hash;
  for (const Hash& p : proof) {
    if (sn == 0) return absl::InvalidArgumentError("inclusion proof: too many hashes");
    if ((fn & 1) || fn == sn) {
      r = NodeHash(p, r);
      while (!(fn & 1) && fn != 0) {  // only when fn == sn: skip levels with no right sibling
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      r = NodeHash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) return absl::InvalidArgumentError("inclusion proof: too few hashes");
  if (r != root) {
    return absl::InvalidArgumentError(absl::StrCat("inclusion proof: computed root ", HexEncode(r),
                                                   " != expected root ", HexEncode(root)));
  }
  return absl::OkStatus();
}

// RFC 9162 §2.1.4.2, with the length checked up front as above. The proof is, in effect, an
// inclusion proof in the new tree for the old tree's last perfect subtree (of 2^shift leaves),
// preceded by that subtree's hash unless it is the whole old tree (size1 a power of two).
absl::Status VerifyConsistency(uint64_t size1, uint64_t size2, const std::vector<Hash>& proof,
                               const Hash& root1, const Hash& root2) {
  if (size1 == 0) {
    return absl::InvalidArgumentError("consistency proof: size1 must be > 0");
  }
  if (size1 > size2) {
    return absl::InvalidArgumentError(
        absl::StrCat("consistency proof: size1 ", size1, " > size2 ", size2));
  }
  if (size1 == size2) {
    if (!proof.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("consistency proof: expected 0 hashes for equal sizes, got ", proof.size()));
    }
    if (root1 != root2) {
      return absl::InvalidArgumentError(absl::StrCat("consistency proof: equal sizes ", size1,
                                                     " but root1 ", HexEncode(root1), " != root2 ",
                                                     HexEncode(root2)));
    }
    return absl::OkStatus();
  }
  const int shift = std::countr_zero(size1);
  const bool size1_is_pow2 = std::has_single_bit(size1);
  const uint64_t start = size1_is_pow2 ? 0 : 1;
  const uint64_t expected =
      start + InclusionProofLength((size1 - 1) >> shift, ((size2 - 1) >> shift) + 1);
  if (proof.size() != expected) {
    return absl::InvalidArgumentError(
        absl::StrCat("consistency proof: expected ", expected, " hashes, got ", proof.size()));
  }
  // Step 2: a power-of-two size1 means root1 is the seed, as if prepended to the proof.
  const Hash& seed = size1_is_pow2 ? root1 : proof[0];
  uint64_t fn = size1 - 1, sn = size2 - 1;
  while (fn & 1) {
    fn >>= 1;
    sn >>= 1;
  }
  Hash fr = seed, sr = seed;
  for (size_t i = start; i < proof.size(); ++i) {
    const Hash& c = proof[i];
    if (sn == 0) return absl::InvalidArgumentError("consistency proof: too many hashes");
    if ((fn & 1) || fn == sn) {
      fr = NodeHash(c, fr);
      sr = NodeHash(c, sr);
      while (!(fn & 1) && fn != 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      sr = NodeHash(sr, c);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) return absl::InvalidArgumentError("consistency proof: too few hashes");
  if (fr != root1) {
    return absl::InvalidArgumentError(absl::StrCat("consistency proof: computed root1 ",
                                                   HexEncode(fr), " != expected root1 ",
                                                   HexEncode(root1), " (size1 ", size1, ")"));
  }
  if (sr != root2) {
    return absl::InvalidArgumentError(absl::StrCat("consistency proof: computed root2 ",
                                                   HexEncode(sr), " != expected root2 ",
                                                   HexEncode(root2), " (size2 ", size2, ")"));
  }
  return absl::OkStatus();
}

}  // namespace tds::ledger::merkle
