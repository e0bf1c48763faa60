#pragma once
// Anonymous query ("匿踪查询"): the consumer (bank) looks up a batch of identifiers in the
// provider's table and learns the permitted columns of the matching rows; the provider learns
// neither the identifiers nor whether they matched, only each identifier's bucket (one of at
// least k candidates) and the batch size.
//
// The consumer obtains F(k, id) = k·H2(id) through a blinded OPRF (oprf.h, [JKK14] 2HashDH),
// downloads the padded buckets its identifiers fall in (prepared_table.h), and opens the one
// entry per identifier whose tag it can now compute. Semi-honest model; see
// compute/query/README.md for the message flow, what each party learns and the costs. Wire
// format at the top of anonymous_query.cc.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "compute/link.h"
#include "compute/query/oprf.h"
#include "compute/query/prepared_table.h"
#include "compute/worker_pool.h"

namespace tds::compute::query {

// What the provider's metering hook sees. Counts and a digest only, never identifiers.
struct QueryInfo {
  uint64_t identifiers = 0;    // batch size
  uint64_t buckets = 0;        // distinct buckets in the batch (each is sent once)
  std::string request_digest;  // SHA-256 of the request message (32 bytes)
};

struct QueryProviderOptions {
  // Largest batch accepted (identifiers per request).
  uint32_t max_batch = 10'000;
  // Target size of one bucket-chunk message; a chunk holds at least one entry.
  size_t chunk_bytes = 1 << 20;
  // Workers for the evaluations: `pool` if set (not owned), else `threads` (0 = hardware
  // concurrency) started for batches of kParallelBatch identifiers or more.
  WorkerPool* pool = nullptr;
  int threads = 0;
  // The metering gate. Called once the request has been checked and before anything the
  // consumer could use is sent (evaluations, bucket entries). An error ends the session with
  // that status; the consumer learns nothing.
  std::function<absl::Status(const QueryInfo&)> before_answer;
};

struct QueryConsumerOptions {
  // The contract's k: a provider announcing a smaller k, or buckets too small for it, is
  // refused before any identifier is blinded.
  uint64_t required_k = 1;
  // Workers for blinding and unblinding, as in QueryProviderOptions.
  WorkerPool* pool = nullptr;
  int threads = 0;
  // Bounds on what the provider's hello may announce (memory this party commits to).
  uint32_t max_buckets = 1u << 26;
  uint32_t max_columns = 1u << 16;
  uint32_t max_payload_bytes = 1u << 20;
  uint32_t max_bucket_entries = 1u << 24;  // bounds the download per distinct bucket
  size_t max_chunk_bytes = 64u << 20;
};

// Batches this large or larger are blinded / evaluated on a worker pool.
inline constexpr size_t kParallelBatch = 32;

// The consumer's answer for one identifier.
struct QueryAnswer {
  bool found = false;
  std::vector<std::string> columns;  // the permitted columns, in contract order, when found
};

// The consumer's side. Returns one answer per identifier, in order (duplicates answered each
// time). `ids` must hold between 1 and the provider's max_batch identifiers. Any malformed,
// truncated, out-of-order or oversized message, an invalid point, an entry that matches a tag
// but does not decrypt, or the provider's refusal ends the session with an error naming what
// was expected and what arrived; the link is then closed. Nothing is returned on failure.
absl::StatusOr<std::vector<QueryAnswer>> RunQueryConsumer(const std::vector<std::string>& ids,
                                                          const QueryConsumerOptions& options,
                                                          Link& link);

// The provider's side, for one request. `key` must be the key `table` was prepared under
// (FailedPrecondition otherwise, before anything is sent but the refusal). Returns the metered
// QueryInfo once the consumer confirmed the end of the session.
absl::StatusOr<QueryInfo> RunQueryProvider(const ProviderKey& key, const PreparedTable& table,
                                           const QueryProviderOptions& options, Link& link);

}  // namespace tds::compute::query
