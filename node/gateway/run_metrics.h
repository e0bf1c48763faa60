#pragma once
// The gateway's runs as Prometheus metrics, in the process registry (common/metrics.h), fed
// from Gateway's report path (one call per run, after admission or its refusal):
//   tds_gateway_runs_total{operation,outcome}        outcome: released | refused
//   tds_gateway_run_seconds{operation,outcome}       histogram, admission to release/refusal
//   tds_gateway_rows_in_total{operation}             provider rows the released runs read
// PSI rows per second: rate(tds_gateway_rows_in_total{operation="psi"}[5m]) /
//   rate(tds_gateway_run_seconds_sum{operation="psi",outcome="released"}[5m]).

#include <cstdint>
#include <string>

#include "absl/status/status.h"

namespace tds::node::gateway {

// Registers the metrics (idempotent); the first ObserveRun does it too. Call it where a page
// should list them before any run, e.g. when the node starts.
void RegisterRunMetrics();

void ObserveRun(const std::string& operation, const absl::Status& status, int64_t total_us,
                uint64_t rows_in);

}  // namespace tds::node::gateway
