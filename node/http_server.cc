#include "node/http_server.h"

#include <netdb.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/fd.h"
#include "node/server.h"
#include "spdlog/spdlog.h"

namespace tds::node {
namespace {

using Clock = std::chrono::steady_clock;

const char* Reason(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 413:
      return "Content Too Large";
    case 415:
      return "Unsupported Media Type";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Error";
  }
}

std::string Serialize(const HttpResponse& r, bool head_only, bool post_allowed) {
  std::string out = absl::StrCat(
      "HTTP/1.1 ", r.status, " ", Reason(r.status), "\r\n", "Content-Type: ", r.content_type,
      "\r\n", "Content-Length: ", r.body.size(), "\r\n", "Connection: close\r\n");
  for (const auto& [name, value] : r.headers) absl::StrAppend(&out, name, ": ", value, "\r\n");
  if (r.status == 405) out += post_allowed ? "Allow: GET, HEAD, POST\r\n" : "Allow: GET, HEAD\r\n";
  out += "\r\n";
  if (!head_only) out += r.body;
  return out;
}

HttpResponse Error(int status, std::string message) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(message) + "\n";
  return r;
}

int RemainingMs(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return left.count() < 0 ? 0 : static_cast<int>(left.count());
}

// Waits for `events` on fd, or the wake fd, or the deadline. 1 ready, 0 timed out or woken.
int WaitFor(int fd, short events, int wake_fd, Clock::time_point deadline) {
  for (;;) {
    pollfd fds[2] = {{fd, events, 0}, {wake_fd, POLLIN, 0}};
    const int n = ::poll(fds, 2, RemainingMs(deadline));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0 || (fds[1].revents & POLLIN) != 0) return 0;
    return 1;
  }
}

std::string OpenSslError() {
  const unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

// An SSL_CTX for TLS 1.3 with this chain (leaf first) and key, or the reason OpenSSL refused.
absl::StatusOr<SSL_CTX*> NewTlsContext(const std::string& cert_pem, const std::string& key_pem) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (ctx == nullptr) return absl::InternalError(absl::StrCat("TLS: ", OpenSslError()));
  auto fail = [&](const std::string& what) {
    SSL_CTX_free(ctx);
    return absl::InvalidArgumentError(absl::StrCat("TLS ", what, ": ", OpenSslError()));
  };
  SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
  BIO* certs = BIO_new_mem_buf(cert_pem.data(), static_cast<int>(cert_pem.size()));
  X509* leaf = PEM_read_bio_X509(certs, nullptr, nullptr, nullptr);
  bool ok = leaf != nullptr && SSL_CTX_use_certificate(ctx, leaf) == 1;
  X509_free(leaf);
  while (ok) {  // the rest of the chain, if any
    X509* extra = PEM_read_bio_X509(certs, nullptr, nullptr, nullptr);
    if (extra == nullptr) break;
    if (SSL_CTX_add0_chain_cert(ctx, extra) != 1) {
      X509_free(extra);
      ok = false;
    }
  }
  BIO_free(certs);
  ERR_clear_error();  // the end of the PEM stream reads as an error
  if (!ok) return fail("certificate");
  BIO* key_bio = BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size()));
  EVP_PKEY* key = PEM_read_bio_PrivateKey(key_bio, nullptr, nullptr, nullptr);
  BIO_free(key_bio);
  ok = key != nullptr && SSL_CTX_use_PrivateKey(ctx, key) == 1;
  EVP_PKEY_free(key);
  if (!ok) return fail("private key");
  if (SSL_CTX_check_private_key(ctx) != 1) return fail("private key does not match certificate");
  return ctx;
}

}  // namespace

// One accepted connection, plain or TLS, over a non-blocking socket: reads and writes wait
// (poll) until their deadline or until the server stops.
class HttpConnection {
 public:
  HttpConnection(int fd, int wake_fd, SSL* ssl) : fd_(fd), wake_fd_(wake_fd), ssl_(ssl) {
    if (ssl_ != nullptr) SSL_set_fd(ssl_, fd_);
  }
  ~HttpConnection() {
    if (ssl_ != nullptr) SSL_free(ssl_);
  }
  HttpConnection(const HttpConnection&) = delete;
  HttpConnection& operator=(const HttpConnection&) = delete;

  bool tls() const { return ssl_ != nullptr; }

  // Completes the TLS handshake (no-op in plain HTTP); false if it fails or times out.
  bool Handshake(Clock::time_point deadline) {
    if (ssl_ == nullptr) return true;
    for (;;) {
      const int rc = SSL_accept(ssl_);
      if (rc == 1) return true;
      if (Await(SSL_get_error(ssl_, rc), deadline) != 1) return false;
    }
  }

