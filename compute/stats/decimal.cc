#include "compute/stats/decimal.h"

#include <algorithm>
#include <array>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace tds::compute::stats {
namespace {

using U128 = unsigned __int128;

// Significant digits a Decimal may hold: |units| < 10^37 leaves room to add values up.
constexpr int kMaxDigits = 37;

constexpr std::array<U128, 39> MakePow10() {
  std::array<U128, 39> p{};
  p[0] = 1;
  for (size_t i = 1; i < p.size(); ++i) p[i] = p[i - 1] * 10;
  return p;
}
constexpr std::array<U128, 39> kPow10 = MakePow10();

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

U128 Magnitude(__int128 v) { return v < 0 ? U128(0) - static_cast<U128>(v) : static_cast<U128>(v); }

// Decimal digits of `mag`, most significant first ("0" for zero).
std::string Digits(U128 mag) {
  if (mag == 0) return "0";
  std::string out;
  while (mag != 0) {
    out.push_back(static_cast<char>('0' + static_cast<int>(mag % 10)));
    mag /= 10;
  }
  std::reverse(out.begin(), out.end());
  return out;
}

// sign + digits of `mag` with a point `places` digits from the right (exactly `places`
// fractional digits; none and no point when places is 0).
std::string WithPoint(bool negative, U128 mag, int places) {
  std::string d = Digits(mag);
  if (places > 0 && d.size() <= static_cast<size_t>(places)) {
    d.insert(0, static_cast<size_t>(places) + 1 - d.size(), '0');
  }
  std::string out = negative && mag != 0 ? "-" : "";
  if (places == 0) return out + d;
  out += d.substr(0, d.size() - static_cast<size_t>(places));
  out += '.';
  out += d.substr(d.size() - static_cast<size_t>(places));
  return out;
}

}  // namespace

absl::StatusOr<Decimal> ParseDecimal(std::string_view text) {
  size_t i = 0;
  const bool negative = i < text.size() && text[i] == '-';
  if (negative) ++i;
  const size_t int_begin = i;
  while (i < text.size() && IsDigit(text[i])) ++i;
  const std::string_view int_digits = text.substr(int_begin, i - int_begin);
  if (int_digits.empty()) {
    return absl::InvalidArgumentError("not a decimal number (expected a digit first)");
  }
  if (int_digits.size() > 1 && int_digits[0] == '0') {
    return absl::InvalidArgumentError("not a decimal number (leading zero)");
  }
  std::string_view frac_digits;
  if (i < text.size() && text[i] == '.') {
    const size_t frac_begin = ++i;
    while (i < text.size() && IsDigit(text[i])) ++i;
    frac_digits = text.substr(frac_begin, i - frac_begin);
    if (frac_digits.empty()) {
      return absl::InvalidArgumentError("not a decimal number (no digit after the point)");
    }
  }
  int64_t exponent = 0;
  if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
    ++i;
    bool exp_negative = false;
    if (i < text.size() && (text[i] == '+' || text[i] == '-')) exp_negative = text[i++] == '-';
    const size_t exp_begin = i;
    while (i < text.size() && IsDigit(text[i])) {
      // Anything beyond 10^6 is out of range either way; stop growing.
      if (exponent < 1'000'000) exponent = exponent * 10 + (text[i] - '0');
      ++i;
    }
    if (i == exp_begin) {
      return absl::InvalidArgumentError("not a decimal number (no digit in the exponent)");
    }
    if (exp_negative) exponent = -exponent;
  }
  if (i != text.size()) {
    return absl::InvalidArgumentError("not a decimal number (unexpected character)");
  }

  // The significant digits, and the power of ten they are multiplied by.
  std::string digits = absl::StrCat(std::string(int_digits), std::string(frac_digits));
  int64_t exp10 = exponent - static_cast<int64_t>(frac_digits.size());
  const size_t first = digits.find_first_not_of('0');
  if (first == std::string::npos) return Decimal{};  // zero, whatever its spelling
  digits.erase(0, first);
  const size_t last = digits.find_last_not_of('0');
  exp10 += static_cast<int64_t>(digits.size() - 1 - last);
  digits.erase(last + 1);

  if (static_cast<int64_t>(digits.size()) + std::max<int64_t>(exp10, 0) > kMaxDigits) {
    return absl::InvalidArgumentError(absl::StrCat("number out of the exact range (10^", kMaxDigits,
                                                   " or more, or more than ", kMaxDigits,
                                                   " significant digits)"));
  }
  if (-exp10 > kMaxScale) {
    return absl::InvalidArgumentError(
        absl::StrCat("number has more than ", kMaxScale, " fractional digits"));
  }
  U128 mag = 0;
  for (char c : digits) mag = mag * 10 + static_cast<U128>(c - '0');
  Decimal d;
  if (exp10 >= 0) {
    mag *= kPow10[static_cast<size_t>(exp10)];
  } else {
    d.scale = static_cast<int>(-exp10);
  }
  d.units = negative ? -static_cast<__int128>(mag) : static_cast<__int128>(mag);
  return d;
}

std::optional<__int128> Rescale(__int128 units, int scale, int target) {
  if (target < scale || target - scale > kMaxDigits) return std::nullopt;
  const U128 mag = Magnitude(units);
  const U128 factor = kPow10[static_cast<size_t>(target - scale)];
  if (mag > (kPow10[kMaxDigits] - 1) / factor) return std::nullopt;
  const U128 scaled = mag * factor;  // < 10^37
  return units < 0 ? -static_cast<__int128>(scaled) : static_cast<__int128>(scaled);
}

std::string FormatDecimal(__int128 units, int scale) {
  U128 mag = Magnitude(units);
  while (scale > 0 && mag % 10 == 0) {
    mag /= 10;
    --scale;
  }
  return WithPoint(units < 0, mag, scale);
}

absl::StatusOr<std::string> DivideRounded(__int128 units, int scale, uint64_t divisor, int places) {
  // units × 10^(places - scale) / divisor, in magnitudes; the sign is applied at the end.
  U128 num = Magnitude(units);
  U128 den = divisor;
  const int shift = places - scale;
  const U128 factor = kPow10[static_cast<size_t>(shift >= 0 ? shift : -shift)];
  U128* scaled = shift >= 0 ? &num : &den;
  if (*scaled > ~U128(0) / factor) {
    return absl::OutOfRangeError("division out of the exact range");
  }
  *scaled *= factor;
  U128 q = num / den;
  const U128 r = num % den;
  // Half-even: round up past the half, and at exactly half towards the even quotient.
  if (r > den - r || (r == den - r && (q & 1) != 0)) ++q;
  return WithPoint(units < 0, q, places);
}

}  // namespace tds::compute::stats
