#pragma once
// Web-console sessions (node/console/README.md, "Signing in").
//
// A member signs in with a login token: an Envelope (context ConsoleLoginContext(this node's
// member id), common/envelope.h) over a tds.QueryIdentity {member_id, issued_ms} signed with the
// member's key, as `tds console login` makes it. It is checked like a query identity (node/auth.h:
// a current member's key, issued within 5 minutes of the node's clock) and is good for ONE sign-in:
// a token seen before is refused while it could still pass the clock check, so a leaked URL opens
// nothing twice.
//
// A session is a random 256-bit id the browser keeps in an HttpOnly cookie. The node keeps only
// its SHA-256, the member id and the expiry (8 hours, not extended by use). A session names a
// member, not its roles: every request resolves the member's CURRENT record, so a member that
// governance removes or whose roles change is treated accordingly on its next click.

#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "absl/status/statusor.h"
#include "node/auth.h"

namespace tds::node::console {

// How long a session lasts from sign-in (the cookie's Max-Age too).
inline constexpr int64_t kSessionTtlMs = 8 * 3600 * 1000;

struct SessionOptions {
  int64_t ttl_ms = kSessionTtlMs;
  size_t max_sessions = 4096;      // beyond, the session closest to expiry is dropped
  std::function<int64_t()> clock;  // wall clock in ms; empty → the system clock
};

class ConsoleSessions {
 public:
  // `login_context`: the envelope context login tokens must carry (ConsoleLoginContext).
  ConsoleSessions(MemberLookup members, std::string login_context, SessionOptions options);

  struct Login {
    std::string session_id;  // 64 hex characters: the cookie value
    Caller caller;
  };
  // Verifies a login token (raw envelope bytes) and opens a session. Unauthenticated naming
  // the failed check (AuthenticateQuery's messages; "auth: this login token was already used").
  absl::StatusOr<Login> SignIn(std::string_view token);

  // The caller of a live session, as the membership stands now. Unauthenticated "session
  // expired or unknown: sign in again" otherwise, or naming a member that has left.
  absl::StatusOr<Caller> Resolve(std::string_view session_id);

  void SignOut(std::string_view session_id);
  size_t size() const;

 private:
  int64_t Now() const;
  void DropExpiredLocked(int64_t now);

  struct Session {
    std::string member_id;
    int64_t expires_ms;
  };
  const MemberLookup members_;
  const std::string login_context_;
  const SessionOptions options_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Session> sessions_;  // SHA-256(id) → session
  std::unordered_map<std::string, int64_t>
      used_tokens_;  // SHA-256(token) → when it stops mattering
};

}  // namespace tds::node::console
