#include "compute/joint/scaling.h"

#include <cmath>

namespace tds::compute::joint {

Scaling FitScaling(const fl::Matrix& x) {
  Scaling s;
  s.means.assign(x.cols, 0.0);
  s.scales.assign(x.cols, 1.0);
  if (x.rows == 0) return s;
  for (size_t i = 0; i < x.rows; ++i) {
    for (size_t j = 0; j < x.cols; ++j) s.means[j] += x.row(i)[j];
  }
  for (double& m : s.means) m /= static_cast<double>(x.rows);
  std::vector<double> var(x.cols, 0.0);
  for (size_t i = 0; i < x.rows; ++i) {
    for (size_t j = 0; j < x.cols; ++j) {
      const double d = x.row(i)[j] - s.means[j];
      var[j] += d * d;
    }
  }
  for (size_t j = 0; j < x.cols; ++j) {
    const double sd = std::sqrt(var[j] / static_cast<double>(x.rows));
    if (sd > 0) s.scales[j] = sd;
  }
  return s;
}

void ApplyScaling(const Scaling& s, fl::Matrix* x) {
  for (size_t i = 0; i < x->rows; ++i) {
    double* r = x->row(i);
    for (size_t j = 0; j < x->cols; ++j) r[j] = (r[j] - s.means[j]) / s.scales[j];
  }
}

}  // namespace tds::compute::joint
