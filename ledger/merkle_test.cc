#include "ledger/merkle.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <bit>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/bytes.h"
#include "common/sha256.h"
#include "ledger/test_util.h"

namespace tds::ledger::merkle {
namespace {

using ::testing::HasSubstr;
using testing::kCtLeavesHex;

Hash H(std::string_view hex) {
  auto h = HashFromHex(hex);
  EXPECT_TRUE(h.ok()) << h.status();
  return h.ok() ? *h : Hash{};
}

std::vector<Hash> Hs(std::initializer_list<std::string_view> hexes) {
  std::vector<Hash> out;
  for (std::string_view h : hexes) out.push_back(H(h));
  return out;
}

std::string Unhex(std::string_view hex) {
  auto s = HexDecode(hex);
  EXPECT_TRUE(s.ok()) << s.status();
  return s.ok() ? *s : std::string();
}

Hash FlipBit(Hash h, int bit = 0) {
  h[bit / 8 % 32] ^= static_cast<uint8_t>(1u << (bit % 8));
  return h;
}

// ---- RFC 6962 / RFC 9162 known answers (certificate-transparency test vectors) ----

const std::vector<std::string> kCtRootsHex = {
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"};

MemoryNodeStore CtStore() {
  MemoryNodeStore store;
  for (const std::string& hex : kCtLeavesHex) store.AppendLeaf(LeafHash(Unhex(hex)));
  return store;
}

TEST(MerkleHashes, AreDomainSeparatedSha256) {
  EXPECT_EQ(EmptyRoot(), H("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
  EXPECT_EQ(LeafHash("abc"), Sha256(std::string("\x00"
                                                "abc",
                                                4)));
  const Hash l = Sha256("l"), r = Sha256("r");
  EXPECT_EQ(NodeHash(l, r),
            Sha256(absl::StrCat("\x01", std::string(AsBytes(l)), std::string(AsBytes(r)))));
  EXPECT_NE(NodeHash(l, r), NodeHash(r, l));
  // A leaf hash of 64 bytes never equals a node hash over the same bytes.
  EXPECT_NE(LeafHash(std::string(AsBytes(l)) + std::string(AsBytes(r))), NodeHash(l, r));
}

TEST(MerkleKnownAnswers, RootsMatchCtVectorsForSizesOneToEight) {
  MemoryNodeStore store;
  EXPECT_EQ(store.Root(), EmptyRoot());
  EXPECT_EQ(*RootAt(store, 0), EmptyRoot());
  for (size_t i = 0; i < kCtLeavesHex.size(); ++i) {
    store.AppendLeaf(LeafHash(Unhex(kCtLeavesHex[i])));
    EXPECT_EQ(HexEncode(store.Root()), kCtRootsHex[i]) << "size " << i + 1;
  }
  for (size_t size = 1; size <= 8; ++size) {
    auto root = RootAt(store, size);
    ASSERT_TRUE(root.ok()) << root.status();
    EXPECT_EQ(HexEncode(*root), kCtRootsHex[size - 1]) << "size " << size;
  }
}

TEST(MerkleKnownAnswers, InclusionProofsMatchCtVectors) {
  const MemoryNodeStore store = CtStore();
  struct Case {
    uint64_t index, size;
    std::vector<Hash> proof;
  };
  const std::vector<Case> cases = {
      {0, 1, {}},
      {0, 8,
       Hs({"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
           "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
           "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"})},
      {5, 8,
       Hs({"bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
           "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
           "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"})},
      {2, 3, Hs({"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"})},
      {1, 5,
       Hs({"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
           "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
           "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"})},
  };
  for (const Case& c : cases) {
    auto proof = InclusionProof(store, c.index, c.size);
    ASSERT_TRUE(proof.ok()) << proof.status();
    EXPECT_EQ(*proof, c.proof) << "index " << c.index << " size " << c.size;
    EXPECT_TRUE(VerifyInclusion(LeafHash(Unhex(kCtLeavesHex[c.index])), c.index, c.size, c.proof,
                                H(kCtRootsHex[c.size - 1]))
                    .ok());
  }
}

TEST(MerkleKnownAnswers, ConsistencyProofsMatchCtVectors) {
  const MemoryNodeStore store = CtStore();
  struct Case {
    uint64_t size1, size2;
    std::vector<Hash> proof;
  };
  const std::vector<Case> cases = {
      {1, 1, {}},
      {1, 8,
       Hs({"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
           "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
           "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"})},
      {6, 8,
       Hs({"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
           "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
           "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"})},
      {2, 5,
       Hs({"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
           "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"})},
  };
  for (const Case& c : cases) {
    auto proof = ConsistencyProof(store, c.size1, c.size2);
    ASSERT_TRUE(proof.ok()) << proof.status();
    EXPECT_EQ(*proof, c.proof) << c.size1 << " -> " << c.size2;
    EXPECT_TRUE(VerifyConsistency(c.size1, c.size2, c.proof, H(kCtRootsHex[c.size1 - 1]),
                                  H(kCtRootsHex[c.size2 - 1]))
                    .ok());
  }
}

// ---- Brute-force reference, written straight from RFC 9162 §2.1 over the leaf list ----

class Reference {
 public:
  // Independent of the code under test: its own domain-separated hashing.
  static Hash Leaf(std::string_view entry) {
    return Sha256(absl::StrCat(std::string(1, '\0'), std::string(entry)));
  }
  static Hash Node(const Hash& l, const Hash& r) {
    return Sha256(absl::StrCat("\x01", std::string(AsBytes(l)), std::string(AsBytes(r))));
  }

  explicit Reference(std::vector<Hash> leaves) : leaves_(std::move(leaves)) {
    // mth_[lo][len] = MTH(D[lo:lo+len]) for every sublist, filled by increasing length from the
    // RFC's recursive definition (k = largest power of two < len).
    const size_t n = leaves_.size();
    mth_.resize(n + 1);
    for (size_t lo = 0; lo <= n; ++lo) mth_[lo].resize(n - lo + 1);
    for (size_t lo = 0; lo < n; ++lo) mth_[lo][1] = leaves_[lo];
    for (size_t len = 2; len <= n; ++len) {
      const size_t k = Largest2PowLessThan(len);
      for (size_t lo = 0; lo + len <= n; ++lo) {
        mth_[lo][len] = Node(mth_[lo][k], mth_[lo + k][len - k]);
      }
    }
  }

  Hash Mth(size_t lo, size_t hi) const { return hi == lo ? Sha256("") : mth_[lo][hi - lo]; }

  // PATH(m, D[lo:hi]).
  std::vector<Hash> Path(size_t m, size_t lo, size_t hi) const {
    const size_t n = hi - lo;
    if (n == 1) return {};
    const size_t k = Largest2PowLessThan(n);
    std::vector<Hash> out;
    if (m < k) {
      out = Path(m, lo, lo + k);
      out.push_back(Mth(lo + k, hi));
    } else {
      out = Path(m - k, lo + k, hi);
      out.push_back(Mth(lo, lo + k));
    }
    return out;
  }

  // PROOF(m, D[0:n]).
  std::vector<Hash> Proof(size_t m, size_t n) const { return Subproof(m, 0, n, true); }

 private:
  static size_t Largest2PowLessThan(size_t n) {
    size_t k = 1;
    while (k * 2 < n) k *= 2;
    return k;
  }

  // SUBPROOF(m, D[lo:hi], b).
  std::vector<Hash> Subproof(size_t m, size_t lo, size_t hi, bool b) const {
    const size_t n = hi - lo;
    if (m == n) {
      if (b) return {};
      return {Mth(lo, hi)};
    }
    const size_t k = Largest2PowLessThan(n);
    std::vector<Hash> out;
    if (m <= k) {
      out = Subproof(m, lo, lo + k, b);
      out.push_back(Mth(lo + k, hi));
    } else {
      out = Subproof(m - k, lo + k, hi, false);
      out.push_back(Mth(lo, lo + k));
    }
    return out;
  }

  std::vector<Hash> leaves_;
  std::vector<std::vector<Hash>> mth_;
};

std::string Entry(uint64_t i) { return absl::StrCat("entry-", i); }

std::vector<Hash> LeafHashes(uint64_t n) {
  std::vector<Hash> out;
  for (uint64_t i = 0; i < n; ++i) out.push_back(Reference::Leaf(Entry(i)));
  return out;
}

TEST(MerkleExhaustive, EveryProofUpTo520LeavesMatchesReferenceAndVerifies) {
  // Past 512 so that the 2^9 boundary and the sizes just after it are covered.
  constexpr uint64_t kMax = 520;
  const std::vector<Hash> leaves = LeafHashes(kMax);
  const Reference ref(leaves);
  MemoryNodeStore store;  // grown one leaf at a time: proofs for size n see only n leaves
  for (uint64_t n = 1; n <= kMax; ++n) {
    store.AppendLeaf(leaves[n - 1]);
    const Hash root = ref.Mth(0, n);
    ASSERT_EQ(store.Root(), root) << "size " << n;
    auto root_at = RootAt(store, n);
    ASSERT_TRUE(root_at.ok()) << root_at.status();
    ASSERT_EQ(*root_at, root) << "size " << n;
    for (uint64_t i = 0; i < n; ++i) {
      auto proof = InclusionProof(store, i, n);
      ASSERT_TRUE(proof.ok()) << proof.status();
      ASSERT_EQ(*proof, ref.Path(i, 0, n)) << "index " << i << " size " << n;
      const absl::Status st = VerifyInclusion(leaves[i], i, n, *proof, root);
      ASSERT_TRUE(st.ok()) << st << " index " << i << " size " << n;
    }
    for (uint64_t m = 1; m <= n; ++m) {
      auto proof = ConsistencyProof(store, m, n);
      ASSERT_TRUE(proof.ok()) << proof.status();
      ASSERT_EQ(*proof, ref.Proof(m, n)) << m << " -> " << n;
      const absl::Status st = VerifyConsistency(m, n, *proof, ref.Mth(0, m), root);
      ASSERT_TRUE(st.ok()) << st << " " << m << " -> " << n;
    }
  }
  // RootAt for every earlier size, from the full store.
  for (uint64_t n = 0; n <= kMax; ++n) {
    auto root_at = RootAt(store, n);
    ASSERT_TRUE(root_at.ok()) << root_at.status();
    ASSERT_EQ(*root_at, ref.Mth(0, n)) << "size " << n;
  }
}

// ---- Frontier ----

// Counts reads, and refuses nodes that are not complete within the first `limit` leaves, so a
// proof for a tree of `limit` leaves provably never looks past it.
class CountingStore : public NodeStore {
 public:
  explicit CountingStore(const NodeStore& base, uint64_t limit = UINT64_MAX)
      : base_(base), limit_(limit) {}
  absl::StatusOr<Hash> Get(uint32_t level, uint64_t index) const override {
    ++reads_;
    if (level >= 64 || index >= (limit_ >> level)) {
      return absl::OutOfRangeError(
          absl::StrCat("read past limit: level ", level, " index ", index));
    }
    return base_.Get(level, index);
  }
  uint64_t reads() const { return reads_; }
  void Reset(uint64_t limit) {
    reads_ = 0;
    limit_ = limit;
  }

 private:
  const NodeStore& base_;
  uint64_t limit_;
  mutable uint64_t reads_ = 0;
};

TEST(MerkleFrontier, AppendEmitsEachCompletedPerfectNodeInOrder) {
  Frontier f;
  std::vector<StoredNode> completed;
  const std::vector<Hash> leaves = LeafHashes(4);
  f.Append(leaves[0], &completed);
  ASSERT_EQ(completed.size(), 1u);
  EXPECT_EQ(completed[0].level, 0u);
  EXPECT_EQ(completed[0].index, 0u);
  completed.clear();
  f.Append(leaves[1], &completed);
  ASSERT_EQ(completed.size(), 2u);
  EXPECT_EQ(completed[0].level, 0u);
  EXPECT_EQ(completed[0].index, 1u);
  EXPECT_EQ(completed[1].level, 1u);
  EXPECT_EQ(completed[1].index, 0u);
  EXPECT_EQ(completed[1].hash, Reference::Node(leaves[0], leaves[1]));
  completed.clear();
  f.Append(leaves[2], &completed);
  EXPECT_EQ(completed.size(), 1u);
  completed.clear();
  f.Append(leaves[3], &completed);
  ASSERT_EQ(completed.size(), 3u);
  EXPECT_EQ(completed[2].level, 2u);
  EXPECT_EQ(completed[2].index, 0u);
  EXPECT_EQ(completed[2].hash, f.Root());
  EXPECT_EQ(f.size(), 4u);
}

TEST(MerkleFrontier, LoadEqualsFrontierBuiltByAppendsInPopcountReads) {
  constexpr uint64_t kMax = 300;
  const std::vector<Hash> leaves = LeafHashes(kMax + 1);
  const Reference ref(leaves);
  MemoryNodeStore store;
  for (uint64_t i = 0; i < kMax; ++i) store.AppendLeaf(leaves[i]);

  Frontier appended;
  for (uint64_t size = 0; size <= kMax; ++size) {
    CountingStore counting(store, size);
    auto loaded = Frontier::Load(counting, size);
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    EXPECT_EQ(counting.reads(), static_cast<uint64_t>(std::popcount(size)));
    ASSERT_EQ(loaded->size(), size);
    ASSERT_EQ(loaded->Root(), ref.Mth(0, size)) << "size " << size;
    ASSERT_EQ(loaded->Root(), appended.Root()) << "size " << size;
    // Both continue identically: same completed nodes for the next leaf.
    std::vector<StoredNode> from_loaded, from_appended;
    loaded->Append(leaves[size], &from_loaded);
    appended.Append(leaves[size], &from_appended);
    ASSERT_EQ(from_loaded.size(), from_appended.size()) << "size " << size;
    for (size_t j = 0; j < from_loaded.size(); ++j) {
      EXPECT_EQ(from_loaded[j].level, from_appended[j].level);
      EXPECT_EQ(from_loaded[j].index, from_appended[j].index);
      EXPECT_EQ(from_loaded[j].hash, from_appended[j].hash);
    }
    ASSERT_EQ(loaded->Root(), appended.Root());
  }
}

TEST(MerkleFrontier, LoadFailsWhenTheStoreLacksNodes) {
  MemoryNodeStore store;
  for (const Hash& h : LeafHashes(5)) store.AppendLeaf(h);
  EXPECT_TRUE(Frontier::Load(store, 5).ok());
  auto loaded = Frontier::Load(store, 6);
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kNotFound) << loaded.status();
}

// ---- Input validation and error messages ----

TEST(MerkleProofs, GenerationRejectsOutOfRangeArguments) {
  MemoryNodeStore store;
  for (const Hash& h : LeafHashes(5)) store.AppendLeaf(h);

  auto p = InclusionProof(store, 5, 5);
  EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(p.status().message()), HasSubstr("inclusion proof: index 5 >= size 5"));
  EXPECT_FALSE(InclusionProof(store, 0, 0).ok());
  // Size beyond what the store holds: a needed node is missing.
  EXPECT_EQ(InclusionProof(store, 0, 6).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(RootAt(store, 6).status().code(), absl::StatusCode::kNotFound);

  auto c = ConsistencyProof(store, 0, 3);
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(c.status().message()), HasSubstr("size1 must be > 0"));
  c = ConsistencyProof(store, 4, 3);
  EXPECT_THAT(std::string(c.status().message()), HasSubstr("consistency proof: size1 4 > size2 3"));
  EXPECT_EQ(ConsistencyProof(store, 3, 6).status().code(), absl::StatusCode::kNotFound);
  c = ConsistencyProof(store, 5, 5);
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->empty());
}

TEST(MerkleProofs, VerifierErrorsNameWhatIsWrong) {
  MemoryNodeStore store;
  const std::vector<Hash> leaves = LeafHashes(5);
  for (const Hash& h : leaves) store.AppendLeaf(h);
  const Hash root = store.Root();
  const std::vector<Hash> proof = *InclusionProof(store, 2, 5);
  ASSERT_EQ(proof.size(), 3u);

  absl::Status st = VerifyInclusion(leaves[2], 5, 5, proof, root);
  EXPECT_THAT(std::string(st.message()), HasSubstr("inclusion proof: index 5 >= size 5"));
  std::vector<Hash> longer = proof;
  longer.push_back(root);
  st = VerifyInclusion(leaves[2], 2, 5, longer, root);
  EXPECT_THAT(std::string(st.message()), HasSubstr("inclusion proof: expected 3 hashes, got 4"));
  st = VerifyInclusion(leaves[2], 2, 5, proof, FlipBit(root));
  EXPECT_THAT(std::string(st.message()),
              HasSubstr("inclusion proof: computed root " + HexEncode(root) + " != expected root " +
                        HexEncode(FlipBit(root))));
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);

