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

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "CLI/CLI.hpp"
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

using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

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

// Thrown on set-up failures; unwinding stops tdsd and removes the temporary directory.
struct BenchError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

[[noreturn]] void Die(const std::string& message) { throw BenchError(message); }

template <typename T>
T Check(absl::StatusOr<T> v, const std::string& what) {
  if (!v.ok()) Die(what + ": " + std::string(v.status().message()));
  return *std::move(v);
}

void Check(const absl::Status& s, const std::string& what) {
  if (!s.ok()) Die(what + ": " + std::string(s.message()));
}

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }
double Millis(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

std::string SelfDir() {
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  return ec ? "." : exe.parent_path().string();
}

std::string TailOf(const std::string& path, size_t max_bytes = 4000) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  return s.size() > max_bytes ? s.substr(s.size() - max_bytes) : s;
}

// The tdsd child process. Stopped with SIGTERM (then SIGKILL after 30 s) on destruction.
class NodeProcess {
 public:
  NodeProcess(const std::string& binary, std::vector<std::string> args, const std::string& log)
      : log_(log) {
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(binary.c_str()));
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_ = fork();
    if (pid_ < 0) Die("fork failed");
    if (pid_ == 0) {
      // Only async-signal-safe calls here. The node dies with the bench if we are killed.
      prctl(PR_SET_PDEATHSIG, SIGTERM);
      int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (fd >= 0) {
        dup2(fd, STDOUT_FILENO);
        dup2(fd, STDERR_FILENO);
      }
      execv(binary.c_str(), argv.data());
      _exit(127);
    }
  }
  ~NodeProcess() { Stop(); }

  // True while the child runs; records its status once it has exited.
  bool Running() {
    if (exited_) return false;
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      exited_ = true;
      status_ = status;
      return false;
    }
    return true;
  }

  // Returns a description of how the node ended.
  std::string Stop() {
    if (!exited_ && Running()) {
      kill(pid_, SIGTERM);
      auto deadline = Clock::now() + std::chrono::seconds(30);
      while (Running() && Clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
      if (!exited_) {
        kill(pid_, SIGKILL);
        waitpid(pid_, &status_, 0);
        exited_ = true;
        return "killed after 30 s (did not stop on SIGTERM)";
      }
    }
    if (WIFEXITED(status_)) return "exit code " + std::to_string(WEXITSTATUS(status_));
    if (WIFSIGNALED(status_)) return "signal " + std::to_string(WTERMSIG(status_));
    return "unknown status";
  }

  const std::string& log() const { return log_; }

 private:
  std::string log_;
  pid_t pid_ = -1;
  bool exited_ = false;
  int status_ = 0;
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

struct PhaseResult {
  uint64_t acked_txs = 0;
  uint64_t failed_txs = 0;
  uint64_t requests = 0;
  double seconds = 0;
  std::vector<double> latency_ms;  // per request (one tx, or one batch)
  std::string first_error;
  bool timed_out = false;

  void Merge(PhaseResult&& o) {
    acked_txs += o.acked_txs;
    failed_txs += o.failed_txs;
    requests += o.requests;
    latency_ms.insert(latency_ms.end(), o.latency_ms.begin(), o.latency_ms.end());
    if (first_error.empty()) first_error = o.first_error;
    timed_out = timed_out || o.timed_out;
  }
};

// One client connection keeping up to `window` requests in flight through the gRPC callback
// API. Each completion issues the next request from the callback thread, so the window stays
// full without a thread per request.
class WindowedClient {
 public:
  // Builds request i and sends it; `done` must be called exactly once with the outcome.
  using Issue = std::function<void(
      size_t i, std::function<void(uint64_t ok, uint64_t failed, const std::string& error)> done)>;

  WindowedClient(size_t requests, int window, Clock::time_point stop_at, Issue issue)
      : requests_(requests), window_(window), stop_at_(stop_at), issue_(std::move(issue)) {}

  PhaseResult Run() {
    result_.latency_ms.reserve(requests_);
    {
      std::lock_guard<std::mutex> lock(mu_);
      started_ = Clock::now();
    }
    size_t first = std::min<size_t>(requests_, static_cast<size_t>(window_));
    {
      std::lock_guard<std::mutex> lock(mu_);
      next_ = first;
      in_flight_ = first;
    }
    for (size_t i = 0; i < first; ++i) Send(i);
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return in_flight_ == 0; });
    result_.seconds = Seconds(Clock::now() - started_);
    return std::move(result_);
  }

 private:
  void Send(size_t i) {
    Clock::time_point t0 = Clock::now();
    issue_(i, [this, t0](uint64_t ok, uint64_t failed, const std::string& error) {
      Clock::time_point t1 = Clock::now();
      size_t next = 0;
      bool send = false;
      {
        std::lock_guard<std::mutex> lock(mu_);
        result_.latency_ms.push_back(Millis(t1 - t0));
        result_.acked_txs += ok;
        result_.failed_txs += failed;
        result_.requests += 1;
        if (!error.empty() && result_.first_error.empty()) result_.first_error = error;
        if (next_ < requests_ && t1 < stop_at_) {
          next = next_++;
          send = true;
        } else {
          if (next_ < requests_) result_.timed_out = true;
          if (--in_flight_ == 0) cv_.notify_all();
        }
      }
      if (send) Send(next);
    });
  }

  const size_t requests_;
  const int window_;
  const Clock::time_point stop_at_;
  const Issue issue_;
  std::mutex mu_;
  std::condition_variable cv_;
  size_t next_ = 0;       // guarded by mu_
  size_t in_flight_ = 0;  // guarded by mu_
  Clock::time_point started_;
  PhaseResult result_;  // guarded by mu_
};

