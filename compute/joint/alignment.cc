#include "compute/joint/alignment.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace tds::compute::joint {

absl::StatusOr<std::vector<uint64_t>> AlignedOrder(const std::vector<std::string>& ids,
                                                   const std::vector<uint64_t>& matched) {
  std::vector<uint64_t> order;
  order.reserve(matched.size());
  for (uint64_t p : matched) {
    if (p >= ids.size()) {
      return absl::InternalError(
          absl::StrCat("matched position ", p, " is outside the ", ids.size(), " identifiers"));
    }
    order.push_back(p);
  }
  std::sort(order.begin(), order.end(), [&ids](uint64_t a, uint64_t b) { return ids[a] < ids[b]; });
  for (size_t i = 1; i < order.size(); ++i) {
    if (ids[order[i - 1]] == ids[order[i]]) {
      return absl::FailedPreconditionError(
          "an identifier occurs more than once among the matched rows: joint operations need "
          "unique identifiers on both sides");
    }
  }
  return order;
}

absl::StatusOr<std::vector<double>> AlignedNumbers(const stats::ColumnValues& values,
                                                   const std::vector<uint64_t>& order,
                                                   const std::string& column) {
  std::vector<double> out;
  out.reserve(order.size());
  for (uint64_t p : order) {
    const std::optional<std::string>& v = p < values.size() ? values[p] : std::nullopt;
    double d = 0;
    if (!v.has_value() || !absl::SimpleAtod(*v, &d) || !std::isfinite(d)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "column '", column, "': an aligned row has ", v.has_value() ? "a non-numeric" : "no",
          " value; joint operations need a finite number in every aligned row"));
    }
    out.push_back(d);
  }
  return out;
}

}  // namespace tds::compute::joint
