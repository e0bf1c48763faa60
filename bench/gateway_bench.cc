// gateway_bench: what metering adds to a computation.
//
//   gateway_bench [--n RUNS] [--rows PROVIDER_ROWS] [--items CONSUMER_IDS] [--warmup W]
//
// One process: a real ledger (sync on: every block fsynced before it is acknowledged), the
// metered gateway (node/gateway) behind the Compute service on a loopback gRPC server, and the
// SDK's compute client as the consumer. The same joint-statistics computation — ECDH-PSI with
// output "both" over --rows provider rows and --items consumer ids (half of them shared), then
// count, sum, mean and a histogram of the matched rows' income — runs --n times in three ways,
// in an order that rotates every iteration:
//
//   direct   the BYPASS, which exists only in this binary and never in the node: the same
//            source scan, both PSI parties over an in-memory link, ComputeStats; no gate, no
//            gRPC, no ledger;
//   batched  through the gateway, under a contract metered METERING_BATCHED;
//   strict   through the gateway, under a contract metered METERING_STRICT (usage.reserve
//            committing while the computation runs, usage.record committed before release).
//
// The added latency of a gateway run is its wall time minus the direct run's of the same
// iteration; the figures are p50 and p99 of those differences. commit is the submit→ack time of
// the strict runs' usage.record as the gateway measured it (one ledger commit). Targets:
// batched adds at most 1 ms at p50; strict adds no more than one commit.
// Last line: "gateway batched_p50_ms=<ms> strict_p50_ms=<ms> commit_p50_ms=<ms>
// batched_p99_ms=<ms> strict_p99_ms=<ms>".

#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "compute/link.h"
#include "compute/psi/ecdh_psi.h"
#include "compute/stats/stats.h"
#include "contracts/contracts.h"
#include "contracts/usage_testing.h"
#include "grpcpp/grpcpp.h"
#include "ledger/genesis.h"
#include "ledger/ledger.h"
#include "node/connectors/data_source.h"
#include "node/gateway/compute_service.h"
#include "node/gateway/gateway.h"
#include "node/gateway/product_sources.h"
#include "sdk/compute_client.h"
#include "spdlog/spdlog.h"

namespace tds::bench {
namespace {

namespace ut = contracts::usage_testing;
using Clock = std::chrono::steady_clock;

constexpr int64_t kDay = 86'400'000;
constexpr char kProduct[] = "income-features";

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "gateway_bench: %s\n", what.c_str());
  std::exit(1);
}

struct Flags {
  uint64_t n = 200;
  uint64_t rows = 1000;
  uint64_t items = 1000;
  uint64_t warmup = 5;
};

uint64_t ParseCount(const std::string& flag, const char* v) {
  char* end = nullptr;
  errno = 0;
  const unsigned long long n = std::strtoull(v, &end, 10);
  if (errno != 0 || end == v || *end != '\0' || n > 100'000'000) {
    Die(flag + ": not a count: " + v);
  }
  return n;
}

Flags ParseFlags(int argc, char** argv) {
  Flags f;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (i + 1 >= argc) Die(arg + " needs a value");
    const char* v = argv[++i];
    if (arg == "--n") {
      f.n = ParseCount(arg, v);
    } else if (arg == "--rows") {
      f.rows = ParseCount(arg, v);
    } else if (arg == "--items") {
      f.items = ParseCount(arg, v);
    } else if (arg == "--warmup") {
      f.warmup = ParseCount(arg, v);
    } else {
      Die("unknown flag " + arg + " (flags: --n --rows --items --warmup)");
    }
  }
  if (f.n == 0) Die("--n must be at least 1");
  return f;
}

double MsSince(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

int64_t WallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Nearest-rank percentile.
double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t rank = static_cast<size_t>(std::ceil(p * static_cast<double>(v.size())));
  return v[std::min(v.size(), std::max<size_t>(rank, 1)) - 1];
}

std::vector<tds::StatSpec> Specs() {
  std::vector<tds::StatSpec> specs(4);
  const char* kinds[] = {"count", "sum", "mean", "histogram"};
  for (int i = 0; i < 4; ++i) {
    specs[i].set_kind(kinds[i]);
    specs[i].set_column("income");
  }
  specs[3].add_bounds("250000");
  specs[3].add_bounds("750000");
  return specs;
}

