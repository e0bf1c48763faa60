#include "tests/test_util.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "common/file.h"
#include "common/x509.h"
#include "ledger/genesis.h"

#ifndef TDS_BIN_DIR
#error "TDS_BIN_DIR must name the directory holding tds and tdsd"
#endif

namespace tds::testing {
namespace {

using Clock = std::chrono::steady_clock;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// fork + exec with stdout/stderr redirected to the given fds. Only async-signal-safe calls
// happen in the child (the parent may have gRPC threads).
absl::StatusOr<pid_t> Spawn(const std::vector<std::string>& argv, int out_fd, int err_fd) {
  if (argv.empty()) return absl::InvalidArgumentError("empty argv");
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) return absl::InternalError(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);  // the parent died before prctl took effect
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, STDIN_FILENO);
    dup2(out_fd, STDOUT_FILENO);
    dup2(err_fd, STDERR_FILENO);
    execv(args[0], args.data());
    _exit(127);
  }
  return pid;
}

std::atomic<int> g_counter{0};

}  // namespace

std::string BinPath(const std::string& name) { return std::string(TDS_BIN_DIR) + "/" + name; }

TempDir::TempDir() {
  const char* tmp = std::getenv("TMPDIR");
  std::string tmpl =
      std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/tds-test-XXXXXX";
  if (mkdtemp(tmpl.data()) == nullptr) {
    std::fprintf(stderr, "mkdtemp(%s): %s\n", tmpl.c_str(), std::strerror(errno));
    std::abort();
  }
  path_ = tmpl;
}

