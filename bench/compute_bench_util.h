#pragma once
// Shared pieces of the in-process privacy-computing benchmarks (psi_ecdh_bench, psi_ot_bench,
// query_bench): flag parsing, identifiers, timing and CPU/RSS figures from getrusage, and both
// parties of a session run in this process over a real loopback TCP socket (SocketLink).
//
// Failures print "<bench>: <what>" to stderr and exit 1 (the benchmarks have nothing to unwind).

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "compute/link.h"
#include "compute/psi/psi_types.h"

namespace tds::compute_bench {

using Clock = std::chrono::steady_clock;

// The name failures are reported under; set by FlagReader.
void SetBenchName(std::string name);
[[noreturn]] void Die(const std::string& what);

// Seconds from `since` to now.
double SecondsSince(Clock::time_point since);
// The median of `v` (the mean of the middle two for an even count). REQUIRES: !v.empty().
double Median(std::vector<double> v);
// User + system CPU seconds of this process so far.
double CpuSeconds();
// Peak resident set of this process (getrusage ru_maxrss), MB.
double PeakRssMb();

// A non-negative integer flag value; accepts 1e6 as well as 1000000. Dies otherwise.
uint64_t ParseCount(const std::string& flag, const char* value);

// Walks argv: while (flags.Next()) { if (flags.Is("--n")) n = flags.Count(); ... else
// flags.Unknown(); }. -h / --help print `usage` and exit 0.
class FlagReader {
 public:
  FlagReader(const char* bench, std::string usage, int argc, char** argv);
  bool Next();
  bool Is(const char* flag) const { return arg_ == flag; }
  const std::string& arg() const { return arg_; }
  // The current flag's value (the next argument); dies if there is none.
  const char* Value();
  uint64_t Count() { return ParseCount(arg_, Value()); }
  // A value in [0, 1]; dies otherwise.
  double Fraction();
  // consumer-only, both, or (if `size_only`) size-only; dies otherwise.
  compute::psi::PsiOutput Output(bool size_only);
  [[noreturn]] void Unknown() const;

 private:
  const std::string usage_;
  const int argc_;
  char** const argv_;
  int i_ = 0;
  std::string arg_;
};

// Identifier k: "u" and 14 hex digits, 15 characters (short-string optimised, no heap block
// per item).
std::string BenchId(uint64_t k);

// The receiver holds ids [0, n), the sender ids [n - overlap, 2n - overlap).
void OverlappingSets(uint64_t n, uint64_t overlap, std::vector<std::string>& r_items,
                     std::vector<std::string>& s_items);

// Two SocketLinks connected over loopback TCP; dies if that fails.
std::pair<std::unique_ptr<compute::Link>, std::unique_ptr<compute::Link>> LoopbackLinks();

// One two-party PSI session's results, times and traffic.
struct PsiRun {
  absl::StatusOr<compute::psi::PsiResult> receiver = absl::UnknownError("not run");
  absl::StatusOr<compute::psi::PsiResult> sender = absl::UnknownError("not run");
  double wall = 0;  // from the start of both parties to the end of both
  double cpu = 0;   // user + system of this process over that time
  uint64_t r_sent = 0, r_received = 0, s_sent = 0;
};

// Runs `run(role, items, options, link)` (RunEcdhPsi, RunKkrtPsi) for both parties over a
// fresh loopback pair: the sender on a second thread, the receiver on this one.
template <typename Run, typename Options>
PsiRun RunPsiOverLoopback(Run run, const Options& options, const std::vector<std::string>& r_items,
                          const std::vector<std::string>& s_items) {
  using compute::psi::PsiRole;
  auto links = LoopbackLinks();
  PsiRun out;
  const double cpu_start = CpuSeconds();
  const Clock::time_point start = Clock::now();
  std::thread sender([&] { out.sender = run(PsiRole::kSender, s_items, options, *links.second); });
  out.receiver = run(PsiRole::kReceiver, r_items, options, *links.first);
  sender.join();
  out.wall = SecondsSince(start);
  out.cpu = CpuSeconds() - cpu_start;
  out.r_sent = links.first->bytes_sent();
  out.r_received = links.first->bytes_received();
  out.s_sent = links.second->bytes_sent();
  return out;
}

}  // namespace tds::compute_bench