// The bypass: the gateway's computation with nothing around it, with the same overlap as a
// gateway run (the consumer starts masking while the provider scans its source).
double RunDirect(node::DataSource& source, const std::vector<std::string>& consumer_ids) {
  const Clock::time_point t0 = Clock::now();
  auto [sender_link, receiver_link] = compute::MemoryLinkPair();
  compute::psi::EcdhPsiOptions options;
  options.output = compute::psi::PsiOutput::kBoth;
  absl::StatusOr<compute::psi::PsiResult> received;
  std::thread receiver([&] {
    received = compute::psi::RunEcdhPsi(compute::psi::PsiRole::kReceiver, consumer_ids, options,
                                        *receiver_link);
  });
  std::vector<std::string> ids;
  compute::stats::ColumnValues income;
  absl::Status scanned =
      source.Scan({"id_hash", "income"}, 8192, [&](const std::vector<node::Row>& rows) {
        for (const node::Row& row : rows) {
          if (!row[0].has_value()) continue;
          ids.push_back(*row[0]);
          income.push_back(row[1]);
        }
        return true;
      });
  if (!scanned.ok()) Die(std::string(scanned.message()));
  absl::StatusOr<compute::psi::PsiResult> sent =
      compute::psi::RunEcdhPsi(compute::psi::PsiRole::kSender, ids, options, *sender_link);
  receiver.join();
  if (!sent.ok() || !received.ok()) {
    Die(absl::StrCat("direct psi: ", sent.status().ToString(), " / ",
                     received.status().ToString()));
  }
  compute::stats::Columns matched;
  for (uint64_t p : sent->matched) matched["income"].push_back(income[p]);
  absl::StatusOr<compute::stats::StatsOutput> stats =
      compute::stats::ComputeStats(Specs(), matched, 0);
  if (!stats.ok()) Die(std::string(stats.status().message()));
  return MsSince(t0);
}

tds::Terms BenchTerms(tds::MeteringMode mode, int64_t now) {
  tds::Terms t;
  t.add_operations("psi");
  t.add_operations("stats");
  t.add_purposes("credit_risk");
  t.add_columns("id_hash");
  t.add_columns("income");
  t.set_valid_from_ms(now - kDay);
  t.set_valid_until_ms(now + 365 * kDay);
  t.set_metering(mode);
  t.set_batched_max_delay_ms(kDay);
  t.set_psi_output("both");
  t.set_psi_protocol("ecdh");  // the bench measures the gateway around ECDH-PSI
  t.mutable_price()->set_currency("CNY");
  t.mutable_price()->set_per_call(1);
  return t;
}

tds::Product BenchProduct() {
  tds::Product p = ut::TestProduct(kProduct, ut::kProv);
  p.set_level(2);
  auto column = [&p](const char* name, const char* type) {
    tds::Column* c = p.add_schema();
    c->set_name(name);
    c->set_type(type);
    c->set_level(1);
  };
  column("id_hash", "string");
  column("income", "double");
  return p;
}

