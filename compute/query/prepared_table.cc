#include "compute/query/prepared_table.h"

#include <sodium.h>

#include <algorithm>
#include <cstring>
#include <numeric>
#include <optional>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace tds::compute::query {
namespace {

constexpr uint64_t kMaxRows = UINT32_MAX - 1;  // slots and bucket sizes are 32-bit
// Rows per progress report (and per Batch on the pool).
constexpr size_t kProgressRows = 1 << 14;
constexpr size_t kSlicesPerWorker = 2;
constexpr size_t kMinSlice = 64;

void PutU32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}
uint32_t GetU32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

absl::Status Invalid(const std::string& text) {
  return absl::InvalidArgumentError(absl::StrCat("query prepare: ", text));
}

// Smallest bucket size when rows are spread over `buckets` by hash.
uint64_t MinBucket(const std::vector<uint64_t>& hashes, uint32_t buckets) {
  std::vector<uint32_t> counts(buckets, 0);
  for (uint64_t h : hashes) ++counts[BucketOf(h, buckets)];
  return *std::min_element(counts.begin(), counts.end());
}

// Runs fn over [0, n) on the pool in slices; returns the first failure.
absl::Status ParallelFor(WorkerPool& pool, size_t n, Batch::SliceFn fn) {
  return Batch::Start(pool, n, static_cast<size_t>(pool.size()) * kSlicesPerWorker, kMinSlice,
                      std::move(fn))
      ->Wait();
}

}  // namespace

uint32_t ChooseBucketCount(const std::vector<uint64_t>& bucket_hashes, uint64_t k) {
  const uint64_t n = bucket_hashes.size();
  if (k == 0 || n / k <= 1) return 1;
  uint32_t pass = static_cast<uint32_t>(std::min<uint64_t>(n / k, kMaxRows));
  if (MinBucket(bucket_hashes, pass) >= k) return pass;
  // Descend until a count passes; B = 1 always does (n >= 2k).
  uint32_t fail = pass;
  while (true) {
    pass = fail - std::max<uint32_t>(1, fail / 32);
    if (pass <= 1) return 1;
    if (MinBucket(bucket_hashes, pass) >= k) break;
    fail = pass;
  }
  // The minimum is not monotone in B, but close to it: bisect (pass, fail) for a larger
  // passing count, keeping only counts that were checked to pass.
  while (fail - pass > 1) {
    const uint32_t mid = pass + (fail - pass) / 2;
    if (MinBucket(bucket_hashes, mid) >= k) {
      pass = mid;
    } else {
      fail = mid;
    }
  }
  return pass;
}

std::string EncodePayload(const std::vector<std::string_view>& values) {
  size_t size = 0;
  for (std::string_view v : values) size += 4 + v.size();
  std::string out(size, '\0');
  uint8_t* p = reinterpret_cast<uint8_t*>(out.data());
  for (std::string_view v : values) {
    PutU32(p, static_cast<uint32_t>(v.size()));
    std::memcpy(p + 4, v.data(), v.size());
    p += 4 + v.size();
  }
  return out;
}

bool DecodePayload(std::string_view payload, uint32_t columns, std::vector<std::string>& values) {
  values.clear();
  const uint8_t* p = reinterpret_cast<const uint8_t*>(payload.data());
  size_t left = payload.size();
  for (uint32_t c = 0; c < columns; ++c) {
    if (left < 4) return false;
    const uint32_t len = GetU32(p);
    if (len > left - 4) return false;
    values.emplace_back(reinterpret_cast<const char*>(p + 4), len);
    p += 4 + len;
    left -= 4 + len;
  }
  return left == 0;
}

std::string_view PreparedTable::Entries(uint32_t b, uint32_t first, uint32_t count) const {
  const size_t e = entry_bytes();
  const size_t offset = (size_t{b} * bucket_entries_ + first) * e;
  return std::string_view(entries_).substr(offset, size_t{count} * e);
}

