#include "node/console/console_server.h"

#include <sodium.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <string_view>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/bytes.h"
#include "common/logging.h"
#include "node/audit_service.h"
#include "node/console/console_api.h"
#include "node/console/console_assets.h"
#include "node/console/console_sessions.h"
#include "node/query_service.h"
#include "spdlog/spdlog.h"

namespace tds::node::console {
namespace {

constexpr char kCookie[] = "tds_console";
constexpr std::string_view kCallPrefix = "/api/call/";
constexpr size_t kMaxBodyBytes = 64 * 1024;

int HttpStatusOf(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kOutOfRange:
      return 400;
    case absl::StatusCode::kUnauthenticated:
      return 401;
    case absl::StatusCode::kPermissionDenied:
      return 403;
    case absl::StatusCode::kNotFound:
      return 404;
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kAlreadyExists:
      return 409;
    case absl::StatusCode::kResourceExhausted:
      return 429;
    case absl::StatusCode::kUnavailable:
      return 503;
    default:
      return 500;
  }
}

HttpResponse Json(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.content_type = "application/json";
  r.body = std::move(body);
  return r;
}

HttpResponse JsonError(const absl::Status& status) {
  nlohmann::json j = {{"error", std::string(status.message())},
                      {"code", absl::StatusCodeToString(status.code())}};
  return Json(HttpStatusOf(status.code()), j.dump());
}

HttpResponse JsonError(int http_status, absl::StatusCode code, std::string message) {
  HttpResponse r = JsonError(absl::Status(code, message));
  r.status = http_status;
  return r;
}

// The value of cookie `name` in a Cookie header, or "".
std::string CookieValue(const HttpRequest& request, std::string_view name) {
  const std::string* header = request.Header("cookie");
  if (header == nullptr) return "";
  std::string_view rest = *header;
  while (!rest.empty()) {
    const size_t end = std::min(rest.find(';'), rest.size());
    std::string_view part = rest.substr(0, end);
    rest.remove_prefix(std::min(end + 1, rest.size()));
    while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
    if (part.size() > name.size() && part.substr(0, name.size()) == name &&
        part[name.size()] == '=') {
      return std::string(part.substr(name.size() + 1));
    }
  }
  return "";
}

std::string SessionCookie(std::string_view value, int64_t max_age_s) {
  return absl::StrCat(kCookie, "=", std::string(value), "; Path=/; Max-Age=", max_age_s,
                      "; HttpOnly; Secure; SameSite=Strict");
}

// Cross-site request forgery: the session cookie is SameSite=Strict, and on top every POST must
// be JSON (a form cannot send that without a preflight) and, when the browser names an origin,
// come from this console's own.
absl::Status CheckPostOrigin(const HttpRequest& request) {
  const std::string* type = request.Header("content-type");
  if (type == nullptr || !absl::StartsWith(*type, "application/json")) {
    return absl::InvalidArgumentError("POST bodies must be Content-Type: application/json");
  }
  const std::string* origin = request.Header("origin");
  const std::string* host = request.Header("host");
  if (origin != nullptr && host != nullptr && *origin != absl::StrCat("https://", *host)) {
    return absl::PermissionDeniedError(
        absl::StrCat("origin ", *origin, " is not this console's (https://", *host, ")"));
  }
  return absl::OkStatus();
}

// A string field of a JSON object body, or InvalidArgument naming it.
absl::StatusOr<std::string> BodyField(const std::string& body, const char* field) {
  nlohmann::json j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains(field) || !j[field].is_string()) {
    return absl::InvalidArgumentError(
        absl::StrCat("body must be a JSON object with a string field \"", field, "\""));
  }
  return j[field].get<std::string>();
}

void AddSecurityHeaders(HttpResponse* r) {
  r->headers.emplace_back("Content-Security-Policy",
                          "default-src 'self'; img-src 'self' data: blob:; object-src 'none'; "
                          "base-uri 'none'; frame-ancestors 'none'; form-action 'none'");
  r->headers.emplace_back("X-Content-Type-Options", "nosniff");
  r->headers.emplace_back("X-Frame-Options", "DENY");
  r->headers.emplace_back("Referrer-Policy", "no-referrer");
  r->headers.emplace_back("Strict-Transport-Security", "max-age=31536000");
  r->headers.emplace_back("Cache-Control", "no-store");
}

}  // namespace

ConsoleServer::ConsoleServer(ConsoleOptions options, const QueryServices* queries,
                             const AuditService* audit)
    : options_(std::move(options)),
      queries_(queries),
      api_(std::make_unique<ConsoleApi>(queries, audit)) {
  const QueryEnv* env = &queries->env();
  SessionOptions session_options;
  session_options.clock = options_.clock;
  sessions_ =
      std::make_unique<ConsoleSessions>([env](std::string_view id) { return env->ReadMember(id); },
                                        ConsoleLoginContext(options_.node_member), session_options);
}

