#include "node/connectors/postgres_test_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"

namespace tds::node::testing {
namespace {

namespace fs = std::filesystem;

// The newest <root>/<version>/bin holding initdb and pg_ctl, or "".
std::string FindBinDir() {
  std::error_code ec;
  if (const char* env = getenv("TDS_PG_BINDIR"); env != nullptr && env[0] != '\0') {
    const fs::path bin(env);
    return fs::exists(bin / "initdb", ec) && fs::exists(bin / "pg_ctl", ec) ? bin.string() : "";
  }
  int best_version = -1;
  std::string best;
  for (const auto& entry : fs::directory_iterator("/usr/lib/postgresql", ec)) {
    const std::string name = entry.path().filename().string();
    const fs::path bin = entry.path() / "bin";
    if (name.empty() || !std::all_of(name.begin(), name.end(), ::isdigit)) continue;
    if (!fs::exists(bin / "initdb") || !fs::exists(bin / "pg_ctl")) continue;
    if (std::stoi(name) > best_version) {
      best_version = std::stoi(name);
      best = bin.string();
    }
  }
  return best;
}

// A port nobody listens on right now (the server may still lose a race for it: Start retries).
int FreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

std::string Tail(const std::string& path, size_t bytes = 2000) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string all = ss.str();
  return all.size() <= bytes ? all : all.substr(all.size() - bytes);
}

}  // namespace

absl::StatusOr<std::unique_ptr<PostgresTestServer>> PostgresTestServer::Start() {
  std::unique_ptr<PostgresTestServer> server(new PostgresTestServer());
  server->bin_dir_ = FindBinDir();
  if (server->bin_dir_.empty()) {
    return absl::FailedPreconditionError(
        "PostgreSQL server binaries (initdb, pg_ctl) not found in /usr/lib/postgresql/<version>"
        "/bin (or $TDS_PG_BINDIR): install them with deploy/install-deps.sh (Debian package "
        "postgresql)");
  }
  if (::geteuid() == 0) {
    const passwd* pw = ::getpwnam("postgres");
    if (pw == nullptr) {
      return absl::FailedPreconditionError(
          "running as root, and PostgreSQL refuses to: there is no 'postgres' user to run the "
          "test server as (the Debian postgresql package creates it)");
    }
    server->as_postgres_ = true;
    server->run_uid_ = pw->pw_uid;
    server->run_gid_ = pw->pw_gid;
  }
  // As root, /tmp rather than $TMPDIR: the postgres user must be able to reach the dir.
  const std::string base =
      server->as_postgres_ ? std::string("/tmp") : fs::temp_directory_path().string();
  std::string tmpl = base + "/tds-pg-XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) {
    return absl::InternalError(absl::StrCat("mkdtemp ", tmpl, ": ", std::strerror(errno)));
  }
  server->dir_ = tmpl;
  if (server->as_postgres_ &&
      ::chown(server->dir_.c_str(), server->run_uid_, server->run_gid_) != 0) {
    return absl::InternalError(absl::StrCat("chown ", server->dir_, ": ", std::strerror(errno)));
  }
  const std::string data = server->dir_ + "/data";
  if (absl::Status s = server->Run(
          "initdb", {"-D", data, "-U", "tds", "-A", "trust", "-E", "UTF8", "--locale=C", "-N"});
      !s.ok()) {
    return s;
  }
  absl::Status started;
  for (int attempt = 0; attempt < 3; ++attempt) {
    server->port_ = FreePort();
    started = server->Run("pg_ctl",
                          {"-D", data, "-l", server->dir_ + "/server.log", "-w", "-t", "60", "-o",
                           absl::StrCat("-k ", server->dir_, " -h 127.0.0.1 -p ", server->port_,
                                        " -F -c max_connections=40 -c shared_buffers=16MB"),
                           "start"});
    if (started.ok()) {
      server->running_ = true;
      return server;
    }
  }
  return absl::UnavailableError(absl::StrCat(std::string(started.message()), "\nserver.log:\n",
                                             Tail(server->dir_ + "/server.log")));
}

PostgresTestServer::~PostgresTestServer() { Stop(); }

void PostgresTestServer::Stop() {
  if (running_) {
    (void)Run("pg_ctl", {"-D", dir_ + "/data", "-m", "immediate", "-w", "stop"});
    running_ = false;
  }
  if (!dir_.empty()) {
    std::error_code ec;
    fs::remove_all(dir_, ec);
    dir_.clear();
  }
}

std::string PostgresTestServer::Dsn(const std::string& dbname) const {
  return absl::StrCat("host=127.0.0.1 port=", port_, " user=tds dbname=", dbname,
                      " connect_timeout=10");
}

absl::Status PostgresTestServer::Run(const std::string& program,
                                     const std::vector<std::string>& args) const {
  const std::string binary = bin_dir_ + "/" + program;
  const std::string log = dir_ + "/" + program + ".log";
  // Everything the child needs is built before fork: after it only async-signal-safe calls.
  std::vector<std::string> argv_store = {binary};
  argv_store.insert(argv_store.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& a : argv_store) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::string env_home = "HOME=" + dir_;
  std::string env_path = "PATH=/usr/bin:/bin";
  std::string env_locale = "LC_ALL=C";
  std::vector<char*> envp = {env_home.data(), env_path.data(), env_locale.data(), nullptr};

  const pid_t pid = ::fork();
  if (pid < 0) return absl::InternalError(absl::StrCat("fork: ", std::strerror(errno)));
  if (pid == 0) {
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd >= 0) {
      ::dup2(fd, STDOUT_FILENO);
      ::dup2(fd, STDERR_FILENO);
      if (as_postgres_) (void)::fchown(fd, run_uid_, run_gid_);
    }
    const int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, STDIN_FILENO);
    if (as_postgres_) {
      if (::setgroups(0, nullptr) != 0 || ::setgid(run_gid_) != 0 || ::setuid(run_uid_) != 0) {
        ::_exit(126);
      }
    }
    if (::chdir(dir_.c_str()) != 0) ::_exit(126);
    ::execve(binary.c_str(), argv.data(), envp.data());
    ::_exit(127);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return absl::InternalError(absl::StrCat("waitpid: ", std::strerror(errno)));
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return absl::OkStatus();
  return absl::InternalError(
      absl::StrCat(program, " failed (",
                   WIFEXITED(status) ? absl::StrCat("exit ", WEXITSTATUS(status))
                                     : absl::StrCat("signal ", WTERMSIG(status)),
                   as_postgres_ ? ", run as user postgres" : "", "):\n", Tail(log)));
}

}  // namespace tds::node::testing
