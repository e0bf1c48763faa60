// ledger_bench: load test of a real tdsd process (run by `deploy/bench.sh ledger`).
//
// Sets up a throwaway data space (keys, genesis with one validator "node" and client
// members), starts `tdsd --insecure-dev` on 127.0.0.1:0 with sync on, and measures:
//   (a) the CPU floor: client signing + node envelope verification + SHA-256 leaf and txid
//       hashing per transaction, in-process on one core;
//   (b) single-submit load: C clients, each with a window of in-flight async Submit calls;
//   (c) batch load: C clients submitting SubmitBatch requests of B anchors.
// Envelopes for (b) and (c) are signed before the clock starts, so (b)/(c) measure the node.
// The last line is machine-readable:
//   ledger tx_per_s=... batch_tx_per_s=... p50_ms=... p99_ms=... floor_tx_per_s=...

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "CLI/CLI.hpp"
#include "bench/bench_util.h"
#include "common/envelope.h"
#include "common/file.h"
#include "common/keys.h"
#include "common/sha256.h"
#include "evidence/evidence.h"
#include "grpcpp/grpcpp.h"
#include "ledger/genesis.h"
#include "proto/ledger_service.grpc.pb.h"
#include "sdk/client.h"

namespace {

using tds::bench::BenchError;
using tds::bench::Check;
using tds::bench::Clock;
using tds::bench::Die;
using tds::bench::NewChannel;
using tds::bench::NodeProcess;
using tds::bench::Percentile;
using tds::bench::PhaseResult;
using tds::bench::PrintPhase;
using tds::bench::RunPhase;
using tds::bench::Seconds;
using tds::bench::TailOf;
using tds::bench::WindowedClient;

struct Flags {
  std::string tdsd;
  int clients = 4;
  int window = 64;
  int txs = 20000;
  int batch_size = 256;
  int batch_window = 2;
  int batch_txs = 102400;
  int floor_txs = 20000;
  double max_seconds = 20;
  int max_block_txs = 0;  // 0: tdsd's default
  bool keep = false;
};

struct Member {
  std::string id;
  std::unique_ptr<tds::SigningKey> key;
};

std::string RandomAnchorBody(std::mt19937_64& rng) {
  tds::Hash digest;
  for (auto& b : digest) b = static_cast<uint8_t>(rng());
  return Check(tds::evidence::MakeAnchorBody(digest, "bench", {}), "MakeAnchorBody");
}

// Signs `count` anchors for member `m` (nonces random).
std::vector<std::string> SignAnchors(const Member& m, int count, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<std::string> out;
  out.reserve(count);
  for (int i = 0; i < count; ++i) {
    out.push_back(tds::sdk::BuildTransaction(
        *m.key, m.id, std::string(tds::evidence::kAnchorTxType), RandomAnchorBody(rng)));
  }
  return out;
}

// Signs per-client envelope sets on all cores (set-up only, not timed).
std::vector<std::vector<std::string>> SignForClients(const std::vector<Member>& clients, int total,
                                                     uint64_t seed) {
  std::vector<std::vector<std::string>> out(clients.size());
  std::vector<std::thread> threads;
  for (size_t c = 0; c < clients.size(); ++c) {
    int count = total / static_cast<int>(clients.size()) +
                (static_cast<int>(c) < total % static_cast<int>(clients.size()) ? 1 : 0);
    threads.emplace_back(
        [&, c, count] { out[c] = SignAnchors(clients[c], count, seed * 1000 + c); });
  }
  for (auto& t : threads) t.join();
  return out;
}

int Run(Flags& f);

}  // namespace

