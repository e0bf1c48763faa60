#pragma once
// The metered gateway: the ONE gate every computation on this node's data passes
// (shared/ARCHITECTURE.md, "Use"). Compute.Run (compute_service.h) is a thin gRPC shell over
// Gateway::Run; nothing else in the node reads a data source for a consumer.
//
// Gateway::Run, in order — each refusal a status whose message names what failed:
//  (a) authenticate: the request is an Envelope under contracts::kUsageRequestContext whose
//      consumer is a current member holding the consumer role and signed it (else
//      Unauthenticated "... bad signature ..." / "... not a current member", PermissionDenied
//      "... lacks role 'consumer'"); the caller's authenticated identity (mTLS), when there is
//      one, is that consumer; nonce 16..64 bytes; SHA-256(params) == params_digest.
//  (b) contract, from this node's replica of the ledger: it exists (NotFound "no contract c-x"),
//      names this consumer, is provided by this node's member, for a product this node serves
//      (ProductSources: FailedPrecondition "this node does not serve product p: ..."), and is
//      in effect at the latest block time (FailedPrecondition "contract c-x is EXPIRED").
//  (c) terms, exactly as usage.reserve checks them (contracts::CheckRequestAgainstTerms,
//      CheckQuota over CountersAt, CheckNonceUnused — one implementation for both): export
//      operations never run on level >= 3 products; operation, purpose, columns, window;
//      params: psi_output equal to the contract's (default consumer_only), "stats" only with
//      "both" over permitted numeric columns the request lists, specs valid; "query": 1..
//      query_max_batch identifiers (and at most terms.max_rows_per_call), the columns equal to
//      the request's signed columns, min_k at most the contract's k (contracts::QueryKOf);
//      quota; the nonce unused in state and not in use by a run in flight. Nothing has been
//      read yet.
//  (d) strict metering: usage.reserve, signed by this node's key, submitted through the node's
//      submit path (the ledger, or a follower's Forwarder). It commits while (e) runs: its
//      outcome is awaited at the release gate, before anything is released, so strict metering
//      costs one ledger commit (the record's) on top of the computation, not two.
//  (e) run: "psi"/"stats": Scan the product's id column (+ stat columns) into memory, at most
//      max_rows rows; the PSI protocol compute::ChoosePsiProtocol picks for the contract and the
//      consumer's set (the consumer must have stated the same one in params.protocol, else
//      FailedPrecondition naming both): RunEcdhPsi or RunKkrtPsi as the sender over the
//      consumer's link (bytes counted both ways). "query": the contract's prepared table
//      (QueryTables: built from the id column + the requested columns at the first query,
//      cached) and RunQueryProvider. "joint_stats"/"lr_train"/"lr_score": PSI as for "stats"
//      (output "both"), then the rows in the order both sides derive (compute/joint) and the
//      operation's second protocol (joint_runs.h). "enclave_sql": the attestation exchange with
//      the consumer's node hosting the enclave, then this node's table sealed to the attested
//      key (enclave_sql.h).
//  (f)+(g) at the protocol's release gate (EcdhPsiOptions / KkrtPsiOptions::before_release,
//      QueryProviderOptions::before_answer) — or, with a protocol that has no gate, once it
//      ends and before the result leaves — measure (rows in/out — for "query" rows_out is the
//      number of identifiers asked, what a query is priced and capped by — bytes, compute ms,
//      started/ended, result digest, the query's request digest, smallest group) and submit
//      usage.record ONCE: strict waits for its commit and fetches its receipt (a refused
//      reservation or record refuses the run: nothing is released); batched submits without
//      waiting (the record commits within the contract's delay).
//  (h) release: the protocol's key, then the ComputeResult {measurement, usage_txid, receipt
//      (strict), violations (strict), stats, intersection_size}. A failure after the record
//      committed releases nothing and the record stands; the request's nonce is then spent,
//      so the same request can never be recorded twice.
//
// Thread-safe; at most max_concurrent_runs run at once (ResourceExhausted beyond).

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "common/keys.h"
#include "compute/link.h"
#include "ledger/ledger.h"
#include "node/gateway/model_store.h"
#include "node/gateway/product_sources.h"
#include "node/gateway/query_tables.h"
#include "proto/compute_service.pb.h"

