#include "common/file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <functional>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/fd.h"

namespace tds {
namespace {

// Errors read "<op> <path>: <strerror>", with the code mapped from errno (NotFound, ...).
absl::Status OsError(int err, const char* op, const std::string& path) {
  return absl::ErrnoToStatus(err, absl::StrCat(op, " ", path));
}

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

namespace {

// Writes `content` to a new temporary beside `path` (same filesystem, so rename/link are
// atomic) with exactly `mode` (mkostemp creates it 0600 and exclusively; fchmod ignores the
// umask), fsyncs and closes it, then publishes it with `publish(tmp, path)`. The temporary is
// always removed; on success the directory is fsynced so the new name is durable too.
absl::Status WriteAndPublish(const std::string& path, std::string_view content, int mode,
                             const std::function<absl::Status(const std::string&)>& publish) {
  std::string tmp = path + ".tmp-XXXXXX";
  Fd fd(::mkostemp(tmp.data(), O_CLOEXEC));
  if (fd.get() < 0) return OsError(errno, "create temporary file for", path);
  absl::Status st = [&]() -> absl::Status {
    if (::fchmod(fd.get(), static_cast<mode_t>(mode)) != 0) return OsError(errno, "chmod", tmp);
    if (absl::Status s = WriteAll(fd.get(), content, tmp); !s.ok()) return s;
    if (::fsync(fd.get()) != 0) return OsError(errno, "fsync", tmp);
    if (int err = fd.Close(); err != 0) return OsError(err, "close", tmp);
    return publish(tmp);
  }();
  ::unlink(tmp.c_str());  // after rename it no longer exists; after link it is a second name
  if (!st.ok()) return st;
  return FsyncDir(DirName(path));
}

}  // namespace

absl::Status WriteFileAtomic(const std::string& path, std::string_view content, int mode) {
  return WriteAndPublish(path, content, mode, [&](const std::string& tmp) {
    if (::rename(tmp.c_str(), path.c_str()) != 0) return OsError(errno, "rename to", path);
    return absl::OkStatus();
  });
}

absl::Status WriteFileExclusive(const std::string& path, std::string_view content, int mode) {
  return WriteAndPublish(path, content, mode, [&](const std::string& tmp) {
    // link() fails with EEXIST instead of replacing: the file appears whole or not at all.
    if (::link(tmp.c_str(), path.c_str()) != 0) {
      if (errno == EEXIST) {
        return absl::AlreadyExistsError(
            absl::StrCat(path, " already exists; refusing to overwrite it"));
      }
      return OsError(errno, "link to", path);
    }
    return absl::OkStatus();
  });
}

}  // namespace tds