absl::StatusOr<std::unique_ptr<const PreparedTable>> PreparedTable::Prepare(
    const ProviderKey& key, const std::vector<Row>& rows, const PrepareOptions& options) {
  EnsureSodium();
  const uint64_t n = rows.size();
  if (options.k == 0) return Invalid("k is 0, expected at least 1");
  if (n > std::min(options.max_rows, kMaxRows)) {
    return Invalid(
        absl::StrCat(n, " rows exceed the limit of ", std::min(options.max_rows, kMaxRows)));
  }
  if (options.threads < 0) {
    return Invalid(absl::StrCat("options.threads ", options.threads, " is negative"));
  }
  const std::vector<uint32_t>& permitted = options.permitted_columns;
  {
    std::vector<uint32_t> sorted = permitted;
    std::sort(sorted.begin(), sorted.end());
    const auto dup = std::adjacent_find(sorted.begin(), sorted.end());
    if (dup != sorted.end()) {
      return Invalid(absl::StrCat("permitted column ", *dup, " is listed twice"));
    }
  }

  // Payload sizes (the values are serialized again by the workers, one row at a time).
  uint64_t longest = 0;
  for (uint64_t i = 0; i < n; ++i) {
    const Row& row = rows[i];
    uint64_t size = 0;
    for (uint32_t c : permitted) {
      if (c >= row.columns.size()) {
        return Invalid(absl::StrCat("row ", i, " has ", row.columns.size(),
                                    " columns; permitted column ", c, " is missing"));
      }
      size += 4 + row.columns[c].size();
    }
    if (size > options.max_payload_bytes) {
      return Invalid(absl::StrCat("row ", i, ": payload of ", size, " bytes exceeds the limit of ",
                                  options.max_payload_bytes));
    }
    longest = std::max(longest, size);
  }

  std::optional<WorkerPool> own_pool;
  WorkerPool* pool = options.pool;
  if (pool == nullptr) pool = &own_pool.emplace(options.threads);

  // Bucket hashes, and duplicate ids: equal ids have equal hashes, so they are neighbours once
  // sorted by hash (ties compared by id).
  std::vector<uint64_t> hashes(n);
  TDS_RETURN_IF_ERROR(ParallelFor(*pool, n, [&](size_t begin, size_t end) {
    for (size_t i = begin; i < end; ++i) hashes[i] = BucketHash(rows[i].id);
    return absl::OkStatus();
  }));
  {
    std::vector<uint32_t> order(n);
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
      if (hashes[a] != hashes[b]) return hashes[a] < hashes[b];
      if (rows[a].id != rows[b].id) return rows[a].id < rows[b].id;
      return a < b;
    });
    for (uint64_t j = 1; j < n; ++j) {
      if (rows[order[j]].id == rows[order[j - 1]].id) {
        return Invalid(absl::StrCat("row ", std::max(order[j], order[j - 1]),
                                    " repeats the id of row ", std::min(order[j], order[j - 1]),
                                    " (ids must be unique: each keys one row)"));
      }
    }
  }

  std::unique_ptr<PreparedTable> t(new PreparedTable());
  t->rows_ = n;
  t->k_ = options.k;
  t->columns_ = static_cast<uint32_t>(permitted.size());
  // Every payload holds at least the length prefixes (an empty table too: the consumer checks).
  t->payload_bytes_ = static_cast<uint32_t>(
      std::max({longest, uint64_t{4} * permitted.size(), uint64_t{options.min_payload_bytes}}));
  t->fingerprint_ = key.fingerprint();
  randombytes_buf(t->salt_, kSaltBytes);
  if (options.buckets == 0) {
    t->buckets_ = ChooseBucketCount(hashes, options.k);
  } else if (options.buckets > 1 && n > 0 && MinBucket(hashes, options.buckets) < options.k) {
    return absl::FailedPreconditionError(
        absl::StrCat("query prepare: with the pinned ", options.buckets, " buckets one holds ",
                     MinBucket(hashes, options.buckets), " rows, fewer than k = ", options.k));
  } else {
    t->buckets_ = options.buckets;
  }

  // Each row's slot: its bucket, and its position there in row order (re-sorted by tag below).
  std::vector<uint32_t> counts(t->buckets_, 0);
  std::vector<uint32_t> slot(n);
  for (uint64_t i = 0; i < n; ++i) slot[i] = counts[BucketOf(hashes[i], t->buckets_)]++;
  t->bucket_entries_ = *std::max_element(counts.begin(), counts.end());
  t->min_bucket_rows_ = *std::min_element(counts.begin(), counts.end());

  const size_t e = t->entry_bytes();
  const uint32_t m = t->bucket_entries_;
  const uint32_t padded = t->payload_bytes_;
  t->entries_.assign(size_t{t->buckets_} * m * e, '\0');
  uint8_t* const base = reinterpret_cast<uint8_t*>(t->entries_.data());
  PreparedTable* const table = t.get();

  auto encrypt = [&](size_t begin, size_t end) -> absl::Status {
    std::string plaintext(4 + size_t{padded}, '\0');
    uint8_t* const pt = reinterpret_cast<uint8_t*>(plaintext.data());
    std::vector<std::string_view> values(permitted.size());
    uint8_t point[kPointBytes], y[kPointBytes], row_key[kRowKeyBytes];
    const uint8_t nonce[crypto_aead_chacha20poly1305_ietf_NPUBBYTES] = {};
    absl::Status status;
    for (size_t i = begin; i < end && status.ok(); ++i) {
      const Row& row = rows[i];
      HashToGroup(row.id, point);
      if (!key.Evaluate(point, y)) {
        status = absl::InternalError(
            absl::StrCat("query prepare: row ", i, " hashes to an unusable point"));
        break;
      }
      uint8_t* const entry =
          base + (size_t{BucketOf(hashes[i], table->buckets_)} * m + slot[i]) * e;
      DeriveRowSecrets(table->salt_, row.id, y, entry, row_key);
      for (size_t c = 0; c < permitted.size(); ++c) values[c] = row.columns[permitted[c]];
      const std::string payload = EncodePayload(values);
      std::memset(pt, 0, plaintext.size());
      PutU32(pt, static_cast<uint32_t>(payload.size()));
      std::memcpy(pt + 4, payload.data(), payload.size());
      unsigned long long sealed_len = 0;
      crypto_aead_chacha20poly1305_ietf_encrypt(entry + kTagBytes, &sealed_len, pt,
                                                plaintext.size(), nullptr, 0, nullptr, nonce,
                                                row_key);
    }
    sodium_memzero(y, sizeof(y));
    sodium_memzero(row_key, sizeof(row_key));
    sodium_memzero(plaintext.data(), plaintext.size());
    return status;
  };
  for (uint64_t first = 0; first < n; first += kProgressRows) {
    const uint64_t count = std::min<uint64_t>(kProgressRows, n - first);
    TDS_RETURN_IF_ERROR(ParallelFor(*pool, count, [&, first](size_t begin, size_t end) {
      return encrypt(first + begin, first + end);
    }));
    if (options.progress) options.progress(PrepareProgress{first + count, n});
  }

  // Dummies fill every bucket up to m entries, then each bucket is sorted by tag, so that
  // neither the order nor the position of an entry says which row (or dummy) it is.
  TDS_RETURN_IF_ERROR(ParallelFor(*pool, t->buckets_, [&](size_t begin, size_t end) {
    std::vector<uint32_t> order(m);
    std::string sorted(size_t{m} * e, '\0');
    for (size_t b = begin; b < end; ++b) {
      uint8_t* const bucket = base + b * m * e;
      randombytes_buf(bucket + size_t{counts[b]} * e, size_t{m - counts[b]} * e);
      std::iota(order.begin(), order.end(), 0);
      std::sort(order.begin(), order.end(), [&](uint32_t x, uint32_t y) {
        return std::memcmp(bucket + size_t{x} * e, bucket + size_t{y} * e, kTagBytes) < 0;
      });
      for (uint32_t j = 0; j < m; ++j) {
        std::memcpy(sorted.data() + size_t{j} * e, bucket + size_t{order[j]} * e, e);
      }
      std::memcpy(bucket, sorted.data(), sorted.size());
    }
    return absl::OkStatus();
  }));
  return std::unique_ptr<const PreparedTable>(std::move(t));
}

}  // namespace tds::compute::query
