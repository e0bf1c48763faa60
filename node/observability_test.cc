// Observability of a running node (docs/deploy.md, "Metrics and logs"): the Prometheus endpoint
// of an in-process data space (node/in_process_test.h) whose gateway serves a CSV product, its
// refusals of bad HTTP, and the node's JSON logs over a full scenario — parseable line by line,
// carrying request ids, and free of key material.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "common/bytes.h"
#include "common/file.h"
#include "common/logging.h"
#include "common/metrics_testing.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "node/http_server.h"
#include "node/in_process_test.h"
#include "node/tcp_test.h"
#include "sdk/data_space.h"

namespace tds::node {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using namespace ::tds::node::testing;  // NOLINT: the shared fixture's members and constants
using metrics::testing::Exposition;
using metrics::testing::ParseExposition;

// Everything the server sends until it closes; closes fd.
std::string ReadAll(int fd) {
  std::string response;
  char buf[4096];
  for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) response.append(buf, n);
  ::close(fd);
  return response;
}

// Sends `request` and returns everything the server answers until it closes.
std::string Exchange(const std::string& address, const std::string& request) {
  const int fd = ConnectTcp(address);
  if (fd < 0) return "connect failed";
  for (size_t off = 0; off < request.size();) {
    const ssize_t n = ::send(fd, request.data() + off, request.size() - off, MSG_NOSIGNAL);
    if (n <= 0) break;  // the server may answer (431) and close before taking it all
    off += static_cast<size_t>(n);
  }
  ::shutdown(fd, SHUT_WR);
  return ReadAll(fd);
}

int StatusOf(const std::string& response) {
  int code = 0;
  if (response.rfind("HTTP/1.1 ", 0) != 0 || !absl::SimpleAtoi(response.substr(9, 3), &code)) {
    return -1;
  }
  return code;
}

std::string BodyOf(const std::string& response) {
  const size_t end = response.find("\r\n\r\n");
  return end == std::string::npos ? "" : response.substr(end + 4);
}

std::string Get(const std::string& address, const std::string& path) {
  return Exchange(address, "GET " + path + " HTTP/1.1\r\nHost: test\r\n\r\n");
}

constexpr char kBureauYaml[] = R"(
id: bureau
title: Bureau income records
level: 2
update_cadence: monthly
operations: [psi, query]
schema:
  - {name: tax_id, type: string, level: 2}
  - {name: income, type: int64, level: 2}
offer:
  operations: [psi, query]
  purposes: [credit_risk]
  columns: [tax_id, income]
  max_calls_total: 100
  query_k: 4
  metering: METERING_STRICT
  price: {currency: CNY, per_call: 10, per_row: 2}
)";

constexpr char kBankTermsYaml[] = R"(
operations: [psi, query]
purposes: [credit_risk]
columns: [tax_id, income]
query_k: 5
valid_until_ms: 4102444800000
max_calls_total: 20
metering: METERING_STRICT
price: {currency: CNY, per_call: 10, per_row: 2}
)";

class ObservabilityTest : public InProcessDataSpaceTest {
 protected:
  // Everything the process writes to stderr (every log line) goes to a file during the test.
  void SetUp() override {
    std::fflush(stderr);
    saved_stderr_ = ::dup(2);
    log_path_ = dir_.Sub("stderr.log");
    ASSERT_NE(std::freopen(log_path_.c_str(), "w", stderr), nullptr);
    ASSERT_TRUE(InitLogging("json", "trace").ok());
    RouteGrpcLogsToSpdlog();
    InProcessDataSpaceTest::SetUp();
  }

  void TearDown() override {
    ledger_.reset();
    server_.reset();
    std::fflush(stderr);
    ::dup2(saved_stderr_, 2);
    ::close(saved_stderr_);
    ASSERT_TRUE(InitLogging("human", "info").ok());
  }

