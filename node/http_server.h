#pragma once
// A minimal HTTP/1.1 server for read-only plaintext endpoints (the Prometheus metrics page):
// GET and HEAD only, one request per connection (the response closes it), no request bodies.
//
// Bounded by construction, so a slow or hostile client cannot hold the node:
//  - the request head (request line + headers) must fit in max_request_bytes (else 431) and
//    arrive within read_timeout_ms of the connection (else 408);
//  - a malformed request line, an HTTP version other than 1.0/1.1, or a request announcing a
//    body (Content-Length other than 0, Transfer-Encoding) is answered 400; another method 405;
//  - at most max_connections are served at once; beyond, a connection gets 503 at once;
//  - the response must drain within write_timeout_ms, else the connection is dropped.

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "absl/status/statusor.h"

namespace tds::node {

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

struct HttpServerOptions {
  size_t max_request_bytes = 8 * 1024;
  int read_timeout_ms = 5000;
  int write_timeout_ms = 5000;
  size_t max_connections = 4;
};

class HttpServer {
 public:
  // Answers a GET (or HEAD) of `path` (the request target without its query string). Runs on a
  // connection's thread, possibly several at once: it must be thread-safe.
  using Handler = std::function<HttpResponse(const std::string& path)>;

  // Listens on `address` (HOST:PORT; port 0 picks a free one). Errors name the address.
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
};

// Parses a request head (through the blank line). On success sets *method and *path (the
// target without its query string) and returns 200; otherwise the status to answer (400 bad
// request, 505 unsupported version). Exposed for tests.
int ParseHttpRequestHead(const std::string& head, std::string* method, std::string* path);

}  // namespace tds::node
