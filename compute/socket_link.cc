#include "compute/socket_link.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/fd.h"
#include "common/status_macros.h"

namespace tds::compute {
namespace {

constexpr size_t kHeaderBytes = 4;
// Frames up to this size are sent with their header in one write (one segment).
constexpr size_t kCoalesceBytes = 4096;

std::string ErrnoText(int err) { return std::strerror(err); }

// With a timeout, waits until `fd` is ready for `events` (DeadlineExceeded otherwise); without
// one returns at once and the blocking call itself waits.
absl::Status WaitReady(int fd, short events, std::chrono::milliseconds timeout, const char* what) {
  if (timeout.count() <= 0) return absl::OkStatus();
  pollfd p{fd, events, 0};
  while (true) {
    const int r = ::poll(&p, 1, static_cast<int>(timeout.count()));
    if (r > 0) return absl::OkStatus();  // ready, or an error/hang-up the I/O call will report
    if (r == 0) {
      return absl::DeadlineExceededError(
          absl::StrCat("socket link: no progress ", what, " for ", timeout.count(), " ms"));
    }
    if (errno != EINTR) {
      return absl::UnavailableError(absl::StrCat("socket link: poll: ", ErrnoText(errno)));
    }
  }
}

}  // namespace

SocketLink::SocketLink(int fd, SocketLinkOptions options) : fd_(fd), options_(options) {
  const int one = 1;
  // Frames are written whole; Nagle would only delay the small ones. Fails harmlessly on a
  // socket that is not TCP (e.g. a Unix socketpair).
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

SocketLink::~SocketLink() {
  Close();
  ::close(fd_);
}

void SocketLink::Close() {
  if (closed_.exchange(true)) return;
  ::shutdown(fd_, SHUT_RDWR);
}

absl::Status SocketLink::ClosedError() const {
  return absl::CancelledError("socket link: closed locally");
}

absl::Status SocketLink::WriteAll(const char* data, size_t size) {
  while (size > 0) {
    TDS_RETURN_IF_ERROR(WaitReady(fd_, POLLOUT, options_.io_timeout, "sending"));
    const ssize_t n = ::send(fd_, data, size, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (closed_) return ClosedError();
      return absl::UnavailableError(absl::StrCat("socket link: send: ", ErrnoText(errno)));
    }
    data += n;
    size -= static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

absl::Status SocketLink::ReadAll(char* data, size_t size, size_t* got) {
  *got = 0;
  while (*got < size) {
    TDS_RETURN_IF_ERROR(WaitReady(fd_, POLLIN, options_.io_timeout, "receiving"));
    const ssize_t n = ::recv(fd_, data + *got, size - *got, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (closed_) return ClosedError();
      return absl::UnavailableError(absl::StrCat("socket link: recv: ", ErrnoText(errno)));
    }
    if (n == 0) {
      if (closed_) return ClosedError();
      return absl::UnavailableError("socket link: peer closed the connection");
    }
    *got += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

absl::Status SocketLink::Send(std::string message) {
  if (closed_) return ClosedError();
  if (message.size() > options_.max_frame_bytes || message.size() > UINT32_MAX) {
    return absl::InvalidArgumentError(absl::StrCat("socket link: message of ", message.size(),
                                                   " bytes exceeds the frame limit of ",
                                                   options_.max_frame_bytes, " bytes"));
  }
  const uint32_t size = static_cast<uint32_t>(message.size());
  const char header[kHeaderBytes] = {static_cast<char>(size >> 24), static_cast<char>(size >> 16),
                                     static_cast<char>(size >> 8), static_cast<char>(size)};
  if (message.size() <= kCoalesceBytes) {
    std::string frame(header, kHeaderBytes);
    frame += message;
    TDS_RETURN_IF_ERROR(WriteAll(frame.data(), frame.size()));
  } else {
    TDS_RETURN_IF_ERROR(WriteAll(header, kHeaderBytes));
    TDS_RETURN_IF_ERROR(WriteAll(message.data(), message.size()));
  }
  bytes_sent_ += message.size();
  return absl::OkStatus();
}

absl::StatusOr<std::string> SocketLink::Recv() {
  if (closed_) return ClosedError();
  unsigned char header[kHeaderBytes];
  size_t got = 0;
  if (absl::Status s = ReadAll(reinterpret_cast<char*>(header), kHeaderBytes, &got); !s.ok()) {
    if (got > 0 && absl::IsUnavailable(s)) {
      return absl::DataLossError(
          absl::StrCat("socket link: connection closed inside a frame header (", got, " of ",
                       kHeaderBytes, " bytes)"));
    }
    return s;
  }
  const uint32_t size = (uint32_t{header[0]} << 24) | (uint32_t{header[1]} << 16) |
                        (uint32_t{header[2]} << 8) | uint32_t{header[3]};
  if (size > options_.max_frame_bytes) {
    // The stream cannot be resynchronised after a refused frame: close it.
    Close();
    return absl::DataLossError(absl::StrCat("socket link: peer announced a frame of ", size,
                                            " bytes, over the limit of ",
                                            options_.max_frame_bytes));
  }
  std::string message(size, '\0');
  if (absl::Status s = ReadAll(message.data(), size, &got); !s.ok()) {
    if (absl::IsUnavailable(s)) {
      return absl::DataLossError(absl::StrCat("socket link: connection closed inside a frame (",
                                              got, " of ", size, " bytes)"));
    }
    return s;
  }
  bytes_received_ += size;
  return message;
}

absl::StatusOr<std::pair<std::unique_ptr<Link>, std::unique_ptr<Link>>> LoopbackSocketPair(
    SocketLinkOptions options) {
  Fd listener(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (listener.get() < 0) {
    return absl::UnavailableError(absl::StrCat("loopback pair: socket: ", ErrnoText(errno)));
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  if (::bind(listener.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::listen(listener.get(), 1) != 0 ||
      ::getsockname(listener.get(), reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    return absl::UnavailableError(
        absl::StrCat("loopback pair: listen on 127.0.0.1: ", ErrnoText(errno)));
  }
  const int client = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (client < 0) {
    return absl::UnavailableError(absl::StrCat("loopback pair: socket: ", ErrnoText(errno)));
  }
  // Owned by the SocketLink from here on, so every early return below closes it.
  auto client_link = std::make_unique<SocketLink>(client, options);
  // The listen backlog completes the handshake, so connect returns before accept is called.
  int err = 0;
  if (::connect(client, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    err = errno;
    if (err == EINTR) {
      // An interrupted connect carries on in the background: wait for it and read its result.
      pollfd p{client, POLLOUT, 0};
      while (::poll(&p, 1, -1) < 0 && errno == EINTR) {
      }
      socklen_t err_len = sizeof(err);
      if (::getsockopt(client, SOL_SOCKET, SO_ERROR, &err, &err_len) != 0) err = errno;
    }
  }
  if (err != 0) {
    return absl::UnavailableError(absl::StrCat(
        "loopback pair: connect to 127.0.0.1:", ntohs(addr.sin_port), ": ", ErrnoText(err)));
  }
  int server;
  do {
    server = ::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC);
  } while (server < 0 && errno == EINTR);
  if (server < 0) {
    return absl::UnavailableError(absl::StrCat("loopback pair: accept: ", ErrnoText(errno)));
  }
  std::unique_ptr<Link> server_link = std::make_unique<SocketLink>(server, options);
  return std::make_pair(std::unique_ptr<Link>(std::move(client_link)), std::move(server_link));
}

}  // namespace tds::compute