TempDir::~TempDir() {
  if (std::getenv("TDS_KEEP_TEST_DIRS") != nullptr) {
    std::fprintf(stderr, "keeping %s\n", path_.c_str());
    return;
  }
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string CommandResult::Describe() const {
  std::ostringstream s;
  s << "exit " << exit_code << "\n--- stdout ---\n" << out << "--- stderr ---\n" << err;
  return s.str();
}

CommandResult RunCommand(const std::vector<std::string>& argv, int timeout_ms) {
  CommandResult r;
  TempDir dir;
  std::string out_path = dir.File("out"), err_path = dir.File("err");
  int out_fd = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  int err_fd = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (out_fd < 0 || err_fd < 0) {
    r.err = "cannot create output files in " + dir.path();
    return r;
  }
  absl::StatusOr<pid_t> pid = Spawn(argv, out_fd, err_fd);
  close(out_fd);
  close(err_fd);
  if (!pid.ok()) {
    r.err = std::string(pid.status().message());
    return r;
  }
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  int status = 0;
  bool timed_out = false;
  while (true) {
    pid_t w = waitpid(*pid, &status, WNOHANG);
    if (w == *pid) break;
    if (w < 0 && errno != EINTR) break;
    if (Clock::now() > deadline) {
      kill(*pid, SIGKILL);
      waitpid(*pid, &status, 0);
      timed_out = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  r.out = ReadAll(out_path);
  r.err = ReadAll(err_path);
  if (timed_out) {
    r.err += "\n[killed after " + std::to_string(timeout_ms) + " ms]";
  } else if (WIFEXITED(status)) {
    r.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    r.err += "\n[killed by signal " + std::to_string(WTERMSIG(status)) + "]";
  }
  return r;
}

CommandResult RunTds(const std::vector<std::string>& args, int timeout_ms) {
  std::vector<std::string> argv = {BinPath("tds")};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunCommand(argv, timeout_ms);
}

absl::StatusOr<std::unique_ptr<Process>> Process::Start(const std::vector<std::string>& argv,
                                                        const std::string& log_path) {
  int fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return absl::InternalError("open " + log_path + ": " + std::strerror(errno));
  absl::StatusOr<pid_t> pid = Spawn(argv, fd, fd);
  close(fd);
  if (!pid.ok()) return pid.status();
  return std::unique_ptr<Process>(new Process(*pid));
}

Process::~Process() {
  if (!reaped_) Stop(SIGKILL);
}

bool Process::Running() {
  if (reaped_) return false;
  int status = 0;
  pid_t w = waitpid(pid_, &status, WNOHANG);
  if (w == pid_) {
    reaped_ = true;
    wait_status_ = status;
    return false;
  }
  return true;
}

int Process::Stop(int sig, int timeout_ms) {
  if (reaped_) return wait_status_;
  kill(pid_, sig);
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  while (Running()) {
    if (Clock::now() > deadline) {
      kill(pid_, SIGKILL);
      int status = 0;
      waitpid(pid_, &status, 0);
      reaped_ = true;
      wait_status_ = status;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return wait_status_;
}

absl::StatusOr<std::unique_ptr<SigningKey>> MakeKeyFile(const std::string& path) {
  std::unique_ptr<SigningKey> key = SigningKey::Generate();
  if (absl::Status s = key->WriteToFile(path); !s.ok()) return s;
  return key;
}

absl::StatusOr<std::string> MakeGenesis(const std::string& dir, const std::string& origin,
                                        const std::vector<MemberSpec>& members,
                                        const std::string& genesis_name) {
  std::vector<std::string> specs;
  for (const MemberSpec& m : members) {
    absl::StatusOr<std::unique_ptr<SigningKey>> key = MakeKeyFile(dir + "/" + m.id + ".key");
    if (!key.ok()) return key.status();
    specs.push_back(m.id + ":" + m.roles + ":" + (*key)->public_key().hex() +
                    (m.tls_cert_sha256.empty() ? "" : ":" + m.tls_cert_sha256));
  }
  absl::StatusOr<std::string> json = ledger::BuildGenesisJson(origin, specs);
  if (!json.ok()) return json.status();
  const std::string path = dir + "/" + genesis_name;
  if (absl::Status s = WriteFileAtomic(path, *json); !s.ok()) return s;
  return path;
}

absl::StatusOr<std::map<std::string, std::string>> MakeTlsFiles(
    const std::string& dir, const std::vector<std::string>& member_ids) {
  absl::StatusOr<CertifiedKey> ca = CreateCertificateAuthority("TDS test consortium CA", 30);
  if (!ca.ok()) return ca.status();
  if (absl::Status s = WriteFileExclusive(dir + "/ca.key", ca->key_pem, 0600); !s.ok()) return s;
  if (absl::Status s = WriteFileExclusive(dir + "/ca.crt", ca->cert_pem, 0644); !s.ok()) return s;
  std::map<std::string, std::string> fingerprints;
  for (const std::string& id : member_ids) {
    absl::StatusOr<CertifiedKey> cert = IssueCertificate(*ca, {id, {"127.0.0.1", "localhost"}, 30});
    if (!cert.ok()) return cert.status();
    if (absl::Status s = WriteFileExclusive(dir + "/" + id + ".key", cert->key_pem, 0600);
        !s.ok()) {
      return s;
    }
    if (absl::Status s = WriteFileExclusive(dir + "/" + id + ".crt", cert->cert_pem, 0644);
        !s.ok()) {
      return s;
    }
    absl::StatusOr<std::string> fp = CertificateFingerprint(cert->cert_pem);
    if (!fp.ok()) return fp.status();
    fingerprints[id] = *fp;
  }
  return fingerprints;
}

absl::StatusOr<std::unique_ptr<Node>> Node::Start(const Options& options, int ready_timeout_ms) {
  auto node = std::unique_ptr<Node>(new Node());
  const int n = g_counter.fetch_add(1);
  const std::string ready = options.work_dir + "/tdsd-" + std::to_string(n) + ".ready";
  node->log_path_ = options.work_dir + "/tdsd-" + std::to_string(n) + ".log";
  std::vector<std::string> argv = {BinPath("tdsd"),
                                   "--data",
                                   options.data_dir,
                                   "--genesis",
                                   options.genesis,
                                   "--key",
                                   options.key,
                                   "--listen",
                                   "127.0.0.1:0",
                                   "--ready-file",
                                   ready};
  if (options.tls_cert.empty()) {
    argv.push_back("--insecure-dev");
  } else {
    argv.insert(argv.end(), {"--tls-cert", options.tls_cert, "--tls-key", options.tls_key,
                             "--tls-ca", options.tls_ca});
  }
  argv.insert(argv.end(), options.extra_flags.begin(), options.extra_flags.end());
  absl::StatusOr<std::unique_ptr<Process>> p = Process::Start(argv, node->log_path_);
  if (!p.ok()) return p.status();
  node->process_ = std::move(*p);

  const auto deadline = Clock::now() + std::chrono::milliseconds(ready_timeout_ms);
  while (true) {
    std::string addr = ReadAll(ready);
    if (!addr.empty() && addr.back() == '\n') {
      addr.pop_back();
      node->address_ = addr;
      return node;
    }
    if (!node->process_->Running()) {
      return absl::InternalError("tdsd exited during startup; log:\n" + node->Log());
    }
    if (Clock::now() > deadline) {
      return absl::DeadlineExceededError(
          "tdsd not ready after " + std::to_string(ready_timeout_ms) + " ms; log:\n" + node->Log());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

std::string Node::Log() const {
  std::string log = ReadAll(log_path_);
  constexpr size_t kTail = 8000;
  return log.size() > kTail ? "..." + log.substr(log.size() - kTail) : log;
}

bool Node::Shutdown() {
  int status = process_->Stop(SIGTERM, 30000);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

}  // namespace tds::testing
