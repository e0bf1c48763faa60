#include "node/connectors/value_text.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <system_error>

namespace tds::node {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Reads exactly `n` digits at s[*pos] as a number; false if any is not a digit.
bool Digits(std::string_view s, size_t* pos, size_t n, int* out) {
  if (*pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = 0; i < n; ++i) {
    const char c = s[*pos + i];
    if (!IsDigit(c)) return false;
    v = v * 10 + (c - '0');
  }
  *pos += n;
  *out = v;
  return true;
}

bool IsLeapYear(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int DaysInMonth(int y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeapYear(y) ? 29 : kDays[m - 1];
}

// YYYY-MM-DD at s[*pos].
bool DateAt(std::string_view s, size_t* pos) {
  int y, m, d;
  if (!Digits(s, pos, 4, &y) || *pos >= s.size() || s[(*pos)++] != '-') return false;
  if (!Digits(s, pos, 2, &m) || *pos >= s.size() || s[(*pos)++] != '-') return false;
  if (!Digits(s, pos, 2, &d)) return false;
  return m >= 1 && m <= 12 && d >= 1 && d <= DaysInMonth(y, m);
}

bool Consume(std::string_view s, size_t* pos, char c) {
  if (*pos < s.size() && s[*pos] == c) {
    ++*pos;
    return true;
  }
  return false;
}

}  // namespace

bool IsCatalogType(std::string_view type) {
  return type == "int64" || type == "double" || type == "string" || type == "bool" ||
         type == "date" || type == "timestamp" || type == "bytes";
}

bool IsInt64Text(std::string_view s) {
  size_t i = s.size() > 0 && s[0] == '-' ? 1 : 0;
  if (i == s.size()) return false;
  if (s[i] == '0') return s.size() == 1;  // "0" only: no leading zeros, no "-0"
  int64_t v;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() && end == s.data() + s.size();
}

std::optional<double> ParseDoubleText(std::string_view s) {
  size_t i = 0;
  Consume(s, &i, '-');
  if (i >= s.size() || !IsDigit(s[i])) return std::nullopt;
  if (s[i] == '0') {
    ++i;
  } else {
    while (i < s.size() && IsDigit(s[i])) ++i;
  }
  if (Consume(s, &i, '.')) {
    if (i >= s.size() || !IsDigit(s[i])) return std::nullopt;
    while (i < s.size() && IsDigit(s[i])) ++i;
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (!Consume(s, &i, '+')) Consume(s, &i, '-');
    if (i >= s.size() || !IsDigit(s[i])) return std::nullopt;
    while (i < s.size() && IsDigit(s[i])) ++i;
  }
  if (i != s.size()) return std::nullopt;
  double v;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  // from_chars reports out-of-range (1e999) rather than returning infinity.
  if (ec != std::errc() || end != s.data() + s.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

std::string CanonicalDouble(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
  char buf[64];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  return std::string(buf, end);
}

std::optional<bool> ParseBoolText(std::string_view s) {
  auto equals_lower = [&](std::string_view word) {
    if (s.size() != word.size()) return false;
    for (size_t i = 0; i < s.size(); ++i) {
      char c = s[i];
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
      if (c != word[i]) return false;
    }
    return true;
  };
  if (equals_lower("true")) return true;
  if (equals_lower("false")) return false;
  return std::nullopt;
}

bool IsDateText(std::string_view s) {
  size_t pos = 0;
  return DateAt(s, &pos) && pos == s.size();
}

bool IsTimestampText(std::string_view s) {
  size_t pos = 0;
  if (!DateAt(s, &pos)) return false;
  if (!Consume(s, &pos, 'T') && !Consume(s, &pos, ' ')) return false;
  int hh, mm, ss;
  if (!Digits(s, &pos, 2, &hh) || !Consume(s, &pos, ':') || !Digits(s, &pos, 2, &mm)) {
    return false;
  }
  if (hh > 23 || mm > 59) return false;
  if (Consume(s, &pos, ':')) {
    if (!Digits(s, &pos, 2, &ss) || ss > 59) return false;
    if (Consume(s, &pos, '.') || Consume(s, &pos, ',')) {
      if (pos >= s.size() || !IsDigit(s[pos])) return false;
      while (pos < s.size() && IsDigit(s[pos])) ++pos;
    }
  }
  if (pos == s.size() || Consume(s, &pos, 'Z')) return pos == s.size();
  if (!Consume(s, &pos, '+') && !Consume(s, &pos, '-')) return false;
  int oh, om = 0;
  if (!Digits(s, &pos, 2, &oh) || oh > 23) return false;
  if (pos < s.size()) {
    Consume(s, &pos, ':');
    if (!Digits(s, &pos, 2, &om) || om > 59) return false;
  }
  return pos == s.size();
}

}  // namespace tds::node