  // The node serves "bureau" from a CSV (T000..T019, income 1000 * i); metrics on a free port.
  void AddSources(tds::NodeConfig* config) override {
    std::string csv = "tax_id,income\n";
    for (int i = 0; i < 20; ++i) {
      csv += "T0" + std::string(i < 10 ? "0" : "") + std::to_string(i) + "," +
             std::to_string(1000 * i) + "\n";
    }
    ASSERT_TRUE(WriteFileAtomic(dir_.Sub("bureau.csv"), csv).ok());
    tds::DataSourceConfig* source = config->add_sources();
    source->set_product("bureau");
    source->set_kind("csv");
    source->set_path(dir_.Sub("bureau.csv"));
    source->set_id_column("tax_id");
    config->set_metrics_listen("127.0.0.1:0");
  }

  std::unique_ptr<sdk::DataSpaceClient> Connect(const Who& who) {
    absl::StatusOr<std::unique_ptr<sdk::DataSpaceClient>> client =
        sdk::DataSpaceClient::Connect(options_, KeyFile(who));
    EXPECT_TRUE(client.ok()) << client.status();
    return client.ok() ? *std::move(client) : nullptr;
  }

  // The bank requests the bureau terms and the node (its provider) accepts.
  std::string Negotiate(sdk::DataSpaceClient& bank) {
    const tds::Product p = FromYaml<tds::Product>(kBureauYaml);
    MustSubmit(kNode, sdk::PublishProduct(p));
    absl::StatusOr<std::string> id =
        bank.RequestContract(p.id(), FromYaml<tds::Terms>(kBankTermsYaml));
    EXPECT_TRUE(id.ok()) << id.status();
    std::unique_ptr<sdk::DataSpaceClient> provider = Connect(kNode);
    absl::StatusOr<tds::GetContractResponse> contract = provider->GetContract(*id);
    EXPECT_TRUE(contract.ok()) << contract.status();
    absl::Status accepted = provider->AcceptContract(contract->contract());
    EXPECT_TRUE(accepted.ok()) << accepted;
    return *id;
  }

  Exposition Scrape() {
    const std::string response = Get(server_->metrics_address(), "/metrics");
    EXPECT_EQ(StatusOf(response), 200) << response;
    EXPECT_THAT(response, HasSubstr("Content-Type: text/plain; version=0.0.4"));
    absl::StatusOr<Exposition> e = ParseExposition(BodyOf(response));
    EXPECT_TRUE(e.ok()) << e.status() << "\n" << BodyOf(response);
    return e.ok() ? *e : Exposition();
  }

  // A labelled counter's value, 0 when its child does not exist yet.
  static double Count(const Exposition& e, const std::string& name,
                      const std::map<std::string, std::string>& labels = {}) {
    const double v = e.Value(name, labels);
    return std::isnan(v) ? 0 : v;
  }

  std::string ReadLog() {
    std::fflush(stderr);
    absl::StatusOr<std::string> log = ReadFile(log_path_);
    EXPECT_TRUE(log.ok()) << log.status();
    return log.ok() ? *log : "";
  }

  int saved_stderr_ = -1;
  std::string log_path_;
};

