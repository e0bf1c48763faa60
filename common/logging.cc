// spdlog set-up: one default logger writing to stderr.
//
// "human": [2026-11-26 18:00:00.123] [info] message            (local time)
// "json":  {"ts":"2026-11-26T18:00:00.123Z","level":"info","logger":"tdsd","msg":"message"}
//          plus "req":"<id>" while the thread serves a request (ScopedRequestId);
//          one object per line, UTC; every string is JSON-escaped and invalid UTF-8 bytes
//          become U+FFFD, so any message yields exactly one parseable line.

#include "common/logging.h"

#include <cerrno>  // program_invocation_short_name (GNU)
#include <chrono>
#include <ctime>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "absl/strings/str_cat.h"
#include "spdlog/formatter.h"
#include "spdlog/pattern_formatter.h"
#include "spdlog/sinks/stdout_sinks.h"
#include "spdlog/spdlog.h"

namespace tds {
namespace {

thread_local std::string request_id;  // the request this thread serves; "" = none

constexpr std::string_view kHumanPattern = "[%Y-%m-%d %H:%M:%S.%e] [%l] %v";

void Append(spdlog::memory_buf_t& dest, std::string_view s) {
  dest.append(s.data(), s.data() + s.size());
}

// Length of the valid UTF-8 sequence starting at s[i], or 0 if it is not one.
size_t Utf8SequenceLength(std::string_view s, size_t i) {
  const auto c = static_cast<uint8_t>(s[i]);
  size_t n;
  uint32_t cp;
  if (c < 0x80) return 1;
  if ((c & 0xe0) == 0xc0) {
    n = 2, cp = c & 0x1f;
  } else if ((c & 0xf0) == 0xe0) {
    n = 3, cp = c & 0x0f;
  } else if ((c & 0xf8) == 0xf0) {
    n = 4, cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    const auto cc = static_cast<uint8_t>(s[i + k]);
    if ((cc & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (cc & 0x3f);
  }
  if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
      (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) {
    return 0;
  }
  return n;
}

// Appends `s` as the inside of a JSON string literal.
void AppendJsonEscaped(spdlog::memory_buf_t& dest, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (size_t i = 0; i < s.size();) {
    const char c = s[i];
    switch (c) {
      case '"':
        Append(dest, "\\\"");
        break;
      case '\\':
        Append(dest, "\\\\");
        break;
      case '\n':
        Append(dest, "\\n");
        break;
      case '\r':
        Append(dest, "\\r");
        break;
      case '\t':
        Append(dest, "\\t");
        break;
      case '\b':
        Append(dest, "\\b");
        break;
      case '\f':
        Append(dest, "\\f");
        break;
      default:
        if (static_cast<uint8_t>(c) < 0x20) {
          const char esc[] = {'\\', 'u', '0', '0', kHex[(c >> 4) & 0xf], kHex[c & 0xf]};
          Append(dest, std::string_view(esc, sizeof esc));
        } else if (const size_t n = Utf8SequenceLength(s, i); n == 0) {
          Append(dest, "\\ufffd");
        } else {
          Append(dest, s.substr(i, n));
          i += n;
          continue;
        }
    }
    ++i;
  }
}

class JsonFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    using std::chrono::duration_cast;
    using std::chrono::milliseconds;
    using std::chrono::system_clock;
    const auto since_epoch = msg.time.time_since_epoch();
    const std::time_t secs = system_clock::to_time_t(msg.time);
    const auto millis = duration_cast<milliseconds>(since_epoch).count() % 1000;
    std::tm tm;
    gmtime_r(&secs, &tm);
    char ts[40];
    const size_t len = std::strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
    std::snprintf(ts + len, sizeof ts - len, ".%03dZ", static_cast<int>(millis < 0 ? 0 : millis));

    const auto level = spdlog::level::to_string_view(msg.level);
    Append(dest, "{\"ts\":\"");
    Append(dest, ts);
    Append(dest, "\",\"level\":\"");
    AppendJsonEscaped(dest, std::string_view(level.data(), level.size()));
    Append(dest, "\",\"logger\":\"");
    AppendJsonEscaped(dest, std::string_view(msg.logger_name.data(), msg.logger_name.size()));
    Append(dest, "\",\"msg\":\"");
    AppendJsonEscaped(dest, std::string_view(msg.payload.data(), msg.payload.size()));
    // The formatter runs on the logging thread (synchronous sinks): its request.
    if (!request_id.empty()) {
      Append(dest, "\",\"req\":\"");
      AppendJsonEscaped(dest, request_id);
    }
    Append(dest, "\"}\n");
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonFormatter>();
  }
};

}  // namespace

ScopedRequestId::ScopedRequestId(std::string id) : previous_(std::move(request_id)) {
  request_id = std::move(id);
}

ScopedRequestId::~ScopedRequestId() { request_id = std::move(previous_); }

void SetRequestId(std::string id) { request_id = std::move(id); }

absl::Status InitLogging(const std::string& format, const std::string& level) {
  // Validate everything before touching the global logger.
  static constexpr std::string_view kLevels[] = {"trace", "debug", "info", "warn", "error", "off"};
  static constexpr spdlog::level::level_enum kLevelEnums[] = {
      spdlog::level::trace, spdlog::level::debug, spdlog::level::info,
      spdlog::level::warn,  spdlog::level::err,   spdlog::level::off};
  int level_index = -1;
  for (int i = 0; i < 6; ++i) {
    if (level == kLevels[i]) level_index = i;
  }
  if (level_index < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("log level '", level, "' is not one of trace, debug, info, warn, error, off"));
  }
  std::unique_ptr<spdlog::formatter> formatter;
  if (format == "human") {
    formatter = std::make_unique<spdlog::pattern_formatter>(std::string(kHumanPattern));
  } else if (format == "json") {
    formatter = std::make_unique<JsonFormatter>();
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("log format '", format, "' is not one of human, json"));
  }

  auto sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  // Named after the program ("tdsd", "tds"), which is what "logger" in JSON lines shows.
  auto logger =
      std::make_shared<spdlog::logger>(std::string(program_invocation_short_name), std::move(sink));
  logger->set_formatter(std::move(formatter));
  logger->set_level(kLevelEnums[level_index]);
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(std::move(logger));
  return absl::OkStatus();
}

}  // namespace tds
