#pragma once
// Process-wide spdlog set-up.

#include <string>

#include "absl/status/status.h"

namespace tds {

// format: "human" (timestamp, level, message) or "json" (one JSON object per line with
// ts, level, logger, msg, and req while the logging thread serves a request: see
// ScopedRequestId). level: trace|debug|info|warn|error|off. Logs go to stderr.
absl::Status InitLogging(const std::string& format, const std::string& level);

// The request the calling thread serves, for its log lines ("req" in JSON lines): set for the
// scope, restoring the previous one after. An id is public (a digest, never key material).
class ScopedRequestId {
 public:
  explicit ScopedRequestId(std::string id);
  ~ScopedRequestId();
  ScopedRequestId(const ScopedRequestId&) = delete;
  ScopedRequestId& operator=(const ScopedRequestId&) = delete;

 private:
  std::string previous_;
};

// Replaces the calling thread's request id (within a ScopedRequestId's scope, which restores
// the previous one): for code that learns the id after the scope began.
void SetRequestId(std::string id);

}  // namespace tds
