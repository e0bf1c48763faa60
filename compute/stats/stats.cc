#include "compute/stats/stats.h"

#include <algorithm>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "compute/stats/decimal.h"

namespace tds::compute::stats {
namespace {

bool KnownKind(const std::string& kind) {
  return kind == "count" || kind == "sum" || kind == "mean" || kind == "histogram";
}

// "stats[2] (histogram of income)"
std::string SpecName(size_t i, const tds::StatSpec& spec) {
  return absl::StrCat("stats[", i, "] (", spec.kind(), " of ", spec.column(), ")");
}

// The non-NULL values of one column at a common scale (the largest any value needs).
struct ParsedColumn {
  std::vector<__int128> units;
  int scale = 0;
};

absl::StatusOr<ParsedColumn> ParseColumn(const std::string& name, const ColumnValues& values) {
  std::vector<Decimal> parsed;
  parsed.reserve(values.size());
  ParsedColumn out;
  for (const std::optional<std::string>& v : values) {
    if (!v.has_value()) continue;
    absl::StatusOr<Decimal> d = ParseDecimal(*v);
    if (!d.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("column ", name,
                                                     ": a matched row holds a value that is not "
                                                     "usable: ",
                                                     std::string(d.status().message())));
    }
    out.scale = std::max(out.scale, d->scale);
    parsed.push_back(*d);
  }
  out.units.reserve(parsed.size());
  for (const Decimal& d : parsed) {
    std::optional<__int128> u = Rescale(d.units, d.scale, out.scale);
    if (!u.has_value()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "column ", name, ": values out of the exact range at ", out.scale, " fractional digits"));
    }
    out.units.push_back(*u);
  }
  return out;
}

absl::StatusOr<__int128> Sum(const std::string& column, const ParsedColumn& c) {
  __int128 sum = 0;
  for (__int128 u : c.units) {
    if (__builtin_add_overflow(sum, u, &sum)) {
      return absl::OutOfRangeError(absl::StrCat("sum of ", column, " overflows 128 bits"));
    }
  }
  return sum;
}

// Refuses a group of 1..k-1 rows (see stats.h).
absl::Status CheckGroup(uint64_t rows, uint32_t k, const std::string& what) {
  if (k == 0 || rows == 0 || rows >= k) return absl::OkStatus();
  return absl::FailedPreconditionError(
      absl::StrCat(what, " fewer than ", k, " rows; the contract requires at least ", k));
}

std::string BucketLabel(const tds::StatSpec& spec, size_t i) {
  const int n = spec.bounds_size();
  const std::string lower = i == 0 ? "-inf" : spec.bounds(static_cast<int>(i) - 1);
  if (static_cast<int>(i) == n) return absl::StrCat("(", lower, ", +inf)");
  return absl::StrCat("(", lower, ", ", spec.bounds(static_cast<int>(i)), "]");
}

}  // namespace

