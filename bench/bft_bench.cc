// bft_bench: usage-record throughput of N validators ordering blocks by BFT consensus, each a
// real tdsd process on 127.0.0.1 (run by `deploy/bench.sh bft`).
//
//   bft_bench [--validators N] [--txs T] [--clients C] [--window W]
//
// Set-up (not timed): a genesis with validators v1..vN, a provider "prov" and a consumer
// "bank"; N tdsd --insecure-dev processes with sync on (every block fsynced before its acks),
// each given the fixed addresses of the others (--peer). prov publishes a product, bank
// requests a contract, prov accepts the digest it reads back: the contract is ACTIVE. Then T
// usage records are signed (bank signs each UsageRequest with a fresh nonce, prov signs the
// usage.record transaction).
// Timed: C clients, client i submitting its share to validator i % N with W Submits in flight;
// each Submit is answered once its block is committed on that validator. Figures: committed
// tx/s (acks over wall time), submit-to-ack latency, CPU of every tdsd (/proc/PID/stat) per
// committed tx, with a per-thread breakdown. Finally every validator must report the same
// height, log root and state digest.
// Last line: "bft validators=N tx_per_s=.. p50_ms=.. p99_ms=.. cpu_ms_per_tx=..".

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "CLI/CLI.hpp"
#include "bench/bench_util.h"
#include "common/bytes.h"
#include "common/config.h"
#include "common/ed25519.h"
#include "common/file.h"
#include "common/keys.h"
#include "grpcpp/grpcpp.h"
#include "ledger/genesis.h"
#include "proto/catalog.pb.h"
#include "proto/contracts.pb.h"
#include "proto/ledger_service.grpc.pb.h"
#include "sdk/client.h"
#include "sdk/query_client.h"
#include "sdk/tx_builders.h"

namespace tds::bench {
namespace {

struct Flags {
  std::string tdsd;
  int validators = 4;
  int txs = 30000;
  int clients = 8;
  int window = 64;
  double max_seconds = 120;
  int max_block_txs = 0;         // 0: tdsd's default
  int consensus_timeout_ms = 0;  // 0: tdsd's default
  bool keep = false;
};

constexpr char kOrigin[] = "tds-bft-bench";
constexpr char kProductId[] = "bft-usage";
constexpr char kProvider[] = "prov";
constexpr char kConsumer[] = "bank";
constexpr char kRecorded[] = "recorded";  // usage.record's result without violations
constexpr int64_t kDayMs = 86'400'000;

// The provider's product: level 3, psi and stats over (tax_id, income), batched metering so a
// record needs no reservation.
constexpr char kProductYaml[] = R"(
id: bft-usage
title: Income records (bft_bench)
description: Declared incomes by tax id
tags: [income]
level: 3
update_cadence: monthly
operations: [psi, stats]
schema:
  - {name: tax_id, type: string, level: 3}
  - {name: income, type: int64, level: 2}
offer:
  operations: [psi, stats]
  purposes: [credit_risk]
  columns: [tax_id, income]
  metering: METERING_BATCHED
  batched_max_delay_ms: 86400000
  price: {currency: CNY, per_call: 100}
)";

// The bank's terms; the window is set around the current time.
constexpr char kTermsYaml[] = R"(
operations: [psi]
purposes: [credit_risk]
columns: [income]
metering: METERING_BATCHED
batched_max_delay_ms: 86400000
price: {currency: CNY, per_call: 100}
)";

template <typename M>
M FromYaml(const char* yaml, const std::string& name) {
  M m;
  Check(ParseConfigText(yaml, name, /*yaml=*/true, &m), name);
  return m;
}

int64_t WallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string ShortHex(const std::string& bytes) { return HexEncode(bytes).substr(0, 16); }

struct Party {
  std::string id;
  std::unique_ptr<SigningKey> key;
};

// Submits one transaction signed by `who` and waits for its commit; returns the result bytes.
std::string SubmitOrDie(sdk::LedgerClient& client, const Party& who, const sdk::TxBody& tx) {
  absl::StatusOr<tds::SubmitResponse> ack =
      client.Submit(sdk::BuildTransaction(*who.key, who.id, tx.type, tx.body));
  return Check(std::move(ack), tx.type).result();
}

