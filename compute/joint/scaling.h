#pragma once
// Feature standardization for the joint model: fitted on a party's aligned training rows, kept
// with its half of the model, and applied unchanged to every row it later scores.

#include <vector>

#include "compute/fl/dataset.h"

namespace tds::compute::joint {

struct Scaling {
  std::vector<double> means;
  std::vector<double> scales;  // standard deviations; 1 for a constant column
};

Scaling FitScaling(const fl::Matrix& x);
// x(i, j) = (x(i, j) - means[j]) / scales[j]. REQUIRES: x.cols == means.size().
void ApplyScaling(const Scaling& s, fl::Matrix* x);

}  // namespace tds::compute::joint
