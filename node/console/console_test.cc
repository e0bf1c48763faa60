// The web console against real data: transactions go through an in-process node
// (node/in_process_test.h); the console then serves that node's ledger over HTTPS. Requests are
// handed to ConsoleServer::Handle (routing, sign-in, access rules, JSON) and, once, sent over a
// real TLS connection.

#include <openssl/ssl.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "app/application.h"
#include "common/bytes.h"
#include "common/envelope.h"
#include "common/x509.h"
#include "ledger/ledger.h"
#include "ledger/receipt.h"
#include "node/audit_service.h"
#include "node/console/console_server.h"
#include "node/console/console_sessions.h"
#include "node/in_process_test.h"
#include "node/query_service.h"
#include "node/tcp_test.h"

namespace tds::node::console {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using namespace ::tds::node::testing;  // NOLINT: the shared fixture's members and constants

class ConsoleTest : public InProcessDataSpaceTest {
 protected:
  void SetUp() override {
    InProcessDataSpaceTest::SetUp();
    if (HasFatalFailure()) return;
    contract_ = ActiveContract();
    Use(contract_, "credit_risk", 5);
    Use(contract_, "credit_risk", 7);
    flagged_ = Use(contract_, "marketing", 1, /*reserve=*/false);
    // The node stops; the console serves its ledger, reopened here (its services are the
    // node's own classes over that ledger).
    server_.reset();
    ledger_.reset();
    registered_ = std::make_unique<ledger::Application>();
    app::RegisterAll(*registered_);
    ledger::LedgerOptions options;
    options.data_dir = dir_.Sub("data");
    options.follower = true;
    absl::StatusOr<ledger::GenesisInfo> genesis = ledger::GenesisInfo::Parse(genesis_, "genesis");
    ASSERT_TRUE(genesis.ok()) << genesis.status();
    absl::StatusOr<std::unique_ptr<ledger::Ledger>> opened =
        ledger::Ledger::Open(options, *std::move(genesis), KeyFromByte(1), registered_.get());
    ASSERT_TRUE(opened.ok()) << opened.status();
    ledger_on_disk_ = *std::move(opened);
    absl::StatusOr<std::unique_ptr<QueryServices>> queries =
        QueryServices::Create(ledger_on_disk_.get(), QueryServiceOptions());
    ASSERT_TRUE(queries.ok()) << queries.status();
    queries_ = *std::move(queries);
    audit_ = std::make_unique<AuditService>(ledger_on_disk_.get(), QueryServiceOptions());

    absl::StatusOr<CertifiedKey> ca = CreateCertificateAuthority("test-ca", 1);
    ASSERT_TRUE(ca.ok()) << ca.status();
    absl::StatusOr<CertifiedKey> cert = IssueCertificate(*ca, {"audit", {"127.0.0.1"}, 1});
    ASSERT_TRUE(cert.ok()) << cert.status();
    ConsoleOptions console;
    console.listen = "127.0.0.1:0";
    console.tls_cert_pem = cert->cert_pem;
    console.tls_key_pem = cert->key_pem;
    console.genesis_text = genesis_;
    console.node_member = "node";
    absl::StatusOr<std::unique_ptr<ConsoleServer>> started =
        ConsoleServer::Start(console, queries_.get(), audit_.get());
    ASSERT_TRUE(started.ok()) << started.status();
    console_ = *std::move(started);
  }

  void TearDown() override {
    console_.reset();
    audit_.reset();
    queries_.reset();
    ledger_on_disk_.reset();
  }

  static std::string Token(const Who& who, int64_t issued_ms = NowMs(),
                           const std::string& context = ConsoleLoginContext("node")) {
    return Base64Encode(sdk::BuildQueryAuth(*KeyFromByte(who.key), who.id, issued_ms, context));
  }

