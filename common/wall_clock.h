#pragma once
// The wall clock in milliseconds since the Unix epoch: what signed timestamps (transactions'
// created_ms, query identities' issued_ms), freshness checks and measurements carry. Never used
// by the state machine, which reads block time only.

#include <chrono>
#include <cstdint>

namespace tds {

inline int64_t WallClockMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace tds
