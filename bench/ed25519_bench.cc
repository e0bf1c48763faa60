// Ed25519 verification cost per signature: libsodium's crypto_sign_verify_detached, our
// ed25519::Verify, and ed25519::VerifyBatch at batch sizes 1, 8, 64, 256 and 1024, each over
// (a) distinct public keys and (b) 2 public keys (the ledger's case: a block's signatures come
// from a data space's few members). Run by `deploy/bench.sh ed25519`.
//
//   ed25519_bench [--seconds S] [--message-bytes N]
//
// Set-up (not timed): 1,024 signatures over random N-byte messages (default 200, about a usage
// record), once under 1,024 keys and once under 2 keys. Each figure repeats its pass over the
// 1,024 signatures until S CPU seconds (default 0.5) have gone by. Before every pass the caches
// are emptied as the case needs: the signature cache always (else VerifyBatch would answer from
// it); the public-key cache only for distinct keys, so those pay every key's decompression
// while the 2-key case keeps its two keys warm, as a validator does. Times are process CPU time
// (the machine is shared; wall time is printed too). Last line:
//   ed25519 sodium_us=.. single_us=.. batch64_us=.. batch256_2keys_us=.. (and more keys)

#include <sodium.h>
#include <time.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/ed25519.h"

namespace {

namespace ed = ::tds::ed25519;

constexpr size_t kPool = 1024;

[[noreturn]] void Usage(const std::string& message) {
  std::fprintf(stderr, "error: %s\nusage: ed25519_bench [--seconds S] [--message-bytes N]\n",
               message.c_str());
  std::exit(2);
}

double CpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

double WallSeconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::string LoadAverage() {
  double load[3];
  if (getloadavg(load, 3) != 3) return "?";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.2f %.2f %.2f", load[0], load[1], load[2]);
  return buf;
}

struct Pool {
  std::vector<std::string> public_keys, messages, signatures;
  std::vector<ed::Item> items;
};

Pool MakePool(size_t num_keys, size_t message_bytes) {
  std::vector<std::string> pks(num_keys, std::string(32, '\0')),
      sks(num_keys, std::string(64, '\0'));
  for (size_t k = 0; k < num_keys; ++k) {
    crypto_sign_keypair(reinterpret_cast<unsigned char*>(pks[k].data()),
                        reinterpret_cast<unsigned char*>(sks[k].data()));
  }
  Pool pool;
  for (size_t i = 0; i < kPool; ++i) {
    std::string message(message_bytes, '\0'), sig(64, '\0');
    randombytes_buf(message.data(), message.size());
    crypto_sign_detached(reinterpret_cast<unsigned char*>(sig.data()), nullptr,
                         reinterpret_cast<const unsigned char*>(message.data()), message.size(),
                         reinterpret_cast<const unsigned char*>(sks[i % num_keys].data()));
    pool.public_keys.push_back(pks[i % num_keys]);
    pool.messages.push_back(std::move(message));
    pool.signatures.push_back(std::move(sig));
  }
  for (size_t i = 0; i < kPool; ++i) {
    pool.items.push_back({pool.public_keys[i], pool.messages[i], pool.signatures[i]});
  }
  return pool;
}

struct Figure {
  double cpu_us = 0;   // per signature
  double wall_us = 0;  // per signature
};

// Repeats `pass` (which verifies kPool signatures) until `seconds` of CPU time have passed.
template <typename Pass>
Figure Measure(double seconds, Pass pass) {
  const double cpu0 = CpuSeconds(), wall0 = WallSeconds();
  size_t passes = 0;
  do {
    pass();
    ++passes;
  } while (CpuSeconds() - cpu0 < seconds);
  const double n = static_cast<double>(passes * kPool);
  return {(CpuSeconds() - cpu0) / n * 1e6, (WallSeconds() - wall0) / n * 1e6};
}

void Fail(const char* what) {
  std::fprintf(stderr, "error: %s refused a valid signature\n", what);
  std::exit(1);
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 0.5;
  size_t message_bytes = 200;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (i + 1 >= argc) Usage("missing value for " + arg);
    const std::string value = argv[++i];
    char* end = nullptr;
    if (arg == "--seconds") {
      seconds = std::strtod(value.c_str(), &end);
      if (*end != '\0' || !(seconds > 0)) Usage("--seconds must be > 0");
    } else if (arg == "--message-bytes") {
      message_bytes = std::strtoull(value.c_str(), &end, 10);
      if (value.empty() || *end != '\0') Usage("--message-bytes must be an integer");
    } else {
      Usage("unknown argument " + arg);
    }
  }
  if (sodium_init() < 0) {
    std::fprintf(stderr, "error: sodium_init failed\n");
    return 1;
  }
  const std::string load_before = LoadAverage();
  std::printf(
      "ed25519 verification, %zu signatures over %zu-byte messages; per-signature CPU us "
      "(wall us)\nload average before: %s\n",
      kPool, message_bytes, load_before.c_str());