TEST_F(ObservabilityTest, MetricsFollowCommitsGatewayRunsAndViolations) {
  ASSERT_FALSE(server_->metrics_address().empty());
  const Exposition before = Scrape();
  for (const char* name :
       {"tds_ledger_height", "tds_ledger_log_size", "tds_ledger_pending", "tds_commit_seconds",
        "tds_submissions_total", "tds_consensus_view", "tds_consensus_view_changes_total",
        "tds_consensus_epoch", "tds_usage_records_total", "tds_violations_total",
        "tds_gateway_runs_total", "tds_gateway_run_seconds", "tds_gateway_rows_in_total"}) {
    EXPECT_EQ(before.types.count(name), 1u) << name;
    EXPECT_EQ(before.help.count(name), 1u) << name;
  }
  EXPECT_EQ(before.types.at("tds_commit_seconds"), "histogram");
  EXPECT_EQ(before.types.at("tds_gateway_runs_total"), "counter");

  std::unique_ptr<sdk::DataSpaceClient> bank = Connect(kBank);
  ASSERT_NE(bank, nullptr);
  const std::string id = Negotiate(*bank);
  const Exposition negotiated = Scrape();
  // Three transactions (publish, request, accept) committed through this node.
  EXPECT_GE(negotiated.Value("tds_ledger_height"), before.Value("tds_ledger_height") + 1);
  EXPECT_EQ(negotiated.Value("tds_ledger_log_size"), before.Value("tds_ledger_log_size") + 3);
  EXPECT_EQ(negotiated.Value("tds_commit_seconds_count"),
            before.Value("tds_commit_seconds_count") + 3);
  EXPECT_EQ(Count(negotiated, "tds_submissions_total", {{"outcome", "committed"}}),
            Count(before, "tds_submissions_total", {{"outcome", "committed"}}) + 3);
  EXPECT_GT(negotiated.Value("tds_commit_seconds_sum"), before.Value("tds_commit_seconds_sum"));

  // A released PSI run over the 20-row source, and one the gateway refuses (a purpose the
  // contract does not permit).
  absl::StatusOr<sdk::PsiRunResult> run = bank->RunPsi(id, "", {"T003", "X999", "T017"});
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_FALSE(bank->RunPsi(id, "marketing", {"T003"}).ok());
  const Exposition ran = Scrape();
  const std::map<std::string, std::string> released = {{"operation", "psi"},
                                                       {"outcome", "released"}};
  const std::map<std::string, std::string> refused = {{"operation", "psi"}, {"outcome", "refused"}};
  EXPECT_EQ(Count(ran, "tds_gateway_runs_total", released),
            Count(negotiated, "tds_gateway_runs_total", released) + 1);
  EXPECT_EQ(Count(ran, "tds_gateway_runs_total", refused),
            Count(negotiated, "tds_gateway_runs_total", refused) + 1);
  EXPECT_EQ(Count(ran, "tds_gateway_run_seconds_count", released),
            Count(negotiated, "tds_gateway_run_seconds_count", released) + 1);
  EXPECT_EQ(Count(ran, "tds_gateway_rows_in_total", {{"operation", "psi"}}),
            Count(negotiated, "tds_gateway_rows_in_total", {{"operation", "psi"}}) + 20);
  EXPECT_EQ(Count(ran, "tds_usage_records_total", {{"operation", "psi"}}),
            Count(negotiated, "tds_usage_records_total", {{"operation", "psi"}}) + 1);

  // A usage record outside the terms (purpose): flagged as it commits.
  const std::string other = ActiveContract();
  Use(other, "marketing", 1, /*reserve=*/false);
  const Exposition flagged = Scrape();
  EXPECT_EQ(Count(flagged, "tds_violations_total", {{"term", "purpose"}}),
            Count(ran, "tds_violations_total", {{"term", "purpose"}}) + 1);
}

