// Output losses fused with their canonical output activation, computed from the
// output pre-activation z in a numerically stable form (log-sum-exp for softmax,
// softplus for the logistic, exp-link for Poisson). With that pairing the error
// at z is (prediction - target), as in scikit-learn's MLP.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>

#include "../core/parallel.hpp"
#include "../core/types.hpp"
#include "activations.hpp"

namespace nc {

template <class T>
inline T softplus(T x) {  // log(1 + exp(x)), stable
  return std::max(x, T(0)) + std::log1p(std::exp(-std::abs(x)));
}

template <class T>
inline T xlogx(T y) {
  return y > T(0) ? y * std::log(y) : T(0);
}

// Per-sample loss of one row of pre-activations z (k) against targets y (k),
// in double. Squared error is 0.5 * sum_k (z - y)^2 (the sum over outputs is
// what the gradient (z - y) differentiates).
template <class T>
inline double row_loss(Loss loss, const T* z, const T* y, int64_t k) {
  double s = 0;
  switch (loss) {
    case Loss::SquaredError:
      for (int64_t j = 0; j < k; ++j) {
        const double d = double(z[j]) - double(y[j]);
        s += 0.5 * d * d;
      }
      break;
    case Loss::LogLoss: {
      double mx = z[0];
      for (int64_t j = 1; j < k; ++j) mx = std::max(mx, double(z[j]));
      double se = 0, ysum = 0, yz = 0;
      for (int64_t j = 0; j < k; ++j) {
        se += std::exp(double(z[j]) - mx);
        ysum += y[j];
        yz += double(y[j]) * z[j];
      }
      s = (mx + std::log(se)) * ysum - yz;
      break;
    }
    case Loss::BinaryLogLoss:
      for (int64_t j = 0; j < k; ++j) s += softplus(double(z[j])) - double(y[j]) * z[j];
      break;
    case Loss::Poisson:
      for (int64_t j = 0; j < k; ++j)
        s += xlogx(double(y[j])) - double(y[j]) * z[j] - y[j] + std::exp(double(z[j]));
      break;
  }
  return s;
}

// Given z (rows, k): writes p = out_act(z) over z, and, if delta is not null,
// delta = (p - y) * sw[i] * scale. row_losses (rows) receives each sample's
// loss times its weight. Returns the (weighted) sum of the per-sample losses.
template <class T>
double loss_forward_backward(T* z, T* delta, double* row_losses, const T* y, const T* sw,
                             int64_t rows, int64_t k, Loss loss, T scale, int threads) {
  ActSpec out;
  out.kind = output_activation(loss);
  for_rows<T>(rows, k, threads, [&](int64_t i) {
    T* zi = z + i * k;
    const T* yi = y + i * k;
    const T w = sw ? sw[i] : T(1);
    row_losses[i] = double(w) * row_loss(loss, zi, yi, k);
    if (out.kind == Act::Softmax) {
      softmax_row(zi, k);
    } else if (out.kind != Act::Identity) {
      for (int64_t j = 0; j < k; ++j) zi[j] = act_forward(out, zi[j]);
    }
    if (delta) {
      T* di = delta + i * k;
      const T f = w * scale;
      for (int64_t j = 0; j < k; ++j) di[j] = (zi[j] - yi[j]) * f;
    }
  });
  double total = 0;  // serial sum: same result for any thread count
  for (int64_t i = 0; i < rows; ++i) total += row_losses[i];
  return total;
}

}  // namespace nc