  HttpResponse Request(const std::string& method, const std::string& path,
                       const std::string& body = "", const std::string& cookie = "",
                       HttpHeaders headers = {{"content-type", "application/json"}}) {
    HttpRequest r;
    r.method = method;
    r.path = path;
    r.body = body;
    r.headers = std::move(headers);
    r.headers.emplace_back("host", "127.0.0.1:1");
    if (!cookie.empty()) r.headers.emplace_back("cookie", "other=1; tds_console=" + cookie);
    return console_->Handle(r);
  }

  static std::string Header(const HttpResponse& r, const std::string& name) {
    for (const auto& [n, v] : r.headers) {
      if (n == name) return v;
    }
    return "";
  }

  // Signs in as `who`; returns the session cookie's value.
  std::string SignIn(const Who& who) {
    HttpResponse r = Request("POST", "/api/login", R"({"token":")" + Token(who) + "\"}");
    EXPECT_EQ(r.status, 200) << r.body;
    const std::string cookie = Header(r, "Set-Cookie");
    EXPECT_THAT(cookie, HasSubstr("HttpOnly; Secure; SameSite=Strict"));
    return cookie.substr(std::string("tds_console=").size(), 64);
  }

  static nlohmann::json Json(const HttpResponse& r) { return nlohmann::json::parse(r.body); }

  std::string contract_;
  tds::SubmitResponse flagged_;
  std::unique_ptr<ledger::Application> registered_;
  std::unique_ptr<ledger::Ledger> ledger_on_disk_;
  std::unique_ptr<QueryServices> queries_;
  std::unique_ptr<AuditService> audit_;
  std::unique_ptr<ConsoleServer> console_;
};

TEST_F(ConsoleTest, PagesComeWithAStrictContentSecurityPolicy) {
  HttpResponse page = Request("GET", "/");
  EXPECT_EQ(page.status, 200);
  EXPECT_EQ(page.content_type, "text/html; charset=utf-8");
  EXPECT_THAT(page.body, HasSubstr("<script type=\"module\""));
  EXPECT_THAT(Header(page, "Content-Security-Policy"), StartsWith("default-src 'self';"));
  EXPECT_EQ(Header(page, "X-Frame-Options"), "DENY");
  EXPECT_EQ(Header(page, "X-Request-Id").size(), 16u);
  EXPECT_NE(Header(page, "X-Request-Id"), Header(Request("GET", "/"), "X-Request-Id"));
  HttpResponse script = Request("GET", "/verify.js");
  EXPECT_EQ(script.status, 200);
  EXPECT_EQ(script.content_type, "text/javascript; charset=utf-8");
  EXPECT_EQ(Request("GET", "/test/verify_test.mjs").status, 404);  // tests are not embedded
  EXPECT_EQ(Request("GET", "/nothing.html").status, 404);
  EXPECT_EQ(Request("POST", "/index.html", "{}").status, 405);
}

