#include "node/http_server.h"

#include <netdb.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
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
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
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

std::string Serialize(const HttpResponse& r, bool head_only) {
  std::string out = absl::StrCat(
      "HTTP/1.1 ", r.status, " ", Reason(r.status), "\r\n", "Content-Type: ", r.content_type,
      "\r\n", "Content-Length: ", r.body.size(), "\r\n", "Connection: close\r\n");
  if (r.status == 405) out += "Allow: GET, HEAD\r\n";
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

// Sends all of `data` before the deadline; false if the peer does not take it in time.
bool SendAll(int fd, std::string_view data, int wake_fd, Clock::time_point deadline) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n > 0) {
      data.remove_prefix(static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) &&
        WaitFor(fd, POLLOUT, wake_fd, deadline) == 1) {
      continue;
    }
    return false;
  }
  return true;
}

bool IsTokenChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) ||
         std::strchr("!#$%&'*+-.^_`|~", c) != nullptr;
}

}  // namespace

int ParseHttpRequestHead(const std::string& head, std::string* method, std::string* path) {
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
  bool host = false;
  for (size_t i = 1; i < lines.size(); ++i) {
    const std::string_view h = lines[i];
    const size_t colon = h.find(':');
    // No obsolete line folding, no empty or malformed field names.
    if (colon == 0 || colon == std::string_view::npos) return 400;
    for (char c : h.substr(0, colon)) {
      if (!IsTokenChar(c)) return 400;
    }
    const std::string name = absl::AsciiStrToLower(std::string(h.substr(0, colon)));
    std::string value(h.substr(colon + 1));
    absl::StripAsciiWhitespace(&value);
    if (name == "host") host = true;
    // Requests here carry no body; one announced would be left unread.
    if (name == "transfer-encoding") return 400;
    if (name == "content-length" && value != "0") return 400;
  }
  if (version == "HTTP/1.1" && !host) return 400;  // RFC 9112 section 3.2
  *method = std::string(m);
  *path = std::string(target.substr(0, target.find('?')));
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
      spdlog::error("metrics endpoint: poll: {}", std::strerror(errno));
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
    const std::string busy = Serialize(Error(503, "too many connections; retry"), false);
    [[maybe_unused]] ssize_t n = ::send(fd, busy.data(), busy.size(), MSG_NOSIGNAL);
    ::close(fd);
  }
}

void HttpServer::Serve(int raw_fd) {
  Fd fd(raw_fd);
  const Clock::time_point read_deadline =
      Clock::now() + std::chrono::milliseconds(options_.read_timeout_ms);
  std::string head;
  HttpResponse response;
  bool head_only = false;
  char buf[4096];
  for (;;) {
    const size_t end = head.find("\r\n\r\n");
    if (end != std::string::npos) {
      head.resize(end + 4);
      std::string method, path;
      const int parsed = ParseHttpRequestHead(head, &method, &path);
      if (parsed != 200) {
        response = Error(parsed, parsed == 505 ? "HTTP/1.0 or HTTP/1.1 only" : "malformed request");
      } else if (method != "GET" && method != "HEAD") {
        response = Error(405, "only GET and HEAD");
      } else {
        head_only = method == "HEAD";
        response = handler_(path);
      }
      break;
    }
    if (head.size() > options_.max_request_bytes) {
      response =
          Error(431, absl::StrCat("request head over ", options_.max_request_bytes, " bytes"));
      break;
    }
    const ssize_t n = ::recv(fd.get(), buf, sizeof buf, 0);
    if (n > 0) {
      head.append(buf, static_cast<size_t>(n));
      continue;
    }
    if (n == 0) return;  // the peer closed before a complete request: nothing to answer
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return;
    if (WaitFor(fd.get(), POLLIN, wake_fd_, read_deadline) == 0) {
      if (stopping_.load()) return;
      response = Error(408, "request not received in time");
      break;
    }
  }
  const Clock::time_point write_deadline =
      Clock::now() + std::chrono::milliseconds(options_.write_timeout_ms);
  if (!SendAll(fd.get(), Serialize(response, head_only), wake_fd_, write_deadline)) return;
  // Half-close, then read what the client still sends (briefly): closing with unread input
  // would reset the connection and could discard the response before the client reads it.
  ::shutdown(fd.get(), SHUT_WR);
  const Clock::time_point linger = Clock::now() + std::chrono::milliseconds(200);
  size_t drained = 0;
  while (drained < 64 * 1024 && WaitFor(fd.get(), POLLIN, wake_fd_, linger) == 1) {
    const ssize_t n = ::recv(fd.get(), buf, sizeof buf, 0);
    if (n <= 0) break;
    drained += static_cast<size_t>(n);
  }
}

}  // namespace tds::node
