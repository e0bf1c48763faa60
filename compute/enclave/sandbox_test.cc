// The sandbox stops what a compromised query engine would try. Each probe job attempts one
// forbidden action inside the real enclave binary and sandbox (enclave_main.cc RunProbe).
// Run as root these tests exercise the root host; UnprivilegedHostTest re-runs them (and the
// enclave_job_test cases) from uid 65534 with no privileges, as tdsd runs under
// deploy/tdsd.service, where the sandbox builds its own user namespace.

#include "compute/enclave/sandbox.h"

#include <gmock/gmock.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>

#include "compute/enclave/enclave_job.h"

namespace tds::compute::enclave {
namespace {

using ::testing::AnyOf;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr uid_t kUnprivileged = 65534;

// As tdsd under deploy/tdsd.service: no new privileges, an empty capability bounding set, no
// supplementary groups, uid/gid 65534. For a forked child: system calls only. Returns 0 or the
// errno of the step that failed.
int BecomeUnprivilegedHost() {
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return errno;
  for (int cap = 0; ::prctl(PR_CAPBSET_READ, cap, 0, 0, 0) >= 0; ++cap) {
    if (::prctl(PR_CAPBSET_READ, cap, 0, 0, 0) == 1 &&
        ::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0) {
      return errno;
    }
  }
  if (::geteuid() != 0) return 0;
  if (::setgroups(0, nullptr) != 0 ||
      ::setresgid(kUnprivileged, kUnprivileged, kUnprivileged) != 0 ||
      ::setresuid(kUnprivileged, kUnprivileged, kUnprivileged) != 0) {
    return errno;
  }
  return 0;
}

ProbeOutcome Probe(const std::string& probe) {
  EnclaveJobOptions options;
  options.enclave_binary = TDS_ENCLAVE_BINARY;
  auto out = RunEnclaveProbe(options, probe);
  EXPECT_TRUE(out.ok()) << out.status();
  return out.ok() ? *out : ProbeOutcome{};
}

TEST(SandboxTest, OpeningASocketIsStopped) {
  const ProbeOutcome out = Probe("socket");
  EXPECT_EQ(out.report, "");
  EXPECT_FALSE(out.exit.exited);
  EXPECT_EQ(out.exit.signal, SIGSYS) << out.exit.Describe();
}

TEST(SandboxTest, ExecIsStopped) {
  const ProbeOutcome out = Probe("exec");
  EXPECT_EQ(out.report, "");
  EXPECT_EQ(out.exit.signal, SIGSYS) << out.exit.Describe();
}

TEST(SandboxTest, WritingOutsideTheTmpfsIsStopped) {
  // The probe machinery works: the private tmpfs is writable.
  EXPECT_EQ(Probe("write:/tmp/scratch").report, "write: ok");
  // Everything else is read-only (or not there at all): the root, the shared libraries, the
  // enclave binary, and a host path such as this test's working directory.
  char cwd[4096];
  ASSERT_NE(::getcwd(cwd, sizeof(cwd)), nullptr);
  for (const std::string& path : {std::string("/planted"), std::string("/usr/planted"),
                                  std::string("/enclave"), std::string(cwd) + "/planted"}) {
    SCOPED_TRACE(path);
    const ProbeOutcome out = Probe("write:" + path);
    EXPECT_THAT(out.report,
                AnyOf(HasSubstr("errno 30 "), HasSubstr("errno 13 "), HasSubstr("errno 2 ")));
    EXPECT_TRUE(out.exit.exited);
    EXPECT_NE(::access((std::string(cwd) + "/planted").c_str(), F_OK), 0);
  }
}

// "Key:\tvalue" lines of /proc/PID/status.
std::map<std::string, std::string> ProcStatus(pid_t pid) {
  std::map<std::string, std::string> out;
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    const size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    const size_t value = line.find_first_not_of(" \t", colon + 1);
    out[line.substr(0, colon)] = value == std::string::npos ? "" : line.substr(value);
  }
  return out;
}

std::string NamespaceOf(const std::string& pid, const char* type) {
  char link[128] = {0};
  const std::string path = "/proc/" + pid + "/ns/" + type;
  const ssize_t n = ::readlink(path.c_str(), link, sizeof(link) - 1);
  return n > 0 ? std::string(link, n) : "unreadable " + path + ": " + std::strerror(errno);
}

TEST(SandboxTest, EnclaveHoldsNoCapabilitiesInItsOwnNamespaces) {
  // Started and exec'd, the enclave waits for the host's hello: inspect it from outside.
  auto p = SandboxedProcess::Start(TDS_ENCLAVE_BINARY, {});
  ASSERT_TRUE(p.ok()) << p.status();
  const std::string pid = std::to_string((*p)->pid());
  std::map<std::string, std::string> status = ProcStatus((*p)->pid());
  // No capability in any namespace (the effective set is relative to the enclave's own user
  // namespace when it has one), none to regain, and no new privileges.
  for (const char* set : {"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"}) {
    EXPECT_EQ(status[set], "0000000000000000") << set;
  }
  EXPECT_EQ(status["NoNewPrivs"], "1");
  const bool unprivileged_host = ::geteuid() != 0;
  // The host's view: uid 65534 as root, otherwise the host's own uid (mapped to 65534 inside).
  const uid_t host_uid = unprivileged_host ? ::geteuid() : kUnprivileged;
  const std::string uid = std::to_string(host_uid);
  EXPECT_EQ(status["Uid"], uid + "\t" + uid + "\t" + uid + "\t" + uid);
  for (const char* type : {"mnt", "net", "ipc", "uts"}) {
    EXPECT_NE(NamespaceOf(pid, type), NamespaceOf("self", type)) << type;
    EXPECT_THAT(NamespaceOf(pid, type), Not(HasSubstr("unreadable"))) << type;
  }
  if (unprivileged_host) {
    EXPECT_NE(NamespaceOf(pid, "user"), NamespaceOf("self", "user"));
    std::ifstream map_file("/proc/" + pid + "/uid_map");
    uid_t inside = 0, outside = 0, count = 0;
    map_file >> inside >> outside >> count;
    EXPECT_EQ(inside, kUnprivileged);
    EXPECT_EQ(outside, ::geteuid());
    EXPECT_EQ(count, 1u) << "exactly one id mapped";
  } else {
    EXPECT_EQ(NamespaceOf(pid, "user"), NamespaceOf("self", "user"));
  }
  (*p)->Kill();
}

TEST(SandboxTest, ForbiddenUserNamespaceIsReportedByItsStep) {
  // As under a unit whose RestrictNamespaces= lacks `user`: unshare(CLONE_NEWUSER) gets EPERM.
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        if (BecomeUnprivilegedHost() != 0) ::_exit(2);
        scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
        if (ctx == nullptr ||
            seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(unshare), 1,
                             SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_NEWUSER, CLONE_NEWUSER)) != 0 ||
            seccomp_load(ctx) != 0) {
          ::_exit(3);
        }
        auto p = SandboxedProcess::Start(TDS_ENCLAVE_BINARY, {});
        std::fprintf(stderr, "%s\n", p.status().ToString().c_str());
        ::_exit(p.status().code() == absl::StatusCode::kFailedPrecondition ? 0 : 1);
      },
      ::testing::ExitedWithCode(0),
      "sandbox: unshare\\(CLONE_NEWUSER\\): Operation not permitted — unprivileged user "
      "namespaces are disabled.*RestrictNamespaces");
}

