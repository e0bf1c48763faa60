// query_bench: anonymous query (compute/query/anonymous_query.h) end to end. The provider
// prepares a table of N rows once (timed separately: one OPRF evaluation and one AEAD per
// row); then both parties run sessions in this process (two threads) over a real loopback TCP
// socket (SocketLink), one session per request, all on the same connection.
//
//   query_bench [--rows N] [--k K] [--batch B] [--runs R] [--batches M] [--threads T]
//
// Rows are "u<14 hex digits>" with columns (name, score, secret); the contract permits name and
// score. Latency: R sessions of one identifier (alternately present and absent), median and
// spread of the consumer's wall time from its hello to its done message. Throughput: M sessions
// of B identifiers (half present), identifiers/s and batches/s over their total time. Every
// answer is checked against the known table. Bytes per query are the consumer's link counters
// (both directions) for one session. Last line:
//   "query rows=<N> k=<k> latency_ms=<ms> batch_per_s=<x> prepare_s=<s>"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "bench/compute_bench_util.h"
#include "compute/query/anonymous_query.h"
#include "compute/worker_pool.h"

namespace tds::compute::query {
namespace {

using namespace tds::compute_bench;

struct Flags {
  uint64_t rows = 1'000'000;
  uint64_t k = 1000;
  uint64_t batch = 1000;
  uint64_t runs = 21;
  uint64_t batches = 3;
  int threads = 0;
};

Flags ParseFlags(int argc, char** argv) {
  Flags f;
  FlagReader flags("query_bench",
                   "usage: query_bench [--rows N] [--k K] [--batch B] [--runs R] [--batches M] "
                   "[--threads T]\n",
                   argc, argv);
  while (flags.Next()) {
    if (flags.Is("--rows")) {
      f.rows = flags.Count();
    } else if (flags.Is("--k")) {
      f.k = std::max<uint64_t>(1, flags.Count());
    } else if (flags.Is("--batch")) {
      f.batch = std::max<uint64_t>(1, flags.Count());
    } else if (flags.Is("--runs")) {
      f.runs = std::max<uint64_t>(1, flags.Count());
    } else if (flags.Is("--batches")) {
      f.batches = std::max<uint64_t>(1, flags.Count());
    } else if (flags.Is("--threads")) {
      f.threads = static_cast<int>(flags.Count());
    } else {
      flags.Unknown();
    }
  }
  return f;
}

// Identifiers are BenchId(i) (ids below 2^56, as every --rows here is).
std::string Id(uint64_t i) { return BenchId(i); }
std::string Name(uint64_t i) { return "name-" + std::to_string(i * 7919 % 1000003); }
std::string Score(uint64_t i) { return std::to_string(300 + i % 551); }

// Checks answers against the table: id i is present iff i < rows.
void Verify(const std::vector<uint64_t>& which, uint64_t rows,
            const std::vector<QueryAnswer>& answers) {
  if (answers.size() != which.size()) Die("wrong number of answers");
  for (size_t j = 0; j < which.size(); ++j) {
    const uint64_t i = which[j];
    const QueryAnswer& a = answers[j];
    if (i >= rows) {
      if (a.found) Die("absent id " + Id(i) + " reported found");
      continue;
    }
    if (!a.found || a.columns.size() != 2 || a.columns[0] != Name(i) || a.columns[1] != Score(i)) {
      Die("present id " + Id(i) + " answered wrongly");
    }
  }
}

}  // namespace
}  // namespace tds::compute::query

