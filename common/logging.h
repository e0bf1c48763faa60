#pragma once
// Process-wide spdlog set-up.

#include <string>

#include "absl/status/status.h"

namespace tds {

// format: "human" (timestamp, level, message) or "json" (one JSON object per line with
// ts, level, logger, msg). level: trace|debug|info|warn|error|off. Logs go to stderr.
absl::Status InitLogging(const std::string& format, const std::string& level);

}  // namespace tds
