// Optimizer updates, each one fused loop over the flat parameter buffer.
// SGD and Adam follow scikit-learn's _stochastic_optimizers.py (which Keras's
// equal up to rounding); the others follow Keras's update_step code.
#pragma once
#include <algorithm>
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
// lr_t = lr sqrt(1 - b2^t) / (1 - b1^t); p -= lr_t m / (sqrt(v) + eps). With
// vhat (AMSGrad), the running maximum of v is used in the denominator.
// params, m, v, vhat, grad: (n). Returns lr_t.
template <class T>
double adam_step(T* params, T* m, T* v, T* vhat, const T* grad, int64_t n, double lr,
                 double beta1, double beta2, double eps, int64_t t, int threads) {
  const double lr_t = lr * std::sqrt(1.0 - std::pow(beta2, double(t))) /
                      (1.0 - std::pow(beta1, double(t)));
  const T b1 = T(beta1), b2 = T(beta2), c1 = T(1.0 - beta1), c2 = T(1.0 - beta2);
  const T e = T(eps), rate = T(lr_t);
  for_elems(n, threads, [&](int64_t i) {
    const T g = grad[i];
    const T mi = b1 * m[i] + c1 * g;
    T vi = b2 * v[i] + c2 * (g * g);
    m[i] = mi;
    v[i] = vi;
    if (vhat) {
      vi = std::max(vhat[i], vi);
      vhat[i] = vi;
    }
    params[i] -= rate * mi / (std::sqrt(vi) + e);
  });
  return lr_t;
}

// RMSprop (Keras): ms = rho ms + (1 - rho) g^2; centered: mg = rho mg + (1 - rho) g
// and the denominator uses ms - mg^2; inc = lr g / sqrt(denominator + eps);
// with momentum: mom = momentum mom + inc, p -= mom; else p -= inc.
template <class T>
void rmsprop_step(T* params, T* ms, T* mom, T* mg, const T* grad, int64_t n, double lr,
                  double rho, double momentum, double eps, int threads) {
  const T r = T(rho), c = T(1.0 - rho), e = T(eps), eta = T(lr), mu = T(momentum);
  for_elems(n, threads, [&](int64_t i) {
    const T g = grad[i];
    const T s = r * ms[i] + c * g * g;
    ms[i] = s;
    T denom = s + e;
    if (mg) {
      const T a = r * mg[i] + c * g;
      mg[i] = a;
      denom = s - a * a + e;
    }
    const T inc = eta * g / std::sqrt(denom);
    if (mom) {
      const T v = mu * mom[i] + inc;
      mom[i] = v;
      params[i] -= v;
    } else {
      params[i] -= inc;
    }
  });
}

// Adagrad (Keras): acc += g^2; p -= lr g / sqrt(acc + eps).
template <class T>
void adagrad_step(T* params, T* acc, const T* grad, int64_t n, double lr, double eps,
                  int threads) {
  const T eta = T(lr), e = T(eps);
  for_elems(n, threads, [&](int64_t i) {
    const T g = grad[i];
    const T a = acc[i] + g * g;
    acc[i] = a;
    params[i] -= eta * g / std::sqrt(a + e);
  });
}

// Adadelta (Keras): Eg = rho Eg + (1 - rho) g^2;
// d = -sqrt(Ed + eps) / sqrt(Eg + eps) g; Ed = rho Ed + (1 - rho) d^2; p += lr d.
template <class T>
void adadelta_step(T* params, T* eg, T* ed, const T* grad, int64_t n, double lr, double rho,
                   double eps, int threads) {
  const T r = T(rho), c = T(1.0 - rho), e = T(eps), eta = T(lr);
  for_elems(n, threads, [&](int64_t i) {
    const T g = grad[i];
    const T a = r * eg[i] + c * g * g;
    eg[i] = a;
    const T d = -std::sqrt(ed[i] + e) / std::sqrt(a + e) * g;
    ed[i] = r * ed[i] + c * d * d;
    params[i] += eta * d;
  });
}

// Adamax (Keras): m += (g - m)(1 - b1); u = max(b2 u, |g|);
// p -= lr m / ((1 - b1^t)(u + eps)).
template <class T>
void adamax_step(T* params, T* m, T* u, const T* grad, int64_t n, double lr, double beta1,
                 double beta2, double eps, int64_t t, int threads) {
  const T c1 = T(1.0 - beta1), b2 = T(beta2), e = T(eps);
  const T rate = T(lr / (1.0 - std::pow(beta1, double(t))));
  for_elems(n, threads, [&](int64_t i) {
    const T g = grad[i];
    const T mi = m[i] + (g - m[i]) * c1;
    const T ui = std::max(b2 * u[i], std::abs(g));
    m[i] = mi;
    u[i] = ui;
    params[i] -= rate * mi / (ui + e);
  });
}

// Nadam (Keras 3): u_t = b1 (1 - 0.5 * 0.96^t), u_{t+1} likewise; the caller keeps
// the running product u_prod = u_1 ... u_t.
// m_hat = u_{t+1} m / (1 - u_prod u_{t+1}) + (1 - u_t) g / (1 - u_prod);
// v_hat = v / (1 - b2^t); p -= lr m_hat / (sqrt(v_hat) + eps).
template <class T>
void nadam_step(T* params, T* m, T* v, const T* grad, int64_t n, double lr, double beta1,
                double beta2, double eps, int64_t t, double u_prod, int threads) {
  const double u_t = beta1 * (1.0 - 0.5 * std::pow(0.96, double(t)));
  const double u_t1 = beta1 * (1.0 - 0.5 * std::pow(0.96, double(t + 1)));
  const T a = T(u_t1 / (1.0 - u_prod * u_t1)), b = T((1.0 - u_t) / (1.0 - u_prod));
  const T vc = T(1.0 / (1.0 - std::pow(beta2, double(t))));
  const T c1 = T(1.0 - beta1), c2 = T(1.0 - beta2), e = T(eps), eta = T(lr);
  for_elems(n, threads, [&](int64_t i) {
    const T g = grad[i];
    const T mi = m[i] + (g - m[i]) * c1;
    const T vi = v[i] + (g * g - v[i]) * c2;
    m[i] = mi;
    v[i] = vi;
    const T mhat = a * mi + b * g;
    params[i] -= eta * mhat / (std::sqrt(vi * vc) + e);
  });
}

}  // namespace nc
