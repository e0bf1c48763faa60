// deploy/bench.sh audit [--records N] [--queries Q] [--replay-entries E] [--dir DIR]
//
// 1. Builds a LevelDB ledger store (ledger/store.h) holding N usage records, written directly:
//    each record goes through contracts::WriteUsageRecord — the code the usage.record handler
//    runs, so the same record and index keys — into WriteBatches of the store's "S" state keys,
//    without transactions, signatures, blocks or Merkle nodes (10^7 signed transactions would
//    take hours here). Records get log indexes with gaps and block times that never go back
//    (about one year), 50 providers, 200 consumers, 500 products, 12 purposes, 6 operations
//    and 2% violations over 6 terms.
// 2. Times Q first pages (page size 100) of node::FindUsageRecords — Audit.ListUsage's core
//    without gRPC and authentication — for filters drawn as an auditor drills down: the values
//    of a random record's fields (1 to 3 of them, sometimes a violated term) and, for half, a
//    time window of 1 to 90 days around it. p50/p99 of wall and CPU time.
// 3. Replays a small real ledger with `tds audit replay`'s core (cli::Replay with re-execution)
//    served by an in-process node: E signed evidence anchors, in blocks of 500; records/s.
// Last line: audit records=N p50_ms=.. p99_ms=.. replay_per_s=..

#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/config.h"
#include "common/file.h"
#include "common/keys.h"
#include "common/period.h"
#include "common/sha256.h"
#include "contracts/contract_state.h"
#include "evidence/evidence.h"
#include "ledger/genesis.h"
#include "ledger/store.h"
#include "leveldb/db.h"
#include "leveldb/write_batch.h"
#include "node/paged_scan.h"
#include "node/server.h"
#include "node/usage_listing.h"
#include "sdk/cli/audit_replay.h"
#include "sdk/client.h"

namespace tds {
namespace {

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "audit_bench: %s\n", what.c_str());
  std::exit(1);
}

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

double ThreadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);  // the querying thread only
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

std::string LoadAverage() {
  double load[3] = {0, 0, 0};
  if (getloadavg(load, 3) != 3) return "?";
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.2f %.2f %.2f", load[0], load[1], load[2]);
  return buf;
}

// State writes into a LevelDB batch, as the committer stores them ("S" + key). Write-only.
class BatchStateWriter : public ledger::StateWriter {
 public:
  explicit BatchStateWriter(leveldb::WriteBatch* batch) : batch_(batch) {}
  absl::StatusOr<std::optional<std::string>> Get(std::string_view) const override {
    return absl::UnimplementedError("BatchStateWriter is write-only");
  }
  absl::Status Scan(std::string_view, std::string_view, size_t,
                    const std::function<bool(std::string_view, std::string_view)>&) const override {
    return absl::UnimplementedError("BatchStateWriter is write-only");
  }
  void Put(std::string_view key, std::string_view value) override {
    batch_->Put(ledger::StateKey(key), leveldb::Slice(value.data(), value.size()));
  }
  void Delete(std::string_view key) override { batch_->Delete(ledger::StateKey(key)); }

 private:
  leveldb::WriteBatch* batch_;
};

constexpr int kProviders = 50, kConsumers = 200, kProducts = 500, kPurposes = 12, kOperations = 6,
              kTerms = 6;
constexpr int64_t kT0 = 1'735'689'600'000;  // 2025-01-01T00:00:00Z
constexpr int64_t kDay = 86'400'000;

std::string Name(const char* what, int i) { return absl::StrCat(what, "-", i); }

