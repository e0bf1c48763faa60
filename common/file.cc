#include "common/file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <string>

#include "absl/strings/str_cat.h"

namespace tds {
namespace {

// Errors read "<op> <path>: <strerror>", with the code mapped from errno (NotFound, ...).
absl::Status OsError(int err, const char* op, const std::string& path) {
  return absl::ErrnoToStatus(err, absl::StrCat(op, " ", path));
}

// Closes on scope exit unless released; keeps early returns from leaking descriptors.
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

std::string DirName(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

absl::Status WriteAll(int fd, std::string_view content, const std::string& path) {
  while (!content.empty()) {
    const ssize_t n = ::write(fd, content.data(), content.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return OsError(errno, "write", path);
    }
    content.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

absl::Status FsyncDir(const std::string& dir) {
  Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) return OsError(errno, "open directory", dir);
  if (::fsync(fd.get()) != 0) return OsError(errno, "fsync directory", dir);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return OsError(errno, "open", path);
  std::string out;
  struct stat st;
  if (::fstat(fd.get(), &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
    out.reserve(static_cast<size_t>(st.st_size));
  }
  char buf[64 * 1024];
  for (;;) {
    const ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return OsError(errno, "read", path);
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

absl::Status WriteFileAtomic(const std::string& path, std::string_view content, int mode) {
  // The temporary lives in the target's directory so rename() stays within one filesystem
  // and is atomic. mkostemp creates it exclusively with 0600; fchmod then sets `mode` exactly
  // (the umask does not apply).
  std::string tmp = path + ".tmp-XXXXXX";
  Fd fd(::mkostemp(tmp.data(), O_CLOEXEC));
  if (fd.get() < 0) return OsError(errno, "create temporary file for", path);
  absl::Status st = [&]() -> absl::Status {
    if (::fchmod(fd.get(), static_cast<mode_t>(mode)) != 0) return OsError(errno, "chmod", tmp);
    if (absl::Status s = WriteAll(fd.get(), content, tmp); !s.ok()) return s;
    if (::fsync(fd.get()) != 0) return OsError(errno, "fsync", tmp);
    if (int err = fd.Close(); err != 0) return OsError(err, "close", tmp);
    if (::rename(tmp.c_str(), path.c_str()) != 0) return OsError(errno, "rename to", path);
    return absl::OkStatus();
  }();
  if (!st.ok()) {
    ::unlink(tmp.c_str());
    return st;
  }
  // The rename is durable only once the directory entry is on disk.
  return FsyncDir(DirName(path));
}

}  // namespace tds
