#pragma once
// Tests only: parses a Prometheus text exposition (format 0.0.4) back into samples, checking
// what a scraper relies on, so a rendering bug fails the test rather than the scrape:
//  - every line is "# HELP name text", "# TYPE name type" or a sample `name{l="v",...} value`;
//  - each family has one TYPE, given before its samples, and a sample's name is its family's
//    (histograms: name_bucket / name_sum / name_count);
//  - label names are identifiers, values quoted with \\ \" \n escapes; values parse as floats;
//  - a histogram's buckets are cumulative (non-decreasing), end with le="+Inf", and its _count
//    equals that bucket.

#include <cmath>
#include <cstdlib>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"

namespace tds::metrics::testing {

struct Sample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

struct Exposition {
  std::vector<Sample> samples;
  std::map<std::string, std::string> types;  // family -> counter | gauge | histogram
  std::map<std::string, std::string> help;

  // The value of the sample `name` with exactly `labels`, or NaN if there is none.
  double Value(const std::string& name,
               const std::map<std::string, std::string>& labels = {}) const {
    for (const Sample& s : samples) {
      if (s.name == name && s.labels == labels) return s.value;
    }
    return std::nan("");
  }
};

inline bool IsMetricName(const std::string& n, bool label) {
  if (n.empty()) return false;
  for (size_t i = 0; i < n.size(); ++i) {
    const char c = n[i];
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                    (!label && c == ':') || (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

inline absl::StatusOr<Exposition> ParseExposition(const std::string& text) {
  Exposition out;
  if (!text.empty() && text.back() != '\n') {
    return absl::InvalidArgumentError("the exposition does not end with a newline");
  }
  std::set<std::string> sampled_families;
  size_t pos = 0;
  int line_no = 0;
  while (pos < text.size()) {
    const size_t eol = text.find('\n', pos);
    const std::string line = text.substr(pos, eol - pos);
    pos = eol + 1;
    ++line_no;
    auto bad = [&](const std::string& why) {
      return absl::InvalidArgumentError(absl::StrCat("line ", line_no, " \"", line, "\": ", why));
    };
    if (line.empty()) return bad("empty line");
    if (line[0] == '#') {
      const bool is_help = line.rfind("# HELP ", 0) == 0;
      const bool is_type = line.rfind("# TYPE ", 0) == 0;
      if (!is_help && !is_type) return bad("a comment other than HELP or TYPE");
      const std::string rest = line.substr(7);
      const size_t sp = rest.find(' ');
      if (sp == std::string::npos) return bad("no text after the name");
      const std::string name = rest.substr(0, sp);
      if (!IsMetricName(name, false)) return bad("invalid metric name");
      if (is_type) {
        const std::string type = rest.substr(sp + 1);
        if (type != "counter" && type != "gauge" && type != "histogram" && type != "summary" &&
            type != "untyped") {
          return bad("unknown type");
        }
        if (out.types.count(name) > 0) return bad("a second TYPE line");
        if (sampled_families.count(name) > 0) return bad("TYPE after samples");
        out.types[name] = type;
      } else {
        if (out.help.count(name) > 0) return bad("a second HELP line");
        out.help[name] = rest.substr(sp + 1);
      }
      continue;
    }
    Sample s;
    size_t i = 0;
    while (i < line.size() && line[i] != '{' && line[i] != ' ') ++i;
    s.name = line.substr(0, i);
    if (!IsMetricName(s.name, false)) return bad("invalid sample name");
    if (i < line.size() && line[i] == '{') {
      ++i;
      while (i < line.size() && line[i] != '}') {
        size_t eq = line.find('=', i);
        if (eq == std::string::npos) return bad("label without '='");
        const std::string label = line.substr(i, eq - i);
        if (!IsMetricName(label, true)) return bad("invalid label name");
        if (eq + 1 >= line.size() || line[eq + 1] != '"') return bad("unquoted label value");
        std::string value;
        size_t j = eq + 2;
        for (; j < line.size() && line[j] != '"'; ++j) {
          if (line[j] == '\\') {
            if (j + 1 >= line.size()) return bad("dangling escape");
            const char e = line[++j];
            if (e == 'n') {
              value += '\n';
            } else if (e == '\\' || e == '"') {
              value += e;
            } else {
              return bad("invalid escape in a label value");
            }
          } else {
            value += line[j];
          }
        }
        if (j >= line.size()) return bad("unterminated label value");
        if (!s.labels.emplace(label, value).second) return bad("a label given twice");
        i = j + 1;
        if (i < line.size() && line[i] == ',') ++i;
      }
      if (i >= line.size()) return bad("unterminated label set");
      ++i;  // '}'
    }
    if (i >= line.size() || line[i] != ' ') return bad("no space before the value");
    const std::string value = line.substr(i + 1);
    if (value == "+Inf") {
      s.value = INFINITY;
    } else if (value == "-Inf") {
      s.value = -INFINITY;
    } else if (value == "NaN") {
      s.value = NAN;
    } else {
      char* end = nullptr;
      s.value = std::strtod(value.c_str(), &end);
      if (value.empty() || *end != '\0') return bad("value is not a number");
    }
    // The family: the name itself, or a histogram's name without its suffix.
    std::string family = s.name;
    if (out.types.count(family) == 0) {
      for (const char* suffix : {"_bucket", "_sum", "_count"}) {
        const std::string sfx = suffix;
        if (family.size() > sfx.size() &&
            family.compare(family.size() - sfx.size(), sfx.size(), sfx) == 0) {
          const std::string base = family.substr(0, family.size() - sfx.size());
          if (out.types.count(base) > 0 && out.types[base] == "histogram") {
            family = base;
            break;
          }
        }
      }
    }
    if (out.types.count(family) == 0) return bad("a sample before its family's TYPE");
    if (out.types[family] == "histogram" && family == s.name) {
      return bad("a histogram sample without _bucket/_sum/_count");
    }
    sampled_families.insert(family);
    out.samples.push_back(std::move(s));
  }
  // Histograms: cumulative buckets ending at +Inf, _count equal to it.
  for (const auto& [family, type] : out.types) {
    if (type != "histogram") continue;
    std::map<std::map<std::string, std::string>, std::vector<std::pair<double, double>>> series;
    for (const Sample& s : out.samples) {
      if (s.name != family + "_bucket") continue;
      auto labels = s.labels;
      auto le = labels.find("le");
      if (le == labels.end()) return absl::InvalidArgumentError(family + ": bucket without le");
      const double bound =
          le->second == "+Inf" ? INFINITY : std::strtod(le->second.c_str(), nullptr);
      labels.erase(le);
      series[labels].emplace_back(bound, s.value);
    }
    for (const auto& [labels, buckets] : series) {
      for (size_t k = 1; k < buckets.size(); ++k) {
        if (buckets[k].first <= buckets[k - 1].first || buckets[k].second < buckets[k - 1].second) {
          return absl::InvalidArgumentError(family + ": buckets not cumulative in increasing le");
        }
      }
      if (buckets.empty() || !std::isinf(buckets.back().first)) {
        return absl::InvalidArgumentError(family + ": no le=\"+Inf\" bucket");
      }
      if (out.Value(family + "_count", labels) != buckets.back().second) {
        return absl::InvalidArgumentError(family + ": _count differs from the +Inf bucket");
      }
    }
  }
  return out;
}

}  // namespace tds::metrics::testing
