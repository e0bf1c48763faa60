#pragma once
// String helpers over std::string_view (Debian's absl has its own string_view type, so absl's
// splitters do not hand back std::string_view).

#include <string_view>
#include <vector>

namespace tds {

// Splits on every `sep`; n separators give n + 1 pieces (empty pieces kept).
inline std::vector<std::string_view> SplitString(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || s[i] == sep) {
      out.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  return out;
}

inline bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

}  // namespace tds