int main(int argc, char** argv) {
  using namespace tds::compute;
  using namespace tds::compute::query;
  const Flags f = ParseFlags(argc, argv);
  EnsureSodium();
  const int hw = std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  std::printf("query: %llu rows, k %llu, batch %llu, %d hardware threads (machine may be shared)\n",
              static_cast<unsigned long long>(f.rows), static_cast<unsigned long long>(f.k),
              static_cast<unsigned long long>(f.batch), hw);

  std::vector<Row> rows;
  rows.reserve(f.rows);
  for (uint64_t i = 0; i < f.rows; ++i) {
    rows.push_back(Row{Id(i), {Name(i), Score(i), "secret-" + std::to_string(i)}});
  }
  absl::StatusOr<ProviderKey> key =
      ProviderKey::Derive(std::string(kMasterSecretBytes, 'M'), "bench-contract");
  if (!key.ok()) Die(std::string(key.status().message()));

  // Prepare, once per contract key.
  WorkerPool provider_pool(f.threads);
  WorkerPool consumer_pool(f.threads);
  PrepareOptions prepare;
  prepare.k = f.k;
  prepare.permitted_columns = {0, 1};
  prepare.pool = &provider_pool;
  uint64_t next_report = f.rows / 10;
  const Clock::time_point prepare_start = Clock::now();
  prepare.progress = [&](const PrepareProgress& p) {
    if (p.done >= next_report && p.done < p.total) {
      std::printf("  prepare: %llu / %llu rows, %.1f s\n", static_cast<unsigned long long>(p.done),
                  static_cast<unsigned long long>(p.total), SecondsSince(prepare_start));
      std::fflush(stdout);
      next_report += f.rows / 10;
    }
  };
  const double prepare_cpu_start = CpuSeconds();
  auto prepared = PreparedTable::Prepare(*key, rows, prepare);
  const double prepare_s = SecondsSince(prepare_start);
  const double prepare_cpu = CpuSeconds() - prepare_cpu_start;
  if (!prepared.ok()) Die(std::string(prepared.status().message()));
  const PreparedTable& table = **prepared;
  const double table_mb =
      static_cast<double>(table.buckets()) * table.bucket_entries() * table.entry_bytes() / 1e6;
  std::printf("prepare:      %.2f s (%.0f rows/s, %d worker threads)\n", prepare_s,
              static_cast<double>(f.rows) / prepare_s, provider_pool.size());
  std::printf(
      "              CPU %.2f s = %.1f us per row; %.2f cores busy on average (the rest went "
      "to other processes or idled)\n",
      prepare_cpu, prepare_cpu * 1e6 / static_cast<double>(std::max<uint64_t>(f.rows, 1)),
      prepare_cpu / prepare_s);
  std::printf(
      "table:        %u buckets of %u entries (real rows per bucket %u..%u), entry %zu bytes "
      "(payload padded to %u), %.1f MB\n",
      table.buckets(), table.bucket_entries(), table.min_bucket_rows(), table.bucket_entries(),
      table.entry_bytes(), table.payload_bytes(), table_mb);
  std::fflush(stdout);

  auto links = LoopbackLinks();
  Link& consumer_link = *links.first;
  Link& provider_link = *links.second;
  const uint64_t sessions = f.runs + f.batches;
  QueryProviderOptions provider_options;
  provider_options.pool = &provider_pool;
  provider_options.max_batch = static_cast<uint32_t>(std::max<uint64_t>(f.batch, 1));
  absl::Status provider_status;
  std::thread provider([&] {
    for (uint64_t s = 0; s < sessions; ++s) {
      absl::StatusOr<QueryInfo> info =
          RunQueryProvider(*key, table, provider_options, provider_link);
      if (!info.ok()) {
        provider_status = info.status();
        return;
      }
    }
  });
  QueryConsumerOptions consumer_options;
  consumer_options.pool = &consumer_pool;
  consumer_options.required_k = f.k;

  struct Measured {
    double seconds;
    uint64_t bytes;
  };
  auto session = [&](const std::vector<uint64_t>& which) -> Measured {
    std::vector<std::string> ids;
    for (uint64_t i : which) ids.push_back(Id(i));
    const uint64_t bytes_before = consumer_link.bytes_sent() + consumer_link.bytes_received();
    const Clock::time_point start = Clock::now();
    absl::StatusOr<std::vector<QueryAnswer>> answers =
        RunQueryConsumer(ids, consumer_options, consumer_link);
    const double s = SecondsSince(start);
    if (!answers.ok()) Die("consumer: " + std::string(answers.status().message()));
    Verify(which, f.rows, *answers);
    return {s, consumer_link.bytes_sent() + consumer_link.bytes_received() - bytes_before};
  };

  // Latency: one identifier per session, alternately present and absent.
  std::vector<double> latencies;
  uint64_t single_bytes = 0;
  for (uint64_t r = 0; r < f.runs; ++r) {
    const uint64_t i = r % 2 == 0 ? (r * 104729) % std::max<uint64_t>(f.rows, 1) : f.rows + r;
    const Measured m = session({i});
    latencies.push_back(m.seconds);
    single_bytes = m.bytes;
  }
  const double latency_ms = Median(latencies) * 1e3;

  // Throughput: batches of B identifiers, half present.
  double batch_total = 0;
  uint64_t batch_bytes = 0;
  for (uint64_t b = 0; b < f.batches; ++b) {
    std::vector<uint64_t> which;
    for (uint64_t j = 0; j < f.batch; ++j) {
      const uint64_t salt = (b * f.batch + j) * 2654435761u;
      which.push_back(j % 2 == 0 && f.rows > 0 ? salt % f.rows : f.rows + salt % 1000003);
    }
    const Measured m = session(which);
    batch_total += m.seconds;
    batch_bytes += m.bytes;
  }
  provider.join();
  if (!provider_status.ok()) Die("provider: " + std::string(provider_status.message()));
  const double batch_s = batch_total / static_cast<double>(f.batches);
  const double per_batch_mb = static_cast<double>(batch_bytes) / f.batches / 1e6;
  // Distinct buckets a batch of B uniformly spread ids touches on average.
  const double buckets_touched =
      table.buckets() * (1 - std::pow(1 - 1.0 / table.buckets(), static_cast<double>(f.batch)));

  std::sort(latencies.begin(), latencies.end());
  std::printf("latency:      %.2f ms median for 1 identifier (%llu runs, %.2f..%.2f ms)\n",
              latency_ms, static_cast<unsigned long long>(f.runs), latencies.front() * 1e3,
              latencies.back() * 1e3);
  std::printf("              %.1f KB per query (one padded bucket of %u entries)\n",
              single_bytes / 1e3, table.bucket_entries());
  std::printf(
      "batch:        %llu identifiers in %.3f s: %.0f identifiers/s, %.2f batches/s (%llu "
      "batches)\n",
      static_cast<unsigned long long>(f.batch), batch_s, static_cast<double>(f.batch) / batch_s,
      1 / batch_s, static_cast<unsigned long long>(f.batches));
  std::printf(
      "              %.1f MB per batch, %.1f KB per identifier; ~%.0f of %u buckets touched "
      "(each sent once): %.0f%% of the table\n",
      per_batch_mb, per_batch_mb * 1e3 / static_cast<double>(f.batch), buckets_touched,
      table.buckets(), 100 * buckets_touched / table.buckets());
  std::printf("peak RSS:     %.0f MB (both parties, the rows and the prepared table)\n",
              PeakRssMb());
  std::printf("query rows=%llu k=%llu latency_ms=%.2f batch_per_s=%.3f prepare_s=%.2f\n",
              static_cast<unsigned long long>(f.rows), static_cast<unsigned long long>(f.k),
              latency_ms, 1 / batch_s, prepare_s);
  return 0;
}
