#include "bench/compute_bench_util.h"

#include <sys/resource.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>

#include "compute/socket_link.h"

namespace tds::compute_bench {
namespace {

std::string& BenchName() {
  static std::string name = "bench";
  return name;
}

}  // namespace

void SetBenchName(std::string name) { BenchName() = std::move(name); }

void Die(const std::string& what) {
  std::fprintf(stderr, "%s: %s\n", BenchName().c_str(), what.c_str());
  std::exit(1);
}

double SecondsSince(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

double CpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_utime.tv_usec * 1e-6 + u.ru_stime.tv_sec +
         u.ru_stime.tv_usec * 1e-6;
}

double PeakRssMb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB on Linux
}

uint64_t ParseCount(const std::string& flag, const char* value) {
  char* end = nullptr;
  errno = 0;
  const double d = std::strtod(value, &end);
  if (errno != 0 || end == value || *end != '\0' || d < 0 || d > 1e12 ||
      d != static_cast<uint64_t>(d)) {
    Die(flag + ": not a count: " + value);
  }
  return static_cast<uint64_t>(d);
}

FlagReader::FlagReader(const char* bench, std::string usage, int argc, char** argv)
    : usage_(std::move(usage)), argc_(argc), argv_(argv) {
  SetBenchName(bench);
}

bool FlagReader::Next() {
  if (++i_ >= argc_) return false;
  arg_ = argv_[i_];
  if (arg_ == "-h" || arg_ == "--help") {
    std::printf("%s", usage_.c_str());
    std::exit(0);
  }
  return true;
}

const char* FlagReader::Value() {
  if (i_ + 1 >= argc_) Die(arg_ + " needs a value");
  return argv_[++i_];
}

double FlagReader::Fraction() {
  const double v = std::strtod(Value(), nullptr);
  if (!(v >= 0 && v <= 1)) Die(arg_ + " must be in [0, 1]");
  return v;
}

compute::psi::PsiOutput FlagReader::Output(bool size_only) {
  using compute::psi::PsiOutput;
  const std::string m = Value();
  if (m == "consumer-only") return PsiOutput::kConsumerOnly;
  if (m == "both") return PsiOutput::kBoth;
  if (size_only && m == "size-only") return PsiOutput::kSizeOnly;
  Die(size_only ? arg_ + " must be consumer-only, both or size-only"
                : arg_ + " must be consumer-only or both (size-only needs ECDH-PSI)");
}

void FlagReader::Unknown() const { Die("unknown flag " + arg_); }

std::string BenchId(uint64_t k) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "u%014llx",
                static_cast<unsigned long long>(k & 0xffffffffffffffull));
  return std::string(buf, 15);
}

void OverlappingSets(uint64_t n, uint64_t overlap, std::vector<std::string>& r_items,
                     std::vector<std::string>& s_items) {
  r_items.clear();
  s_items.clear();
  r_items.reserve(n);
  s_items.reserve(n);
  for (uint64_t i = 0; i < n; ++i) r_items.push_back(BenchId(i));
  for (uint64_t i = 0; i < n; ++i) s_items.push_back(BenchId(n - overlap + i));
}

std::pair<std::unique_ptr<compute::Link>, std::unique_ptr<compute::Link>> LoopbackLinks() {
  auto links = compute::LoopbackSocketPair();
  if (!links.ok()) Die("loopback socket pair: " + std::string(links.status().message()));
  return *std::move(links);
}

}  // namespace tds::compute_bench