TEST_F(ObservabilityTest, EndpointRefusesWhatIsNotAMetricsGet) {
  const std::string at = server_->metrics_address();
  const std::string not_found = Get(at, "/secrets");
  EXPECT_EQ(StatusOf(not_found), 404) << not_found;
  EXPECT_EQ(StatusOf(Get(at, "/metrics/../x")), 404);
  EXPECT_EQ(StatusOf(Get(at, "/metrics?name=x")), 200);  // the query string is ignored
  const std::string post = Exchange(at, "POST /metrics HTTP/1.1\r\nHost: t\r\n\r\n");
  EXPECT_EQ(StatusOf(post), 405);
  EXPECT_THAT(post, HasSubstr("Allow: GET, HEAD"));
  const std::string head = Exchange(at, "HEAD /metrics HTTP/1.1\r\nHost: t\r\n\r\n");
  EXPECT_EQ(StatusOf(head), 200);
  EXPECT_EQ(BodyOf(head), "");
  EXPECT_EQ(StatusOf(Exchange(at, "GET /metrics HTTP/1.0\r\n\r\n")), 200);
  for (const char* bad : {"GET /metrics\r\n\r\n", "GET  /metrics HTTP/1.1\r\nHost: t\r\n\r\n",
                          "GET metrics HTTP/1.1\r\nHost: t\r\n\r\n",
                          "GET /metrics HTTP/1.1\r\n\r\n",  // HTTP/1.1 without Host
                          "GET /metrics HTTP/1.1\r\nHost: t\r\n folded\r\n\r\n",
                          "GET /metrics HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello",
                          "GET /metrics HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n",
                          "\x16\x03\x01\x02\x01\x01\xfc\x03\x03\r\n\r\n"}) {  // TLS
    EXPECT_EQ(StatusOf(Exchange(at, bad)), 400) << bad;
  }
  EXPECT_EQ(StatusOf(Exchange(at, "GET /metrics HTTP/2.0\r\nHost: t\r\n\r\n")), 505);
  // A head larger than the limit (8 KiB), whether it ever ends or not.
  const std::string huge_header = "X-Pad: " + std::string(20000, 'a') + "\r\n";
  EXPECT_EQ(StatusOf(Exchange(at, "GET /metrics HTTP/1.1\r\nHost: t\r\n" + huge_header + "\r\n")),
            431);
  EXPECT_EQ(StatusOf(Exchange(at, std::string(100000, 'G'))), 431);
  // The endpoint still serves after all that.
  EXPECT_EQ(StatusOf(Get(at, "/metrics")), 200);
}

