#include "common/proto_fields.h"

#include <google/protobuf/message.h>
#include <google/protobuf/unknown_field_set.h>

#include "absl/strings/str_cat.h"

namespace tds {

absl::Status RejectUnknownFields(const google::protobuf::Message& msg, std::string_view field) {
  const auto& unknown = msg.GetReflection()->GetUnknownFields(msg);
  if (unknown.empty()) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      std::string(field), ": field number ", unknown.field(0).number(), " is not part of ",
      msg.GetDescriptor()->full_name(), " (the parties may sign only what validators enforce)"));
}

}  // namespace tds
