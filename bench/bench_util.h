#pragma once
// Shared pieces of the benchmarks that drive real tdsd processes (ledger_bench, bft_bench):
// child processes tied to the bench's life, temporary directories, ready files, per-process
// CPU accounting from /proc, and a windowed async load generator over gRPC.
//
// Set-up failures throw BenchError; unwinding stops the children and removes the directory.

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "grpcpp/grpcpp.h"

namespace tds::bench {

using Clock = std::chrono::steady_clock;

struct BenchError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

[[noreturn]] void Die(const std::string& message);

template <typename T>
T Check(absl::StatusOr<T> v, const std::string& what) {
  if (!v.ok()) Die(what + ": " + std::string(v.status().message()));
  return *std::move(v);
}
void Check(const absl::Status& s, const std::string& what);

double Seconds(Clock::duration d);
double Millis(Clock::duration d);
// Nearest-rank percentile, p in [0, 1]; 0 for an empty vector.
double Percentile(std::vector<double> v, double p);

// The directory of the running executable ("." if unknown).
std::string SelfDir();
// The last `max_bytes` of a file (a child's log), "" if unreadable.
std::string TailOf(const std::string& path, size_t max_bytes = 4000);

// A fresh directory /tmp/<prefix>-XXXXXX, removed on destruction unless `keep` (then its path
// is printed).
class TempDir {
 public:
  TempDir(const std::string& prefix, bool keep);
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  bool keep_;
};

// A child process (e.g. tdsd) with stdout and stderr in `log`. It gets SIGTERM if the bench
// dies; on destruction it is stopped with SIGTERM, then SIGKILL after 30 s.
// Fork before this process creates any gRPC object (gRPC's threads do not survive fork).
class NodeProcess {
 public:
  NodeProcess(const std::string& binary, std::vector<std::string> args, const std::string& log);
  ~NodeProcess() { Stop(); }
  NodeProcess(const NodeProcess&) = delete;
  NodeProcess& operator=(const NodeProcess&) = delete;

  // True while the child runs; records its status once it has exited.
  bool Running();
  // Stops the child if it runs; returns how it ended ("exit code 0", "signal 9", ...).
  std::string Stop();
  const std::string& log() const { return log_; }
  pid_t pid() const { return pid_; }

 private:
  std::string log_;
  pid_t pid_ = -1;
  bool exited_ = false;
  int status_ = 0;
};

// Waits until `ready_file` holds "HOST:PORT\n" (tdsd --ready-file) and returns HOST:PORT.
// Dies, with the tail of the node's log, if the node exits or `timeout` passes first.
std::string WaitForReadyFile(NodeProcess& node, const std::string& ready_file,
                             std::chrono::seconds timeout = std::chrono::seconds(60));

// `n` distinct TCP ports free on 127.0.0.1 right now (bound together, then released), for
// processes whose addresses must be known before they start.
std::vector<int> PickFreePorts(int n);

// CPU time (user + system, seconds) the process has used so far, from /proc/PID/stat;
// NotFound once it is gone.
absl::StatusOr<double> ProcessCpuSeconds(pid_t pid);
// The same per live thread (/proc/PID/task/TID/stat), with the thread's name (comm). Threads
// that ended are missing, so the sum may be below ProcessCpuSeconds.
struct ThreadCpu {
  std::string name;
  double seconds = 0;
};
std::map<pid_t, ThreadCpu> ThreadCpuSeconds(pid_t pid);
// CPU time of this process (getrusage), seconds.
double SelfCpuSeconds();
// CPU time all processes of the machine have used since boot (busy time of every core in
// /proc/stat), seconds; compared with the bench's own processes, it shows other load.
double MachineBusyCpuSeconds();

// A plaintext channel of its own (no subchannel sharing), as a separate member would have.
std::shared_ptr<grpc::Channel> NewChannel(const std::string& address);

struct PhaseResult {
  uint64_t acked_txs = 0;
  uint64_t failed_txs = 0;
  uint64_t requests = 0;
  double seconds = 0;
  std::vector<double> latency_ms;  // per request (one tx, or one batch)
  std::string first_error;
  bool timed_out = false;

  void Merge(PhaseResult&& o);
};

// One client keeping up to `window` requests in flight through the gRPC callback API. Each
// completion issues the next request from the callback thread, so the window stays full
// without a thread per request. Stops issuing at `stop_at` (result.timed_out).
class WindowedClient {
 public:
  // Builds request i and sends it; `done` must be called exactly once with the outcome.
  using Done = std::function<void(uint64_t ok, uint64_t failed, const std::string& error)>;
  using Issue = std::function<void(size_t i, Done done)>;

  WindowedClient(size_t requests, int window, Clock::time_point stop_at, Issue issue)
      : requests_(requests), window_(window), stop_at_(stop_at), issue_(std::move(issue)) {}

  // Sends all requests (or until stop_at) and waits for every answer. Call once.
  PhaseResult Run();

 private:
  void Send(size_t i);

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

// Runs `clients` WindowedClients (made by `make`, each on its own thread) to completion;
// returns the merged result, `seconds` being the wall time of the whole phase.
PhaseResult RunPhase(size_t clients,
                     const std::function<std::unique_ptr<WindowedClient>(size_t)>& make);

// "<name>: N txs acknowledged, ..." and the latency percentiles per `unit`.
void PrintPhase(const char* name, const PhaseResult& r, const char* unit);

}  // namespace tds::bench