TEST(HttpServerTest, SlowAndSurplusClientsAreCutOff) {
  HttpServerOptions options;
  options.read_timeout_ms = 3000;  // ample for the one 503 exchange that must come first
  options.max_connections = 1;
  absl::StatusOr<std::unique_ptr<HttpServer>> server = HttpServer::Start(
      "127.0.0.1:0",
      [](const HttpRequest& request) {
        return HttpResponse{200, "text/plain", request.path};
      },
      options);
  ASSERT_TRUE(server.ok()) << server.status();
  const std::string at = (*server)->address();
  EXPECT_EQ(BodyOf(Get(at, "/x")), "/x");
  // The reply reaches the client before the server frees that connection's slot.
  while ((*server)->connections() != 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  // A client that never finishes its request holds the only connection slot (connections are
  // accepted in order): another client is turned away with 503, and the slow one gets 408
  // once the read timeout passes.
  const int slow = ConnectTcp(at);
  ASSERT_GE(slow, 0);
  const std::string partial = "GET /x HTTP/1.1\r\n";
  ASSERT_EQ(::send(slow, partial.data(), partial.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(partial.size()));
  const std::string busy = Get(at, "/y");
  EXPECT_EQ(StatusOf(busy), 503) << busy;
  const std::string timed_out = ReadAll(slow);
  EXPECT_EQ(StatusOf(timed_out), 408) << timed_out;
  EXPECT_EQ(StatusOf(Get(at, "/z")), 200);  // the slot is free again
  (*server)->Stop();
  EXPECT_EQ(Get(at, "/x"), "connect failed");
}

TEST(HttpServerTest, PostBodiesOnlyWhenEnabledAndWithinTheLimit) {
  HttpServerOptions options;
  options.max_body_bytes = 16;
  HttpServer::Handler echo = [](const HttpRequest& r) {
    const std::string* type = r.Header("content-type");
    return HttpResponse{
        200, "text/plain",
        r.method + " " + r.path + "?" + r.query + " [" + (type ? *type : "-") + "] " + r.body};
  };
  absl::StatusOr<std::unique_ptr<HttpServer>> server =
      HttpServer::Start("127.0.0.1:0", echo, options);
  ASSERT_TRUE(server.ok()) << server.status();
  const std::string at = (*server)->address();
  auto post = [&](const std::string& headers, const std::string& body) {
    return Exchange(
        at, "POST /api/x?a=1 HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n" + headers +
                "\r\n" + body);
  };
  std::string r = post("Content-Length: 7\r\n", "{\"k\":1}");
  EXPECT_EQ(StatusOf(r), 200) << r;
  EXPECT_EQ(BodyOf(r), "POST /api/x?a=1 [application/json] {\"k\":1}");
  EXPECT_EQ(StatusOf(post("Content-Length: 17\r\n", std::string(17, 'x'))), 413);
  // A length that is not one decimal, or two different lengths: refused, never guessed.
  EXPECT_EQ(StatusOf(post("Content-Length: 2, 3\r\n", "ab")), 400);
  EXPECT_EQ(StatusOf(post("Content-Length: 2\r\nContent-Length: 3\r\n", "abc")), 400);
  EXPECT_EQ(StatusOf(post("Transfer-Encoding: chunked\r\n", "2\r\nab\r\n0\r\n\r\n")), 400);
  // A GET carries no body; a body shorter than announced times out (408).
  EXPECT_EQ(StatusOf(Exchange(at, "GET / HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nab")),
            400);
  HttpServerOptions quick = options;
  quick.read_timeout_ms = 300;
  absl::StatusOr<std::unique_ptr<HttpServer>> impatient =
      HttpServer::Start("127.0.0.1:0", echo, quick);
  ASSERT_TRUE(impatient.ok()) << impatient.status();
  const int fd = ConnectTcp((*impatient)->address());
  ASSERT_GE(fd, 0);
  const std::string partial = "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 9\r\n\r\nabc";
  ASSERT_EQ(::send(fd, partial.data(), partial.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(partial.size()));
  EXPECT_EQ(StatusOf(ReadAll(fd)), 408);

  // Without max_body_bytes (the metrics endpoint) POST is not a method the server takes.
  absl::StatusOr<std::unique_ptr<HttpServer>> get_only =
      HttpServer::Start("127.0.0.1:0", echo, HttpServerOptions());
  ASSERT_TRUE(get_only.ok());
  r = Exchange((*get_only)->address(), "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(StatusOf(r), 405) << r;
  EXPECT_THAT(r, HasSubstr("Allow: GET, HEAD\r\n"));
}

TEST(HttpServerTest, RefusesTlsMaterialThatDoesNotLoad) {
  HttpServerOptions options;
  options.tls_cert_pem = "not a certificate";
  options.tls_key_pem = "not a key";
  absl::StatusOr<std::unique_ptr<HttpServer>> server = HttpServer::Start(
      "127.0.0.1:0", [](const HttpRequest&) { return HttpResponse{}; }, options);
  ASSERT_FALSE(server.ok());
  EXPECT_THAT(std::string(server.status().message()), HasSubstr("TLS certificate"));
}

TEST(HttpServerTest, ListenErrorsNameTheAddress) {
  absl::StatusOr<std::unique_ptr<HttpServer>> bad =
      HttpServer::Start("127.0.0.1:http", [](const HttpRequest&) { return HttpResponse{}; });
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(std::string(bad.status().message()), HasSubstr("127.0.0.1:http"));
  absl::StatusOr<std::unique_ptr<HttpServer>> first =
      HttpServer::Start("127.0.0.1:0", [](const HttpRequest&) { return HttpResponse{}; });
  ASSERT_TRUE(first.ok()) << first.status();
  absl::StatusOr<std::unique_ptr<HttpServer>> second =
      HttpServer::Start((*first)->address(), [](const HttpRequest&) { return HttpResponse{}; });
  ASSERT_FALSE(second.ok());
  EXPECT_THAT(std::string(second.status().message()),
              HasSubstr("cannot listen on " + (*first)->address()));
}

TEST(MetricsConfigTest, ABadMetricsAddressIsRefusedNamingTheKey) {
  tds::NodeConfig config;
  config.set_data("d");
  config.set_genesis("g");
  config.set_key("k");
  config.set_insecure_dev(true);
  config.set_metrics_listen("9464");
  absl::Status s = FinalizeConfig(&config);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr("metrics_listen: listen address \"9464\""));
  config.set_metrics_listen("127.0.0.1:9464");
  EXPECT_TRUE(FinalizeConfig(&config).ok());
}

// Every encoding a secret could leak in: hex (both cases) and base64 (both alphabets, padded
// or not) of each key's secret bytes.
std::vector<std::string> Encodings(const std::string& secret) {
  std::string hex = HexEncode(secret);
  std::string upper = hex;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  std::string b64 = absl::Base64Escape(secret);
  std::string web = absl::WebSafeBase64Escape(secret);
  std::vector<std::string> out = {hex, upper, b64, web};
  while (!b64.empty() && b64.back() == '=') b64.pop_back();
  out.push_back(b64);
  return out;
}

TEST_F(ObservabilityTest, JsonLogsOfAFullScenarioParseCarryRequestIdsAndHoldNoKeys) {
  std::unique_ptr<sdk::DataSpaceClient> bank = Connect(kBank);
  ASSERT_NE(bank, nullptr);
  const std::string id = Negotiate(*bank);
  ASSERT_TRUE(bank->RunPsi(id, "", {"T003", "X999", "T017"}).ok());
  // Anonymous query creates the node's query master secret and uses it.
  absl::StatusOr<sdk::QueryRunResult> query = bank->RunQuery(id, "", {"T012", "nobody"});
  ASSERT_TRUE(query.ok()) << query.status();
  EXPECT_FALSE(bank->RunPsi(id, "marketing", {"T003"}).ok());  // a refusal is logged too
  const std::string other = ActiveContract();
  Use(other, "marketing", 1, /*reserve=*/false);
  const std::string log = ReadLog();

  // One JSON object per line, with the fields the format promises.
  int lines = 0, with_request = 0;
  bool release_has_request = false;
  for (size_t pos = 0; pos < log.size();) {
    const size_t eol = log.find('\n', pos);
    ASSERT_NE(eol, std::string::npos) << "unterminated last line";
    const std::string line = log.substr(pos, eol - pos);
    pos = eol + 1;
    ++lines;
    const nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    ASSERT_TRUE(j.is_object()) << "not a JSON object: " << line;
    for (const char* field : {"ts", "level", "logger", "msg"}) {
      ASSERT_TRUE(j.contains(field) && j[field].is_string()) << field << " in " << line;
    }
    if (j.contains("req")) {
      ++with_request;
      EXPECT_EQ(j["req"].get<std::string>().size(), 64u) << line;  // a request digest, hex
      if (j["msg"].get<std::string>().find(": released") != std::string::npos) {
        release_has_request = true;
      }
    }
  }
  EXPECT_GT(lines, 10);
  EXPECT_GT(with_request, 0);
  EXPECT_TRUE(release_has_request) << log;

  // No key material: members' Ed25519 secrets (seed, seed || public key), their key files'
  // secret lines, and the query master secret.
  std::vector<std::string> secrets;
  for (const Who& who : {kNode, kBank, kZj, kAudit, kStranger}) {
    const std::string seed(32, static_cast<char>(who.key));
    secrets.push_back(seed);
    secrets.push_back(seed + std::string(keys_[who.id]->public_key().bytes()));
    absl::StatusOr<std::string> file = ReadFile(KeyFile(who));
    ASSERT_TRUE(file.ok()) << file.status();
    ASSERT_THAT(*file, HasSubstr(HexEncode(seed)));  // the file holds the seed in hex
  }
  absl::StatusOr<std::string> master = ReadFile(dir_.Sub("data") + "/query-master.key");
  ASSERT_TRUE(master.ok()) << master.status();
  ASSERT_GE(master->size(), 16u);
  secrets.push_back(*master);
  for (const std::string& secret : secrets) {
    EXPECT_EQ(log.find(secret), std::string::npos) << "raw secret bytes in the log";
    for (const std::string& enc : Encodings(secret)) {
      EXPECT_EQ(log.find(enc), std::string::npos) << "key material in the log: " << enc;
    }
  }
}

}  // namespace
}  // namespace tds::node
