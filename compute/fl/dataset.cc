#include "compute/fl/dataset.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <random>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace tds::compute::fl {

Matrix Matrix::Slice(const std::vector<size_t>& rows_idx, size_t begin, size_t end) const {
  const size_t n = rows_idx.empty() ? rows : rows_idx.size();
  Matrix out(n, end - begin);
  for (size_t i = 0; i < n; ++i) {
    const double* src = row(rows_idx.empty() ? i : rows_idx[i]);
    std::copy(src + begin, src + end, out.row(i));
  }
  return out;
}

absl::StatusOr<LabeledData> LoadBreastCancer(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return absl::NotFoundError(
        absl::StrCat("breast-cancer data not found at ", path,
                     " (install Debian package python3-sklearn: deploy/install-deps.sh)"));
  }
  std::string line;
  if (!std::getline(in, line)) return absl::InvalidArgumentError(path + ": empty file");
  std::vector<std::string> head = absl::StrSplit(line, ',');
  size_t rows = 0, features = 0;
  if (head.size() < 2 || !absl::SimpleAtoi(head[0], &rows) ||
      !absl::SimpleAtoi(head[1], &features) || rows == 0 || features == 0 || rows > 1000000 ||
      features > 10000) {
    return absl::InvalidArgumentError(path + ": line 1 is not 'rows,features,...'");
  }
  LabeledData d{Matrix(rows, features), std::vector<int>(rows)};
  for (size_t i = 0; i < rows; ++i) {
    if (!std::getline(in, line)) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": ", i, " data lines, header announces ", rows));
    }
    std::vector<std::string> f = absl::StrSplit(line, ',');
    if (f.size() != features + 1) {
      return absl::InvalidArgumentError(absl::StrCat(path, ": line ", i + 2, " has ", f.size(),
                                                     " fields, expected ", features + 1));
    }
    for (size_t j = 0; j < features; ++j) {
      if (!absl::SimpleAtod(f[j], &d.x.row(i)[j]) || !std::isfinite(d.x.row(i)[j])) {
        return absl::InvalidArgumentError(
            absl::StrCat(path, ": line ", i + 2, " field ", j + 1, " is not a number"));
      }
    }
    int label = -1;
    if (!absl::SimpleAtoi(f[features], &label) || (label != 0 && label != 1)) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": line ", i + 2, " label is not 0 or 1"));
    }
    d.y[i] = label;
  }
  return d;
}

LabeledData SyntheticLogistic(size_t rows, size_t features, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  std::vector<double> w(features);
  for (double& v : w) v = normal(rng) / std::sqrt(static_cast<double>(features)) * 2.0;
  LabeledData d{Matrix(rows, features), std::vector<int>(rows)};
  for (size_t i = 0; i < rows; ++i) {
    double z = 0.3;
    for (size_t j = 0; j < features; ++j) {
      d.x.row(i)[j] = normal(rng);
      z += w[j] * d.x.row(i)[j];
    }
    d.y[i] = unit(rng) < 1.0 / (1.0 + std::exp(-z)) ? 1 : 0;
  }
  return d;
}

void TrainTestSplit(size_t n, double train_fraction, uint64_t seed, std::vector<size_t>* train,
                    std::vector<size_t>* test) {
  std::vector<size_t> idx(n);
  for (size_t i = 0; i < n; ++i) idx[i] = i;
  // Own Fisher-Yates over mt19937_64 (std::shuffle's algorithm is library-defined).
  std::mt19937_64 rng(seed);
  for (size_t i = n; i > 1; --i) std::swap(idx[i - 1], idx[rng() % i]);
  const size_t cut = static_cast<size_t>(std::llround(static_cast<double>(n) * train_fraction));
  train->assign(idx.begin(), idx.begin() + cut);
  test->assign(idx.begin() + cut, idx.end());
}

void Standardize(Matrix* train, Matrix* test) {
  for (size_t j = 0; j < train->cols; ++j) {
    double sum = 0, sq = 0;
    for (size_t i = 0; i < train->rows; ++i) sum += train->row(i)[j];
    const double mean = train->rows ? sum / static_cast<double>(train->rows) : 0.0;
    for (size_t i = 0; i < train->rows; ++i) {
      const double d = train->row(i)[j] - mean;
      sq += d * d;
    }
    const double sd = train->rows ? std::sqrt(sq / static_cast<double>(train->rows)) : 0.0;
    auto apply = [&](Matrix* m) {
      for (size_t i = 0; i < m->rows; ++i) {
        double& v = m->row(i)[j];
        v = sd > 0 ? (v - mean) / sd : 0.0;
      }
    };
    apply(train);
    apply(test);
  }
}

double Auc(const std::vector<double>& scores, const std::vector<int>& labels) {
  std::vector<size_t> order(scores.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scores[a] < scores[b]; });
  // Mann-Whitney U with average ranks for ties.
  double rank_sum_pos = 0;
  size_t pos = 0;
  for (size_t i = 0; i < order.size();) {
    size_t j = i;
    while (j < order.size() && scores[order[j]] == scores[order[i]]) ++j;
    const double avg_rank = (static_cast<double>(i + 1) + static_cast<double>(j)) / 2.0;
    for (size_t k = i; k < j; ++k) {
      if (labels[order[k]] == 1) rank_sum_pos += avg_rank, ++pos;
    }
    i = j;
  }
  const size_t neg = scores.size() - pos;
  if (pos == 0 || neg == 0) return 0.5;
  const double p = static_cast<double>(pos);
  return (rank_sum_pos - p * (p + 1) / 2.0) / (p * static_cast<double>(neg));
}

}  // namespace tds::compute::fl