TEST_F(ConsoleTest, ATokenSignsInOnceAndOnlyForItsMember) {
  const std::string token = Token(kAudit);
  HttpResponse first = Request("POST", "/api/login", R"({"token":")" + token + "\"}");
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(Json(first)["member"], "audit");
  EXPECT_EQ(Json(first)["roles"], nlohmann::json::array({"auditor"}));
  HttpResponse again = Request("POST", "/api/login", R"({"token":")" + token + "\"}");
  EXPECT_EQ(again.status, 401);
  EXPECT_THAT(Json(again)["error"].get<std::string>(), HasSubstr("already used"));

  auto refused = [&](const std::string& body, const std::string& why) {
    HttpResponse r = Request("POST", "/api/login", body);
    EXPECT_EQ(r.status, 401) << body << " -> " << r.body;
    EXPECT_EQ(Json(r)["code"], "UNAUTHENTICATED");
    EXPECT_THAT(Json(r)["error"].get<std::string>(), HasSubstr(why)) << body;
    EXPECT_TRUE(Header(r, "Set-Cookie").empty());
  };
  // A signed query identity is not a login: another context.
  refused(R"({"token":")" + Token(kAudit, NowMs(), std::string(kQueryContext)) + "\"}", "context");
  // A link made for another node's console.
  refused(R"({"token":")" + Token(kAudit, NowMs(), ConsoleLoginContext("zj")) + "\"}",
          "expected 'tds.console-login.v1/node'");
  refused(R"({"token":")" + Token(kAudit, NowMs() - 10 * 60 * 1000) + "\"}", "behind");
  refused(R"({"token":")" + Token(Who{"audit", 9}) + "\"}", "not the key of member 'audit'");
  refused(R"({"token":")" + Token(Who{"ghost", 9}) + "\"}", "'ghost' is not a current member");
  refused(R"({"token":"%%%"})", "not base64");
  HttpResponse malformed = Request("POST", "/api/login", R"({"tok":"x"})");
  EXPECT_EQ(malformed.status, 400);
  EXPECT_THAT(Json(malformed)["error"].get<std::string>(), HasSubstr("\"token\""));
}

TEST_F(ConsoleTest, SessionsNameTheMemberUntilSignOut) {
  EXPECT_EQ(Request("GET", "/api/session").status, 401);
  EXPECT_EQ(Request("GET", "/api/session", "", std::string(64, 'a')).status, 401);
  const std::string cookie = SignIn(kBank);
  HttpResponse session = Request("GET", "/api/session", "", cookie);
  ASSERT_EQ(session.status, 200) << session.body;
  EXPECT_EQ(Json(session)["member"], "bank");
  EXPECT_EQ(Json(session)["origin"], "tds-query-test");
  EXPECT_EQ(Json(session)["node"], "node");
  EXPECT_NE(Json(session)["height"], "0");
  EXPECT_EQ(Header(session, "Cache-Control"), "no-store");
  HttpResponse genesis = Request("GET", "/api/genesis", "", cookie);
  EXPECT_EQ(genesis.body, genesis_);

  HttpResponse out = Request("POST", "/api/logout", "{}", cookie);
  EXPECT_EQ(out.status, 200);
  EXPECT_THAT(Header(out, "Set-Cookie"), HasSubstr("Max-Age=0"));
  EXPECT_EQ(Request("GET", "/api/session", "", cookie).status, 401);
}

TEST_F(ConsoleTest, CallsAnswerUnderTheNodesAccessRules) {
  const std::string auditor = SignIn(kAudit);
  const std::string stranger = SignIn(kStranger);
  HttpResponse all = Request("POST", "/api/call/Audit.ListUsage", "{}", auditor);
  ASSERT_EQ(all.status, 200) << all.body;
  ASSERT_EQ(Json(all)["items"].size(), 3u);
  const nlohmann::json first = Json(all)["items"][0]["record"];
  EXPECT_EQ(first["contract_id"], contract_);
  EXPECT_TRUE(first["index"].is_string());  // 64-bit integers as strings, proto3 JSON

  HttpResponse filtered = Request("POST", "/api/call/Audit.ListUsage",
                                  R"({"purpose":"marketing","page":{"limit":10}})", auditor);
  ASSERT_EQ(filtered.status, 200) << filtered.body;
  EXPECT_EQ(Json(filtered)["items"].size(), 1u);
  HttpResponse violations = Request("POST", "/api/call/Audit.ListViolations", "{}", auditor);
  ASSERT_EQ(Json(violations)["items"].size(), 1u);
  EXPECT_EQ(Json(violations)["items"][0]["record"]["violations"][0]["term"], "purpose");

  // A member sees only its own records, and is told so for someone else's contract.
  EXPECT_EQ(Json(Request("POST", "/api/call/Audit.ListUsage", "{}", stranger))["items"].size(), 0u);
  HttpResponse denied = Request("POST", "/api/call/Contracts.GetContract",
                                R"({"contract_id":")" + contract_ + "\"}", stranger);
  EXPECT_EQ(denied.status, 403);
  EXPECT_EQ(Json(denied)["code"], "PERMISSION_DENIED");
  EXPECT_THAT(Json(denied)["error"].get<std::string>(), HasSubstr("member 'stranger'"));
  // The `auth` field of a request is ignored: the session is the identity.
  HttpResponse with_auth =
      Request("POST", "/api/call/Audit.ListUsage", R"({"auth":"AAAA"})", stranger);
  EXPECT_EQ(with_auth.status, 200) << with_auth.body;

  HttpResponse unknown = Request("POST", "/api/call/Admin.InjectFault", "{}", auditor);
  EXPECT_EQ(unknown.status, 404);
  EXPECT_THAT(unknown.body, HasSubstr("no console method 'Admin.InjectFault'"));
  HttpResponse bad_field =
      Request("POST", "/api/call/Audit.ListUsage", R"({"purpse":"x"})", auditor);
  EXPECT_EQ(bad_field.status, 400);
  EXPECT_THAT(Json(bad_field)["error"].get<std::string>(), StartsWith("request: "));
  EXPECT_EQ(Request("POST", "/api/call/Audit.ListUsage", "{not json", auditor).status, 400);
  EXPECT_EQ(Request("POST", "/api/call/Audit.ListUsage", R"({"from_ms":"-5"})", auditor).status,
            400);
  EXPECT_EQ(Request("POST", "/api/call/Audit.ListUsage", "{}").status, 401);
}