  // Up to n bytes: > 0 read, 0 the peer closed, kFailed, or kTimedOut (the deadline passed or
  // the server is stopping).
  static constexpr ssize_t kFailed = -1, kTimedOut = -2;
  ssize_t Read(char* buf, size_t n, Clock::time_point deadline) {
    for (;;) {
      if (ssl_ != nullptr) {
        const int rc = SSL_read(ssl_, buf, static_cast<int>(n));
        if (rc > 0) return rc;
        const int err = SSL_get_error(ssl_, rc);
        if (err == SSL_ERROR_ZERO_RETURN) return 0;
        if (const int ready = Await(err, deadline); ready != 1)
          return ready == 0 ? kTimedOut : kFailed;
        continue;
      }
      const ssize_t rc = ::recv(fd_, buf, n, 0);
      if (rc >= 0) return rc;
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) return kFailed;
      if (WaitFor(fd_, POLLIN, wake_fd_, deadline) == 0) return kTimedOut;
    }
  }

  // All of `data` before the deadline; false if the peer does not take it in time.
  bool WriteAll(std::string_view data, Clock::time_point deadline) {
    while (!data.empty()) {
      if (ssl_ != nullptr) {
        const int rc = SSL_write(ssl_, data.data(), static_cast<int>(data.size()));
        if (rc > 0) {
          data.remove_prefix(static_cast<size_t>(rc));
        } else if (Await(SSL_get_error(ssl_, rc), deadline) != 1) {
          return false;
        }
        continue;
      }
      const ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n > 0) {
        data.remove_prefix(static_cast<size_t>(n));
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) &&
          WaitFor(fd_, POLLOUT, wake_fd_, deadline) == 1) {
        continue;
      }
      return false;
    }
    return true;
  }

  // Ends the sending side: close_notify in TLS, then the TCP half-close.
  void CloseWrite() {
    if (ssl_ != nullptr) SSL_shutdown(ssl_);
    ::shutdown(fd_, SHUT_WR);
  }

 private:
  // Waits for what OpenSSL asked for: 1 ready, 0 timed out or stopping, -1 any other error.
  int Await(int ssl_error, Clock::time_point deadline) {
    if (ssl_error == SSL_ERROR_WANT_READ) return WaitFor(fd_, POLLIN, wake_fd_, deadline);
    if (ssl_error == SSL_ERROR_WANT_WRITE) return WaitFor(fd_, POLLOUT, wake_fd_, deadline);
    ERR_clear_error();
    return -1;
  }

  const int fd_;
  const int wake_fd_;
  SSL* const ssl_;
};

namespace {

bool IsTokenChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) ||
         std::strchr("!#$%&'*+-.^_`|~", c) != nullptr;
}

}  // namespace

const std::string* HttpRequest::Header(std::string_view name) const {
  for (const auto& [n, v] : headers) {
    if (n == name) return &v;
  }
  return nullptr;
}

int ParseHttpRequestHead(const std::string& head, HttpRequest* request, size_t* content_length) {
  if (head.size() < 4 || head.compare(head.size() - 4, 4, "\r\n\r\n") != 0) return 400;
  std::vector<std::string_view> lines;
  std::string_view rest(head.data(), head.size() - 4);
  for (;;) {
    const size_t eol = rest.find("\r\n");
    lines.push_back(rest.substr(0, eol));
    if (eol == std::string_view::npos) break;
    rest.remove_prefix(eol + 2);
  }
  // Request line: METHOD SP TARGET SP HTTP/x.y, origin-form target.
  const std::string_view line = lines[0];
  const size_t sp1 = line.find(' ');
  const size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos) {
    return 400;
  }
  const std::string_view m = line.substr(0, sp1);
  const std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  const std::string_view version = line.substr(sp2 + 1);
  if (m.empty()) return 400;
  for (char c : m) {
    if (!IsTokenChar(c)) return 400;
  }
  if (target.empty() || target[0] != '/') return 400;
  for (char c : target) {
    if (c < 0x21 || c > 0x7e) return 400;
  }
  if (version.size() != 8 || version.substr(0, 5) != "HTTP/" ||
      !absl::ascii_isdigit(static_cast<unsigned char>(version[5])) || version[6] != '.' ||
      !absl::ascii_isdigit(static_cast<unsigned char>(version[7]))) {
    return 400;
  }
  if (version != "HTTP/1.1" && version != "HTTP/1.0") return 505;
  HttpRequest parsed;
  *content_length = 0;
  bool host = false, length_seen = false;
  for (size_t i = 1; i < lines.size(); ++i) {
    const std::string_view h = lines[i];
    const size_t colon = h.find(':');
    // No obsolete line folding, no empty or malformed field names.
    if (colon == 0 || colon == std::string_view::npos) return 400;
    for (char c : h.substr(0, colon)) {
      if (!IsTokenChar(c)) return 400;
    }
    std::string name = absl::AsciiStrToLower(std::string(h.substr(0, colon)));
    std::string value(h.substr(colon + 1));
    absl::StripAsciiWhitespace(&value);
    if (name == "host") host = true;
    // Bodies come with a length only; chunked bodies are not read here.
    if (name == "transfer-encoding") return 400;
    if (name == "content-length") {
      uint64_t n = 0;
      // One decimal length; differing repeats are a request-smuggling sign (RFC 9112 6.3).
      if (value.empty() || value.find_first_not_of("0123456789") != std::string::npos ||
          !absl::SimpleAtoi(value, &n) || (length_seen && n != *content_length)) {
        return 400;
      }
      length_seen = true;
      *content_length = n;
    }
    parsed.headers.emplace_back(std::move(name), std::move(value));
  }
  if (version == "HTTP/1.1" && !host) return 400;  // RFC 9112 section 3.2
  parsed.method = std::string(m);
  const size_t q = target.find('?');
  parsed.path = std::string(target.substr(0, q));
  if (q != std::string_view::npos) parsed.query = std::string(target.substr(q + 1));
  *request = std::move(parsed);
  return 200;
}

