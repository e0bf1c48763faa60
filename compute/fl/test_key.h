#pragma once
// The Paillier key the fl tests share: one 1024-bit key per test binary, generated on first use
// (key generation would dominate the run otherwise). Tests only.

#include <cstdlib>
#include <utility>

#include "compute/fl/paillier.h"

namespace tds::compute::fl {

inline const PaillierPrivateKey& TestKey() {
  static const PaillierPrivateKey* key = [] {
    auto k = PaillierPrivateKey::Generate(1024);
    if (!k.ok()) std::abort();
    return new PaillierPrivateKey(*std::move(k));
  }();
  return *key;
}

}  // namespace tds::compute::fl
