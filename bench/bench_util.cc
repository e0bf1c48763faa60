#include "bench/bench_util.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "common/file.h"

namespace tds::bench {
namespace fs = std::filesystem;

void Die(const std::string& message) { throw BenchError(message); }

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

std::string TailOf(const std::string& path, size_t max_bytes) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  return s.size() > max_bytes ? s.substr(s.size() - max_bytes) : s;
}

TempDir::TempDir(const std::string& prefix, bool keep) : keep_(keep) {
  std::string tmpl = "/tmp/" + prefix + "-XXXXXX";
  if (mkdtemp(tmpl.data()) == nullptr) Die("mkdtemp failed");
  path_ = tmpl;
}

TempDir::~TempDir() {
  if (keep_) {
    std::printf("kept %s\n", path_.c_str());
  } else {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
}

NodeProcess::NodeProcess(const std::string& binary, std::vector<std::string> args,
                         const std::string& log)
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

bool NodeProcess::Running() {
  if (exited_) return false;
  int status = 0;
  if (waitpid(pid_, &status, WNOHANG) == pid_) {
    exited_ = true;
    status_ = status;
    return false;
  }
  return true;
}

std::string NodeProcess::Stop() {
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

std::string WaitForReadyFile(NodeProcess& node, const std::string& ready_file,
                             std::chrono::seconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (true) {
    if (!node.Running()) {
      Die("tdsd exited before it was ready (" + node.Stop() + "); its log " + node.log() + ":\n" +
          TailOf(node.log()));
    }
    if (Clock::now() > deadline) {
      Die("tdsd not ready after " + std::to_string(timeout.count()) + " s; its log " + node.log() +
          ":\n" + TailOf(node.log()));
    }
    absl::StatusOr<std::string> ready = tds::ReadFile(ready_file);
    if (ready.ok() && !ready->empty() && ready->back() == '\n') {
      return ready->substr(0, ready->size() - 1);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

std::vector<int> PickFreePorts(int n) {
  std::vector<int> fds, ports;
  for (int i = 0; i < n; ++i) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) Die("socket failed");
    fds.push_back(fd);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof(addr);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      for (int f : fds) ::close(f);
      Die("cannot bind a free port on 127.0.0.1");
    }
    ports.push_back(ntohs(addr.sin_port));
  }
  for (int f : fds) ::close(f);
  return ports;
}

namespace {

// utime + stime (fields 14 and 15) of a /proc .../stat line, in seconds. The command name
// (field 2, in parentheses) may hold spaces, so fields are counted after its last ')'.
absl::StatusOr<double> CpuOfStatFile(const std::string& path, std::string* comm) {
  std::ifstream in(path);
  std::string line;
  if (!in || !std::getline(in, line)) return absl::NotFoundError(path + ": unreadable");
  const size_t open = line.find('(');
  const size_t close = line.rfind(')');
  if (open == std::string::npos || close == std::string::npos || close < open) {
    return absl::DataLossError(path + ": unexpected format");
  }
  if (comm != nullptr) *comm = line.substr(open + 1, close - open - 1);
  std::istringstream rest(line.substr(close + 1));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  // After ')': field 3 (state) ... field 15 (stime).
  for (int f = 3; f <= 15 && (rest >> field); ++f) {
    if (f == 14) utime = std::stoull(field);
    if (f == 15) stime = std::stoull(field);
  }
  static const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  return static_cast<double>(utime + stime) / ticks;
}

}  // namespace

absl::StatusOr<double> ProcessCpuSeconds(pid_t pid) {
  return CpuOfStatFile("/proc/" + std::to_string(pid) + "/stat", nullptr);
}

std::map<pid_t, ThreadCpu> ThreadCpuSeconds(pid_t pid) {
  std::map<pid_t, ThreadCpu> out;
  const std::string dir = "/proc/" + std::to_string(pid) + "/task";
  std::error_code ec;
  for (const fs::directory_entry& e : fs::directory_iterator(dir, ec)) {
    ThreadCpu t;
    absl::StatusOr<double> cpu = CpuOfStatFile(e.path().string() + "/stat", &t.name);
    if (!cpu.ok()) continue;  // the thread ended meanwhile
    t.seconds = *cpu;
    out[static_cast<pid_t>(std::stol(e.path().filename().string()))] = std::move(t);
  }
  return out;
}

double SelfCpuSeconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto s = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  return s(ru.ru_utime) + s(ru.ru_stime);
}

double MachineBusyCpuSeconds() {
  std::ifstream in("/proc/stat");
  std::string cpu;
  // "cpu user nice system idle iowait irq softirq steal ...": all but idle and iowait are busy.
  unsigned long long v[8] = {};
  if (!(in >> cpu) || cpu != "cpu") return 0;
  for (unsigned long long& x : v) in >> x;
  static const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  return static_cast<double>(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / ticks;
}

std::shared_ptr<grpc::Channel> NewChannel(const std::string& address) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  args.SetMaxReceiveMessageSize(64 * 1024 * 1024);
  args.SetMaxSendMessageSize(64 * 1024 * 1024);
  return grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
}

void PhaseResult::Merge(PhaseResult&& o) {
  acked_txs += o.acked_txs;
  failed_txs += o.failed_txs;
  requests += o.requests;
  latency_ms.insert(latency_ms.end(), o.latency_ms.begin(), o.latency_ms.end());
  if (first_error.empty()) first_error = o.first_error;
  timed_out = timed_out || o.timed_out;
}

PhaseResult WindowedClient::Run() {
  result_.latency_ms.reserve(requests_);
  const size_t first = std::min<size_t>(requests_, static_cast<size_t>(window_));
  {
    std::lock_guard<std::mutex> lock(mu_);
    started_ = Clock::now();
    next_ = first;
    in_flight_ = first;
  }
  for (size_t i = 0; i < first; ++i) Send(i);
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [this] { return in_flight_ == 0; });
  result_.seconds = Seconds(Clock::now() - started_);
  return std::move(result_);
}

void WindowedClient::Send(size_t i) {
  const Clock::time_point t0 = Clock::now();
  issue_(i, [this, t0](uint64_t ok, uint64_t failed, const std::string& error) {
    const Clock::time_point t1 = Clock::now();
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

PhaseResult RunPhase(size_t clients,
                     const std::function<std::unique_ptr<WindowedClient>(size_t)>& make) {
  std::vector<std::unique_ptr<WindowedClient>> runners;
  for (size_t c = 0; c < clients; ++c) runners.push_back(make(c));
  std::vector<PhaseResult> results(clients);
  const Clock::time_point t0 = Clock::now();
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
  const double tps = r.seconds > 0 ? static_cast<double>(r.acked_txs) / r.seconds : 0;
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

}  // namespace tds::bench