int Main(int argc, char** argv) {
  const Flags flags = ParseFlags(argc, argv);
  spdlog::set_level(spdlog::level::warn);  // per-run log lines would bury the figures
  std::string tmpl = (std::filesystem::temp_directory_path() / "tds-gateway-bench-XXXXXX").string();
  if (mkdtemp(tmpl.data()) == nullptr) Die("cannot create a temp dir");
  const std::string dir = tmpl;

  // The provider's data: id-i with income 1000·i + 0.5 (i < rows); the consumer holds
  // id-(rows - items/2) ...: half of its ids are shared.
  {
    std::ofstream csv(dir + "/income.csv");
    csv << "id_hash,income\n";
    for (uint64_t i = 0; i < flags.rows; ++i) csv << "id-" << i << "," << 1000 * i << ".5\n";
  }
  std::vector<std::string> consumer_ids;
  const uint64_t first = flags.rows >= flags.items / 2 ? flags.rows - flags.items / 2 : 0;
  for (uint64_t i = 0; i < flags.items; ++i) consumer_ids.push_back(absl::StrCat("id-", first + i));

  // The ledger: this node is the validator and the provider; "bank" consumes.
  auto genesis_json = ledger::BuildGenesisJson(
      "tds.bench/gateway",
      {absl::StrCat(ut::kProv.id,
                    ":validator,provider:", ut::KeyFromByte(ut::kProv.key)->public_key().hex()),
       absl::StrCat(ut::kBank.id,
                    ":consumer:", ut::KeyFromByte(ut::kBank.key)->public_key().hex())});
  if (!genesis_json.ok()) Die(genesis_json.status().ToString());
  auto genesis = ledger::GenesisInfo::Parse(*genesis_json, "bench-genesis");
  if (!genesis.ok()) Die(genesis.status().ToString());
  ledger::Application app;
  contracts::Register(app);
  ut::RegisterSeedHandlers(app);
  ledger::LedgerOptions ledger_options;
  ledger_options.data_dir = dir + "/ledger";
  ledger_options.sync = true;
  auto opened = ledger::Ledger::Open(ledger_options, *std::move(genesis),
                                     ut::KeyFromByte(ut::kProv.key), &app);
  if (!opened.ok()) Die(opened.status().ToString());
  std::unique_ptr<ledger::Ledger> ledger = *std::move(opened);
  uint64_t tx_nonce = 0;
  auto seed = [&](std::string_view type, const std::string& body) {
    tds::Transaction tx;
    tx.set_type(std::string(type));
    tx.set_submitter(ut::kProv.id);
    tx.set_body(body);
    tx.set_nonce(++tx_nonce);
    auto ack = ledger->SubmitAndWait(
        SealEnvelope(*ut::KeyFromByte(ut::kProv.key), kTxContext, tx.SerializeAsString()));
    if (!ack.ok()) Die(ack.status().ToString());
  };
  const int64_t now = WallMs();
  seed(ut::kSeedProductTx, BenchProduct().SerializeAsString());
  for (auto [id, mode] : {std::pair{"c-batched", tds::METERING_BATCHED},
                          std::pair{"c-strict", tds::METERING_STRICT}}) {
    seed(ut::kSeedContractTx,
         ut::ActiveContract(id, kProduct, ut::kProv, ut::kBank, BenchTerms(mode, now), now - kDay)
             .SerializeAsString());
  }

  // The gateway, as tdsd runs it, on a loopback gRPC server.
  tds::DataSourceConfig source_config;
  source_config.set_product(kProduct);
  source_config.set_kind("csv");
  source_config.set_path(dir + "/income.csv");
  source_config.set_id_column("id_hash");
  auto bypass_source = node::OpenDataSource(source_config);  // the bypass's own
  auto gateway_source = node::OpenDataSource(source_config);
  if (!bypass_source.ok() || !gateway_source.ok()) Die("cannot open the CSV source");
  node::gateway::ProductSources sources;
  sources.Add(source_config, *std::move(gateway_source));
  std::mutex commits_mu;
  std::vector<double> commits_ms;
  std::vector<double> node_batched_ms, node_strict_ms;  // the gateway's own view of a run
  bool recording = false;
  node::gateway::GatewayOptions options;
  options.key = std::shared_ptr<const SigningKey>(ut::KeyFromByte(ut::kProv.key));
  options.on_run = [&](const node::gateway::RunReport& r) {
    std::lock_guard<std::mutex> lock(commits_mu);
    if (!recording || !r.recorded) return;
    (r.strict ? node_strict_ms : node_batched_ms).push_back(r.total_us / 1000.0);
    if (r.strict) commits_ms.push_back(r.record_commit_us / 1000.0);
  };
  node::gateway::Gateway gateway(ledger.get(), &sources, std::move(options));
  node::gateway::ComputeService service(&gateway);
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) Die("cannot listen on 127.0.0.1");
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 << 20);
  auto channel = grpc::CreateCustomChannel(absl::StrCat("127.0.0.1:", port),
                                           grpc::InsecureChannelCredentials(), args);
  const std::unique_ptr<SigningKey> bank_key = ut::KeyFromByte(ut::kBank.key);
  tds::PsiParams params;
  params.set_output("both");
  params.set_items(consumer_ids.size());
  for (const tds::StatSpec& s : Specs()) *params.add_stats() = s;
  uint64_t expected_size = 0;
  auto run_gateway = [&](const char* contract_id) {
    const Clock::time_point t0 = Clock::now();
    absl::StatusOr<sdk::PsiRunResult> r = sdk::RunPrepared(
        channel, 60'000,
        sdk::PreparePsi(*bank_key, ut::kBank.id, contract_id, "credit_risk", params), consumer_ids);
    const double ms = MsSince(t0);
    if (!r.ok()) Die(absl::StrCat(contract_id, ": ", r.status().ToString()));
    if (expected_size == 0) expected_size = r->intersection_size;
    if (r->intersection_size != expected_size || r->stats.size() != 4) {
      Die(absl::StrCat(contract_id, ": unexpected result"));
    }
    return ms;
  };

  std::printf(
      "gateway bench: %llu runs each of PSI(both) %llu provider rows x %llu consumer ids "
      "+ 4 statistics; ledger sync on; %u hardware threads\n",
      static_cast<unsigned long long>(flags.n), static_cast<unsigned long long>(flags.rows),
      static_cast<unsigned long long>(flags.items), std::thread::hardware_concurrency());
  std::vector<double> direct, batched, strict, added_batched, added_strict;
  for (uint64_t i = 0; i < flags.warmup + flags.n; ++i) {
    const bool measured = i >= flags.warmup;
    {
      std::lock_guard<std::mutex> lock(commits_mu);
      recording = measured;
    }
    double d = 0, b = 0, s = 0;
    // Rotate the order so no way always runs first (cold caches) or last.
    for (int k = 0; k < 3; ++k) {
      switch ((i + k) % 3) {
        case 0:
          d = RunDirect(**bypass_source, consumer_ids);
          break;
        case 1:
          b = run_gateway("c-batched");
          break;
        default:
          s = run_gateway("c-strict");
          break;
      }
    }
    if (!measured) continue;
    direct.push_back(d);
    batched.push_back(b);
    strict.push_back(s);
    added_batched.push_back(b - d);
    added_strict.push_back(s - d);
  }
  server->Shutdown();

  std::vector<double> commits, node_batched, node_strict;
  {
    std::lock_guard<std::mutex> lock(commits_mu);
    commits = commits_ms;
    node_batched = node_batched_ms;
    node_strict = node_strict_ms;
  }
  const double batched_p50 = Percentile(added_batched, 0.5);
  const double strict_p50 = Percentile(added_strict, 0.5);
  const double commit_p50 = Percentile(commits, 0.5);
  std::printf("intersection %llu of %llu consumer ids\n",
              static_cast<unsigned long long>(expected_size),
              static_cast<unsigned long long>(consumer_ids.size()));
  std::printf("%-22s %10s %10s\n", "ms", "p50", "p99");
  auto row = [](const char* what, const std::vector<double>& v) {
    std::printf("%-22s %10.3f %10.3f\n", what, Percentile(v, 0.5), Percentile(v, 0.99));
  };
  row("direct (bypass)", direct);
  row("gateway batched", batched);
  row("gateway strict", strict);
  row("  node side, batched", node_batched);
  row("  node side, strict", node_strict);
  row("added by batched", added_batched);
  row("added by strict", added_strict);
  row("usage.record commit", commits);
  std::printf("target batched adds <= 1 ms at p50: %.3f ms (%s)\n", batched_p50,
              batched_p50 <= 1.0 ? "met" : "NOT met");
  std::printf("target strict adds <= one commit (%.3f ms) at p50: %.3f ms (%s)\n", commit_p50,
              strict_p50, strict_p50 <= commit_p50 ? "met" : "NOT met");
  std::printf(
      "gateway batched_p50_ms=%.3f strict_p50_ms=%.3f commit_p50_ms=%.3f batched_p99_ms=%.3f "
      "strict_p99_ms=%.3f\n",
      batched_p50, strict_p50, commit_p50, Percentile(added_batched, 0.99),
      Percentile(added_strict, 0.99));
  std::fflush(stdout);

  server.reset();
  ledger.reset();
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  return 0;
}

}  // namespace
}  // namespace tds::bench

int main(int argc, char** argv) { return tds::bench::Main(argc, argv); }
