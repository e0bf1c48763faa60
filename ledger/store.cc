#include "ledger/store.h"

#include <leveldb/cache.h>
#include <leveldb/db.h>
#include <leveldb/filter_policy.h>
#include <leveldb/write_batch.h>

#include "absl/strings/str_cat.h"

namespace tds::ledger {
namespace {

absl::Status FromLevelDb(const leveldb::Status& s, std::string_view what) {
  if (s.ok()) return absl::OkStatus();
  return absl::InternalError(absl::StrCat("storage (", std::string(what), "): ", s.ToString()));
}

leveldb::Slice ToSlice(std::string_view v) { return leveldb::Slice(v.data(), v.size()); }

}  // namespace

std::string MetaKey(std::string_view name) { return absl::StrCat("M", std::string(name)); }
std::string CommittedSeqKey(uint64_t seq) {
  std::string k = "C";
  PutFixed64BE(&k, seq);
  return k;
}
std::string CommittedIdKey(std::string_view id) { return absl::StrCat("I", std::string(id)); }
std::string EpochKey(uint64_t epoch) {
  std::string k = "P";
  PutFixed64BE(&k, epoch);
  return k;
}
std::string BlockKey(uint64_t height) {
  std::string k = "B";
  PutFixed64BE(&k, height);
  return k;
}
std::string EntryKey(uint64_t index) {
  std::string k = "E";
  PutFixed64BE(&k, index);
  return k;
}
std::string ResultKey(uint64_t index) {
  std::string k = "R";
  PutFixed64BE(&k, index);
  return k;
}
std::string TxKey(std::string_view txid) { return absl::StrCat("T", std::string(txid)); }
std::string NodeKey(uint32_t level, uint64_t index) {
  std::string k = "N";
  k.push_back(static_cast<char>(level));
  PutFixed64BE(&k, index);
  return k;
}
std::string StateKey(std::string_view key) { return absl::StrCat("S", std::string(key)); }

std::string EncodeTxLocation(const TxLocation& loc) {
  std::string v;
  PutFixed64BE(&v, loc.index);
  PutFixed64BE(&v, loc.height);
  return v;
}

absl::StatusOr<std::unique_ptr<Store>> Store::Open(const std::string& dir) {
  leveldb::Options options;
  options.create_if_missing = true;
  options.paranoid_checks = true;
  options.write_buffer_size = 32 << 20;
  options.block_cache = nullptr;  // default 8 MiB cache
  std::unique_ptr<Store> store(new Store());
  store->filter_.reset(leveldb::NewBloomFilterPolicy(10));
  options.filter_policy = store->filter_.get();
  leveldb::DB* raw = nullptr;
  leveldb::Status s = leveldb::DB::Open(options, dir, &raw);
  if (!s.ok()) {
    return absl::UnavailableError(
        absl::StrCat("cannot open ledger store in ", dir, ": ", s.ToString()));
  }
  store->db_.reset(raw);
  return store;
}

Store::Store() : node_store_(this), state_reader_(this) {}
Store::~Store() = default;

absl::StatusOr<std::optional<std::string>> Store::Get(std::string_view key) const {
  std::string value;
  leveldb::Status s = db_->Get(leveldb::ReadOptions(), ToSlice(key), &value);
  if (s.IsNotFound()) return std::nullopt;
  if (!s.ok()) return FromLevelDb(s, key.empty() ? "?" : std::string(1, key[0]));
  return value;
}

absl::StatusOr<std::optional<TxLocation>> Store::FindTx(std::string_view txid) const {
  auto v = Get(TxKey(txid));
  if (!v.ok()) return v.status();
  if (!v->has_value()) return std::nullopt;
  if ((*v)->size() != 16) return absl::DataLossError("storage: corrupt transaction index record");
  return TxLocation{DecodeFixed64BE((*v)->data()), DecodeFixed64BE((*v)->data() + 8)};
}

absl::Status Store::Write(leveldb::WriteBatch* batch, bool sync) {
  leveldb::WriteOptions options;
  options.sync = sync;
  return FromLevelDb(db_->Write(options, batch), "block write");
}

absl::StatusOr<Hash> Store::Nodes::Get(uint32_t level, uint64_t index) const {
  auto v = store_->Get(NodeKey(level, index));
  if (!v.ok()) return v.status();
  if (!v->has_value()) {
    return absl::DataLossError(
        absl::StrCat("storage: missing Merkle node level ", level, " index ", index));
  }
  return HashFromBytes(**v, "stored Merkle node");
}

absl::StatusOr<std::optional<std::string>> Store::State::Get(std::string_view key) const {
  return store_->Get(StateKey(key));
}

std::shared_ptr<const leveldb::Snapshot> Store::Freeze() const {
  leveldb::DB* db = db_.get();
  return std::shared_ptr<const leveldb::Snapshot>(
      db->GetSnapshot(), [db](const leveldb::Snapshot* s) { db->ReleaseSnapshot(s); });
}

absl::Status Store::ScanRaw(
    const leveldb::Snapshot* at, std::string_view begin, std::string_view end,
    std::string_view after, size_t limit,
    const std::function<bool(std::string_view, std::string_view)>& fn) const {
  leveldb::ReadOptions options;
  options.snapshot = at;
  std::unique_ptr<leveldb::Iterator> it(db_->NewIterator(options));
  if (after.empty()) {
    it->Seek(leveldb::Slice(begin.data(), begin.size()));
  } else {
    it->Seek(leveldb::Slice(after.data(), after.size()));
    if (it->Valid() && it->key() == leveldb::Slice(after.data(), after.size())) it->Next();
  }
  for (size_t n = 0; it->Valid() && n < limit; it->Next(), ++n) {
    const std::string_view k(it->key().data(), it->key().size());
    if (k < begin || k >= end) break;
    if (!fn(k, std::string_view(it->value().data(), it->value().size()))) break;
  }
  return FromLevelDb(it->status(), "scan");
}

absl::Status Store::State::Scan(
    std::string_view prefix, std::string_view start_after, size_t limit,
    const std::function<bool(std::string_view, std::string_view)>& fn) const {
  std::unique_ptr<leveldb::Iterator> it(store_->db_->NewIterator(leveldb::ReadOptions()));
  const std::string full_prefix = StateKey(prefix);
  if (start_after.empty()) {
    it->Seek(full_prefix);
  } else {
    it->Seek(StateKey(start_after));
    if (it->Valid() && it->key().ToString() == StateKey(start_after)) it->Next();
  }
  size_t visited = 0;
  for (; it->Valid() && visited < limit; it->Next(), ++visited) {
    const leveldb::Slice k = it->key();
    if (!k.starts_with(full_prefix)) break;
    const std::string_view key(k.data() + 1, k.size() - 1);
    if (!fn(key, std::string_view(it->value().data(), it->value().size()))) break;
  }
  return FromLevelDb(it->status(), "state scan");
}

}  // namespace tds::ledger
