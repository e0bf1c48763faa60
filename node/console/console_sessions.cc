#include "node/console/console_sessions.h"

#include <sodium.h>

#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/bytes.h"
#include "common/envelope.h"
#include "common/sha256.h"
#include "common/wall_clock.h"

namespace tds::node::console {
namespace {

std::string Digest(std::string_view data) { return std::string(AsBytes(Sha256(data))); }

}  // namespace

ConsoleSessions::ConsoleSessions(MemberLookup members, std::string login_context,
                                 SessionOptions options)
    : members_(std::move(members)),
      login_context_(std::move(login_context)),
      options_(std::move(options)) {}

int64_t ConsoleSessions::Now() const {
  if (options_.clock) return options_.clock();
  return WallClockMs();
}

void ConsoleSessions::DropExpiredLocked(int64_t now) {
  std::erase_if(sessions_, [now](const auto& s) { return s.second.expires_ms <= now; });
  std::erase_if(used_tokens_, [now](const auto& t) { return t.second <= now; });
}

absl::StatusOr<ConsoleSessions::Login> ConsoleSessions::SignIn(std::string_view token) {
  const int64_t now = Now();
  absl::StatusOr<Caller> caller = AuthenticateQuery(members_, token, now, login_context_);
  if (!caller.ok()) return caller.status();
  if (caller->anonymous()) return absl::UnauthenticatedError("auth: empty login token");
  std::string id_bytes(32, '\0');
  randombytes_buf(id_bytes.data(), id_bytes.size());
  Login login{HexEncode(id_bytes), *std::move(caller)};

  std::lock_guard<std::mutex> lock(mu_);
  DropExpiredLocked(now);
  // A token passes the clock check for at most 2 × the skew after anyone could first use it.
  if (!used_tokens_.emplace(Digest(token), now + 2 * kMaxQueryClockSkewMs).second) {
    return absl::UnauthenticatedError(
        "auth: this login token was already used; run `tds console login` again");
  }
  if (sessions_.size() >= options_.max_sessions) {
    auto oldest = sessions_.begin();
    for (auto it = sessions_.begin(); it != sessions_.end(); ++it) {
      if (it->second.expires_ms < oldest->second.expires_ms) oldest = it;
    }
    sessions_.erase(oldest);
  }
  sessions_[Digest(login.session_id)] = Session{login.caller.member_id, now + options_.ttl_ms};
  return login;
}

absl::StatusOr<Caller> ConsoleSessions::Resolve(std::string_view session_id) {
  std::string member_id;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = sessions_.find(Digest(session_id));
    if (it == sessions_.end() || it->second.expires_ms <= Now()) {
      if (it != sessions_.end()) sessions_.erase(it);
      return absl::UnauthenticatedError("session expired or unknown: sign in again");
    }
    member_id = it->second.member_id;
  }
  absl::StatusOr<std::optional<tds::Member>> member = members_(member_id);
  if (!member.ok()) return member.status();
  if (!member->has_value()) {
    SignOut(session_id);
    return absl::UnauthenticatedError(
        absl::StrCat("member '", member_id, "' is no longer a member of the data space"));
  }
  Caller caller;
  caller.member_id = member_id;
  caller.roles.assign((*member)->roles().begin(), (*member)->roles().end());
  return caller;
}

void ConsoleSessions::SignOut(std::string_view session_id) {
  std::lock_guard<std::mutex> lock(mu_);
  sessions_.erase(Digest(session_id));
}

size_t ConsoleSessions::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return sessions_.size();
}

}  // namespace tds::node::console