// Signs `count` usage records of `contract_id` on all cores: the consumer's request (fresh
// random nonce) and the provider's usage.record around it.
std::vector<std::string> SignUsageRecords(const Party& provider, const Party& consumer,
                                          const std::string& contract_id, int count,
                                          unsigned threads) {
  std::vector<std::string> out(static_cast<size_t>(count));
  const int64_t started_ms = WallMs() - 2000;
  std::vector<std::thread> workers;
  for (unsigned t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      tds::Measurement m;
      m.set_rows_in(1000);
      m.set_rows_out(10);
      m.set_bytes_in(64'000);
      m.set_bytes_out(640);
      m.set_compute_ms(50);
      m.set_result_digest(std::string(32, 'r'));
      m.set_started_ms(started_ms);
      m.set_ended_ms(started_ms + 50);
      for (size_t i = t; i < out.size(); i += threads) {
        const std::string request =
            sdk::BuildUsageRequest(*consumer.key, consumer.id, contract_id, "psi", "credit_risk",
                                   {"income"}, std::string(32, 'p'), /*nonce=*/"");
        const sdk::TxBody tx = sdk::RecordUsage(request, m);
        out[i] = sdk::BuildTransaction(*provider.key, provider.id, tx.type, tx.body);
      }
    });
  }
  for (std::thread& w : workers) w.join();
  return out;
}

// Wall time of one single (unbatched, uncached) Ed25519 verification on this (otherwise idle)
// thread, in us, median of 5 rounds of 200: the machine's speed, which drifts on a shared host.
double VerifyMicros(const SigningKey& key) {
  const std::string message(300, 'm');
  const std::string signature = key.Sign(message);
  const ed25519::Item item{key.public_key().bytes(), message, signature};
  std::vector<double> rounds;
  bool ok = true;
  for (int r = 0; r < 5; ++r) {
    const Clock::time_point t0 = Clock::now();
    for (int i = 0; i < 200; ++i) ok = ed25519::Verify(item) && ok;
    rounds.push_back(Seconds(Clock::now() - t0) * 1e6 / 200);
  }
  if (!ok) Die("Ed25519 self-check failed");
  return Percentile(rounds, 0.5);
}

tds::GetStatusResponse StatusOf(tds::Ledger::Stub& stub) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  tds::GetStatusResponse st;
  grpc::Status s = stub.GetStatus(&ctx, tds::GetStatusRequest(), &st);
  if (!s.ok()) Die("GetStatus: " + s.error_message());
  return st;
}

// CPU seconds of each node and of each of its threads, and of this process.
struct CpuSample {
  std::vector<double> process;
  std::vector<std::map<pid_t, ThreadCpu>> threads;
  double self = 0;
  double machine = 0;
};

CpuSample SampleCpu(const std::vector<std::unique_ptr<NodeProcess>>& nodes) {
  CpuSample s;
  for (const auto& n : nodes) {
    s.process.push_back(Check(ProcessCpuSeconds(n->pid()), "reading /proc of tdsd"));
    s.threads.push_back(ThreadCpuSeconds(n->pid()));
  }
  s.self = SelfCpuSeconds();
  s.machine = MachineBusyCpuSeconds();
  return s;
}

// "busiest thread <name> 1.23 s; by name: <name> 2.34 s (3 threads), ..." between two samples.
std::string ThreadBreakdown(const std::map<pid_t, ThreadCpu>& before,
                            const std::map<pid_t, ThreadCpu>& after) {
  std::map<std::string, std::pair<double, int>> by_name;
  std::pair<double, std::string> busiest{0, ""};
  for (const auto& [tid, t] : after) {
    auto it = before.find(tid);
    const double d = t.seconds - (it == before.end() ? 0 : it->second.seconds);
    if (d < 0.005) continue;
    by_name[t.name].first += d;
    by_name[t.name].second += 1;
    busiest = std::max(busiest, {d, t.name});
  }
  std::vector<std::pair<double, std::string>> order;
  for (const auto& [name, v] : by_name) order.emplace_back(v.first, name);
  std::sort(order.rbegin(), order.rend());
  char buf[160];
  std::snprintf(buf, sizeof(buf), "busiest thread (%s) %.2f s; by name:", busiest.second.c_str(),
                busiest.first);
  std::string out = buf;
  for (const auto& [cpu, name] : order) {
    std::snprintf(buf, sizeof(buf), " %s %.2f s (%d)", name.c_str(), cpu, by_name[name].second);
    out += buf;
  }
  return out;
}

