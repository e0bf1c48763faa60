#pragma once
// Checks on decoded protobuf messages from untrusted input.

#include <string_view>

#include "absl/status/status.h"

namespace google::protobuf {
class Message;
}

namespace tds {

// InvalidArgument "<field>: field number N is not part of <type> ..." when `msg` (not its
// submessages) carries fields this build does not know: signed content must be content that
// every validator understands and enforces.
absl::Status RejectUnknownFields(const google::protobuf::Message& msg, std::string_view field);

}  // namespace tds
