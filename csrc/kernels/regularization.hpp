// Keras's regularizers and weight constraints over one variable.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>

namespace nc {

// L1 and L2 penalties of a variable: l1 * sum|w| + l2 * sum w^2 (Keras).
struct Penalty {
  double l1 = 0.0, l2 = 0.0;
  bool active() const { return l1 > 0.0 || l2 > 0.0; }
};

// A weight constraint, applied after each optimizer step (Keras definitions,
// axis 0: over each output unit's incoming weights).
struct Constraint {
  enum Kind { None, MaxNorm, NonNeg, UnitNorm } kind = None;
  double max_value = 2.0;
};

// grads (n) += scale * d penalty(w) / dw; returns scale * penalty(w) for w (n).
template <class T>
double add_penalty(const Penalty& p, const T* w, T* grads, int64_t n, double scale) {
  if (!p.active()) return 0.0;
  double s1 = 0, s2 = 0;
  const T g1 = T(scale * p.l1), g2 = T(2.0 * scale * p.l2);
  for (int64_t i = 0; i < n; ++i) {
    const T v = w[i];
    s1 += std::abs(double(v));
    s2 += double(v) * v;
    grads[i] += g1 * T((v > T(0)) - (v < T(0))) + g2 * v;
  }
  return scale * (p.l1 * s1 + p.l2 * s2);
}

// The activity penalty of y (n): returns its value and adds its gradient to
// dy (n) if dy is not null.
template <class T>
double activity_loss(const Penalty& p, const T* y, T* dy, int64_t n) {
  if (!p.active()) return 0.0;
  const double l1 = p.l1, l2 = p.l2;
  double s = 0;
  for (int64_t i = 0; i < n; ++i) {
    s += l1 * std::abs(double(y[i])) + l2 * double(y[i]) * y[i];
    if (dy) dy[i] += T(l1 * double((y[i] > T(0)) - (y[i] < T(0))) + 2.0 * l2 * y[i]);
  }
  return s;
}

// Keras's constraints on w (rows, cols), norms over axis 0 (each column).
template <class T>
void constrain(const Constraint& c, T* w, int64_t rows, int64_t cols) {
  if (c.kind == Constraint::None) return;
  if (c.kind == Constraint::NonNeg) {
    for (int64_t i = 0; i < rows * cols; ++i) w[i] = w[i] >= T(0) ? w[i] : T(0);
    return;
  }
  const double eps = 1e-7;
  for (int64_t j = 0; j < cols; ++j) {
    double sq = 0;
    for (int64_t i = 0; i < rows; ++i) sq += double(w[i * cols + j]) * w[i * cols + j];
    const double norm = std::sqrt(sq);
    const double f = c.kind == Constraint::MaxNorm ? std::min(norm, c.max_value) / (eps + norm)
                                                   : 1.0 / (eps + norm);
    for (int64_t i = 0; i < rows; ++i) w[i * cols + j] = T(w[i * cols + j] * f);
  }
}

}  // namespace nc
