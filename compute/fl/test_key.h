#pragma once
// The Paillier keys the fl tests share: two 1024-bit keys per test binary (a guest's and a
// host's), each generated on first use (key generation would dominate the run otherwise).
// Tests only.

#include <cstdlib>
#include <mutex>
#include <utility>

#include "compute/fl/paillier.h"

namespace tds::compute::fl {

// REQUIRES: index is 0 or 1.
inline const PaillierPrivateKey& TestKey(int index = 0) {
  static const PaillierPrivateKey* keys[2] = {nullptr, nullptr};
  static std::once_flag once[2];
  std::call_once(once[index], [index] {
    auto k = PaillierPrivateKey::Generate(1024);
    if (!k.ok()) std::abort();
    keys[index] = new PaillierPrivateKey(*std::move(k));
  });
  return *keys[index];
}

}  // namespace tds::compute::fl
