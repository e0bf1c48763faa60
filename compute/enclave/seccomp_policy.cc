#include "compute/enclave/seccomp_policy.h"

#include <seccomp.h>

#include <cstring>

#include "absl/strings/str_cat.h"

namespace tds::compute::enclave {

absl::Status InstallEnclaveSeccomp() {
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
  if (ctx == nullptr) return absl::InternalError("seccomp: seccomp_init failed");
  static const int kAllowed[] = {
      SCMP_SYS(brk),           SCMP_SYS(mmap),         SCMP_SYS(munmap),
      SCMP_SYS(mremap),        SCMP_SYS(mprotect),     SCMP_SYS(madvise),
      SCMP_SYS(mlock),         SCMP_SYS(munlock),      SCMP_SYS(read),
      SCMP_SYS(write),         SCMP_SYS(readv),        SCMP_SYS(writev),
      SCMP_SYS(pread64),       SCMP_SYS(pwrite64),     SCMP_SYS(lseek),
      SCMP_SYS(close),         SCMP_SYS(fstat),        SCMP_SYS(newfstatat),
      SCMP_SYS(fcntl),         SCMP_SYS(ftruncate),    SCMP_SYS(fsync),
      SCMP_SYS(fdatasync),     SCMP_SYS(openat),       SCMP_SYS(unlink),
      SCMP_SYS(sendto),        SCMP_SYS(recvfrom),     SCMP_SYS(poll),
      SCMP_SYS(shutdown),      SCMP_SYS(futex),        SCMP_SYS(getrandom),
      SCMP_SYS(clock_gettime), SCMP_SYS(gettimeofday), SCMP_SYS(getpid),
      SCMP_SYS(gettid),        SCMP_SYS(rt_sigreturn), SCMP_SYS(rt_sigprocmask),
      SCMP_SYS(sched_yield),   SCMP_SYS(exit),         SCMP_SYS(exit_group),
  };
  for (int sys : kAllowed) {
    const int rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, sys, 0);
    if (rc != 0) {
      seccomp_release(ctx);
      return absl::InternalError(
          absl::StrCat("seccomp: allowing system call ", sys, ": ", std::strerror(-rc)));
    }
  }
  const int rc = seccomp_load(ctx);
  seccomp_release(ctx);
  if (rc != 0) {
    return absl::InternalError(absl::StrCat("seccomp: loading the filter: ", std::strerror(-rc)));
  }
  return absl::OkStatus();
}

}  // namespace tds::compute::enclave
