#pragma once
// Runs the enclave binary as a separate, confined process (the `software` platform's
// isolation; README.md "Sandbox" says what it does and does not protect against).
//
// Between fork and exec the child builds its own world:
//   - on a host that is not root (tdsd under deploy/tdsd.service), first its own user
//     namespace, where it holds the capabilities the rest needs; the one id an unprivileged
//     process may map there, 65534 inside, is the host's euid/egid outside;
//   - new network, mount, IPC and UTS namespaces: no interface but a down loopback;
//   - a minimal root: a tmpfs holding only read-only bind mounts of /usr (the shared
//     libraries; /lib, /lib64 and /bin as the host has them, symlinks on merged-/usr systems),
//     the enclave binary at /enclave, and a size-limited writable tmpfs at /tmp; the root is
//     then remounted read-only and the host's tree is unmounted (pivot_root);
//   - resource limits (address space, CPU seconds, open files, file size), an empty
//     capability bounding set, uid/gid 65534 (as root: setresuid, which drops every
//     capability and all groups; in the user namespace: the mapped id, whose capabilities end
//     at the execve), no new privileges, and SIGKILL if the host process dies.
// The enclave binary installs its seccomp-bpf allow-list (seccomp_policy.h) before it reads
// any input. The host talks to it over a socketpair on the child's stdin (fd 0).

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace tds::compute::enclave {

struct SandboxOptions {
  uint64_t address_space_bytes = 4ull << 30;  // RLIMIT_AS
  uint64_t cpu_seconds = 600;                 // RLIMIT_CPU
  uint64_t open_files = 16;                   // RLIMIT_NOFILE
  uint64_t file_bytes = 64ull << 20;          // RLIMIT_FSIZE
  uint64_t tmpfs_bytes = 64ull << 20;         // size of the writable /tmp
};

// How the enclave process ended.
struct SandboxExit {
  bool exited = false;  // normal exit with `code`; otherwise killed by `signal`
  int code = 0;
  int signal = 0;
  double peak_rss_mb = 0;        // ru_maxrss of the child (wait4)
  double cpu_seconds = 0;        // user + system of the child
  std::string Describe() const;  // "exit 0", "killed by SIGSYS (bad system call)"
};

class SandboxedProcess {
 public:
  // Starts `binary` (an absolute path) in the sandbox; errors name the setup step that failed
  // in the child (e.g. "unshare(CLONE_NEWUSER): Operation not permitted — unprivileged user
  // namespaces are disabled ..."). Runs as root, or as any user where unprivileged user
  // namespaces are enabled.
  static absl::StatusOr<std::unique_ptr<SandboxedProcess>> Start(const std::string& binary,
                                                                 const SandboxOptions& options);
  // Kills the child if it still runs and reaps it.
  ~SandboxedProcess();
  SandboxedProcess(const SandboxedProcess&) = delete;
  SandboxedProcess& operator=(const SandboxedProcess&) = delete;

  // The host end of the socketpair; ownership passes to the caller (once; -1 afterwards).
  int TakeChannel();
  pid_t pid() const { return pid_; }
  // Waits for the child to end (once).
  absl::StatusOr<SandboxExit> Wait();
  void Kill();

 private:
  SandboxedProcess() = default;
  pid_t pid_ = -1;
  int channel_ = -1;
  bool reaped_ = false;
  std::string root_dir_;  // host directory the child's root tmpfs was mounted on
};

}  // namespace tds::compute::enclave