  const Hash root3 = *RootAt(store, 3);
  const std::vector<Hash> cproof = *ConsistencyProof(store, 3, 5);
  st = VerifyConsistency(0, 5, cproof, root3, root);
  EXPECT_THAT(std::string(st.message()), HasSubstr("size1 must be > 0"));
  st = VerifyConsistency(6, 5, cproof, root3, root);
  EXPECT_THAT(std::string(st.message()), HasSubstr("size1 6 > size2 5"));
  st = VerifyConsistency(5, 5, cproof, root, root);
  EXPECT_THAT(std::string(st.message()), HasSubstr("expected 0 hashes for equal sizes, got"));
  st = VerifyConsistency(5, 5, {}, root, root3);
  EXPECT_THAT(std::string(st.message()), HasSubstr("equal sizes 5 but root1"));
  EXPECT_TRUE(VerifyConsistency(5, 5, {}, root, root).ok());
  st = VerifyConsistency(3, 5, {}, root3, root);
  EXPECT_THAT(
      std::string(st.message()),
      HasSubstr("consistency proof: expected " + std::to_string(cproof.size()) + " hashes, got 0"));
  st = VerifyConsistency(3, 5, cproof, FlipBit(root3), root);
  EXPECT_THAT(std::string(st.message()), HasSubstr("consistency proof: computed root1 "));
  st = VerifyConsistency(3, 5, cproof, root3, FlipBit(root));
  EXPECT_THAT(std::string(st.message()), HasSubstr("consistency proof: computed root2 "));
}

TEST(MerkleProofs, SingleLeafTreeHasEmptyProofAndRootIsTheLeafHash) {
  MemoryNodeStore store;
  const Hash leaf = LeafHash("only");
  store.AppendLeaf(leaf);
  EXPECT_EQ(store.Root(), leaf);
  auto proof = InclusionProof(store, 0, 1);
  ASSERT_TRUE(proof.ok());
  EXPECT_TRUE(proof->empty());
  EXPECT_TRUE(VerifyInclusion(leaf, 0, 1, {}, leaf).ok());
  EXPECT_FALSE(VerifyInclusion(leaf, 0, 1, {}, EmptyRoot()).ok());
  EXPECT_FALSE(VerifyInclusion(leaf, 0, 1, {leaf}, leaf).ok());
}

// ---- Tampering: every corruption of a valid proof is rejected ----

TEST(MerkleProofs, CorruptedInclusionProofsAreRejected) {
  constexpr uint64_t kMax = 40;
  const std::vector<Hash> leaves = LeafHashes(kMax);
  const Reference ref(leaves);
  MemoryNodeStore store;
  for (const Hash& h : leaves) store.AppendLeaf(h);
  for (uint64_t n = 1; n <= kMax; ++n) {
    const Hash root = ref.Mth(0, n);
    for (uint64_t i = 0; i < n; ++i) {
      const std::vector<Hash> proof = *InclusionProof(store, i, n);
      ASSERT_TRUE(VerifyInclusion(leaves[i], i, n, proof, root).ok());
      const auto rejects = [&](const Hash& leaf, uint64_t index, uint64_t size,
                               const std::vector<Hash>& p, const Hash& r) {
        return !VerifyInclusion(leaf, index, size, p, r).ok();
      };
      for (size_t j = 0; j < proof.size(); ++j) {
        for (int bit : {0, 77, 255}) {
          std::vector<Hash> bad = proof;
          bad[j] = FlipBit(bad[j], bit);
          EXPECT_TRUE(rejects(leaves[i], i, n, bad, root)) << "flip " << j << " i=" << i;
        }
        std::vector<Hash> dropped = proof;
        dropped.erase(dropped.begin() + j);
        EXPECT_TRUE(rejects(leaves[i], i, n, dropped, root)) << "drop " << j << " i=" << i;
      }
      for (size_t j = 0; j <= proof.size(); ++j) {
        std::vector<Hash> added = proof;
        added.insert(added.begin() + j, root);
        EXPECT_TRUE(rejects(leaves[i], i, n, added, root)) << "add " << j << " i=" << i;
      }
      for (uint64_t other = 0; other < n; ++other) {
        if (other == i) continue;
        EXPECT_TRUE(rejects(leaves[i], other, n, proof, root)) << "index " << other;
        EXPECT_TRUE(rejects(leaves[other], i, n, proof, root)) << "leaf " << other;
      }
      // A different tree size, with that tree's true root (the checkpoint an auditor holds).
      for (uint64_t other = i + 1; other <= kMax; ++other) {
        if (other == n) continue;
        EXPECT_TRUE(rejects(leaves[i], i, other, proof, ref.Mth(0, other)))
            << "size " << other << " i=" << i << " n=" << n;
      }
      EXPECT_TRUE(rejects(leaves[i], i, 2 * n, proof, root));
      EXPECT_TRUE(rejects(leaves[i], i, n, proof, FlipBit(root, 200)));
      EXPECT_TRUE(rejects(leaves[i], i, n, proof, EmptyRoot()));
      EXPECT_TRUE(rejects(FlipBit(leaves[i]), i, n, proof, root));
    }
  }
}

TEST(MerkleProofs, CorruptedConsistencyProofsAreRejected) {
  constexpr uint64_t kMax = 40;
  const std::vector<Hash> leaves = LeafHashes(kMax);
  const Reference ref(leaves);
  MemoryNodeStore store;
  for (const Hash& h : leaves) store.AppendLeaf(h);
  for (uint64_t n = 2; n <= kMax; ++n) {
    for (uint64_t m = 1; m < n; ++m) {
      const Hash r1 = ref.Mth(0, m), r2 = ref.Mth(0, n);
      const std::vector<Hash> proof = *ConsistencyProof(store, m, n);
      ASSERT_TRUE(VerifyConsistency(m, n, proof, r1, r2).ok());
      const auto rejects = [&](uint64_t s1, uint64_t s2, const std::vector<Hash>& p, const Hash& a,
                               const Hash& b) { return !VerifyConsistency(s1, s2, p, a, b).ok(); };
      for (size_t j = 0; j < proof.size(); ++j) {
        for (int bit : {0, 77, 255}) {
          std::vector<Hash> bad = proof;
          bad[j] = FlipBit(bad[j], bit);
          EXPECT_TRUE(rejects(m, n, bad, r1, r2)) << "flip " << j << " " << m << "->" << n;
        }
        std::vector<Hash> dropped = proof;
        dropped.erase(dropped.begin() + j);
        EXPECT_TRUE(rejects(m, n, dropped, r1, r2)) << "drop " << j << " " << m << "->" << n;
      }
      for (size_t j = 0; j <= proof.size(); ++j) {
        for (const Hash& extra : {r1, r2, proof[0]}) {
          std::vector<Hash> added = proof;
          added.insert(added.begin() + j, extra);
          EXPECT_TRUE(rejects(m, n, added, r1, r2)) << "add " << j << " " << m << "->" << n;
        }
      }
      EXPECT_TRUE(rejects(m, n, {}, r1, r2));
      EXPECT_TRUE(rejects(m, n, proof, FlipBit(r1, 9), r2));
      EXPECT_TRUE(rejects(m, n, proof, r1, FlipBit(r2, 9)));
      EXPECT_TRUE(rejects(m, n, proof, r2, r1));
      // Other sizes, each with its true root.
      for (uint64_t other = 1; other <= kMax; ++other) {
        if (other != m) {
          EXPECT_TRUE(rejects(other, n, proof, ref.Mth(0, other), r2))
              << "size1 " << other << " for " << m << "->" << n;
        }
        if (other != n) {
          EXPECT_TRUE(rejects(m, other, proof, r1, ref.Mth(0, other)))
              << "size2 " << other << " for " << m << "->" << n;
        }
      }
    }
  }
}

TEST(MerkleProofs, CorruptedStoredNodeYieldsProofsThatFailVerification) {
  MemoryNodeStore store;
  const std::vector<Hash> leaves = LeafHashes(13);
  for (const Hash& h : leaves) store.AppendLeaf(h);
  const Hash root = store.Root();
  // Node (2, 1) covers leaves 4..7. Stored nodes are trusted, never recomputed from children:
  // the root of 13 reads (3, 0) and is unchanged, but proofs that use (2, 1) as a sibling (those
  // for leaves 0..3) no longer verify against the checkpointed root; the others still do.
  store.Put({2, 1, FlipBit(*store.Get(2, 1))});
  EXPECT_EQ(*RootAt(store, 13), root);
  for (uint64_t i = 0; i < 13; ++i) {
    const std::vector<Hash> proof = *InclusionProof(store, i, 13);
    EXPECT_EQ(VerifyInclusion(leaves[i], i, 13, proof, root).ok(), i >= 4) << "index " << i;
  }
  // PROOF(4, D[13]) = [MTH(D[4:8]), MTH(D[8:13])] carries the corrupted node too.
  const Reference ref(leaves);
  const std::vector<Hash> cproof = *ConsistencyProof(store, 4, 13);
  EXPECT_FALSE(VerifyConsistency(4, 13, cproof, ref.Mth(0, 4), root).ok());
  EXPECT_TRUE(VerifyConsistency(5, 13, *ConsistencyProof(store, 5, 13), ref.Mth(0, 5), root).ok());
}

// ---- O(log n) reads at scale ----

TEST(MerkleProofs, ProofsReadLogarithmicallyManyNodesAtOneMillionLeaves) {
  constexpr uint64_t kLeaves = 1'000'003;
  MemoryNodeStore store;
  for (uint64_t i = 0; i < kLeaves; ++i) store.AppendLeaf(LeafHash(Entry(i)));
  const Hash full_root = store.Root();

  std::mt19937_64 rng(42);
  std::vector<uint64_t> sizes = {1,      2,      3,      1023,        1024,   1025,
                                 524287, 524288, 524289, kLeaves - 1, kLeaves};
  for (int i = 0; i < 40; ++i) sizes.push_back(1 + rng() % kLeaves);

  CountingStore counting(store);
  uint64_t max_incl_reads = 0, max_cons_reads = 0;
  for (uint64_t size : sizes) {
    const uint64_t bound = 2 * std::bit_width(size) + 2;
    counting.Reset(size);
    auto root = RootAt(counting, size);
    ASSERT_TRUE(root.ok()) << root.status();
    EXPECT_EQ(counting.reads(), static_cast<uint64_t>(std::popcount(size)));
    if (size == kLeaves) {
      EXPECT_EQ(*root, full_root);
    }

    for (uint64_t index : {uint64_t{0}, size / 2, size - 1, rng() % size, rng() % size}) {
      counting.Reset(size);
      auto proof = InclusionProof(counting, index, size);
      ASSERT_TRUE(proof.ok()) << proof.status();
      EXPECT_LE(counting.reads(), bound) << "inclusion index " << index << " size " << size;
      max_incl_reads = std::max(max_incl_reads, counting.reads());
      EXPECT_TRUE(VerifyInclusion(LeafHash(Entry(index)), index, size, *proof, *root).ok());
    }
    for (uint64_t size1 : {uint64_t{1}, size / 2 + 1, size - 1, 1 + rng() % size}) {
      if (size1 == 0 || size1 > size) continue;
      counting.Reset(size);
      auto proof = ConsistencyProof(counting, size1, size);
      ASSERT_TRUE(proof.ok()) << proof.status();
      EXPECT_LE(counting.reads(), bound) << "consistency " << size1 << " -> " << size;
      max_cons_reads = std::max(max_cons_reads, counting.reads());
      auto root1 = RootAt(store, size1);
      ASSERT_TRUE(root1.ok());
      EXPECT_TRUE(VerifyConsistency(size1, size, *proof, *root1, *root).ok());
    }
  }
  // log2(10^6) ~ 20: a proof reads tens of nodes, not millions.
  EXPECT_GT(max_incl_reads, 10u);
  EXPECT_LE(max_incl_reads, 42u);
  EXPECT_LE(max_cons_reads, 42u);
}

}  // namespace
}  // namespace tds::ledger::merkle
