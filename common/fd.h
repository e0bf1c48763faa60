#pragma once
// A file descriptor closed on scope exit unless closed explicitly, so early returns never leak.

#include <unistd.h>

#include <cerrno>

namespace tds {

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  // Closes now and reports close()'s errno (0 on success); a failed close may mean lost data.
  int Close() {
    const int r = ::close(fd_);
    fd_ = -1;
    return r == 0 ? 0 : errno;
  }

 private:
  int fd_;
};

}  // namespace tds