int main(int argc, char** argv) {
  Flags f;
  CLI::App app{"ledger_bench - load test of a real tdsd (single submit, batch, CPU floor)"};
  app.add_option("--tdsd", f.tdsd, "tdsd binary (default: tdsd next to this binary)");
  app.add_option("--clients", f.clients, "Concurrent clients")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  app.add_option("--window", f.window, "In-flight Submit calls per client")
      ->capture_default_str()
      ->check(CLI::Range(1, 4096));
  app.add_option("--txs", f.txs, "Transactions in the single-submit phase")
      ->capture_default_str()
      ->check(CLI::Range(1, 10000000));
  app.add_option("--batch-size", f.batch_size, "Envelopes per SubmitBatch")
      ->capture_default_str()
      ->check(CLI::Range(1, 10000));
  app.add_option("--batch-window", f.batch_window, "In-flight batches per client")
      ->capture_default_str()
      ->check(CLI::Range(1, 256));
  app.add_option("--batch-txs", f.batch_txs, "Transactions in the batch phase")
      ->capture_default_str()
      ->check(CLI::Range(1, 10000000));
  app.add_option("--floor-txs", f.floor_txs, "Transactions for the CPU floor")
      ->capture_default_str()
      ->check(CLI::Range(1, 10000000));
  app.add_option("--max-seconds", f.max_seconds, "Time limit per load phase")
      ->capture_default_str();
  app.add_option("--max-block-txs", f.max_block_txs, "Passed to tdsd (0: its default)")
      ->capture_default_str();
  app.add_flag("--keep", f.keep, "Keep the temporary directory (keys, genesis, store, tdsd.log)");
  CLI11_PARSE(app, argc, argv);
  try {
    return Run(f);
  } catch (const BenchError& e) {
    std::fprintf(stderr, "ledger_bench: %s\n", e.what());
    return 1;
  }
}

