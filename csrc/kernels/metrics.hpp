// Validation scores computed in C++ during training (scikit-learn's `score`):
// accuracy for classifiers, R^2 (uniform average over outputs) for regressors.
#pragma once
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "../core/types.hpp"
#include "losses.hpp"

namespace nc {

// A Keras metric: an accuracy, or any loss used as a metric.
struct MetricSpec {
  enum Kind { CategoricalAccuracy, BinaryAccuracy, LossMetric } kind = CategoricalAccuracy;
  double threshold = 0.5;  // binary accuracy
  LossSpec loss;           // loss metrics
};

// Per-sample value of a metric for one row of predictions p (k) and targets y (k).
template <class T>
inline double metric_row(const MetricSpec& m, const T* p, const T* y, int64_t k, bool hinge_pm1) {
  switch (m.kind) {
    case MetricSpec::CategoricalAccuracy: {
      int64_t ap = 0, ay = 0;
      for (int64_t j = 1; j < k; ++j) {
        if (p[j] > p[ap]) ap = j;
        if (y[j] > y[ay]) ay = j;
      }
      return ap == ay ? 1.0 : 0.0;
    }
    case MetricSpec::BinaryAccuracy: {  // mean over outputs of (y == (p > threshold))
      double s = 0;
      for (int64_t j = 0; j < k; ++j) s += (double(y[j]) == (double(p[j]) > m.threshold ? 1.0 : 0.0)) ? 1.0 : 0.0;
      return s / double(k);
    }
    case MetricSpec::LossMetric: {
      if (m.loss.kind == Loss::LogLoss || m.loss.kind == Loss::BinaryLogLoss ||
          m.loss.kind == Loss::SquaredError || m.loss.kind == Loss::Poisson)
        throw std::invalid_argument("scikit-learn's losses are not metrics; use the Keras names");
      return generic_row<T>(m.loss, p, y, k, nullptr, hinge_pm1);
    }
  }
  return 0.0;
}

// Running weighted sums of metrics over an epoch or an evaluation.
struct MetricSums {
  std::vector<double> sums;
  double count = 0;  // the divisor: the sum of weights (Keras's weighted Mean)
  void reset(size_t n) {
    sums.assign(n, 0.0);
    count = 0;
  }
  // rows of p, y (rows, k) with weights w (or null)
  template <class T>
  void add(const std::vector<MetricSpec>& ms, const T* p, const T* y, const T* w, int64_t rows,
           int64_t k) {
    if (ms.empty()) return;
    for (size_t m = 0; m < ms.size(); ++m) {
      const bool pm1 = ms[m].kind == MetricSpec::LossMetric && hinge_targets_are_01(ms[m].loss, y, rows * k);
      for (int64_t i = 0; i < rows; ++i)
        sums[m] += (w ? double(w[i]) : 1.0) * metric_row(ms[m], p + i * k, y + i * k, k, pm1);
    }
    if (w) {
      for (int64_t i = 0; i < rows; ++i) count += double(w[i]);
    } else {
      count += double(rows);
    }
  }
  std::vector<double> values() const {
    std::vector<double> v(sums.size());
    for (size_t i = 0; i < v.size(); ++i) v[i] = count > 0 ? sums[i] / count : std::nan("");
    return v;
  }
};

// Accumulates a weighted score over chunks of rows.
struct ScoreAccumulator {
  // accuracy
  double correct = 0, weight = 0;
  // r2: per output weighted squared error; den is fixed by the targets
  std::vector<double> sse, den;
  bool nonfinite = false;

  void reset(int64_t k) {
    correct = weight = 0;
    sse.assign(k, 0);
    nonfinite = false;
  }

  // p, y: (rows, k); argmax: multiclass, else p thresholded (y is 0/1).
  template <class T>
  void add_accuracy(const T* p, const T* y, const T* w, int64_t rows, int64_t k, bool softmax,
                    T threshold = T(0.5)) {
    for (int64_t i = 0; i < rows; ++i) {
      const T* pi = p + i * k;
      const T* yi = y + i * k;
      const double wi = w ? double(w[i]) : 1.0;
      bool ok = true;
      for (int64_t j = 0; j < k; ++j)
        if (!std::isfinite(pi[j])) nonfinite = true;
      if (softmax) {
        int64_t ap = 0, ay = 0;
        for (int64_t j = 1; j < k; ++j) {
          if (pi[j] > pi[ap]) ap = j;
          if (yi[j] > yi[ay]) ay = j;
        }
        ok = ap == ay;
      } else {
        for (int64_t j = 0; j < k && ok; ++j) ok = (pi[j] > threshold) == (yi[j] > T(0.5));
      }
      correct += ok ? wi : 0.0;
      weight += wi;
    }
  }

  // Two-pass weighted total sum of squares of the targets y (rows, k), once per fit.
  template <class T>
  void set_r2_targets(const T* y, const T* w, int64_t rows, int64_t k) {
    den.assign(k, 0);
    for (int64_t j = 0; j < k; ++j) {
      double sw = 0, swy = 0;
      for (int64_t i = 0; i < rows; ++i) {
        const double wi = w ? double(w[i]) : 1.0;
        sw += wi;
        swy += wi * y[i * k + j];
      }
      const double mean = swy / sw;
      double d = 0;
      for (int64_t i = 0; i < rows; ++i) {
        const double wi = w ? double(w[i]) : 1.0;
        const double e = y[i * k + j] - mean;
        d += wi * e * e;
      }
      den[j] = d;
    }
  }

  template <class T>
  void add_r2(const T* p, const T* y, const T* w, int64_t rows, int64_t k) {
    for (int64_t i = 0; i < rows; ++i) {
      const double wi = w ? double(w[i]) : 1.0;
      for (int64_t j = 0; j < k; ++j) {
        const double pv = p[i * k + j], yv = y[i * k + j];
        if (!std::isfinite(pv)) nonfinite = true;
        sse[j] += wi * (yv - pv) * (yv - pv);
      }
    }
  }

  double accuracy() const {
    if (nonfinite) return std::numeric_limits<double>::quiet_NaN();
    return weight > 0 ? correct / weight : 0.0;
  }

  // R^2 with scikit-learn's force_finite rule: a constant target gives 1 when
  // predicted exactly, else 0.
  double r2() const {
    if (nonfinite) return std::numeric_limits<double>::quiet_NaN();
    const size_t k = sse.size();
    double total = 0;
    for (size_t j = 0; j < k; ++j) {
      if (den[j] == 0.0) {
        total += sse[j] == 0.0 ? 1.0 : 0.0;
      } else {
        total += 1.0 - sse[j] / den[j];
      }
    }
    return total / double(k);
  }
};

}  // namespace nc