// Record i of the synthetic history (deterministic in i).
tds::UsageRecordState MakeRecord(uint64_t i, uint64_t total, std::mt19937_64& rng) {
  tds::UsageRecordState r;
  r.set_index(2 * i + 1);  // other transactions between usage records
  const int product = static_cast<int>(rng() % kProducts);
  const int consumer = static_cast<int>(rng() % kConsumers);
  r.set_product_id(Name("prod", product));
  r.set_provider(Name("prov", product % kProviders));
  r.set_consumer(Name("cons", consumer));
  r.set_contract_id(absl::StrCat("c-", product, "-", consumer));
  r.set_purpose(Name("purpose", static_cast<int>(rng() % kPurposes)));
  r.set_operation(Name("op", static_cast<int>(rng() % kOperations)));
  r.add_columns("income");
  r.add_columns("age");
  // About one year; 10 records per block share its time.
  const int64_t time = kT0 + static_cast<int64_t>((i / 10) * (365 * kDay / (total / 10 + 1)));
  r.set_block_time_ms(time);
  r.set_height(i / 10 + 1);
  r.set_period(PeriodOf(time));
  std::string txid(32, '\0');
  for (int b = 0; b < 8; ++b) txid[b] = static_cast<char>(i >> (8 * b));
  r.set_txid(txid);
  r.set_request_digest(std::string(32, 'd'));
  tds::Measurement* m = r.mutable_measurement();
  m->set_rows_in(1000);
  m->set_rows_out(10 + rng() % 100);
  m->set_compute_ms(50);
  m->set_started_ms(time - 200);
  m->set_ended_ms(time - 150);
  m->set_result_digest(std::string(32, 'r'));
  if (rng() % 50 == 0) r.add_violations()->set_term(Name("term", static_cast<int>(rng() % kTerms)));
  return r;
}

void BuildStore(ledger::Store& store, uint64_t n) {
  const auto t = std::chrono::steady_clock::now();
  std::mt19937_64 rng(1);
  constexpr uint64_t kBatch = 20'000;
  for (uint64_t first = 0; first < n; first += kBatch) {
    leveldb::WriteBatch batch;
    BatchStateWriter writer(&batch);
    for (uint64_t i = first; i < std::min(n, first + kBatch); ++i) {
      contracts::WriteUsageRecord(writer, MakeRecord(i, n, rng));
    }
    if (absl::Status s = store.Write(&batch, false); !s.ok()) Die(std::string(s.message()));
    if ((first / kBatch) % 50 == 49) {
      std::printf("  ... %llu records (%.0f s)\n", static_cast<unsigned long long>(first + kBatch),
                  Seconds(t));
      std::fflush(stdout);
    }
  }
  std::printf("  built %llu usage records in %.1f s (%.0f records/s, direct batched writes)\n",
              static_cast<unsigned long long>(n), Seconds(t), n / Seconds(t));
}

double Percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

struct QueryFigures {
  double p50_ms = 0, p99_ms = 0, cpu_p50_ms = 0, cpu_p99_ms = 0;
};