namespace tds::node::gateway {

// Per-run figures for logs and the gateway benchmark.
struct RunReport {
  std::string contract_id;
  std::string operation;
  bool strict = false;
  absl::Status status;
  int64_t total_us = 0;
  // Strict: how long the release gate waited for the reservation after the computation.
  int64_t reserve_wait_us = 0;
  // Submit → ack of usage.record (strict; 0 when batched or not recorded).
  int64_t record_commit_us = 0;
  bool recorded = false;
  tds::Measurement measurement;
};

struct GatewayOptions {
  // This node's key, the key of the member it runs as (the products' provider): it signs
  // usage.reserve and usage.record. Required.
  std::shared_ptr<const SigningKey> key;
  // Where this node's transactions go: empty = ledger->Submit (this node validates); a
  // follower passes its Forwarder, which answers once the block is applied here.
  std::function<void(std::string envelope, ledger::Ledger::Done done)> submit;
  // Wall clock (ms since the epoch) for Measurement.started_ms/ended_ms; empty = system clock.
  std::function<int64_t()> clock;
  size_t max_concurrent_runs = 8;
  // Most provider rows a run reads (ResourceExhausted beyond).
  uint64_t max_rows = 10'000'000;
  size_t scan_chunk_rows = 8192;
  // Longest wait for a usage.* transaction to commit (strict).
  int64_t commit_timeout_ms = 30'000;
  // usage.reserve ttl_blocks (0 = the ledger's default).
  uint64_t reservation_ttl_blocks = 0;
  // PSI worker threads per run (0 = hardware concurrency); also anonymous query's workers.
  int psi_threads = 0;
  // Anonymous query: where the master secret (query-master.key) and the contracts' pinned
  // bucket counts live (the node's data directory); empty = in memory, a random master secret
  // per gateway (tests). See query_tables.h.
  std::string query_dir;
  // Prepared query tables kept in memory (LRU).
  size_t query_cache_tables = 4;
  // Most identifiers in one query.
  uint32_t query_max_batch = 10'000;
  // The joint model halves this node trains (lr_train) live under <model_dir>/models/ (the
  // node's data directory); empty = in memory (tests). See model_store.h.
  std::string model_dir;
  // lr_train: this node's Paillier key size, and the least it accepts from a consumer.
  int lr_key_bits = 2048;
  // Called at the end of every run that passed admission (from the run's thread).
  std::function<void(const RunReport&)> on_run;
};

class Gateway {
 public:
  // `ledger` and `sources` must outlive the gateway and every run it started.
  Gateway(ledger::Ledger* ledger, ProductSources* sources, GatewayOptions options);
  ~Gateway();
  Gateway(const Gateway&) = delete;
  Gateway& operator=(const Gateway&) = delete;

  // One computation: the gate above, the protocol with the consumer over `link`, and the
  // result to release (the caller sends it), or the refusal. `caller` is the member the
  // transport authenticated (mutual TLS), nullopt when the transport proves nobody
  // (--insecure-dev: the signed request is the identity).
  absl::StatusOr<tds::ComputeResult> Run(const tds::ComputeStart& start,
                                         const std::optional<std::string>& caller,
                                         compute::Link& link);

  // The member this node runs as: the current member whose key is options.key (before block 1,
  // the genesis member); empty if none.
  std::string MemberId() const;

  // The prepared anonymous query tables (tests and logs).
  const QueryTables& query_tables() const { return *query_tables_; }

 private:
  class Session;
  struct Shared;

  ledger::Ledger* const ledger_;
  ProductSources* const sources_;
  const GatewayOptions options_;
  // State that batched records' callbacks may touch after the gateway is gone.
  std::shared_ptr<Shared> shared_;
  std::unique_ptr<QueryTables> query_tables_;
  std::unique_ptr<ModelStore> models_;
  std::atomic<size_t> running_{0};
};

}  // namespace tds::node::gateway