std::shared_ptr<grpc::Channel> NewChannel(const std::string& address) {
  grpc::ChannelArguments args;
  // A connection per client, as separate members would have.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  args.SetMaxReceiveMessageSize(64 * 1024 * 1024);
  args.SetMaxSendMessageSize(64 * 1024 * 1024);
  return grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
}

// Runs one load phase over `stubs` (one per client); returns the merged result.
PhaseResult RunPhase(size_t clients, const std::function<WindowedClient*(size_t)>& make) {
  std::vector<std::unique_ptr<WindowedClient>> runners;
  for (size_t c = 0; c < clients; ++c) runners.emplace_back(make(c));
  std::vector<PhaseResult> results(clients);
  Clock::time_point t0 = Clock::now();
  std::vector<std::thread> threads;
  for (size_t c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] { results[c] = runners[c]->Run(); });
  }
  for (auto& t : threads) t.join();
  PhaseResult merged;
  merged.seconds = Seconds(Clock::now() - t0);
  for (auto& r : results) merged.Merge(std::move(r));
  return merged;
}

void PrintPhase(const char* name, const PhaseResult& r, const char* unit) {
  double tps = r.seconds > 0 ? static_cast<double>(r.acked_txs) / r.seconds : 0;
  std::printf("%s: %llu txs acknowledged, %llu refused, %llu requests in %.2f s -> %.0f tx/s\n",
              name, static_cast<unsigned long long>(r.acked_txs),
              static_cast<unsigned long long>(r.failed_txs),
              static_cast<unsigned long long>(r.requests), r.seconds, tps);
  std::printf("  ack latency per %s: p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms\n", unit,
              Percentile(r.latency_ms, 0.50), Percentile(r.latency_ms, 0.90),
              Percentile(r.latency_ms, 0.99), Percentile(r.latency_ms, 1.0));
  if (r.timed_out) std::printf("  stopped early at the time limit\n");
  if (!r.first_error.empty()) std::printf("  first error: %s\n", r.first_error.c_str());
  std::fflush(stdout);
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
  if (f.tdsd.empty()) f.tdsd = SelfDir() + "/tdsd";
  if (access(f.tdsd.c_str(), X_OK) != 0) Die("tdsd not found or not executable: " + f.tdsd);

  // --- Set-up: a throwaway data space.
  char tmpl[] = "/tmp/tds-ledger-bench-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) Die("mkdtemp failed");
  const std::string dir = tmpl;
  struct Cleanup {
    std::string dir;
    bool keep;
    ~Cleanup() {
      if (keep) {
        std::printf("kept %s\n", dir.c_str());
      } else {
        std::error_code ec;
        fs::remove_all(dir, ec);
      }
    }
  } cleanup{dir, f.keep};

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
  std::string address;
  auto ready_deadline = Clock::now() + std::chrono::seconds(60);
  while (address.empty()) {
    if (!node.Running()) {
      Die("tdsd exited before it was ready (" + node.Stop() + "); its log:\n" + TailOf(node.log()));
    }
    if (Clock::now() > ready_deadline)
      Die("tdsd not ready after 60 s; log:\n" + TailOf(node.log()));
    absl::StatusOr<std::string> ready = tds::ReadFile(dir + "/ready");
    if (ready.ok() && !ready->empty() && ready->back() == '\n') {
      address = ready->substr(0, ready->size() - 1);
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
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
      return new WindowedClient(mine->size(), f.window, stop_at, [stub, mine](size_t i, auto done) {
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
      return new WindowedClient(
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