QueryFigures TimeQueries(const ledger::StateReader& state, uint64_t n, int queries) {
  std::mt19937_64 rng(7);
  std::vector<double> wall, cpu;
  std::vector<std::pair<double, std::string>> slowest;  // ms, filter
  size_t rows = 0, full = 0, short_with_more = 0;
  for (int q = 0; q < queries; ++q) {
    // A random record's field values.
    const uint64_t pick = rng() % n;
    auto raw = contracts::ReadUsageRecord(state, 2 * pick + 1);
    if (!raw.ok() || !raw->has_value()) Die("sampled record missing");
    const tds::UsageRecordState& r = **raw;
    node::UsageFilter f;
    std::vector<int> fields = {0, 1, 2, 3, 4, 5, 6};
    std::shuffle(fields.begin(), fields.end(), rng);
    const int k = 1 + static_cast<int>(rng() % 3);
    for (int j = 0; j < k; ++j) {
      switch (fields[j]) {
        case 0:
          f.provider = r.provider();
          break;
        case 1:
          f.consumer = r.consumer();
          break;
        case 2:
          f.product_id = r.product_id();
          break;
        case 3:
          f.contract_id = r.contract_id();
          break;
        case 4:
          f.purpose = r.purpose();
          break;
        case 5:
          f.operation = r.operation();
          break;
        case 6:
          if (r.violations_size() > 0 && rng() % 2 == 0) {
            f.violated_term = r.violations(0).term();
          } else {
            f.violations_only = true;
          }
          break;
      }
    }
    if (rng() % 2 == 0) {
      const int64_t window = kDay * static_cast<int64_t>(1 + rng() % 90);
      f.from_ms = std::max<int64_t>(1, r.block_time_ms() - window / 2);
      f.to_ms = f.from_ms + window;
    }
    const double c0 = ThreadCpuSeconds();
    const auto t0 = std::chrono::steady_clock::now();
    absl::StatusOr<node::UsagePage> page =
        node::FindUsageRecords(state, f, 0, 100, node::kScanBudget, nullptr);
    const double w = Seconds(t0) * 1e3;
    const double c = (ThreadCpuSeconds() - c0) * 1e3;
    if (!page.ok()) Die(std::string(page.status().message()));
    std::string what = absl::StrCat(
        f.provider.empty() ? "" : " provider", f.consumer.empty() ? "" : " consumer",
        f.product_id.empty() ? "" : " product", f.contract_id.empty() ? "" : " contract",
        f.purpose.empty() ? "" : " purpose", f.operation.empty() ? "" : " operation",
        f.violations_only ? " violations" : "", f.violated_term.empty() ? "" : " term",
        f.from_ms == 0 ? "" : absl::StrCat(" window ", (f.to_ms - f.from_ms) / kDay, "d"));
    slowest.push_back({w, absl::StrCat(what, ": ", page->records.size(), " records",
                                       page->resume_at.has_value() ? ", more" : "")});
    wall.push_back(w);
    cpu.push_back(c);
    rows += page->records.size();
    full += page->records.size() == 100 ? 1 : 0;
    short_with_more += page->records.size() < 100 && page->resume_at.has_value() ? 1 : 0;
  }
  QueryFigures fig{Percentile(wall, 0.5), Percentile(wall, 0.99), Percentile(cpu, 0.5),
                   Percentile(cpu, 0.99)};
  std::printf(
      "  %d filtered first pages (limit 100): %zu records, %zu full pages, %zu short pages cut "
      "by the seek budget\n",
      queries, rows, full, short_with_more);
  std::sort(slowest.rbegin(), slowest.rend());
  for (size_t i = 0; i < std::min<size_t>(3, slowest.size()); ++i) {
    std::printf("  slowest: %.1f ms for%s\n", slowest[i].first, slowest[i].second.c_str());
  }
  std::printf("  wall p50 %.2f ms  p99 %.2f ms   CPU p50 %.2f ms  p99 %.2f ms   (load %s)\n",
              fig.p50_ms, fig.p99_ms, fig.cpu_p50_ms, fig.cpu_p99_ms, LoadAverage().c_str());
  return fig;
}

