#include "compute/sodium_init.h"

#include <sodium.h>

#include <cstdio>
#include <cstdlib>

namespace tds::compute {

void EnsureSodium() {
  // sodium_init() is itself idempotent; the function-local static makes every later call cheap.
  static const bool ok = sodium_init() >= 0;
  if (!ok) {
    std::fprintf(stderr, "tds: sodium_init() failed\n");
    std::abort();
  }
}

}  // namespace tds::compute
