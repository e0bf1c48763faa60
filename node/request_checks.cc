#include "node/request_checks.h"

#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/period.h"

namespace tds::node {
namespace {

bool IdChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

absl::Status CheckId(std::string_view field, std::string_view value, bool required, size_t max_len,
                     std::string_view what) {
  if (value.empty()) {
    if (!required) return absl::OkStatus();
    return absl::InvalidArgumentError(absl::StrCat(std::string(field), ": required"));
  }
  bool ok = value.size() <= max_len &&
            ((value[0] >= 'a' && value[0] <= 'z') || (value[0] >= '0' && value[0] <= '9'));
  for (char c : value) ok = ok && IdChar(c);
  if (ok) return absl::OkStatus();
  // Quote at most 80 bytes of what was sent.
  std::string shown(value.substr(0, 80));
  return absl::InvalidArgumentError(absl::StrCat(
      std::string(field), ": expected a ", std::string(what), " id, [a-z0-9][a-z0-9._-]{0,",
      max_len - 1, "}, got \"", shown, value.size() > 80 ? "...\"" : "\""));
}

}  // namespace

absl::StatusOr<size_t> PageLimit(const tds::Page& page) {
  if (page.limit() == 0) return kDefaultPageLimit;
  if (page.limit() > kMaxPageLimit) {
    return absl::InvalidArgumentError(
        absl::StrCat("page.limit: ", page.limit(), " exceeds the limit of ", kMaxPageLimit));
  }
  return page.limit();
}

absl::Status CheckMemberId(std::string_view field, std::string_view value, bool required) {
  return CheckId(field, value, required, 64, "member");
}

absl::Status CheckProductId(std::string_view field, std::string_view value, bool required) {
  return CheckId(field, value, required, 128, "product");
}

absl::Status CheckContractId(std::string_view field, std::string_view value, bool required) {
  if (value.empty() && !required) return absl::OkStatus();
  bool ok = value.size() == 34 && value.substr(0, 2) == "c-";
  for (size_t i = 2; ok && i < value.size(); ++i) {
    const char c = value[i];
    ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
  }
  if (ok) return absl::OkStatus();
  if (value.empty())
    return absl::InvalidArgumentError(absl::StrCat(std::string(field), ": required"));
  std::string shown(value.substr(0, 80));
  return absl::InvalidArgumentError(
      absl::StrCat(std::string(field), ": expected \"c-\" and 32 lowercase hex characters, got \"",
                   shown, value.size() > 80 ? "...\"" : "\""));
}

absl::Status CheckPeriod(std::string_view field, std::string_view value, bool required) {
  if (value.empty()) {
    if (!required) return absl::OkStatus();
    return absl::InvalidArgumentError(absl::StrCat(std::string(field), ": required (YYYY-MM)"));
  }
  absl::StatusOr<std::pair<int64_t, int64_t>> bounds =
      PeriodBounds(std::string(value.substr(0, 16)));
  if (value.size() > 16 || !bounds.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(std::string(field), ": expected YYYY-MM, got \"",
                                                   std::string(value.substr(0, 16)), "\""));
  }
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> ParseNumericCursor(std::string_view field, std::string_view cursor) {
  if (cursor.empty()) return 0;
  uint64_t v = 0;
  bool digits = cursor.size() <= 20;
  for (char c : cursor) digits = digits && c >= '0' && c <= '9';
  if (!digits || !absl::SimpleAtoi(std::string(cursor), &v)) {
    return absl::InvalidArgumentError(absl::StrCat(
        std::string(field), ": expected the next_cursor of a previous response, got \"",
        std::string(cursor.substr(0, 40)), "\""));
  }
  return v;
}

}  // namespace tds::node
