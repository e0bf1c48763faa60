#include "node/gateway/run_metrics.h"

#include "common/metrics.h"

namespace tds::node::gateway {
namespace {

struct RunMetrics {
  metrics::Family<metrics::Counter>& runs = metrics::Global().AddCounterFamily(
      "tds_gateway_runs_total", "Gateway computations by operation and outcome",
      {"operation", "outcome"});
  // 1 ms .. ~65 s.
  metrics::Family<metrics::Histogram>& seconds = metrics::Global().AddHistogramFamily(
      "tds_gateway_run_seconds",
      "Gateway computation latency, admission to release or refusal, seconds",
      {"operation", "outcome"}, metrics::ExponentialBuckets(0.001, 4, 9));
  metrics::Family<metrics::Counter>& rows_in = metrics::Global().AddCounterFamily(
      "tds_gateway_rows_in_total", "Provider rows read by released gateway computations",
      {"operation"});
};

RunMetrics& Metrics() {
  static RunMetrics* m = new RunMetrics;  // in the never-destroyed global registry
  return *m;
}

}  // namespace

void RegisterRunMetrics() { Metrics(); }

void ObserveRun(const std::string& operation, const absl::Status& status, int64_t total_us,
                uint64_t rows_in) {
  RunMetrics& m = Metrics();
  const std::string outcome = status.ok() ? "released" : "refused";
  m.runs.With({operation, outcome}).Add();
  m.seconds.With({operation, outcome}).Observe(static_cast<double>(total_us) / 1e6);
  if (status.ok()) m.rows_in.With({operation}).Add(rows_in);
}

}  // namespace tds::node::gateway