absl::StatusOr<std::unique_ptr<ConsoleServer>> ConsoleServer::Start(ConsoleOptions options,
                                                                    const QueryServices* queries,
                                                                    const AuditService* audit) {
  std::unique_ptr<ConsoleServer> console(new ConsoleServer(std::move(options), queries, audit));
  HttpServerOptions http;
  http.max_body_bytes = kMaxBodyBytes;
  http.max_connections = 32;
  http.tls_cert_pem = console->options_.tls_cert_pem;
  http.tls_key_pem = console->options_.tls_key_pem;
  ConsoleServer* self = console.get();
  absl::StatusOr<std::unique_ptr<HttpServer>> server = HttpServer::Start(
      console->options_.listen, [self](const HttpRequest& r) { return self->Handle(r); }, http);
  if (!server.ok()) return server.status();
  console->http_ = *std::move(server);
  return console;
}

ConsoleServer::~ConsoleServer() {
  if (http_ != nullptr) http_->Stop();
}

const std::string& ConsoleServer::address() const { return http_->address(); }

HttpResponse ConsoleServer::Handle(const HttpRequest& request) {
  // Every request gets an id: in its log lines and in the X-Request-Id a user can quote.
  std::string id_bytes(8, '\0');
  randombytes_buf(id_bytes.data(), id_bytes.size());
  const std::string request_id = HexEncode(id_bytes);
  ScopedRequestId scope(request_id);
  HttpResponse response;
  if (absl::StartsWith(request.path, "/api/")) {
    response = HandleApi(request);
    // Refusals are logged (never a body: it may hold a login token); successes are debug.
    if (response.status >= 400) {
      spdlog::info("console: {} {}: {}", request.method, request.path, response.status);
    } else {
      spdlog::debug("console: {} {}: {}", request.method, request.path, response.status);
    }
  } else if (request.method == "POST") {
    response = JsonError(405, absl::StatusCode::kInvalidArgument, "pages take GET only");
  } else {
    const std::string path = request.path == "/" ? "/index.html" : request.path;
    response = HttpResponse{404, "text/plain; charset=utf-8", "not found\n"};
    for (const ConsoleAsset& asset : ConsoleAssets()) {
      if (asset.path == path) {
        response = HttpResponse{200, std::string(asset.content_type), std::string(asset.body)};
        break;
      }
    }
  }
  AddSecurityHeaders(&response);
  response.headers.emplace_back("X-Request-Id", request_id);
  return response;
}

HttpResponse ConsoleServer::HandleApi(const HttpRequest& request) {
  const std::string& path = request.path;
  const bool post = request.method == "POST";
  if (post) {
    if (absl::Status s = CheckPostOrigin(request); !s.ok()) {
      return JsonError(s.code() == absl::StatusCode::kInvalidArgument ? 415 : 403, s.code(),
                       std::string(s.message()));
    }
  }
  if (path == "/api/login") {
    if (!post) return JsonError(405, absl::StatusCode::kInvalidArgument, "POST /api/login");
    absl::StatusOr<std::string> token = BodyField(request.body, "token");
    if (!token.ok()) return JsonError(token.status());
    absl::StatusOr<std::string> raw = Base64Decode(*token);
    if (!raw.ok()) {
      return JsonError(absl::UnauthenticatedError("auth: the login token is not base64"));
    }
    absl::StatusOr<ConsoleSessions::Login> login = sessions_->SignIn(*raw);
    if (!login.ok()) {
      spdlog::warn("console: sign-in refused: {}", std::string(login.status().message()));
      return JsonError(login.status());
    }
    spdlog::info("console: member '{}' signed in", login->caller.member_id);
    HttpResponse r = Json(
        200, nlohmann::json({{"member", login->caller.member_id}, {"roles", login->caller.roles}})
                 .dump());
    r.headers.emplace_back("Set-Cookie", SessionCookie(login->session_id, kSessionTtlMs / 1000));
    return r;
  }
  const std::string session = CookieValue(request, kCookie);
  if (path == "/api/logout") {
    if (!post) return JsonError(405, absl::StatusCode::kInvalidArgument, "POST /api/logout");
    sessions_->SignOut(session);
    HttpResponse r = Json(200, "{}");
    r.headers.emplace_back("Set-Cookie", SessionCookie("", 0));
    return r;
  }
  absl::StatusOr<Caller> caller = sessions_->Resolve(session);
  if (!caller.ok()) return JsonError(caller.status());

  if (path == "/api/session" && !post) {
    const QueryEnv& env = queries_->env();
    return Json(200, nlohmann::json({{"member", caller->member_id},
                                     {"roles", caller->roles},
                                     {"origin", env.ledger().genesis().origin()},
                                     {"height", std::to_string(env.height())},
                                     {"node", options_.node_member}})
                         .dump());
  }
  if (path == "/api/genesis" && !post) return Json(200, options_.genesis_text);
  if (path == "/api/receipt" && post) {
    absl::StatusOr<std::string> txid = BodyField(request.body, "txid");
    if (!txid.ok()) return JsonError(txid.status());
    absl::StatusOr<std::string> receipt = api_->Receipt(*caller, *txid);
    return receipt.ok() ? Json(200, *std::move(receipt)) : JsonError(receipt.status());
  }
  if (path.rfind(kCallPrefix, 0) == 0 && post) {
    absl::StatusOr<std::string> answer =
        api_->Call(std::string_view(path).substr(kCallPrefix.size()), *caller, request.body);
    return answer.ok() ? Json(200, *std::move(answer)) : JsonError(answer.status());
  }
  return JsonError(404, absl::StatusCode::kNotFound,
                   absl::StrCat("no API route ", request.method, " ", path));
}

}  // namespace tds::node::console