namespace {

int Run(Flags& f) {
  if (f.tdsd.empty()) f.tdsd = tds::bench::SelfDir() + "/tdsd";
  if (access(f.tdsd.c_str(), X_OK) != 0) Die("tdsd not found or not executable: " + f.tdsd);

  // --- Set-up: a throwaway data space.
  tds::bench::TempDir temp("tds-ledger-bench", f.keep);
  const std::string& dir = temp.path();

  std::unique_ptr<tds::SigningKey> node_key = tds::SigningKey::Generate();
  Check(node_key->WriteToFile(dir + "/node.key"), "writing node key");
  std::vector<Member> clients;
  std::vector<std::string> specs = {"node:validator:" + node_key->public_key().hex()};
  for (int c = 0; c < f.clients; ++c) {
    Member m{"client" + std::to_string(c), tds::SigningKey::Generate()};
    specs.push_back(m.id + ":provider,consumer:" + m.key->public_key().hex());
    clients.push_back(std::move(m));
  }
  std::string genesis = Check(tds::ledger::BuildGenesisJson("tds-bench", specs), "genesis");
  Check(tds::WriteFileAtomic(dir + "/genesis.json", genesis), "writing genesis");

  // Fork before any gRPC object exists in this process.
  std::vector<std::string> node_args = {
      "--data",          dir + "/data", "--genesis",   dir + "/genesis.json", "--key",
      dir + "/node.key", "--listen",    "127.0.0.1:0", "--insecure-dev",      "--ready-file",
      dir + "/ready",    "--log-level", "info"};
  if (f.max_block_txs > 0) {
    node_args.push_back("--max-block-txs");
    node_args.push_back(std::to_string(f.max_block_txs));
  }
  NodeProcess node(f.tdsd, node_args, dir + "/tdsd.log");
  const std::string address = tds::bench::WaitForReadyFile(node, dir + "/ready");
  unsigned cores = std::thread::hardware_concurrency();
  std::printf(
      "ledger_bench: tdsd %s at %s (sync on, plaintext), %u cores shared by bench and "
      "node\n",
      f.tdsd.c_str(), address.c_str(), cores);
  std::fflush(stdout);

  // --- (a) CPU floor, one core: sign (client) + verify (node) + leaf and txid hashing.
  double floor_tps = 0;
  {
    std::mt19937_64 rng(1);
    std::vector<std::string> bodies;
    bodies.reserve(f.floor_txs);
    for (int i = 0; i < f.floor_txs; ++i) bodies.push_back(RandomAnchorBody(rng));
    const Member& m = clients[0];
    std::vector<std::string> envs;
    envs.reserve(f.floor_txs);
    Clock::time_point t0 = Clock::now();
    for (int i = 0; i < f.floor_txs; ++i) {
      envs.push_back(tds::sdk::BuildTransaction(
          *m.key, m.id, std::string(tds::evidence::kAnchorTxType), std::move(bodies[i])));
    }
    Clock::time_point t1 = Clock::now();
    std::vector<std::string> payloads;
    payloads.reserve(f.floor_txs);
    // As the node admits: the signer's key comes from the genesis registry, already validated.
    const tds::PublicKey registered = m.key->public_key();
    auto resolve = [&](std::string_view raw) -> const tds::PublicKey* {
      return raw == registered.bytes() ? &registered : nullptr;
    };
    for (const std::string& e : envs) {
      payloads.push_back(
          Check(tds::OpenEnvelopeFrom(e, tds::kTxContext, resolve), "OpenEnvelopeFrom").payload);
    }
    Clock::time_point t2 = Clock::now();
    uint8_t sink = 0;
    std::string leaf;
    for (int i = 0; i < f.floor_txs; ++i) {
      leaf.assign(1, '\0');
      leaf += envs[i];
      sink ^= tds::Sha256(leaf)[0] ^ tds::Sha256(payloads[i])[0];
    }
    Clock::time_point t3 = Clock::now();
    double n = f.floor_txs;
    double sign_us = Seconds(t1 - t0) * 1e6 / n, verify_us = Seconds(t2 - t1) * 1e6 / n,
           hash_us = Seconds(t3 - t2) * 1e6 / n;
    floor_tps = 1e6 / (sign_us + verify_us + hash_us);
    std::printf(
        "(a) CPU floor on one core over %d txs (envelope %zu bytes): sign %.1f us + "
        "verify %.1f us + hash %.2f us = %.1f us/tx -> %.0f tx/s (x%u cores at best; "
        "sink %u)\n",
        f.floor_txs, envs.empty() ? size_t{0} : envs[0].size(), sign_us, verify_us, hash_us,
        sign_us + verify_us + hash_us, floor_tps, cores, sink);
    std::fflush(stdout);
  }

  std::vector<std::shared_ptr<grpc::Channel>> channels;
  std::vector<std::unique_ptr<tds::Ledger::Stub>> stubs;
  for (int c = 0; c < f.clients; ++c) {
    channels.push_back(NewChannel(address));
    stubs.push_back(tds::Ledger::NewStub(channels.back()));
    // Connect before the clock starts.
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    tds::GetStatusResponse st;
    grpc::Status s = stubs.back()->GetStatus(&ctx, tds::GetStatusRequest(), &st);
    if (!s.ok()) Die("GetStatus: " + s.error_message());
  }

  // --- (b) Single-submit load.
  PhaseResult single;
  {
    auto envs = SignForClients(clients, f.txs, 2);
    Clock::time_point stop_at =
        Clock::now() + std::chrono::milliseconds(static_cast<int64_t>(f.max_seconds * 1000));
    single = RunPhase(clients.size(), [&](size_t c) {
      tds::Ledger::Stub* stub = stubs[c].get();
      const std::vector<std::string>* mine = &envs[c];
      return std::make_unique<WindowedClient>(
          mine->size(), f.window, stop_at, [stub, mine](size_t i, auto done) {
            struct Call {
              grpc::ClientContext ctx;
              tds::SubmitRequest request;
              tds::SubmitResponse response;
            };
            auto* call = new Call;
            call->ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
            call->request.set_envelope((*mine)[i]);
            stub->async()->Submit(&call->ctx, &call->request, &call->response,
                                  [call, done](grpc::Status s) {
                                    delete call;
                                    if (s.ok()) {
                                      done(1, 0, "");
                                    } else {
                                      done(0, 1, "Submit: " + s.error_message());
                                    }
                                  });
          });
    });
    PrintPhase("(b) single submit", single, "tx");
    std::printf("  %d clients x window %d\n", f.clients, f.window);
  }

  // --- (c) Batch load.
  PhaseResult batch;
  {
    auto envs = SignForClients(clients, f.batch_txs, 3);
    Clock::time_point stop_at =
        Clock::now() + std::chrono::milliseconds(static_cast<int64_t>(f.max_seconds * 1000));
    const size_t bs = static_cast<size_t>(f.batch_size);
    batch = RunPhase(clients.size(), [&](size_t c) {
      tds::Ledger::Stub* stub = stubs[c].get();
      const std::vector<std::string>* mine = &envs[c];
      size_t batches = (mine->size() + bs - 1) / bs;
      return std::make_unique<WindowedClient>(
          batches, f.batch_window, stop_at, [stub, mine, bs](size_t b, auto done) {
            struct Call {
              grpc::ClientContext ctx;
              tds::SubmitBatchRequest request;
              tds::SubmitBatchResponse response;
            };
            auto* call = new Call;
            call->ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
            size_t end = std::min(mine->size(), (b + 1) * bs);
            for (size_t i = b * bs; i < end; ++i) call->request.add_envelopes((*mine)[i]);
            stub->async()->SubmitBatch(
                &call->ctx, &call->request, &call->response, [call, done](grpc::Status s) {
                  uint64_t ok = 0, failed = 0;
                  std::string error;
                  if (!s.ok()) {
                    failed = static_cast<uint64_t>(call->request.envelopes_size());
                    error = "SubmitBatch: " + s.error_message();
                  } else {
                    for (const tds::SubmitBatchItem& item : call->response.items()) {
                      if (item.code() == 0) {
                        ++ok;
                      } else {
                        ++failed;
                        if (error.empty()) error = "SubmitBatch item: " + item.message();
                      }
                    }
                  }
                  delete call;
                  done(ok, failed, error);
                });
          });
    });
    PrintPhase("(c) batch submit", batch, "batch");
    std::printf("  %d clients x window %d batches of %d\n", f.clients, f.batch_window,
                f.batch_size);
  }

  // Sanity: the node's log holds exactly what it acknowledged.
  {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    tds::GetStatusResponse st;
    grpc::Status s = stubs[0]->GetStatus(&ctx, tds::GetStatusRequest(), &st);
    if (s.ok()) {
      uint64_t acked = single.acked_txs + batch.acked_txs;
      std::printf("node: height %llu, log size %llu (%s acknowledged %llu), %.1f txs/block\n",
                  static_cast<unsigned long long>(st.height()),
                  static_cast<unsigned long long>(st.log_size()),
                  st.log_size() == acked ? "=" : "!=", static_cast<unsigned long long>(acked),
                  st.height() ? static_cast<double>(st.log_size()) / st.height() : 0.0);
    } else {
      std::printf("node: GetStatus failed: %s\n", s.error_message().c_str());
    }
  }
  stubs.clear();
  channels.clear();
  std::string how = node.Stop();
  std::printf("tdsd stopped: %s\n", how.c_str());
  if (how != "exit code 0") std::printf("tdsd log tail:\n%s\n", TailOf(node.log()).c_str());

  double single_tps = single.seconds > 0 ? single.acked_txs / single.seconds : 0;
  double batch_tps = batch.seconds > 0 ? batch.acked_txs / batch.seconds : 0;
  std::printf(
      "ledger tx_per_s=%.0f batch_tx_per_s=%.0f p50_ms=%.2f p99_ms=%.2f "
      "floor_tx_per_s=%.0f\n",
      single_tps, batch_tps, Percentile(single.latency_ms, 0.50),
      Percentile(single.latency_ms, 0.99), floor_tps);
  return single.acked_txs > 0 && batch.acked_txs > 0 ? 0 : 1;
}

}  // namespace
