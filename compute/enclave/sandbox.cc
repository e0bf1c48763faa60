#include "compute/enclave/sandbox.h"

#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"

namespace tds::compute::enclave {
namespace {

// The enclave's uid and gid: on a root host the real ones, on an unprivileged host the one id
// mapped inside the enclave's user namespace (onto the host's euid and egid).
constexpr uid_t kNobody = 65534;

// The child's setup steps, reported to the host by number when one fails.
enum Step : int {
  kDup = 1,
  kCloseFds,
  kUserNamespace,
  kSetgroupsDeny,
  kUidMap,
  kGidMap,
  kUnshare,
  kPrivateMounts,
  kRootTmpfs,
  kMkdir,
  kBind,
  kRemountReadOnly,
  kSymlink,
  kBinaryFile,
  kScratchTmpfs,
  kPivotRoot,
  kChdir,
  kUnmountOld,
  kRootReadOnly,
  kRlimit,
  kBoundingSet,
  kDropPrivileges,
  kNoNewPrivs,
  kDeathSignal,
  kExec,
};

const char* StepName(int step) {
  switch (step) {
    case kDup:
      return "dup2(channel, 0)";
    case kCloseFds:
      return "close_range";
    case kUserNamespace:
      return "unshare(CLONE_NEWUSER)";
    case kSetgroupsDeny:
      return "writing \"deny\" to /proc/self/setgroups";
    case kUidMap:
      return "writing /proc/self/uid_map";
    case kGidMap:
      return "writing /proc/self/gid_map";
    case kUnshare:
      return "unshare(CLONE_NEWNS|CLONE_NEWNET|CLONE_NEWIPC|CLONE_NEWUTS)";
    case kPrivateMounts:
      return "making mounts private";
    case kRootTmpfs:
      return "mounting the root tmpfs";
    case kMkdir:
      return "mkdir in the new root";
    case kBind:
      return "bind-mounting into the new root";
    case kRemountReadOnly:
      return "remounting a bind mount read-only";
    case kSymlink:
      return "symlink in the new root";
    case kBinaryFile:
      return "creating /enclave";
    case kScratchTmpfs:
      return "mounting the /tmp tmpfs";
    case kPivotRoot:
      return "pivot_root";
    case kChdir:
      return "chdir(/)";
    case kUnmountOld:
      return "unmounting the host's tree";
    case kRootReadOnly:
      return "remounting / read-only";
    case kRlimit:
      return "setrlimit";
    case kBoundingSet:
      return "prctl(PR_CAPBSET_DROP)";
    case kDropPrivileges:
      return "dropping to uid/gid 65534";
    case kNoNewPrivs:
      return "prctl(PR_SET_NO_NEW_PRIVS)";
    case kDeathSignal:
      return "prctl(PR_SET_PDEATHSIG)";
    case kExec:
      return "execve(/enclave)";
  }
  return "unknown step";
}

// What an operator needs to know beside the errno of a failed step (empty if nothing).
std::string StepHint(int step, int err, bool user_namespace) {
  if (step == kUserNamespace && err == EPERM) {
    return " — unprivileged user namespaces are disabled (sysctl "
           "kernel.unprivileged_userns_clone=0) or forbidden by a seccomp filter (systemd "
           "RestrictNamespaces= must allow 'user'; deploy/tdsd.service)";
  }
  if (step == kUserNamespace && err == ENOSPC) {
    return " — no user namespace may be created (sysctl user.max_user_namespaces is 0 or "
           "reached)";
  }
  if (user_namespace && err == EPERM && step > kUserNamespace && step < kRlimit) {
    return " — inside the sandbox's user namespace; a security module may deny it (e.g. "
           "sysctl kernel.apparmor_restrict_unprivileged_userns=1)";
  }
  return "";
}

// The flags a read-only bind remount of `target` must carry: the kernel refuses (EPERM) to
// clear a flag locked on a mount inherited from a more privileged mount namespace, so a source
// mounted noexec stays noexec. Atime flags are preserved by a remount that names none.
// Only system calls: runs in the child.
bool ReadOnlyRemountFlags(const char* target, unsigned long* flags) {
  struct statfs st;
  if (::statfs(target, &st) != 0) return false;
  *flags = MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV;
  if (st.f_flags & ST_NOEXEC) *flags |= MS_NOEXEC;
  return true;
}

// Writes `text` to a /proc file in one write(2), as the id-map files require.
bool WriteProcFile(const char* path, const std::string& text) {
  const int fd = ::open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const ssize_t n = ::write(fd, text.data(), text.size());
  const int e = errno;
  ::close(fd);
  if (n == static_cast<ssize_t>(text.size())) return true;
  errno = n < 0 ? e : EIO;
  return false;
}

// One entry of the minimal root, prepared before fork (the child must not allocate).
struct RootEntry {
  std::string target;  // inside the new root
  std::string source;  // bind source, or symlink text
  bool symlink = false;
};

[[noreturn]] void ChildFail(int fd, int step) {
  const int report[2] = {step, errno};
  (void)!::write(fd, report, sizeof(report));
  ::_exit(127);
}

}  // namespace

std::string SandboxExit::Describe() const {
  if (exited) return absl::StrCat("exit ", code);
  return absl::StrCat("killed by signal ", signal, " (", strsignal(signal), ")");
}

absl::StatusOr<std::unique_ptr<SandboxedProcess>> SandboxedProcess::Start(
    const std::string& binary, const SandboxOptions& options) {
  if (binary.empty() || binary[0] != '/') {
    return absl::InvalidArgumentError(
        absl::StrCat("sandbox: enclave binary path '", binary, "' is not absolute"));
  }
  if (::access(binary.c_str(), X_OK) != 0) {
    return absl::NotFoundError(absl::StrCat("sandbox: enclave binary ", binary,
                                            " is not executable: ", std::strerror(errno)));
  }
  std::unique_ptr<SandboxedProcess> p(new SandboxedProcess());
  char dir[] = "/tmp/tds-enclave-root-XXXXXX";
  if (::mkdtemp(dir) == nullptr) {
    return absl::InternalError(absl::StrCat("sandbox: mkdtemp: ", std::strerror(errno)));
  }
  p->root_dir_ = dir;
  const std::string root = dir;

  // Everything the child needs, built now: after fork it only makes system calls.
  std::vector<RootEntry> entries;
  entries.push_back({root + "/usr", "/usr", false});
  for (const char* top : {"/lib", "/lib64", "/bin", "/sbin"}) {
    struct stat st;
    if (::lstat(top, &st) != 0) continue;
    if (S_ISLNK(st.st_mode)) {
      char link[256];
      const ssize_t n = ::readlink(top, link, sizeof(link) - 1);
      if (n <= 0) continue;
      entries.push_back({root + top, std::string(link, n), true});
    } else if (S_ISDIR(st.st_mode)) {
      entries.push_back({root + top, top, false});
    }
  }
  const std::string enclave_path = root + "/enclave";
  const std::string tmp_path = root + "/tmp";
  const std::string old_path = root + "/.old";
  const std::string tmpfs_opts = absl::StrCat("size=", options.tmpfs_bytes, ",mode=1777");
  const struct {
    int resource;
    rlim_t value;
  } limits[] = {{RLIMIT_AS, options.address_space_bytes},
                {RLIMIT_CPU, options.cpu_seconds},
                {RLIMIT_NOFILE, options.open_files},
                {RLIMIT_FSIZE, options.file_bytes},
                {RLIMIT_CORE, 0}};
  const pid_t parent = ::getpid();
  // Not root: the child cannot unshare the other namespaces or mount anything in the host's
  // user namespace, so it first makes its own, where it holds every capability, and maps its
  // one id there (an unprivileged process may map only its own uid and gid).
  const bool user_namespace = ::geteuid() != 0;
  const std::string uid_map = absl::StrCat(kNobody, " ", ::geteuid(), " 1\n");
  const std::string gid_map = absl::StrCat(kNobody, " ", ::getegid(), " 1\n");

  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    return absl::InternalError(absl::StrCat("sandbox: socketpair: ", std::strerror(errno)));
  }
  int err[2];
  if (::pipe2(err, O_CLOEXEC) != 0) {
    ::close(sv[0]);
    ::close(sv[1]);
    return absl::InternalError(absl::StrCat("sandbox: pipe2: ", std::strerror(errno)));
  }
  const pid_t pid = ::fork();
  if (pid < 0) {
    const int e = errno;
    ::close(sv[0]);
    ::close(sv[1]);
    ::close(err[0]);
    ::close(err[1]);
    return absl::ResourceExhaustedError(absl::StrCat("sandbox: fork: ", std::strerror(e)));
  }
  if (pid == 0) {
    // The child: system calls only from here on.
    const int ef = err[1];
    if (::dup2(sv[1], 0) < 0) ChildFail(ef, kDup);
    // Keep 0, 1, 2 and the error pipe (close-on-exec); close everything else the host had.
    if (ef > 3 && ::syscall(SYS_close_range, 3u, static_cast<unsigned>(ef - 1), 0u) != 0) {
      ChildFail(ef, kCloseFds);
    }
    if (::syscall(SYS_close_range, static_cast<unsigned>(ef + 1), ~0u, 0u) != 0) {
      ChildFail(ef, kCloseFds);
    }
    if (user_namespace) {
      if (::unshare(CLONE_NEWUSER) != 0) ChildFail(ef, kUserNamespace);
      // "deny" must precede gid_map for an unprivileged writer; setgroups(2) then fails in here,
      // so the host's supplementary groups stay (tdsd's unit runs with none but its own).
      if (!WriteProcFile("/proc/self/setgroups", "deny")) ChildFail(ef, kSetgroupsDeny);
      if (!WriteProcFile("/proc/self/uid_map", uid_map)) ChildFail(ef, kUidMap);
      if (!WriteProcFile("/proc/self/gid_map", gid_map)) ChildFail(ef, kGidMap);
    }
    // Owned by the user namespace above when there is one: the capabilities held there suffice.
    if (::unshare(CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS) != 0) {
      ChildFail(ef, kUnshare);
    }
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
      ChildFail(ef, kPrivateMounts);
    }
    if (::mount("tmpfs", root.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=0755") != 0) {
      ChildFail(ef, kRootTmpfs);
    }
    unsigned long ro = 0;
    for (const RootEntry& e : entries) {
      if (e.symlink) {
        if (::symlink(e.source.c_str(), e.target.c_str()) != 0) ChildFail(ef, kSymlink);
        continue;
      }
      if (::mkdir(e.target.c_str(), 0755) != 0) ChildFail(ef, kMkdir);
      if (::mount(e.source.c_str(), e.target.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0) {
        ChildFail(ef, kBind);
      }
      if (!ReadOnlyRemountFlags(e.target.c_str(), &ro) ||
          ::mount(nullptr, e.target.c_str(), nullptr, ro, nullptr) != 0) {
        ChildFail(ef, kRemountReadOnly);
      }
    }
    const int bf = ::open(enclave_path.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0555);
    if (bf < 0) ChildFail(ef, kBinaryFile);
    ::close(bf);
    if (::mount(binary.c_str(), enclave_path.c_str(), nullptr, MS_BIND, nullptr) != 0) {
      ChildFail(ef, kBind);
    }
    if (!ReadOnlyRemountFlags(enclave_path.c_str(), &ro) ||
        ::mount(nullptr, enclave_path.c_str(), nullptr, ro, nullptr) != 0) {
      ChildFail(ef, kRemountReadOnly);
    }
    if (::mkdir(tmp_path.c_str(), 01777) != 0) ChildFail(ef, kMkdir);
    if (::mount("tmpfs", tmp_path.c_str(), "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
                tmpfs_opts.c_str()) != 0) {
      ChildFail(ef, kScratchTmpfs);
    }
    if (::mkdir(old_path.c_str(), 0700) != 0) ChildFail(ef, kMkdir);
    if (::syscall(SYS_pivot_root, root.c_str(), old_path.c_str()) != 0) {
      ChildFail(ef, kPivotRoot);
    }
    if (::chdir("/") != 0) ChildFail(ef, kChdir);
    if (::umount2("/.old", MNT_DETACH) != 0) ChildFail(ef, kUnmountOld);
    if (::rmdir("/.old") != 0) ChildFail(ef, kUnmountOld);
    if (::mount(nullptr, "/", nullptr, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, nullptr) !=
        0) {
      ChildFail(ef, kRootReadOnly);
    }
    for (const auto& l : limits) {
      const struct rlimit r = {l.value, l.value};
      if (::setrlimit(l.resource, &r) != 0) ChildFail(ef, kRlimit);
    }
    // No capability may come back through a later execve (with file capabilities), in any
    // namespace. Dropping needs CAP_SETPCAP, held until the next step or the exec.
    for (int cap = 0; ::prctl(PR_CAPBSET_READ, cap, 0, 0, 0) >= 0; ++cap) {
      if (::prctl(PR_CAPBSET_READ, cap, 0, 0, 0) == 1 &&
          ::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0) {
        ChildFail(ef, kBoundingSet);
      }
    }
    // In a user namespace the process already is 65534 there and its capabilities (held in that
    // namespace only) end at the execve below, its uid not being 0; set*id(2) is not called, as
    // systemd's ~@privileged would kill for it. As root, the switch to 65534 drops them.
    if (!user_namespace &&
        (::setgroups(0, nullptr) != 0 || ::setresgid(kNobody, kNobody, kNobody) != 0 ||
         ::setresuid(kNobody, kNobody, kNobody) != 0)) {
      ChildFail(ef, kDropPrivileges);
    }
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) ChildFail(ef, kNoNewPrivs);
    if (::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) ChildFail(ef, kDeathSignal);
    if (::getppid() != parent) ::_exit(126);  // the host already died
    char* const argv[] = {const_cast<char*>("/enclave"), nullptr};
    char* const envp[] = {nullptr};
    ::execve("/enclave", argv, envp);
    ChildFail(ef, kExec);
  }

