#include "node/connectors/csv_reader.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace tds::node {
namespace {
constexpr size_t kBlockBytes = 64 * 1024;
}  // namespace

absl::StatusOr<std::unique_ptr<CsvReader>> CsvReader::Open(const std::string& path,
                                                           char delimiter) {
  if (delimiter == '"' || delimiter == '\r' || delimiter == '\n') {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": the delimiter cannot be a quote, CR or LF"));
  }
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    const std::string msg = absl::StrCat(path, ": cannot open: ", std::strerror(err));
    return err == ENOENT ? absl::NotFoundError(msg) : absl::PermissionDeniedError(msg);
  }
  return std::unique_ptr<CsvReader>(new CsvReader(path, delimiter, fd));
}

CsvReader::CsvReader(std::string path, char delimiter, int fd)
    : path_(std::move(path)), delimiter_(delimiter), fd_(fd), buf_(kBlockBytes) {}

bool CsvReader::Fill() {
  if (eof_) return false;
  for (;;) {
    const ssize_t n = ::read(fd_.get(), buf_.data(), buf_.size());
    if (n > 0) {
      pos_ = 0;
      len_ = static_cast<size_t>(n);
      return true;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      read_error_ = absl::DataLossError(
          absl::StrCat(path_, " line ", line_, ": read failed: ", std::strerror(errno)));
    }
    eof_ = true;
    return false;
  }
}

inline int CsvReader::Get() {
  if (pos_ == len_ && !Fill()) return -1;
  return static_cast<unsigned char>(buf_[pos_++]);
}

inline int CsvReader::Peek() {
  if (pos_ == len_ && !Fill()) return -1;
  return static_cast<unsigned char>(buf_[pos_]);
}

std::string* CsvReader::NewField() {
  if (count_ == fields_.size()) fields_.emplace_back();
  std::string* f = &fields_[count_++];
  f->clear();
  return f;
}

std::string CsvReader::Where() const { return absl::StrCat(path_, " line ", record_line_, ": "); }

absl::Status CsvReader::Error(uint64_t line, const std::string& what) const {
  return absl::InvalidArgumentError(absl::StrCat(path_, " line ", line, ": ", what));
}

absl::Status CsvReader::TooLong() const {
  return Error(record_line_, absl::StrCat("record longer than ", kMaxRecordBytes >> 20,
                                          " MiB (an unclosed quote?)"));
}

absl::StatusOr<bool> CsvReader::Next() {
  if (!started_) {
    started_ = true;
    // Skip a UTF-8 byte-order mark.
    if (Peek() == 0xEF && len_ - pos_ >= 3 && static_cast<unsigned char>(buf_[pos_ + 1]) == 0xBB &&
        static_cast<unsigned char>(buf_[pos_ + 2]) == 0xBF) {
      pos_ += 3;
    }
  }
  count_ = 0;
  record_bytes_ = 0;
  // Skip blank lines; `c` ends as the record's first byte.
  int c;
  for (;;) {
    c = Get();
    if (c == '\n') {
      ++line_;
    } else if (c == '\r' && (Peek() == '\n' || Peek() == -1)) {
      if (Get() == '\n') ++line_;
    } else {
      break;
    }
  }
  if (c == -1) {
    if (!read_error_.ok()) return read_error_;
    return false;
  }
  record_line_ = line_;

  enum { kFieldStart, kUnquoted, kQuoted, kQuoteInQuoted } state = kFieldStart;
  std::string* f = NewField();
  uint64_t quote_line = 0;
  for (;; c = Get()) {
    switch (state) {
      case kFieldStart:
        if (c == '"') {
          state = kQuoted;
          quote_line = line_;
          continue;
        }
        state = kUnquoted;
        [[fallthrough]];
      case kUnquoted:
        if (c == delimiter_) {
          if (++record_bytes_ > kMaxRecordBytes) return TooLong();  // counts delimiters too
          f = NewField();
          state = kFieldStart;
          continue;
        }
        if (c == '\n') {
          ++line_;
          return true;
        }
        if (c == -1) {
          if (!read_error_.ok()) return read_error_;
          return true;
        }
        if (c == '\r') {
          const int d = Peek();
          if (d == -1) continue;  // the record ends at EOF on the next turn
          if (d == '\n') {
            Get();
            ++line_;
            return true;
          }
        }
        if (c == '"') {
          return Error(line_, absl::StrCat("field ", count_,
                                           ": a quote inside an unquoted field (quote the whole "
                                           "field and double the quote: \"\")"));
        }
        break;
      case kQuoted:
        if (c == -1) {
          if (!read_error_.ok()) return read_error_;
          return Error(quote_line, absl::StrCat("field ", count_,
                                                ": quoted field is never closed (reached end of "
                                                "file)"));
        }
        if (c == '"') {
          state = kQuoteInQuoted;
          continue;
        }
        if (c == '\n') ++line_;
        break;
      case kQuoteInQuoted:
        if (c == '"') {  // "" is an escaped quote
          state = kQuoted;
          break;
        }
        if (c == delimiter_) {
          if (++record_bytes_ > kMaxRecordBytes) return TooLong();  // counts delimiters too
          f = NewField();
          state = kFieldStart;
          continue;
        }
        if (c == '\n') {
          ++line_;
          return true;
        }
        if (c == -1) {
          if (!read_error_.ok()) return read_error_;
          return true;
        }
        if (c == '\r' && (Peek() == '\n' || Peek() == -1)) {
          if (Get() == '\n') ++line_;
          return true;
        }
        return Error(
            line_, absl::StrCat("field ", count_, ": unexpected character after a closing quote"));
    }
    // Append `c` to the current field.
    if (++record_bytes_ > kMaxRecordBytes) return TooLong();
    f->push_back(static_cast<char>(c));
  }
}

}  // namespace tds::node
