#pragma once
// The durable safety record (proto SafetyState): highest voted round, high QC, view, last TC.
// Save() replaces the file atomically and syncs file and directory before returning, so a
// vote sent after it can never be forgotten by a crash; Load() refuses a torn or altered file.
//
//   file := "tds-safety-v1\n" || be32 len || SafetyState bytes || SHA-256(all previous bytes)

#include <string>

#include "absl/status/statusor.h"
#include "proto/consensus.pb.h"

namespace tds::consensus {

class SafetyStore {
 public:
  explicit SafetyStore(std::string path) : path_(std::move(path)) {}

  // A missing file is a first start (default state); anything unreadable is DataLoss.
  absl::StatusOr<tds::SafetyState> Load() const;
  absl::Status Save(const tds::SafetyState& state) const;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace tds::consensus
