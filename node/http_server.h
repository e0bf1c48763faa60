#pragma once
// A minimal HTTP/1.1 server for the node's small web endpoints: the Prometheus metrics page
// (plain HTTP, GET and HEAD only) and the web console (HTTPS, with small POST bodies). One
// request per connection (the response closes it).
//
// Bounded by construction, so a slow or hostile client cannot hold the node:
//  - the request head (request line + headers) must fit in max_request_bytes (else 431) and
//    arrive within read_timeout_ms of the connection (else 408);
//  - a malformed request line or header, an HTTP version other than 1.0/1.1, or
//    Transfer-Encoding is answered 400; a body is accepted only on POST, only with a
//    Content-Length, and only up to max_body_bytes (0, the default: no POST at all, 405), else
//    413; it must arrive within the same read_timeout_ms; another method is answered 405;
//  - with TLS material, every connection is TLS 1.3 (the handshake counts against
//    read_timeout_ms); a client that does not complete it is dropped;
//  - at most max_connections are served at once; beyond, a connection gets 503 at once;
//  - the response must drain within write_timeout_ms, else the connection is dropped.

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

struct ssl_ctx_st;  // OpenSSL's SSL_CTX

namespace tds::node {

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string method;   // GET, HEAD or POST
  std::string path;     // the request target without its query string
  std::string query;    // after '?', undecoded; empty when none
  HttpHeaders headers;  // field names in lower case, values trimmed, in request order
  std::string body;     // POST only

  // The first value of header `name` (lower case), or nullptr.
  const std::string* Header(std::string_view name) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  HttpHeaders headers;  // extra response fields (Set-Cookie, security policies)
};

struct HttpServerOptions {
  size_t max_request_bytes = 8 * 1024;  // request line + headers
  size_t max_body_bytes = 0;            // > 0: POST bodies up to this size are accepted
  int read_timeout_ms = 5000;
  int write_timeout_ms = 5000;
  size_t max_connections = 4;
  // Serve HTTPS (TLS 1.3) with this certificate chain and private key, PEM; empty: plain HTTP.
  std::string tls_cert_pem;
  std::string tls_key_pem;
};

class HttpServer {
 public:
  // Answers one request (a HEAD is answered as its GET, without the body). Runs on a
  // connection's thread, possibly several at once: it must be thread-safe.
  using Handler = std::function<HttpResponse(const HttpRequest& request)>;

  // Listens on `address` (HOST:PORT; port 0 picks a free one). Errors name the address, or the
  // TLS material that OpenSSL refused.
  static absl::StatusOr<std::unique_ptr<HttpServer>> Start(const std::string& address,
                                                           Handler handler,
                                                           HttpServerOptions options = {});
  ~HttpServer();  // Stop()
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // The address actually bound, HOST:PORT.
  const std::string& address() const { return address_; }
  // Connections being served now (a connection's slot frees after its reply is sent).
  size_t connections() const;

  // Stops accepting, interrupts connections in progress and waits for their threads; the
  // handler is not called after it returns. Idempotent.
  void Stop();

 private:
  HttpServer(Handler handler, HttpServerOptions options);
  void AcceptLoop();
  void Serve(int fd);
  // Reads one request (head and body) and answers it through the handler, or with an error.
  HttpResponse Answer(class HttpConnection& conn, bool* head_only);

  const Handler handler_;
  const HttpServerOptions options_;
  int listen_fd_ = -1;
  int wake_fd_ = -1;  // eventfd: readable once Stop() begins
  std::string address_;
  std::thread acceptor_;
  mutable std::mutex mu_;
  std::condition_variable idle_;
  size_t active_ = 0;  // connection threads running; guarded by mu_
  std::atomic<bool> stopping_{false};
  ::ssl_ctx_st* tls_ = nullptr;  // SSL_CTX when serving HTTPS
};

// Parses a request head (through the blank line) into `request` (all but the body) and sets
// *content_length (0 without the field). Returns 200, or the status to answer: 400 malformed,
// 505 unsupported version. Exposed for tests.
int ParseHttpRequestHead(const std::string& head, HttpRequest* request, size_t* content_length);

}  // namespace tds::node