  const Pool distinct = MakePool(kPool, message_bytes);
  const Pool two_keys = MakePool(2, message_bytes);
  ed::Verify(distinct.items[0]);  // builds the base-point table outside the timings

  auto print = [](const char* what, const Figure& a, const Figure& b) {
    std::printf("  %-22s %8.2f (%8.2f)   %8.2f (%8.2f)\n", what, a.cpu_us, a.wall_us, b.cpu_us,
                b.wall_us);
  };
  std::printf("  %-22s %19s   %19s\n", "", "distinct keys", "2 keys");

  Figure sodium[2], single[2];
  const Pool* pools[2] = {&distinct, &two_keys};
  for (int c = 0; c < 2; ++c) {
    const Pool& pool = *pools[c];
    sodium[c] = Measure(seconds, [&] {
      for (const ed::Item& it : pool.items) {
        if (crypto_sign_verify_detached(
                reinterpret_cast<const unsigned char*>(it.signature.data()),
                reinterpret_cast<const unsigned char*>(it.message.data()), it.message.size(),
                reinterpret_cast<const unsigned char*>(it.public_key.data())) != 0) {
          Fail("libsodium");
        }
      }
    });
    single[c] = Measure(seconds, [&] {
      if (c == 0) ed::internal::ClearKeyCache();
      for (const ed::Item& it : pool.items) {
        if (!ed::Verify(it)) Fail("Verify");
      }
    });
  }
  print("libsodium single", sodium[0], sodium[1]);
  print("Verify", single[0], single[1]);

  const size_t sizes[] = {1, 8, 64, 256, 1024};
  Figure batch[5][2];
  for (int s = 0; s < 5; ++s) {
    for (int c = 0; c < 2; ++c) {
      const Pool& pool = *pools[c];
      const size_t size = sizes[s];
      batch[s][c] = Measure(seconds, [&] {
        // The pool's signatures are distinct, so one clear per pass avoids every cache hit.
        ed::internal::ClearSignatureCache();
        if (c == 0) ed::internal::ClearKeyCache();
        for (size_t begin = 0; begin < kPool; begin += size) {
          const std::vector<ed::Item> items(pool.items.begin() + begin,
                                            pool.items.begin() + begin + size);
          for (bool ok : ed::VerifyBatch(items)) {
            if (!ok) Fail("VerifyBatch");
          }
        }
      });
    }
    print(absl::StrCat("VerifyBatch n=", sizes[s]).c_str(), batch[s][0], batch[s][1]);
  }
  std::printf("  ratio batch256 (2 keys) / libsodium: %.3f\n",
              batch[3][1].cpu_us / sodium[1].cpu_us);
  std::printf("load average after: %s\n", LoadAverage().c_str());
  std::printf(
      "ed25519 sodium_us=%.2f single_us=%.2f batch64_us=%.2f batch256_2keys_us=%.2f "
      "single_2keys_us=%.2f batch256_us=%.2f batch1024_2keys_us=%.2f load=%s\n",
      sodium[0].cpu_us, single[0].cpu_us, batch[2][0].cpu_us, batch[3][1].cpu_us, single[1].cpu_us,
      batch[3][0].cpu_us, batch[4][1].cpu_us,
      LoadAverage().substr(0, LoadAverage().find(' ')).c_str());
  return 0;
}