int Run(Flags& f) {
  if (f.tdsd.empty()) f.tdsd = SelfDir() + "/tdsd";
  if (access(f.tdsd.c_str(), X_OK) != 0) Die("tdsd not found or not executable: " + f.tdsd);
  const int n = f.validators;
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());

  // --- Set-up: keys, genesis, and N validators at fixed addresses.
  TempDir temp("tds-bft-bench", f.keep);
  const std::string& dir = temp.path();
  std::vector<std::string> ids, specs;
  for (int i = 0; i < n; ++i) {
    ids.push_back("v" + std::to_string(i + 1));
    std::unique_ptr<SigningKey> key = SigningKey::Generate();
    Check(key->WriteToFile(dir + "/" + ids[i] + ".key"), "writing a validator key");
    specs.push_back(ids[i] + ":validator:" + key->public_key().hex());
  }
  Party provider{kProvider, SigningKey::Generate()};
  Party consumer{kConsumer, SigningKey::Generate()};
  specs.push_back(provider.id + ":provider:" + provider.key->public_key().hex());
  specs.push_back(consumer.id + ":consumer:" + consumer.key->public_key().hex());
  Check(WriteFileAtomic(dir + "/genesis.json",
                        Check(ledger::BuildGenesisJson(kOrigin, specs), "genesis")),
        "writing genesis");

  const std::vector<int> ports = PickFreePorts(n);
  std::vector<std::string> addresses;
  for (int p : ports) addresses.push_back("127.0.0.1:" + std::to_string(p));
  // Fork every node before any gRPC object exists in this process.
  std::vector<std::unique_ptr<NodeProcess>> nodes;
  for (int i = 0; i < n; ++i) {
    const std::string base = dir + "/" + ids[i];
    std::vector<std::string> args = {
        "--data",        base + "/data", "--genesis",  dir + "/genesis.json", "--key",
        base + ".key",   "--listen",     addresses[i], "--insecure-dev",      "--ready-file",
        base + ".ready", "--log-level",  "info"};
    for (int j = 0; j < n; ++j) {
      if (j != i) args.insert(args.end(), {"--peer", ids[j] + "=" + addresses[j]});
    }
    if (f.max_block_txs > 0) {
      args.insert(args.end(), {"--max-block-txs", std::to_string(f.max_block_txs)});
    }
    if (f.consensus_timeout_ms > 0) {
      args.insert(args.end(), {"--consensus-timeout-ms", std::to_string(f.consensus_timeout_ms)});
    }
    nodes.push_back(std::make_unique<NodeProcess>(f.tdsd, args, base + ".log"));
  }
  for (int i = 0; i < n; ++i) {
    const std::string at = WaitForReadyFile(*nodes[i], dir + "/" + ids[i] + ".ready");
    if (at != addresses[i]) Die(ids[i] + " serves on " + at + ", not " + addresses[i]);
  }
  std::printf(
      "bft_bench: %d validator%s, each a tdsd process on 127.0.0.1 (%s), --insecure-dev "
      "(plaintext gRPC, development mode), sync ON (each block fsynced before its acks); "
      "%u cores shared by the bench and all nodes\n",
      n, n == 1 ? "" : "s", f.tdsd.c_str(), cores);
  std::fflush(stdout);

  // --- Set-up transactions, through v1: product, contract request, acceptance.
  sdk::ClientOptions options;
  options.address = addresses[0];
  options.insecure_dev = true;
  options.timeout_ms = 60'000;
  std::unique_ptr<sdk::LedgerClient> setup =
      Check(sdk::LedgerClient::Connect(options), "connecting to v1");
  std::unique_ptr<sdk::QueryClient> query =
      Check(sdk::QueryClient::Connect(options), "connecting to v1");
  query->SetIdentity(provider.key.get(), provider.id);
  const Clock::time_point setup_t0 = Clock::now();
  SubmitOrDie(*setup, provider,
              sdk::PublishProduct(FromYaml<tds::Product>(kProductYaml, "product")));
  tds::Terms terms = FromYaml<tds::Terms>(kTermsYaml, "terms");
  const int64_t now_ms = WallMs();
  terms.set_valid_from_ms(now_ms - kDayMs);
  terms.set_valid_until_ms(now_ms + 365 * kDayMs);
  const std::string contract_id =
      SubmitOrDie(*setup, consumer, sdk::RequestContract(kProductId, terms));
  tds::GetContractRequest get;
  get.set_contract_id(contract_id);
  const tds::Contract requested = Check(query->GetContract(get), "GetContract").contract();
  SubmitOrDie(*setup, provider, sdk::AcceptContract(contract_id, requested.terms_digest()));
  const tds::Contract active = Check(query->GetContract(get), "GetContract").contract();
  if (active.state() != tds::ACTIVE) {
    Die("contract " + contract_id + " is " + tds::ContractState_Name(active.state()) +
        " after accept");
  }
  std::printf(
      "set-up: %s published product %s, %s requested contract %s, %s accepted terms digest "
      "%s...: ACTIVE (3 txs committed in %.2f s)\n",
      provider.id.c_str(), kProductId, consumer.id.c_str(), contract_id.c_str(),
      provider.id.c_str(), ShortHex(requested.terms_digest()).c_str(),
      Seconds(Clock::now() - setup_t0));

  const double verify_us = VerifyMicros(*consumer.key);

  // --- Pre-signed usage records (client CPU, not timed).
  const Clock::time_point sign_t0 = Clock::now();
  const double sign_cpu0 = SelfCpuSeconds();
  std::vector<std::string> records =
      SignUsageRecords(provider, consumer, contract_id, f.txs, cores);
  const double sign_s = Seconds(Clock::now() - sign_t0);
  const double sign_cpu_us = (SelfCpuSeconds() - sign_cpu0) * 1e6 / f.txs;
  // Each validator verifies two signatures per record: the provider's envelope and the
  // consumer's request inside it, both in batches at admission (ledger/signature_prepass.h).
  std::printf(
      "machine speed: one single Ed25519 verification takes %.1f us on an idle core here; each "
      "validator checks 2 per record, in batches (common/ed25519.h)\n",
      verify_us);
  std::printf(
      "signed %d usage records (consumer request + provider tx: 2 Ed25519 signatures, %zu "
      "bytes each) in %.2f s on %u threads: %.1f us of client CPU per record (not timed)\n",
      f.txs, records.empty() ? size_t{0} : records[0].size(), sign_s, cores, sign_cpu_us);

  // --- Clients: client c submits records c, c + C, ... to validator c % N.
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  std::vector<std::unique_ptr<tds::Ledger::Stub>> stubs;
  for (int c = 0; c < f.clients; ++c) {
    channels.push_back(NewChannel(addresses[c % n]));
    stubs.push_back(tds::Ledger::NewStub(channels.back()));
    StatusOf(*stubs.back());  // connect before the clock starts
  }
  std::vector<std::vector<std::string>> shares(f.clients);
  for (size_t i = 0; i < records.size(); ++i) {
    shares[i % f.clients].push_back(std::move(records[i]));
  }
  records.clear();
  if (f.clients < n) {
    std::printf("note: %d clients < %d validators: some validators receive no submissions\n",
                f.clients, n);
  }

  const uint64_t height0 = StatusOf(*stubs[0]).height();
  const CpuSample cpu0 = SampleCpu(nodes);
  const Clock::time_point stop_at =
      Clock::now() + std::chrono::milliseconds(static_cast<int64_t>(f.max_seconds * 1000));
  PhaseResult run = RunPhase(f.clients, [&](size_t c) {
    tds::Ledger::Stub* stub = stubs[c].get();
    const std::vector<std::string>* mine = &shares[c];
    return std::make_unique<WindowedClient>(
        mine->size(), f.window, stop_at, [stub, mine](size_t i, WindowedClient::Done done) {
          struct Call {
            grpc::ClientContext ctx;
            tds::SubmitRequest request;
            tds::SubmitResponse response;
          };
          auto* call = new Call;
          call->ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
          call->request.set_envelope((*mine)[i]);
          stub->async()->Submit(&call->ctx, &call->request, &call->response,
                                [call, done = std::move(done)](grpc::Status s) {
                                  std::string error;
                                  if (!s.ok()) {
                                    error = "Submit: " + s.error_message();
                                  } else if (call->response.result() != kRecorded) {
                                    error = "usage.record result: " + call->response.result();
                                  }
                                  delete call;
                                  done(error.empty() ? 1 : 0, error.empty() ? 0 : 1, error);
                                });
        });
  });
  const CpuSample cpu1 = SampleCpu(nodes);

  PrintPhase("usage.record submit", run, "tx");
  std::printf("  %d clients x window %d (client i -> validator i %% %d)\n", f.clients, f.window, n);

  // --- Where the CPU went during the run.
  double node_cpu = 0;
  for (int i = 0; i < n; ++i) node_cpu += cpu1.process[i] - cpu0.process[i];
  const double client_cpu = cpu1.self - cpu0.self;
  const double acked = static_cast<double>(run.acked_txs);
  const double cpu_ms_per_tx = acked > 0 ? node_cpu * 1000 / acked : 0;
  std::printf(
      "CPU during the run (%.2f s wall, %u cores = %.2f core-s available): all tdsd %.2f s "
      "(%.3f ms per committed tx), bench clients %.2f s (%.3f ms/tx)\n",
      run.seconds, cores, run.seconds * cores, node_cpu, cpu_ms_per_tx, client_cpu,
      acked > 0 ? client_cpu * 1000 / acked : 0);
  const double others = std::max(0.0, cpu1.machine - cpu0.machine - node_cpu - client_cpu);
  std::printf(
      "  other processes on the machine used %.2f core-s during the run%s\n", others,
      others > 0.1 * run.seconds * cores ? " (a busy machine: figures are lower than alone)" : "");
  for (int i = 0; i < n; ++i) {
    const double d = cpu1.process[i] - cpu0.process[i];
    std::printf("  %s: %.2f s (%.0f%% of a core); %s\n", ids[i].c_str(), d,
                run.seconds > 0 ? 100 * d / run.seconds : 0.0,
                ThreadBreakdown(cpu0.threads[i], cpu1.threads[i]).c_str());
  }
  std::printf(
      "  (thread names: tdsd = the node's own threads, the busiest being the consensus replica "
      "that executes blocks; nexting_thread = gRPC callback threads: Submit admission and "
      "consensus messages; counts in parentheses)\n");
  if (acked > 0) {
    const double per_tx_ms = (node_cpu + client_cpu) * 1000 / acked;
    std::printf(
        "  CPU-bound ceiling on this machine: %u cores / %.3f ms (nodes + clients) per tx = "
        "%.0f tx/s; %.3f ms per tx per validator\n",
        cores, per_tx_ms, cores * 1000 / per_tx_ms, cpu_ms_per_tx / n);
  }

  // --- Every validator must end at the same height, log root and state digest.
  std::vector<std::unique_ptr<tds::Ledger::Stub>> per_node;
  for (int i = 0; i < n; ++i) per_node.push_back(tds::Ledger::NewStub(NewChannel(addresses[i])));
  std::vector<tds::GetStatusResponse> st(n);
  const auto agree_deadline = Clock::now() + std::chrono::seconds(30);
  bool agree = false;
  while (true) {
    for (int i = 0; i < n; ++i) st[i] = StatusOf(*per_node[i]);
    agree = std::all_of(st.begin(), st.end(), [&](const tds::GetStatusResponse& s) {
      return s.height() == st[0].height() && s.log_size() == st[0].log_size() &&
             s.log_root() == st[0].log_root() && s.state_digest() == st[0].state_digest() &&
             s.last_block_hash() == st[0].last_block_hash();
    });
    if (agree || Clock::now() > agree_deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  const uint64_t blocks = st[0].height() - height0;
  std::printf("blocks: %llu committed during the run, %.1f txs per block\n",
              static_cast<unsigned long long>(blocks), blocks ? acked / blocks : 0.0);
  for (int i = 0; i < n; ++i) {
    std::printf("  %s: height %llu, log size %llu, log root %s..., state digest %s\n",
                ids[i].c_str(), static_cast<unsigned long long>(st[i].height()),
                static_cast<unsigned long long>(st[i].log_size()),
                ShortHex(st[i].log_root()).c_str(), HexEncode(st[i].state_digest()).c_str());
  }
  const uint64_t expected_log = 3 + run.acked_txs;  // set-up txs + acknowledged records
  std::printf("consistency: %s; log size %llu %s 3 set-up txs + %llu acknowledged records\n",
              agree ? "all validators report the same height, log root and state digest"
                    : "VALIDATORS DISAGREE (after waiting 30 s)",
              static_cast<unsigned long long>(st[0].log_size()),
              st[0].log_size() == expected_log ? "=" : "!=",
              static_cast<unsigned long long>(run.acked_txs));
  for (int i = 0; i < n; ++i) {
    absl::StatusOr<tds::NodeStatus> ns = [&] {
      sdk::ClientOptions o = options;
      o.address = addresses[i];
      std::unique_ptr<sdk::QueryClient> q = Check(sdk::QueryClient::Connect(o), "connect");
      q->SetIdentity(provider.key.get(), provider.id);
      return q->GetNodeStatus();
    }();
    if (ns.ok()) {
      const tds::ConsensusState& c = ns->consensus();
      std::printf(
          "  %s consensus: view %llu, leader %s, round %llu, committed round %llu, view changes "
          "%llu, refused %llu%s%s\n",
          ids[i].c_str(), static_cast<unsigned long long>(c.view()), c.leader().c_str(),
          static_cast<unsigned long long>(c.round()),
          static_cast<unsigned long long>(c.committed_round()),
          static_cast<unsigned long long>(c.view_changes()),
          static_cast<unsigned long long>(c.refused()), c.last_refusal().empty() ? "" : ": ",
          c.last_refusal().c_str());
    }
  }

  stubs.clear();
  channels.clear();
  per_node.clear();
  setup.reset();
  query.reset();
  bool stopped_clean = true;
  for (int i = 0; i < n; ++i) {
    const std::string how = nodes[i]->Stop();
    if (how != "exit code 0") {
      stopped_clean = false;
      std::printf("%s stopped: %s; log tail:\n%s\n", ids[i].c_str(), how.c_str(),
                  TailOf(nodes[i]->log()).c_str());
    }
  }
  if (stopped_clean) std::printf("all %d tdsd stopped cleanly\n", n);

  const double tps = run.seconds > 0 ? acked / run.seconds : 0;
  std::printf("bft validators=%d tx_per_s=%.0f p50_ms=%.2f p99_ms=%.2f cpu_ms_per_tx=%.3f\n", n,
              tps, Percentile(run.latency_ms, 0.50), Percentile(run.latency_ms, 0.99),
              cpu_ms_per_tx);
  return run.acked_txs > 0 && run.failed_txs == 0 && agree ? 0 : 1;
}

}  // namespace
}  // namespace tds::bench

