// Optimizer updates, each one fused loop over the flat parameter buffer.
// The update rules are scikit-learn's (_stochastic_optimizers.py).
#pragma once
#include <cmath>
#include <cstdint>

#include "../core/parallel.hpp"

namespace nc {

template <class F>
inline void for_elems(int64_t n, int threads, F&& f) {
  parallel_for(n, n, threads, f);
}

// SGD with momentum: v = mu v - lr g; p += v, or with Nesterov p += mu v - lr g.
// params, velocity, grad: (n)
template <class T>
void sgd_step(T* params, T* velocity, const T* grad, int64_t n, double lr, double momentum,
              bool nesterov, int threads) {
  const T mu = T(momentum), eta = T(lr);
  if (nesterov) {
    for_elems(n, threads, [&](int64_t i) {
      const T v = mu * velocity[i] - eta * grad[i];
      velocity[i] = v;
      params[i] += mu * v - eta * grad[i];
    });
  } else {
    for_elems(n, threads, [&](int64_t i) {
      const T v = mu * velocity[i] - eta * grad[i];
      velocity[i] = v;
      params[i] += v;
    });
  }
}

// Adam (Kingma and Ba), step t (1-based) with bias correction folded into the rate:
// lr_t = lr sqrt(1 - b2^t) / (1 - b1^t); p -= lr_t m / (sqrt(v) + eps).
// params, m, v, grad: (n). Returns lr_t.
template <class T>
double adam_step(T* params, T* m, T* v, const T* grad, int64_t n, double lr, double beta1,
                 double beta2, double eps, int64_t t, int threads) {
  const double lr_t = lr * std::sqrt(1.0 - std::pow(beta2, double(t))) /
                      (1.0 - std::pow(beta1, double(t)));
  const T b1 = T(beta1), b2 = T(beta2), c1 = T(1.0 - beta1), c2 = T(1.0 - beta2);
  const T e = T(eps), rate = T(lr_t);
  for_elems(n, threads, [&](int64_t i) {
    const T g = grad[i];
    const T mi = b1 * m[i] + c1 * g;
    const T vi = b2 * v[i] + c2 * (g * g);
    m[i] = mi;
    v[i] = vi;
    params[i] -= rate * mi / (std::sqrt(vi) + e);
  });
  return lr_t;
}

}  // namespace nc