TEST_F(ConsoleTest, PostsMustBeJsonFromTheConsolesOwnOrigin) {
  const std::string auditor = SignIn(kAudit);
  HttpResponse form = Request("POST", "/api/call/Audit.ListUsage", "{}", auditor,
                              {{"content-type", "application/x-www-form-urlencoded"}});
  EXPECT_EQ(form.status, 415);
  HttpResponse cross =
      Request("POST", "/api/call/Audit.ListUsage", "{}", auditor,
              {{"content-type", "application/json"}, {"origin", "https://evil.example"}});
  EXPECT_EQ(cross.status, 403);
  EXPECT_THAT(cross.body, HasSubstr("https://evil.example"));
  HttpResponse same =
      Request("POST", "/api/call/Audit.ListUsage", "{}", auditor,
              {{"content-type", "application/json"}, {"origin", "https://127.0.0.1:1"}});
  EXPECT_EQ(same.status, 200) << same.body;
}

TEST_F(ConsoleTest, ReceiptsVerifyOfflineAgainstTheGenesis) {
  const std::string auditor = SignIn(kAudit);
  const std::string txid = HexEncode(flagged_.txid());
  HttpResponse r = Request("POST", "/api/receipt", R"({"txid":")" + txid + "\"}", auditor);
  ASSERT_EQ(r.status, 200) << r.body;
  absl::StatusOr<tds::Receipt> receipt = ledger::ReceiptFromJson(r.body);
  ASSERT_TRUE(receipt.ok()) << receipt.status();
  absl::StatusOr<ledger::GenesisInfo> genesis = ledger::GenesisInfo::Parse(genesis_, "genesis");
  absl::StatusOr<ledger::VerifiedReceipt> verified = ledger::VerifyReceipt(*receipt, *genesis);
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_EQ(verified->submitter, "zj");

  EXPECT_EQ(Request("POST", "/api/receipt", R"({"txid":"abc"})", auditor).status, 400);
  EXPECT_EQ(Request("POST", "/api/receipt", R"({"txid":")" + std::string(64, '0') + "\"}", auditor)
                .status,
            404);
  const std::string stranger = SignIn(kStranger);
  EXPECT_EQ(Request("POST", "/api/receipt", R"({"txid":")" + txid + "\"}", stranger).status, 403);
}