absl::Status ValidateStatSpecs(const std::vector<tds::StatSpec>& specs) {
  if (specs.empty()) return absl::InvalidArgumentError("stats: no statistic requested");
  if (specs.size() > kMaxSpecs) {
    return absl::InvalidArgumentError(
        absl::StrCat("stats: ", specs.size(), " statistics exceed the limit of ", kMaxSpecs));
  }
  for (size_t i = 0; i < specs.size(); ++i) {
    const tds::StatSpec& spec = specs[i];
    if (spec.column().empty()) {
      return absl::InvalidArgumentError(absl::StrCat("stats[", i, "]: column is empty"));
    }
    if (!KnownKind(spec.kind())) {
      return absl::InvalidArgumentError(absl::StrCat(
          "stats[", i, "]: kind '", spec.kind(), "' is not one of count, sum, mean, histogram"));
    }
    if (spec.kind() != "histogram") {
      if (spec.bounds_size() != 0) {
        return absl::InvalidArgumentError(
            absl::StrCat(SpecName(i, spec), ": bounds are for histograms only"));
      }
      continue;
    }
    if (spec.bounds_size() == 0 || static_cast<size_t>(spec.bounds_size()) > kMaxBounds) {
      return absl::InvalidArgumentError(absl::StrCat(SpecName(i, spec), ": ", spec.bounds_size(),
                                                     " bounds; expected 1..", kMaxBounds));
    }
    std::optional<Decimal> previous;
    for (int b = 0; b < spec.bounds_size(); ++b) {
      absl::StatusOr<Decimal> d = ParseDecimal(spec.bounds(b));
      if (!d.ok()) {
        return absl::InvalidArgumentError(absl::StrCat(SpecName(i, spec), ": bounds[", b, "] '",
                                                       spec.bounds(b),
                                                       "': ", std::string(d.status().message())));
      }
      if (previous.has_value()) {
        const int scale = std::max(previous->scale, d->scale);
        std::optional<__int128> a = Rescale(previous->units, previous->scale, scale);
        std::optional<__int128> c = Rescale(d->units, d->scale, scale);
        if (!a.has_value() || !c.has_value()) {
          return absl::InvalidArgumentError(
              absl::StrCat(SpecName(i, spec), ": bounds[", b, "] out of the exact range"));
        }
        if (*c <= *a) {
          return absl::InvalidArgumentError(absl::StrCat(SpecName(i, spec), ": bounds[", b, "] '",
                                                         spec.bounds(b), "' is not above bounds[",
                                                         b - 1, "] '", spec.bounds(b - 1), "'"));
        }
      }
      previous = *d;
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<StatsOutput> ComputeStats(const std::vector<tds::StatSpec>& specs,
                                         const Columns& columns, uint32_t min_group_size) {
  TDS_RETURN_IF_ERROR(ValidateStatSpecs(specs));
  std::map<std::string, ParsedColumn, std::less<>> parsed;
  for (const tds::StatSpec& spec : specs) {
    if (parsed.count(spec.column()) != 0) continue;
    auto it = columns.find(spec.column());
    if (it == columns.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat("stats: column ", spec.column(), " was not read"));
    }
    TDS_ASSIGN_OR_RETURN(ParsedColumn c, ParseColumn(spec.column(), it->second));
    parsed.emplace(spec.column(), std::move(c));
  }

  StatsOutput out;
  auto note_group = [&out](uint64_t rows) {
    if (rows != 0 && (out.min_group_rows == 0 || rows < out.min_group_rows)) {
      out.min_group_rows = rows;
    }
  };
  for (const tds::StatSpec& spec : specs) {
    const ParsedColumn& c = parsed.at(spec.column());
    const uint64_t rows = c.units.size();
    tds::StatValue v;
    v.set_column(spec.column());
    v.set_kind(spec.kind());
    v.set_rows(rows);
    const std::string what = absl::StrCat(spec.kind(), " of ", spec.column(), ":");
    if (spec.kind() == "histogram") {
      // Bounds and values at one scale, so buckets are found by exact integer comparison.
      std::vector<Decimal> bounds;
      int scale = c.scale;
      for (const std::string& b : spec.bounds()) {
        TDS_ASSIGN_OR_RETURN(Decimal d, ParseDecimal(b));
        scale = std::max(scale, d.scale);
        bounds.push_back(d);
      }
      std::vector<__int128> limits;
      for (const Decimal& d : bounds) {
        std::optional<__int128> u = Rescale(d.units, d.scale, scale);
        if (!u.has_value()) {
          return absl::InvalidArgumentError(absl::StrCat(what, " bounds out of the exact range at ",
                                                         scale, " fractional digits"));
        }
        limits.push_back(*u);
      }
      std::vector<uint64_t> buckets(limits.size() + 1, 0);
      for (__int128 value : c.units) {
        std::optional<__int128> u = Rescale(value, c.scale, scale);
        if (!u.has_value()) {
          return absl::InvalidArgumentError(absl::StrCat(what, " values out of the exact range at ",
                                                         scale, " fractional digits"));
        }
        // The first bound >= value: buckets are (lower, upper].
        const size_t i = static_cast<size_t>(std::lower_bound(limits.begin(), limits.end(), *u) -
                                             limits.begin());
        ++buckets[i];
      }
      for (size_t i = 0; i < buckets.size(); ++i) {
        TDS_RETURN_IF_ERROR(CheckGroup(buckets[i], min_group_size,
                                       absl::StrCat("histogram of ", spec.column(), ": bucket ",
                                                    BucketLabel(spec, i), " has")));
        note_group(buckets[i]);
        v.add_buckets(buckets[i]);
      }
    } else {
      TDS_RETURN_IF_ERROR(CheckGroup(rows, min_group_size, absl::StrCat(what, " covers")));
      note_group(rows);
      if (spec.kind() == "count") {
        v.set_value(absl::StrCat(rows));
      } else {
        TDS_ASSIGN_OR_RETURN(__int128 sum, Sum(spec.column(), c));
        if (spec.kind() == "sum") {
          v.set_value(FormatDecimal(sum, c.scale));
        } else if (rows != 0) {
          TDS_ASSIGN_OR_RETURN(std::string mean, DivideRounded(sum, c.scale, rows, kMeanPlaces));
          v.set_value(std::move(mean));
        }
      }
    }
    out.values.push_back(std::move(v));
  }
  return out;
}

}  // namespace tds::compute::stats
