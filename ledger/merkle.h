#pragma once
// RFC 9162 (Certificate Transparency v2) Merkle tree hashing, proofs and verification.
//
//   leaf hash  = SHA-256(0x00 || entry)
//   node hash  = SHA-256(0x01 || left || right)
//   empty root = SHA-256("")
//
// Storage model: only hashes of *perfect* subtrees are stored. Node (level, index) covers leaves
// [index << level, (index + 1) << level); level 0 holds leaf hashes. A tree of n leaves has
// fewer than 2n stored nodes. Any hash of a range [a, b) that RFC 9162 needs for a tree of size
// <= n is a perfect node or a right-edge range made of at most log2(n) perfect nodes, so every
// proof reads O(log n) nodes and never rehashes leaves.

#include <cstdint>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/bytes.h"

namespace tds::ledger::merkle {

Hash LeafHash(std::string_view entry);
Hash NodeHash(const Hash& left, const Hash& right);
Hash EmptyRoot();

// Read access to stored perfect-subtree hashes.
class NodeStore {
 public:
  virtual ~NodeStore() = default;
  // REQUIRES: the node is complete (all its leaves appended and persisted).
  virtual absl::StatusOr<Hash> Get(uint32_t level, uint64_t index) const = 0;
};

struct StoredNode {
  uint32_t level;
  uint64_t index;
  Hash hash;
};

// The right edge of a tree: the roots of its perfect subtrees, largest first (at most 64).
// Appending needs only this, so a writer can append a whole block before persisting anything.
class Frontier {
 public:
  Frontier() = default;
  // Rebuilds the frontier of a tree of `size` leaves from the store: O(log size) reads.
  static absl::StatusOr<Frontier> Load(const NodeStore& store, uint64_t size);

  uint64_t size() const { return size_; }
  Hash Root() const;
  // Appends one leaf hash; every perfect node that becomes complete (including the leaf itself,
  // level 0) is appended to *completed, in order, to be persisted by the caller.
  void Append(const Hash& leaf_hash, std::vector<StoredNode>* completed);

 private:
  uint64_t size_ = 0;
  std::vector<Hash> nodes_;  // one per set bit of size_, most significant first
};

// In-memory NodeStore (tests, benchmarks, the CLI's file tools).
class MemoryNodeStore : public NodeStore {
 public:
  absl::StatusOr<Hash> Get(uint32_t level, uint64_t index) const override;
  void Put(const StoredNode& node);
  // Appends a leaf hash and stores every completed node.
  void AppendLeaf(const Hash& leaf_hash);
  uint64_t size() const { return frontier_.size(); }
  Hash Root() const { return frontier_.Root(); }

 private:
  std::vector<std::vector<Hash>> levels_;
  Frontier frontier_;
};

// MTH(D[0:size]). REQUIRES size <= number of leaves persisted in the store.
absl::StatusOr<Hash> RootAt(const NodeStore& store, uint64_t size);
// RFC 9162 §2.1.3 PATH(index, D[0:size]). Errors if index >= size.
absl::StatusOr<std::vector<Hash>> InclusionProof(const NodeStore& store, uint64_t index,
                                                 uint64_t size);
// RFC 9162 §2.1.4 PROOF(size1, D[0:size2]). Errors unless 0 < size1 <= size2; empty for equal
// sizes.
absl::StatusOr<std::vector<Hash>> ConsistencyProof(const NodeStore& store, uint64_t size1,
                                                   uint64_t size2);

// RFC 9162 §2.1.3.2. The error says what is wrong (index out of range, proof length, root
// mismatch).
absl::Status VerifyInclusion(const Hash& leaf_hash, uint64_t index, uint64_t size,
                             const std::vector<Hash>& proof, const Hash& root);
// RFC 9162 §2.1.4.2.
absl::Status VerifyConsistency(uint64_t size1, uint64_t size2, const std::vector<Hash>& proof,
                               const Hash& root1, const Hash& root2);

}  // namespace tds::ledger::merkle
