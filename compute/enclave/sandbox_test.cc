// The sandbox stops what a compromised query engine would try. Each probe job attempts one
// forbidden action inside the real enclave binary and sandbox (enclave_main.cc RunProbe).

#include "compute/enclave/sandbox.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include "compute/enclave/enclave_job.h"

namespace tds::compute::enclave {
namespace {

using ::testing::AnyOf;
using ::testing::HasSubstr;

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

TEST(SandboxTest, MissingBinaryRefusedWithItsPath) {
  auto p = SandboxedProcess::Start("/nonexistent/tds-enclave", {});
  EXPECT_EQ(p.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(p.status().message()), HasSubstr("/nonexistent/tds-enclave"));
  EXPECT_EQ(SandboxedProcess::Start("relative/path", {}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace tds::compute::enclave