  ::close(sv[1]);
  ::close(err[1]);
  p->pid_ = pid;
  p->channel_ = sv[0];
  int report[2] = {0, 0};
  ssize_t n;
  do {
    n = ::read(err[0], report, sizeof(report));
  } while (n < 0 && errno == EINTR);
  ::close(err[0]);
  if (n > 0) {
    p->Wait().IgnoreError();
    return absl::FailedPreconditionError(
        absl::StrCat("sandbox: ", StepName(report[0]), ": ", std::strerror(report[1]),
                     StepHint(report[0], report[1], user_namespace)));
  }
  return p;
}

SandboxedProcess::~SandboxedProcess() {
  if (channel_ >= 0) ::close(channel_);
  if (!reaped_) {
    Kill();
    Wait().IgnoreError();
  }
  if (!root_dir_.empty()) ::rmdir(root_dir_.c_str());
}

int SandboxedProcess::TakeChannel() {
  const int fd = channel_;
  channel_ = -1;
  return fd;
}

void SandboxedProcess::Kill() {
  if (pid_ > 0 && !reaped_) ::kill(pid_, SIGKILL);
}

absl::StatusOr<SandboxExit> SandboxedProcess::Wait() {
  if (reaped_) return absl::FailedPreconditionError("sandbox: the enclave was already reaped");
  int status = 0;
  struct rusage ru {};
  pid_t r;
  do {
    r = ::wait4(pid_, &status, 0, &ru);
  } while (r < 0 && errno == EINTR);
  if (r < 0) return absl::InternalError(absl::StrCat("sandbox: wait4: ", std::strerror(errno)));
  reaped_ = true;
  if (!root_dir_.empty() && ::rmdir(root_dir_.c_str()) == 0) root_dir_.clear();
  SandboxExit e;
  e.exited = WIFEXITED(status);
  e.code = e.exited ? WEXITSTATUS(status) : 0;
  e.signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
  e.peak_rss_mb = static_cast<double>(ru.ru_maxrss) / 1024.0;
  e.cpu_seconds = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                  static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
  return e;
}

}  // namespace tds::compute::enclave