HttpServer::HttpServer(Handler handler, HttpServerOptions options)
    : handler_(std::move(handler)), options_(options) {}

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(const std::string& address,
                                                              Handler handler,
                                                              HttpServerOptions options) {
  std::string host;
  int port = 0;
  if (absl::Status s = SplitHostPort(address, &host, &port); !s.ok()) return s;
  const std::string bare =
      host.front() == '[' ? host.substr(1, host.size() - 2) : host;  // [::1] -> ::1
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  if (int rc = ::getaddrinfo(bare.c_str(), std::to_string(port).c_str(), &hints, &found); rc != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("listen address \"", address, "\": ", ::gai_strerror(rc)));
  }
  std::unique_ptr<HttpServer> server(new HttpServer(std::move(handler), options));
  if (!options.tls_cert_pem.empty() || !options.tls_key_pem.empty()) {
    absl::StatusOr<SSL_CTX*> tls = NewTlsContext(options.tls_cert_pem, options.tls_key_pem);
    if (!tls.ok()) {
      ::freeaddrinfo(found);
      return tls.status();
    }
    server->tls_ = *tls;
  }
  int err = 0;
  for (addrinfo* ai = found; ai != nullptr && server->listen_fd_ < 0; ai = ai->ai_next) {
    const int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
      err = errno;
      continue;
    }
    const int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || ::listen(fd, 16) != 0) {
      err = errno;
      ::close(fd);
      continue;
    }
    server->listen_fd_ = fd;
  }
  ::freeaddrinfo(found);
  if (server->listen_fd_ < 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", address, ": ", std::strerror(err)));
  }
  sockaddr_storage bound{};
  socklen_t len = sizeof bound;
  ::getsockname(server->listen_fd_, reinterpret_cast<sockaddr*>(&bound), &len);
  const uint16_t bound_port =
      ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                        : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  server->address_ = absl::StrCat(host, ":", bound_port);
  server->wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (server->wake_fd_ < 0) {
    return absl::InternalError(absl::StrCat("eventfd: ", std::strerror(errno)));
  }
  server->acceptor_ = std::thread([s = server.get()] { s->AcceptLoop(); });
  return server;
}

HttpServer::~HttpServer() {
  Stop();
  if (listen_fd_ >= 0) ::close(listen_fd_);
  if (wake_fd_ >= 0) ::close(wake_fd_);
  if (tls_ != nullptr) SSL_CTX_free(tls_);
}

size_t HttpServer::connections() const {
  std::lock_guard<std::mutex> lock(mu_);
  return active_;
}

void HttpServer::Stop() {
  if (stopping_.exchange(true)) return;
  if (wake_fd_ >= 0) {
    const uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(wake_fd_, &one, sizeof one);
  }
  if (acceptor_.joinable()) acceptor_.join();
  if (listen_fd_ >= 0) ::close(listen_fd_);  // new connections are refused from here on
  listen_fd_ = -1;
  std::unique_lock<std::mutex> lock(mu_);
  idle_.wait(lock, [this] { return active_ == 0; });
}

