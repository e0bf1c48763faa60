#pragma once
// The enclave process's seccomp-bpf allow-list (libseccomp). Installed by the enclave binary
// itself, after start-up (libraries loaded, crypto initialised, the host channel wrapped) and
// before it reads any input; it cannot be lifted afterwards. Any system call not on the list
// kills the whole process with SIGSYS — in particular socket/connect/bind (no new network
// endpoints: the host channel is already open), execve/execveat, fork/clone/vfork, ptrace,
// mount, unshare, setuid and friends, chmod/link/rename, and ioctl.
//
// Allowed: memory management (brk, mmap, munmap, mremap, mprotect, madvise, mlock, munlock),
// I/O on descriptors already open or opened below (read, write, readv, writev, pread64,
// pwrite64, lseek, close, fstat, newfstatat, fcntl, ftruncate, fsync, fdatasync), openat and
// unlink (SQLite's temporary files; every writable place but the /tmp tmpfs is read-only, see
// sandbox.h), the host channel (sendto, recvfrom, poll, shutdown), futex, getrandom,
// clock_gettime, gettimeofday, getpid, gettid, rt_sigreturn, rt_sigprocmask, sched_yield,
// exit, exit_group.

#include "absl/status/status.h"

namespace tds::compute::enclave {

absl::Status InstallEnclaveSeccomp();

}  // namespace tds::compute::enclave
