#pragma once
// Dense row-major matrices, the breast-cancer data set, synthetic data, standardization and
// AUC: the plaintext scaffolding around the federated logistic regression.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace tds::compute::fl {

struct Matrix {
  size_t rows = 0;
  size_t cols = 0;
  std::vector<double> data;  // data.size() == rows * cols

  Matrix() = default;
  Matrix(size_t r, size_t c) : rows(r), cols(c), data(r * c, 0.0) {}
  double* row(size_t i) { return data.data() + i * cols; }
  const double* row(size_t i) const { return data.data() + i * cols; }
  // Columns [begin, end) of the given rows (all rows when `rows_idx` is empty).
  Matrix Slice(const std::vector<size_t>& rows_idx, size_t begin, size_t end) const;
};

struct LabeledData {
  Matrix x;
  std::vector<int> y;  // 0 or 1
};

// Debian's python3-sklearn copy of the Wisconsin diagnostic breast-cancer data.
inline constexpr char kBreastCancerCsv[] =
    "/usr/lib/python3/dist-packages/sklearn/datasets/data/breast_cancer.csv";

// Reads sklearn's breast_cancer.csv: a header "rows,features,name0,name1", then `rows` lines of
// `features` reals and a 0/1 label. NotFound (naming the file and the package) if it is absent;
// InvalidArgument naming the line for anything malformed.
absl::StatusOr<LabeledData> LoadBreastCancer(const std::string& path = kBreastCancerCsv);

// Rows of standard normal features and labels drawn from a logistic model with fixed random
// weights (deterministic in `seed`).
LabeledData SyntheticLogistic(size_t rows, size_t features, uint64_t seed);

// A seeded shuffle of [0, n) split into train (first round(n * train_fraction)) and test.
void TrainTestSplit(size_t n, double train_fraction, uint64_t seed, std::vector<size_t>* train,
                    std::vector<size_t>* test);

// Standardizes every column of `train` and `test` with the mean and standard deviation of
// `train` (a constant column becomes 0).
void Standardize(Matrix* train, Matrix* test);

// Area under the ROC curve (ties count half). 0.5 when a class is absent.
double Auc(const std::vector<double>& scores, const std::vector<int>& labels);

}  // namespace tds::compute::fl