void HttpServer::AcceptLoop() {
  for (;;) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      spdlog::error("HTTP server {}: poll: {}", address_, std::strerror(errno));
      return;
    }
    if ((fds[1].revents & POLLIN) != 0) return;
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) continue;  // the peer gave up, or out of descriptors for a moment
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (active_ < options_.max_connections) {
        ++active_;
        std::thread([this, fd] {
          Serve(fd);
          std::lock_guard<std::mutex> done(mu_);
          --active_;
          idle_.notify_all();  // under the lock: Stop() may destroy *this once it sees 0
        }).detach();
        continue;
      }
    }
    if (tls_ == nullptr) {  // in TLS, a plaintext answer would only garble the handshake
      const std::string busy = Serialize(Error(503, "too many connections; retry"), false, false);
      [[maybe_unused]] ssize_t n = ::send(fd, busy.data(), busy.size(), MSG_NOSIGNAL);
    }
    ::close(fd);
  }
}

HttpResponse HttpServer::Answer(HttpConnection& conn, bool* head_only) {
  const Clock::time_point deadline =
      Clock::now() + std::chrono::milliseconds(options_.read_timeout_ms);
  std::string data;
  char buf[4096];
  size_t end = std::string::npos;
  while ((end = data.find("\r\n\r\n")) == std::string::npos) {
    if (data.size() > options_.max_request_bytes) {
      return Error(431, absl::StrCat("request head over ", options_.max_request_bytes, " bytes"));
    }
    const ssize_t n = conn.Read(buf, sizeof buf, deadline);
    if (n > 0) {
      data.append(buf, static_cast<size_t>(n));
      continue;
    }
    // Closed before a complete request, or stopping: nothing to answer (status 0).
    if (n != HttpConnection::kTimedOut || stopping_.load()) return HttpResponse{0};
    return Error(408, "request not received in time");
  }
  if (end + 4 > options_.max_request_bytes) {
    return Error(431, absl::StrCat("request head over ", options_.max_request_bytes, " bytes"));
  }
  HttpRequest request;
  size_t length = 0;
  const int parsed = ParseHttpRequestHead(data.substr(0, end + 4), &request, &length);
  if (parsed != 200) {
    return Error(parsed, parsed == 505 ? "HTTP/1.0 or HTTP/1.1 only" : "malformed request");
  }
  const bool post = request.method == "POST" && options_.max_body_bytes > 0;
  if (request.method != "GET" && request.method != "HEAD" && !post) {
    return Error(405,
                 options_.max_body_bytes > 0 ? "only GET, HEAD and POST" : "only GET and HEAD");
  }
  if (length > 0 && !post) return Error(400, "a request body is accepted with POST only");
  if (length > options_.max_body_bytes && post) {
    return Error(413, absl::StrCat("request body over ", options_.max_body_bytes, " bytes"));
  }
  request.body = data.substr(end + 4);
  while (request.body.size() < length) {
    const ssize_t n = conn.Read(buf, std::min(sizeof buf, length - request.body.size()), deadline);
    if (n > 0) {
      request.body.append(buf, static_cast<size_t>(n));
      continue;
    }
    if (n != HttpConnection::kTimedOut || stopping_.load()) return HttpResponse{0};
    return Error(408, "request body not received in time");
  }
  if (request.body.size() > length) return Error(400, "more bytes than Content-Length announced");
  *head_only = request.method == "HEAD";
  return handler_(request);
}

void HttpServer::Serve(int raw_fd) {
  Fd fd(raw_fd);
  HttpConnection conn(fd.get(), wake_fd_, tls_ != nullptr ? SSL_new(tls_) : nullptr);
  const Clock::time_point handshake_deadline =
      Clock::now() + std::chrono::milliseconds(options_.read_timeout_ms);
  if (!conn.Handshake(handshake_deadline)) return;
  bool head_only = false;
  const HttpResponse response = Answer(conn, &head_only);
  if (response.status == 0) return;
  const Clock::time_point write_deadline =
      Clock::now() + std::chrono::milliseconds(options_.write_timeout_ms);
  if (!conn.WriteAll(Serialize(response, head_only, options_.max_body_bytes > 0), write_deadline)) {
    return;
  }
  // Half-close, then read what the client still sends (briefly): closing with unread input
  // would reset the connection and could discard the response before the client reads it.
  conn.CloseWrite();
  const Clock::time_point linger = Clock::now() + std::chrono::milliseconds(200);
  char buf[4096];
  size_t drained = 0;
  while (drained < 64 * 1024) {
    const ssize_t n = conn.Read(buf, sizeof buf, linger);
    if (n <= 0) break;
    drained += static_cast<size_t>(n);
  }
}

}  // namespace tds::node