TEST(ConsoleSessionsTest, SessionsExpireAndFollowTheMembership) {
  std::map<std::string, tds::Member> members;
  tds::Member bank;
  bank.set_id("bank");
  bank.add_roles("consumer");
  bank.set_public_key(KeyFromByte(2)->public_key().hex());
  members["bank"] = bank;
  int64_t now = 1'800'000'000'000;
  SessionOptions options;
  options.max_sessions = 2;
  options.clock = [&now] { return now; };
  ConsoleSessions sessions(
      [&members](std::string_view id) -> absl::StatusOr<std::optional<tds::Member>> {
        auto it = members.find(std::string(id));
        if (it == members.end()) return std::nullopt;
        return it->second;
      },
      ConsoleLoginContext("node-1"), options);
  auto sign_in = [&](int64_t issued_ms) {
    return sessions.SignIn(
        sdk::BuildQueryAuth(*KeyFromByte(2), "bank", issued_ms, ConsoleLoginContext("node-1")));
  };
  absl::StatusOr<ConsoleSessions::Login> first = sign_in(now);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->session_id.size(), 64u);
  EXPECT_THAT(sessions.Resolve(first->session_id)->roles, ::testing::ElementsAre("consumer"));
  // A role governance grants applies to the open session at once.
  members["bank"].add_roles("provider");
  EXPECT_THAT(sessions.Resolve(first->session_id)->roles,
              ::testing::ElementsAre("consumer", "provider"));

  // At most max_sessions: the one closest to expiry makes room.
  now += 1000;
  absl::StatusOr<ConsoleSessions::Login> second = sign_in(now);
  now += 1000;
  absl::StatusOr<ConsoleSessions::Login> third = sign_in(now);
  ASSERT_TRUE(second.ok() && third.ok());
  EXPECT_EQ(sessions.size(), 2u);
  EXPECT_EQ(sessions.Resolve(first->session_id).status().code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_TRUE(sessions.Resolve(second->session_id).ok());

  // A member governance removes is signed out on its next request.
  members.erase("bank");
  absl::Status gone = sessions.Resolve(second->session_id).status();
  EXPECT_EQ(gone.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(std::string(gone.message()), HasSubstr("no longer a member"));
  EXPECT_EQ(sessions.size(), 1u);

  // Sessions end kSessionTtlMs after sign-in, however busy.
  members["bank"] = bank;
  EXPECT_TRUE(sessions.Resolve(third->session_id).ok());
  now += kSessionTtlMs;
  absl::Status expired = sessions.Resolve(third->session_id).status();
  EXPECT_THAT(std::string(expired.message()), HasSubstr("expired or unknown"));
}

// One exchange over a real TLS connection to `address`; the raw HTTP response.
std::string TlsExchange(const std::string& address, const std::string& request,
                        std::string* protocol) {
  const int fd = ConnectTcp(address);
  if (fd < 0) return "connect failed";
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  SSL* ssl = SSL_new(ctx);
  SSL_set_fd(ssl, fd);
  std::string response;
  if (SSL_connect(ssl) == 1) {
    *protocol = SSL_get_version(ssl);
    SSL_write(ssl, request.data(), static_cast<int>(request.size()));
    char buf[4096];
    for (int n; (n = SSL_read(ssl, buf, sizeof buf)) > 0;) response.append(buf, n);
  } else {
    response = "handshake failed";
  }
  SSL_free(ssl);
  SSL_CTX_free(ctx);
  ::close(fd);
  return response;
}

TEST_F(ConsoleTest, ServesHttpsOnlyTls13) {
  std::string protocol;
  const std::string response =
      TlsExchange(console_->address(), "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", &protocol);
  EXPECT_THAT(response, StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_THAT(response, HasSubstr("Content-Security-Policy: default-src 'self'"));
  EXPECT_EQ(protocol, "TLSv1.3");
}

}  // namespace
}  // namespace tds::node::console
