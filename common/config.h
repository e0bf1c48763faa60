#pragma once
// Loads YAML or JSON files into protobuf messages, strictly.

#include <string>

#include "absl/status/status.h"

namespace google::protobuf {
class Message;
}

namespace tds {

// Format by extension: .yaml/.yml → YAML, .json → JSON, otherwise sniffed from content.
// Field names are the proto field names (snake_case). An unknown key, a value of the wrong
// type (string for a number, a list for a scalar, out-of-range integer ...) or a malformed file
// is an error naming the file, the key path (e.g. "ledger.max_block_txs") and the problem.
absl::Status LoadConfigFile(const std::string& path, google::protobuf::Message* out);
// Same, from text already in memory; `name` is used in error messages.
absl::Status ParseConfigText(std::string_view text, const std::string& name, bool yaml,
                             google::protobuf::Message* out);

}  // namespace tds
