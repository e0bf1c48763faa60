#pragma once
// The provider's table prepared for anonymous query under one contract's key: every row's
// permitted columns encrypted under a key only the holder of that row's OPRF output can
// derive, grouped into equal-size buckets of at least k rows. Preparing costs one scalar
// multiplication per row (about 80 µs on one core here, so tens of seconds for 10^6 rows on
// two); the result serves every query under that key. See compute/query/README.md.
//
// Layout (what the provider sends, bucket by bucket):
//   table  := bucket[buckets]                  bucket b = BucketHash(id) mod buckets
//   bucket := entry[bucket_entries]            real and dummy entries, sorted by tag
//   entry  := tag[16] sealed[4 + payload_bytes] mac[16]                 (entry_bytes())
//   real entry: tag, key = DeriveRowSecrets(salt, id, k·H2(id));
//               sealed || mac = ChaCha20-Poly1305-IETF(key, nonce = 0, plaintext)
//   dummy entry: entry_bytes() uniformly random bytes
//   plaintext := length:u32 payload[length] zero[payload_bytes - length]
//   payload   := (value_length:u32 value)[columns]   the permitted columns, in contract order
// (integers big-endian). The fixed zero nonce is safe because every key encrypts exactly one
// message: a key is derived from the row's id and the per-table random salt, ids are unique
// within a table, and every Prepare draws a new salt, so re-preparing changed rows never reuses
// a (key, nonce) pair.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "compute/query/oprf.h"
#include "compute/worker_pool.h"

namespace tds::compute::query {

// One row of the provider's table: its identifier (unique within the table) and its column
// values (any bytes). Only the permitted columns ever leave the provider.
struct Row {
  std::string id;
  std::vector<std::string> columns;
};

struct PrepareProgress {
  uint64_t done;  // rows encrypted so far
  uint64_t total;
};

struct PrepareOptions {
  // Every bucket holds at least k real rows (unless the whole table has fewer: then one bucket
  // holds all). k >= 1; set by the contract.
  uint64_t k = 1;
  // The contract's permitted column indices; payloads carry exactly these, in this order.
  // Distinct; every row must have each of them.
  std::vector<uint32_t> permitted_columns;
  // The bucket count: 0 = ChooseBucketCount. Pin it (to the count a contract's first Prepare
  // chose) so that re-preparing changed rows keeps every id in the same bucket: with another
  // count, two queries for one id would name two buckets whose intersection holds far fewer
  // than k rows. A pinned count that leaves a bucket with fewer than k rows is refused
  // (FailedPrecondition), unless it is 1.
  uint32_t buckets = 0;
  // Workers: `pool` if set (not owned; must outlive Prepare), else a pool of `threads`
  // (0 = hardware concurrency) for the duration of Prepare.
  WorkerPool* pool = nullptr;
  int threads = 0;
  // Largest table accepted.
  uint64_t max_rows = 100'000'000;
  // Largest serialized payload of one row (its permitted columns with their length prefixes).
  uint32_t max_payload_bytes = 1 << 20;
  // Payloads are padded to max(this, the longest actual payload): set it to hide the longest.
  uint32_t min_payload_bytes = 0;
  // Called from the calling thread after each slice of rows; may be empty.
  std::function<void(const PrepareProgress&)> progress;
};

class PreparedTable {
 public:
  // Encrypts `rows` under `key`. InvalidArgument (naming the row) for: more than max_rows rows,
  // k = 0, repeated or out-of-range permitted columns, a row lacking a permitted column, a
  // payload above max_payload_bytes, or two rows with the same id; FailedPrecondition for a
  // pinned bucket count too large for k.
  static absl::StatusOr<std::unique_ptr<const PreparedTable>> Prepare(
      const ProviderKey& key, const std::vector<Row>& rows, const PrepareOptions& options);

  uint64_t rows() const { return rows_; }
  uint64_t k() const { return k_; }
  uint32_t buckets() const { return buckets_; }
  // Entries per bucket after padding (= the largest bucket's real row count).
  uint32_t bucket_entries() const { return bucket_entries_; }
  // The smallest bucket's real row count (>= k whenever buckets() > 1).
  uint32_t min_bucket_rows() const { return min_bucket_rows_; }
  uint32_t payload_bytes() const { return payload_bytes_; }  // padded payload length
  uint32_t columns() const { return columns_; }              // permitted columns per payload
  size_t entry_bytes() const { return EntryBytes(payload_bytes_); }
  const uint8_t* salt() const { return salt_; }
  // The fingerprint of the key the table was prepared under (ProviderKey::fingerprint).
  const Fingerprint& key_fingerprint() const { return fingerprint_; }

  // Entries [first, first + count) of bucket `b`, contiguous.
  // REQUIRES: b < buckets(), first + count <= bucket_entries().
  std::string_view Entries(uint32_t b, uint32_t first, uint32_t count) const;

  static size_t EntryBytes(uint32_t payload_bytes) {
    return kTagBytes + 4 + size_t{payload_bytes} + 16;
  }

 private:
  PreparedTable() = default;

  uint64_t rows_ = 0;
  uint64_t k_ = 1;
  uint32_t buckets_ = 1;
  uint32_t bucket_entries_ = 0;
  uint32_t min_bucket_rows_ = 0;
  uint32_t payload_bytes_ = 0;
  uint32_t columns_ = 0;
  uint8_t salt_[kSaltBytes] = {};
  Fingerprint fingerprint_{};
  std::string entries_;  // buckets_ × bucket_entries_ × entry_bytes()
};

// The number of buckets B for rows with these BucketHash values: every bucket (hash mod B)
// then holds at least k rows; B = 1 when fewer than 2k rows. Starts at floor(n / k) and
// decreases (by about 3% a step, then a bisection back up between the last failing and the
// first passing B), so B is at or near the largest passing value. REQUIRES: k >= 1.
uint32_t ChooseBucketCount(const std::vector<uint64_t>& bucket_hashes, uint64_t k);

// Serializes `values` as a payload (value_length:u32 value)... and parses it back; the parse
// fails unless exactly `columns` values fill exactly `payload`.
std::string EncodePayload(const std::vector<std::string_view>& values);
bool DecodePayload(std::string_view payload, uint32_t columns, std::vector<std::string>& values);

}  // namespace tds::compute::query
