#pragma once
// The web console (node/console/README.md): tdsd serves it over HTTPS on its own port
// (`console_listen`) with the node's TLS certificate, for members who sign in with a login token
// (console_sessions.h). It is read-only for everyone: pages call the JSON API (console_api.h),
// which answers with the node's query functions under the node's access rules, so an auditor
// sees every record and any other member only its own.
//
// Routes:
//   GET  /, /<file>              the pages (console_assets.h)
//   POST /api/login              {"token": base64} → session cookie + {"member", "roles"}
//   POST /api/logout             ends the session
//   GET  /api/session            {"member", "roles", "origin", "height", "node"}
//   GET  /api/genesis            the genesis file this node started from
//   POST /api/receipt            {"txid": hex} → the receipt JSON (ledger/receipt.h)
//   POST /api/call/<Svc.Method>  proto3 JSON in and out (console_api.h)
// Browser hardening: a strict Content-Security-Policy (no inline script), no framing, no
// sniffing; the cookie is HttpOnly, Secure, SameSite=Strict; every POST must be
// application/json and, when the browser names an Origin, come from this console's own.
// Errors are JSON {"error": message, "code": "PERMISSION_DENIED"} with the matching status.

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "node/http_server.h"

namespace tds::node {
class QueryServices;
class AuditService;
}  // namespace tds::node

namespace tds::node::console {

class ConsoleApi;
class ConsoleSessions;

struct ConsoleOptions {
  std::string listen;                     // HOST:PORT; port 0 picks a free one
  std::string tls_cert_pem, tls_key_pem;  // the node's certificate chain and key
  std::string genesis_text;               // served at /api/genesis
  std::string node_member;                // this node's member id, shown in the header
  std::function<int64_t()> clock;         // wall clock in ms (tests); empty → system clock
};

class ConsoleServer {
 public:
  // `queries` and `audit` must outlive the server. Errors name the listen address or the TLS
  // material.
  static absl::StatusOr<std::unique_ptr<ConsoleServer>> Start(ConsoleOptions options,
                                                              const QueryServices* queries,
                                                              const AuditService* audit);
  ~ConsoleServer();  // stops serving first

  const std::string& address() const;
  // One request, as the HTTP server hands it over (tests call it directly).
  HttpResponse Handle(const HttpRequest& request);

 private:
  ConsoleServer(ConsoleOptions options, const QueryServices* queries, const AuditService* audit);
  HttpResponse HandleApi(const HttpRequest& request);

  const ConsoleOptions options_;
  const QueryServices* const queries_;
  std::unique_ptr<ConsoleApi> api_;
  std::unique_ptr<ConsoleSessions> sessions_;
  std::unique_ptr<HttpServer> http_;
};

}  // namespace tds::node::console
