// Merkle log throughput: append, inclusion/consistency proof generation and verification over
// an in-memory store.
//
//   merkle_bench [--leaves N] [--seconds S]
//
// Builds a MemoryNodeStore of N leaves (default 10^6), then runs each proof measurement for about
// S seconds (default 2) over uniformly random indices. The last line is machine-readable:
//   merkle leaves=N prove_per_s=... verify_per_s=... append_per_s=...
// append_per_s counts whole entry appends: leaf hashing plus tree update and node storage.

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "ledger/merkle.h"

namespace {

namespace merkle = ::tds::ledger::merkle;
using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::string Entry(uint64_t i) { return absl::StrCat("entry-", i); }

[[noreturn]] void Usage(const char* message) {
  std::fprintf(stderr, "error: %s\nusage: merkle_bench [--leaves N] [--seconds S]\n", message);
  std::exit(2);
}

// Runs `op` in batches until `seconds` have passed; returns ops per second.
template <typename Op>
double Rate(double seconds, Op op) {
  constexpr uint64_t kBatch = 1024;
  uint64_t ops = 0;
  const Clock::time_point start = Clock::now();
  double elapsed = 0;
  do {
    for (uint64_t i = 0; i < kBatch; ++i) op(ops + i);
    ops += kBatch;
    elapsed = SecondsSince(start);
  } while (elapsed < seconds);
  return ops / elapsed;
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t leaves = 1'000'000;
  double seconds = 2.0;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    std::string value;
    const auto take = [&](const std::string& flag) {
      if (arg == flag) {
        if (i + 1 >= argc) Usage(("missing value for " + flag).c_str());
        value = argv[++i];
        return true;
      }
      if (arg.rfind(flag + "=", 0) == 0) {
        value = arg.substr(flag.size() + 1);
        return true;
      }
      return false;
    };
    char* end = nullptr;
    if (take("--leaves")) {
      leaves = std::strtoull(value.c_str(), &end, 10);
      if (value.empty() || *end != '\0' || leaves < 2) Usage("--leaves must be an integer >= 2");
    } else if (take("--seconds")) {
      seconds = std::strtod(value.c_str(), &end);
      if (value.empty() || *end != '\0' || !(seconds > 0)) Usage("--seconds must be > 0");
    } else {
      Usage(("unknown argument " + arg).c_str());
    }
  }

  // Append: leaf hashing and tree update timed separately, reported together.
  std::vector<tds::Hash> leaf_hashes(leaves);
  Clock::time_point start = Clock::now();
  for (uint64_t i = 0; i < leaves; ++i) leaf_hashes[i] = merkle::LeafHash(Entry(i));
  const double hash_s = SecondsSince(start);
  merkle::MemoryNodeStore store;
  start = Clock::now();
  for (uint64_t i = 0; i < leaves; ++i) store.AppendLeaf(leaf_hashes[i]);
  const double tree_s = SecondsSince(start);
  const double append_per_s = leaves / (hash_s + tree_s);
  const tds::Hash root = store.Root();
  std::printf("tree of %llu leaves built; root %s\n", static_cast<unsigned long long>(leaves),
              tds::HexEncode(root).c_str());
  std::printf("append:            %10.0f entries/s  (leaf hash %.0f/s, tree update %.0f/s)\n",
              append_per_s, leaves / hash_s, leaves / tree_s);

  std::mt19937_64 rng(20240601);
  uint64_t sink = 0;  // keeps results observable so the work is not optimized away

  // Inclusion proof generation over random indices of the full tree.
  const double prove_per_s = Rate(seconds, [&](uint64_t) {
    const uint64_t index = rng() % leaves;
    auto proof = merkle::InclusionProof(store, index, leaves);
    if (!proof.ok()) {
      std::fprintf(stderr, "prove failed: %s\n", std::string(proof.status().message()).c_str());
      std::exit(1);
    }
    sink += (*proof)[0][0];
  });
  std::printf("inclusion prove:   %10.0f proofs/s\n", prove_per_s);

  // Verification cycles through a pool of pre-generated proofs.
  struct Sample {
    uint64_t index;
    std::vector<tds::Hash> proof;
  };
  std::vector<Sample> pool(4096);
  for (Sample& s : pool) {
    s.index = rng() % leaves;
    s.proof = *merkle::InclusionProof(store, s.index, leaves);
  }
  const double verify_per_s = Rate(seconds, [&](uint64_t op) {
    const Sample& s = pool[op % pool.size()];
    const absl::Status st =
        merkle::VerifyInclusion(leaf_hashes[s.index], s.index, leaves, s.proof, root);
    if (!st.ok()) {
      std::fprintf(stderr, "verify failed: %s\n", std::string(st.message()).c_str());
      std::exit(1);
    }
    ++sink;
  });
  std::printf("inclusion verify:  %10.0f proofs/s\n", verify_per_s);

  // Consistency proofs from a random earlier size to the full tree (informational).
  const double cprove_per_s = Rate(seconds / 2, [&](uint64_t) {
    const uint64_t size1 = 1 + rng() % (leaves - 1);
    auto proof = merkle::ConsistencyProof(store, size1, leaves);
    if (!proof.ok()) std::exit(1);
    sink += (*proof)[0][0];
  });
  struct CSample {
    uint64_t size1;
    tds::Hash root1;
    std::vector<tds::Hash> proof;
  };
  std::vector<CSample> cpool(1024);
  for (CSample& s : cpool) {
    s.size1 = 1 + rng() % (leaves - 1);
    s.root1 = *merkle::RootAt(store, s.size1);
    s.proof = *merkle::ConsistencyProof(store, s.size1, leaves);
  }
  const double cverify_per_s = Rate(seconds / 2, [&](uint64_t op) {
    const CSample& s = cpool[op % cpool.size()];
    if (!merkle::VerifyConsistency(s.size1, leaves, s.proof, s.root1, root).ok()) std::exit(1);
    ++sink;
  });
  std::printf("consistency prove: %10.0f proofs/s\n", cprove_per_s);
  std::printf("consistency verify:%10.0f proofs/s\n", cverify_per_s);
  std::printf("(sink %llu)\n", static_cast<unsigned long long>(sink % 10));

  std::printf("merkle leaves=%llu prove_per_s=%.0f verify_per_s=%.0f append_per_s=%.0f\n",
              static_cast<unsigned long long>(leaves), prove_per_s, verify_per_s, append_per_s);
  return 0;
}