int main(int argc, char** argv) {
  tds::bench::Flags f;
  CLI::App app{"bft_bench - usage-record throughput of N BFT validators (real tdsd processes)"};
  app.add_option("--tdsd", f.tdsd, "tdsd binary (default: tdsd next to this binary)");
  app.add_option("--validators", f.validators, "Validators, each a tdsd process")
      ->capture_default_str()
      ->check(CLI::Range(1, 16));
  app.add_option("--txs", f.txs, "Usage records to submit")
      ->capture_default_str()
      ->check(CLI::Range(1, 10000000));
  app.add_option("--clients", f.clients, "Concurrent clients; client i submits to validator i % N")
      ->capture_default_str()
      ->check(CLI::Range(1, 256));
  app.add_option("--window", f.window, "In-flight Submit calls per client")
      ->capture_default_str()
      ->check(CLI::Range(1, 4096));
  app.add_option("--max-seconds", f.max_seconds, "Time limit of the load phase")
      ->capture_default_str();
  app.add_option("--max-block-txs", f.max_block_txs, "Passed to tdsd (0: its default)")
      ->capture_default_str();
  app.add_option("--consensus-timeout-ms", f.consensus_timeout_ms,
                 "Passed to tdsd (0: its default)")
      ->capture_default_str();
  app.add_flag("--keep", f.keep, "Keep the temporary directory (keys, genesis, stores, logs)");
  CLI11_PARSE(app, argc, argv);
  try {
    return tds::bench::Run(f);
  } catch (const tds::bench::BenchError& e) {
    std::fprintf(stderr, "bft_bench: %s\n", e.what());
    return 1;
  }
}