TEST(SandboxTest, MissingBinaryRefusedWithItsPath) {
  auto p = SandboxedProcess::Start("/nonexistent/tds-enclave", {});
  EXPECT_EQ(p.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(p.status().message()), HasSubstr("/nonexistent/tds-enclave"));
  EXPECT_EQ(SandboxedProcess::Start("relative/path", {}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// tdsd runs as user `tds` with no capabilities (deploy/tdsd.service): the sandbox must start
// from there too. From root this test drops to uid 65534 as the unit does and re-runs this
// binary's sandbox and job tests there; they check the same isolation (no network, read-only
// root, seccomp, no capabilities) and an end-to-end job.
TEST(UnprivilegedHostTest, SandboxAndJobTestsPassAsUid65534) {
  if (::geteuid() != 0) {
    GTEST_SKIP() << "running as uid " << ::geteuid()
                 << " already: the SandboxTest and EnclaveJobTest cases of this run exercised "
                    "the unprivileged host";
  }
  char self[4096];
  const ssize_t n = ::readlink("/proc/self/exe", self, sizeof(self) - 1);
  ASSERT_GT(n, 0) << std::strerror(errno);
  self[n] = '\0';

  // Can uid 65534 run the binaries and make a user namespace at all?
  enum Check : int { kDrop = 1, kTestBinary, kEnclaveBinary, kUserNamespace };
  int report[2] = {0, 0};
  {
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      int failed[2] = {0, 0};
      if ((failed[1] = BecomeUnprivilegedHost()) != 0) {
        failed[0] = kDrop;
      } else if (::access(self, R_OK | X_OK) != 0) {
        failed[0] = kTestBinary;
      } else if (::access(TDS_ENCLAVE_BINARY, R_OK | X_OK) != 0) {
        failed[0] = kEnclaveBinary;
      } else if (::unshare(CLONE_NEWUSER) != 0) {
        failed[0] = kUserNamespace;
      }
      if (failed[0] != 0 && failed[1] == 0) failed[1] = errno;
      (void)!::write(fds[1], failed, sizeof(failed));
      ::_exit(0);
    }
    ::close(fds[1]);
    ASSERT_EQ(::read(fds[0], report, sizeof(report)), static_cast<ssize_t>(sizeof(report)));
    ::close(fds[0]);
    ::waitpid(pid, nullptr, 0);
  }
  const std::string why = std::strerror(report[1]);
  ASSERT_NE(report[0], kDrop) << "dropping to uid 65534: " << why;
  if (report[0] == kUserNamespace) {
    GTEST_SKIP() << "unprivileged user namespaces are unavailable here (as uid 65534, "
                    "unshare(CLONE_NEWUSER): "
                 << why
                 << "; disabled by sysctl kernel.unprivileged_userns_clone=0 or "
                    "user.max_user_namespaces=0, or forbidden by a seccomp filter): the sandbox "
                    "cannot start from an unprivileged host here, so that mode is untested";
  }
  if (report[0] == kTestBinary || report[0] == kEnclaveBinary) {
    GTEST_SKIP() << "uid 65534 cannot read and execute "
                 << (report[0] == kTestBinary ? std::string(self) : TDS_ENCLAVE_BINARY) << ": "
                 << why << " (the build directory must be world-readable for this test)";
  }

  int out[2];
  ASSERT_EQ(::pipe(out), 0);
  std::string filter = "--gtest_filter=SandboxTest.*:EnclaveJobTest.*";
  std::string color = "--gtest_color=no";
  char* const argv[] = {self, filter.data(), color.data(), nullptr};
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::close(out[0]);
    if (::dup2(out[1], 1) < 0 || ::dup2(out[1], 2) < 0) ::_exit(126);
    if (BecomeUnprivilegedHost() != 0) ::_exit(126);
    ::execv(self, argv);
    ::_exit(127);
  }
  ::close(out[1]);
  std::string output;
  char buf[4096];
  ssize_t r;
  while ((r = ::read(out[0], buf, sizeof(buf))) != 0) {
    if (r < 0 && errno == EINTR) continue;
    ASSERT_GT(r, 0) << std::strerror(errno);
    output.append(buf, r);
  }
  ::close(out[0]);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
      << "the tests run as uid 65534 failed (wait status " << status << "):\n"
      << output;
  // They ran, and in the unprivileged mode (the capability test checks the user namespace).
  for (const char* test : {"SandboxTest.EnclaveHoldsNoCapabilitiesInItsOwnNamespaces",
                           "SandboxTest.OpeningASocketIsStopped", "SandboxTest.ExecIsStopped",
                           "SandboxTest.WritingOutsideTheTmpfsIsStopped",
                           "SandboxTest.ForbiddenUserNamespaceIsReportedByItsStep",
                           "EnclaveJobTest.TwoProvidersJoinedWithTheBankMatchPlainSqlite"}) {
    EXPECT_THAT(output, HasSubstr(std::string("[       OK ] ") + test)) << output;
  }
  EXPECT_THAT(output, Not(HasSubstr("[  SKIPPED ]"))) << output;
}

}  // namespace
}  // namespace tds::compute::enclave
