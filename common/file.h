#pragma once
// Small file helpers with durable writes.

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace tds {

// Errors name the path and the OS error.
absl::StatusOr<std::string> ReadFile(const std::string& path);
// Writes to a temporary file in the same directory, fsyncs it, renames it over `path`, and
// fsyncs the directory: after return the content survives a crash. `mode` applies at creation.
absl::Status WriteFileAtomic(const std::string& path, std::string_view content, int mode = 0644);
// Like WriteFileAtomic, but never replaces an existing file (AlreadyExists naming the path).
absl::Status WriteFileExclusive(const std::string& path, std::string_view content, int mode);

}  // namespace tds
