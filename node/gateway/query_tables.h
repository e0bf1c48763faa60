#pragma once
// The provider's prepared tables for anonymous query (compute/query), per contract.
//
// Every contract gets its own OPRF key, derived from this node's 32-byte master secret
// (compute::query::ProviderKey::Derive(master, contract id)), so a table prepared, or anything a
// consumer learned, under one contract is useless under another. The master secret lives in
// `<dir>/query-master.key` (32 raw bytes, mode 0600), created on first use; with an empty
// `dir` (tests) it is drawn at random for the life of this object.
//
// Preparing costs about 70 µs of CPU per row (tens of seconds for 10^6 rows), so tables are
// built lazily at a contract's first query and kept in memory, least recently used first out,
// at most `max_tables` of them, keyed by (contract id, product version, column list): a new
// product version (a re-published source) or another column selection prepares anew. Several
// runs wanting the same table while it is being prepared wait for that one preparation.
//
// Bucket pinning: the first preparation under a contract fixes its bucket count B (the README
// of compute/query explains why: another B would put an id in a different bucket whose
// intersection with the first holds far fewer than k rows). B is remembered in
// `<dir>/query-buckets/<contract id>` (or in memory with an empty `dir`) and every later
// preparation under that contract uses it; if the table has shrunk so much that B no longer
// leaves k rows per bucket, preparation fails (FailedPrecondition) rather than weaken k.
//
// Thread-safe.

#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "compute/query/oprf.h"
#include "compute/query/prepared_table.h"

namespace tds::node::gateway {

// A table and the key it was prepared under.
struct QueryTable {
  QueryTable(compute::query::ProviderKey k, std::unique_ptr<const compute::query::PreparedTable> t)
      : key(std::move(k)), table(std::move(t)) {}
  const compute::query::ProviderKey key;
  const std::unique_ptr<const compute::query::PreparedTable> table;
};

struct QueryTablesOptions {
  // Where the master secret and the bucket pins live; empty = in memory only.
  std::string dir;
  // Most prepared tables kept (each about rows × (36 + payload) bytes).
  size_t max_tables = 4;
  // Preparation workers (0 = hardware concurrency).
  int threads = 0;
};

class QueryTables {
 public:
  explicit QueryTables(QueryTablesOptions options);
  ~QueryTables();
  QueryTables(const QueryTables&) = delete;
  QueryTables& operator=(const QueryTables&) = delete;

  // What a preparation needs. `load` reads the rows (id + `columns`, in that order) from the
  // product's source; it runs only on a cache miss.
  struct Want {
    std::string contract_id;
    uint32_t product_version = 0;
    std::vector<std::string> columns;  // the payload's columns, in order
    uint64_t k = 1;
    uint64_t max_rows = 0;  // most rows accepted (0 = the library's limit)
    std::function<absl::StatusOr<std::vector<compute::query::Row>>()> load;
  };

  // The table for `want`, prepared now if it is not cached. Errors: the master secret cannot
  // be read or created, `load` fails, or Prepare refuses (duplicate ids, a pinned bucket count
  // too large for k, ...), each naming what failed.
  absl::StatusOr<std::shared_ptr<const QueryTable>> Get(const Want& want);

  // Tables prepared so far (cache misses that succeeded); for tests and logs.
  uint64_t prepared() const;

 private:
  struct Slot;
  absl::StatusOr<std::string> MasterSecret();  // REQUIRES: mu_ held
  absl::StatusOr<std::shared_ptr<const QueryTable>> Build(const Want& want);
  uint32_t PinnedBuckets(const std::string& contract_id);  // 0 = none yet
  void Pin(const std::string& contract_id, uint32_t buckets);

  const QueryTablesOptions options_;
  mutable std::mutex mu_;
  std::string master_;                                  // GUARDED_BY(mu_); "" until loaded
  std::map<std::string, std::shared_ptr<Slot>> slots_;  // GUARDED_BY(mu_)
  std::list<std::string> lru_;                          // GUARDED_BY(mu_), most recent first
  std::map<std::string, uint32_t> pins_;                // GUARDED_BY(mu_)
  uint64_t prepared_ = 0;                               // GUARDED_BY(mu_)
};

}  // namespace tds::node::gateway
