#pragma once
// Helpers for integration tests that run the real `tds` and `tdsd` binaries.
//
// Children are started with fork/exec, on 127.0.0.1 only, with PR_SET_PDEATHSIG so that they die
// with the test process even if it crashes; every Process is also SIGKILLed by its destructor.

#include <signal.h>
#include <sys/types.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/keys.h"

namespace tds::testing {

// Directory holding the built `tds` and `tdsd` (TDS_BIN_DIR at compile time).
std::string BinPath(const std::string& name);

// A fresh directory under $TMPDIR, removed with everything in it on destruction
// (kept when TDS_KEEP_TEST_DIRS is set, for debugging).
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

struct CommandResult {
  int exit_code = -1;  // -1 when killed by a signal or timed out
  std::string out;
  std::string err;
  // For failure messages.
  std::string Describe() const;
};

// Runs argv[0] (a path) to completion; killed after timeout_ms.
CommandResult RunCommand(const std::vector<std::string>& argv, int timeout_ms = 120000);
// Runs build/bin/tds with `args`.
CommandResult RunTds(const std::vector<std::string>& args, int timeout_ms = 120000);

// A running child process. SIGKILLed and reaped on destruction unless already reaped.
class Process {
 public:
  // stdout and stderr go to log_path (appended).
  static absl::StatusOr<std::unique_ptr<Process>> Start(const std::vector<std::string>& argv,
                                                        const std::string& log_path);
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }
  bool Running();
  // Sends `sig` and waits up to timeout_ms for the exit (then SIGKILL). Returns the wait status.
  int Stop(int sig, int timeout_ms = 10000);

 private:
  explicit Process(pid_t pid) : pid_(pid) {}
  pid_t pid_;
  bool reaped_ = false;
  int wait_status_ = 0;
};

// Writes a new key file and returns the key.
absl::StatusOr<std::unique_ptr<SigningKey>> MakeKeyFile(const std::string& path);

struct MemberSpec {
  std::string id;
  std::string roles;                 // "validator", "consumer,provider", ...
  std::string tls_cert_sha256 = "";  // pins the member's TLS certificate when set
};
// Writes DIR/<id>.key for each member and DIR/<genesis_name> listing them; returns its path.
absl::StatusOr<std::string> MakeGenesis(const std::string& dir, const std::string& origin,
                                        const std::vector<MemberSpec>& members,
                                        const std::string& genesis_name = "genesis.json");

// A consortium CA (`tds cert ca`) in DIR/ca.{key,crt} and, for each id, a member certificate
// (`tds cert issue`, hosts 127.0.0.1 and localhost) in DIR/<id>.{key,crt}. Returns each id's
// certificate fingerprint, to pin with MemberSpec::tls_cert_sha256.
absl::StatusOr<std::map<std::string, std::string>> MakeTlsFiles(
    const std::string& dir, const std::vector<std::string>& member_ids);

// tdsd on 127.0.0.1:0, waiting for its ready file: mutual TLS with tls_cert/tls_key/tls_ca,
// plaintext (--insecure-dev) when they are empty.
class Node {
 public:
  struct Options {
    std::string data_dir;
    std::string genesis;
    std::string key;
    std::string work_dir;  // ready and log files go here
    std::vector<std::string> extra_flags;
    // --tls-cert, --tls-key, --tls-ca (all three, or none for --insecure-dev).
    std::string tls_cert = "";
    std::string tls_key = "";
    std::string tls_ca = "";
  };
  static absl::StatusOr<std::unique_ptr<Node>> Start(const Options& options,
                                                     int ready_timeout_ms = 60000);

  const std::string& address() const { return address_; }
  Process& process() { return *process_; }
  const std::string& log_path() const { return log_path_; }
  std::string Log() const;  // the log's last lines, for failure messages
  // SIGKILL, no chance to flush anything.
  void Kill() { process_->Stop(SIGKILL); }
  // SIGTERM, graceful; returns true if the node exited cleanly (status 0).
  bool Shutdown();

 private:
  std::unique_ptr<Process> process_;
  std::string address_;
  std::string log_path_;
};

}  // namespace tds::testing