// Replays a real ledger of `entries` signed anchors served by an in-process validator.
double ReplayRate(const std::string& dir, int entries) {
  auto key = [](uint8_t b) {
    return std::move(SigningKey::FromSeed(std::string(32, static_cast<char>(b)))).value();
  };
  const std::unique_ptr<SigningKey> node_key = key(1), bank_key = key(2);
  absl::StatusOr<std::string> genesis_json = ledger::BuildGenesisJson(
      "audit-bench.tds.test", {"node:validator:" + node_key->public_key().hex(),
                               "bank:consumer:" + bank_key->public_key().hex()});
  if (!genesis_json.ok()) Die(std::string(genesis_json.status().message()));
  std::filesystem::create_directories(dir);
  if (!WriteFileAtomic(dir + "/genesis.json", *genesis_json).ok() ||
      !node_key->WriteToFile(dir + "/node.key").ok()) {
    Die("cannot write the replay node's files in " + dir);
  }
  tds::NodeConfig config;
  config.set_data(dir + "/data");
  config.set_genesis(dir + "/genesis.json");
  config.set_key(dir + "/node.key");
  config.set_listen("127.0.0.1:0");
  config.set_insecure_dev(true);
  if (absl::Status s = node::FinalizeConfig(&config); !s.ok()) Die(std::string(s.message()));
  absl::StatusOr<std::unique_ptr<node::Server>> server = node::Server::Start(config);
  if (!server.ok()) Die(std::string(server.status().message()));
  sdk::ClientOptions options;
  options.address = (*server)->address();
  options.insecure_dev = true;
  options.timeout_ms = 60000;
  absl::StatusOr<std::unique_ptr<sdk::LedgerClient>> client = sdk::LedgerClient::Connect(options);
  if (!client.ok()) Die(std::string(client.status().message()));
  for (int first = 0; first < entries; first += 500) {
    std::vector<std::string> envelopes;
    for (int i = first; i < std::min(entries, first + 500); ++i) {
      auto body = evidence::MakeAnchorBody(Sha256(absl::StrCat("doc ", i)), "log", {});
      if (!body.ok()) Die(std::string(body.status().message()));
      envelopes.push_back(
          sdk::BuildTransaction(*bank_key, "bank", std::string(evidence::kAnchorTxType), *body));
    }
    auto acks = (*client)->SubmitBatch(envelopes);
    if (!acks.ok()) Die(std::string(acks.status().message()));
  }
  absl::StatusOr<std::unique_ptr<cli::LedgerSource>> source = cli::ConnectLedgerSource(options);
  if (!source.ok()) Die(std::string(source.status().message()));
  absl::StatusOr<ledger::GenesisInfo> genesis =
      ledger::GenesisInfo::Parse(*genesis_json, "genesis.json");
  if (!genesis.ok()) Die(std::string(genesis.status().message()));
  const std::unique_ptr<ledger::Application> app = cli::NodeApplication();
  cli::ReplayOptions o;
  o.app = app.get();
  o.scratch_dir = dir + "/scratch";
  absl::StatusOr<cli::ReplaySummary> r = cli::Replay(**source, *genesis, o);
  if (!r.ok()) Die("replay: " + std::string(r.status().message()));
  const double rate = r->seconds > 0 ? static_cast<double>(r->records) / r->seconds : 0;
  std::printf(
      "  replay with re-execution: %llu records in %llu blocks, %.2f s wall, %.2f s CPU -> %.0f "
      "records/s (load %s)\n",
      static_cast<unsigned long long>(r->records), static_cast<unsigned long long>(r->blocks),
      r->seconds, r->cpu_seconds, rate, LoadAverage().c_str());
  return rate;
}

int Main(int argc, char** argv) {
  uint64_t records = 10'000'000;
  int queries = 200, replay_entries = 10'000;
  std::string dir;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) Die(a + " needs a value");
      return argv[++i];
    };
    if (a == "--records") {
      records = std::stoull(next());
    } else if (a == "--queries") {
      queries = std::stoi(next());
    } else if (a == "--replay-entries") {
      replay_entries = std::stoi(next());
    } else if (a == "--dir") {
      dir = next();
    } else {
      Die("unknown flag " + a +
          " (flags: --records N, --queries Q, --replay-entries E, --dir DIR to keep the store)");
    }
  }
  if (records < 10 || queries < 1 || replay_entries < 1) Die("counts must be positive");
  const bool keep = !dir.empty();
  if (!keep) {
    std::string tmpl = (std::filesystem::temp_directory_path() / "tds-audit-bench-XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr) Die("mkdtemp failed");
    dir = tmpl;
  }
  std::printf("audit bench: %llu usage records in %s (load %s)\n",
              static_cast<unsigned long long>(records), dir.c_str(), LoadAverage().c_str());
  std::filesystem::create_directories(dir);
  const std::string store_dir = dir + "/store";
  const bool exists = std::filesystem::exists(store_dir + "/CURRENT");
  QueryFigures fig;
  {
    absl::StatusOr<std::unique_ptr<ledger::Store>> store = ledger::Store::Open(store_dir);
    if (!store.ok()) Die(std::string(store.status().message()));
    if (exists) {
      std::printf("  reusing the store in %s (built with the same --records)\n", store_dir.c_str());
    } else {
      BuildStore(**store, records);
    }
    fig = TimeQueries((*store)->state(), records, queries);
  }
  const double replay = ReplayRate(dir + "/replay", replay_entries);
  std::filesystem::remove_all(dir + "/replay");
  if (!keep) std::filesystem::remove_all(dir);
  std::printf("audit records=%llu p50_ms=%.2f p99_ms=%.2f replay_per_s=%.0f\n",
              static_cast<unsigned long long>(records), fig.p50_ms, fig.p99_ms, replay);
  return 0;
}

}  // namespace
}  // namespace tds

int main(int argc, char** argv) { return tds::Main(argc, argv); }
