#pragma once
// LevelDB layout of the ledger (docs/formats.md, "Storage"). Keys:
//
//   "M" "genesis"              → SHA-256 of the genesis file the store was created under
//   "M" "height"               → be64 height of the last durable block
//   "B" be64(height)           → tds::Block with header and checkpoint (entries stored under E)
//   "E" be64(index)            → log entry (serialized Envelope as submitted)
//   "R" be64(index)            → apply() result, when non-empty
//   "T" txid[32]               → be64(index) be64(height)
//   "N" u8(level) be64(index)  → 32-byte perfect-subtree hash (ledger/merkle.h)
//   "S" key                    → application state value
//   "C" be64(seq)              → tds::BlockProposal (no entries): the seq-th committed consensus
//                                block, empty ones included (served to lagging validators)
//   "I" id[32]                 → be64(seq) of the committed consensus block with that id
//   "M" "cseq"                 → be64 seq of the last committed consensus block
//   "P" be64(epoch)            → tds::EpochRecord: how validator epoch `epoch` ended
//
// Everything a block adds is written in one WriteBatch, so a block is durable whole or not at all.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "ledger/application.h"
#include "ledger/merkle.h"

namespace leveldb {
class DB;
class FilterPolicy;
class Snapshot;
class WriteBatch;
}  // namespace leveldb

namespace tds::ledger {

std::string MetaKey(std::string_view name);
std::string BlockKey(uint64_t height);
std::string EntryKey(uint64_t index);
std::string ResultKey(uint64_t index);
std::string TxKey(std::string_view txid);
std::string NodeKey(uint32_t level, uint64_t index);
std::string StateKey(std::string_view key);
std::string CommittedSeqKey(uint64_t seq);
std::string CommittedIdKey(std::string_view id);
std::string EpochKey(uint64_t epoch);

struct TxLocation {
  uint64_t index = 0;
  uint64_t height = 0;
};
std::string EncodeTxLocation(const TxLocation& loc);

class Store {
 public:
  static absl::StatusOr<std::unique_ptr<Store>> Open(const std::string& dir);
  ~Store();

  // Missing key → std::nullopt; I/O or corruption → error naming the key kind.
  absl::StatusOr<std::optional<std::string>> Get(std::string_view key) const;
  absl::StatusOr<std::optional<TxLocation>> FindTx(std::string_view txid) const;
  absl::Status Write(leveldb::WriteBatch* batch, bool sync);
  leveldb::DB* db() const { return db_.get(); }

  // Merkle nodes as a NodeStore.
  const merkle::NodeStore& nodes() const { return node_store_; }
  // Committed application state ("S" keys) as a StateReader.
  const StateReader& state() const { return state_reader_; }

  // The store as it is now, frozen: reads through it do not see later writes. Released with
  // the last copy. REQUIRES: the Store outlives it.
  std::shared_ptr<const leveldb::Snapshot> Freeze() const;
  // Raw entries with keys in [begin, end), after `after` (exclusive; empty = from begin), in
  // key order, at most `limit`, as of `at` (null = now); fn returns false to stop.
  absl::Status ScanRaw(const leveldb::Snapshot* at, std::string_view begin, std::string_view end,
                       std::string_view after, size_t limit,
                       const std::function<bool(std::string_view, std::string_view)>& fn) const;

 private:
  class Nodes : public merkle::NodeStore {
   public:
    explicit Nodes(const Store* s) : store_(s) {}
    absl::StatusOr<Hash> Get(uint32_t level, uint64_t index) const override;

   private:
    const Store* store_;
  };
  class State : public StateReader {
   public:
    explicit State(const Store* s) : store_(s) {}
    absl::StatusOr<std::optional<std::string>> Get(std::string_view key) const override;
    absl::Status Scan(
        std::string_view prefix, std::string_view start_after, size_t limit,
        const std::function<bool(std::string_view, std::string_view)>& fn) const override;

   private:
    const Store* store_;
  };

  Store();
  std::unique_ptr<const leveldb::FilterPolicy> filter_;  // outlives db_ (declared first)
  std::unique_ptr<leveldb::DB> db_;
  Nodes node_store_;
  State state_reader_;
};

}  // namespace tds::ledger
