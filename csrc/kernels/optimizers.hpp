// Optimizer updates, each one fused pass over a range of the flat parameter
// buffer. SGD and Adam follow scikit-learn's _stochastic_optimizers.py (which
// Keras's equal up to rounding); the others follow Keras's update_step code.
//
// Every kernel takes the gradient as g = grad + l2 * params (scikit-learn's L2
// term, fused here instead of a pass of its own) and returns sum(params^2)
// over its range, taken before the update (the penalty the loss reports).
// Callers pass l2 = 0 beyond the kernels' prefix of the buffer.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>

#include "../core/parallel.hpp"
#include "../core/simd.hpp"


namespace nc {

// (kept for callers that loop over single elements)
template <class F>
inline void for_elems(int64_t n, int threads, F&& f) {
  parallel_for(n, n, threads, f);
}

namespace detail {

NC_ISA_FUNCTION((template <class T>), (<T>), double, sgd_range, (T* __restrict p, T* __restrict v, const T* __restrict grad,
                                  int64_t n, T l2, T mu, T eta, bool nesterov),
                (p, v, grad, n, l2, mu, eta, nesterov), {
  double sq = 0;
  if (nesterov) {
_Pragma("omp simd reduction(+ : sq)")
    for (int64_t i = 0; i < n; ++i) {
      const T w = p[i], g = grad[i] + l2 * w;
      sq += double(w) * w;
      const T vi = mu * v[i] - eta * g;
      v[i] = vi;
      p[i] = w + (mu * vi - eta * g);
    }
  } else {
_Pragma("omp simd reduction(+ : sq)")
    for (int64_t i = 0; i < n; ++i) {
      const T w = p[i], g = grad[i] + l2 * w;
      sq += double(w) * w;
      const T vi = mu * v[i] - eta * g;
      v[i] = vi;
      p[i] = w + vi;
    }
  }
  return sq;
})

NC_ISA_FUNCTION((template <class T>), (<T>), double, adam_range, (T* __restrict p, T* __restrict m, T* __restrict v,
                                   T* __restrict vhat, const T* __restrict grad, int64_t n, T l2,
                                   T b1, T b2, T c1, T c2, T e, T rate),
                (p, m, v, vhat, grad, n, l2, b1, b2, c1, c2, e, rate), {
  double sq = 0;
  if (vhat) {
    for (int64_t i = 0; i < n; ++i) {
      const T w = p[i], g = grad[i] + l2 * w;
      sq += double(w) * w;
      const T mi = b1 * m[i] + c1 * g;
      const T vi = b2 * v[i] + c2 * (g * g);
      m[i] = mi;
      v[i] = vi;
      const T vh = std::max(vhat[i], vi);
      vhat[i] = vh;
      p[i] = w - rate * mi / (std::sqrt(vh) + e);
    }
    return sq;
  }
_Pragma("omp simd reduction(+ : sq)")
  for (int64_t i = 0; i < n; ++i) {
    const T w = p[i], g = grad[i] + l2 * w;
    sq += double(w) * w;
    const T mi = b1 * m[i] + c1 * g;
    const T vi = b2 * v[i] + c2 * (g * g);
    m[i] = mi;
    v[i] = vi;
    p[i] = w - rate * mi / (std::sqrt(vi) + e);
  }
  return sq;
})

NC_ISA_FUNCTION((template <class T>), (<T>), double, rmsprop_range, (T* __restrict p, T* __restrict ms, T* __restrict mom,
                                      T* __restrict mg, const T* __restrict grad, int64_t n, T l2,
                                      T r, T c, T e, T eta, T mu),
                (p, ms, mom, mg, grad, n, l2, r, c, e, eta, mu), {
  double sq = 0;
  for (int64_t i = 0; i < n; ++i) {
    const T w = p[i], g = grad[i] + l2 * w;
    sq += double(w) * w;
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
      const T vv = mu * mom[i] + inc;
      mom[i] = vv;
      p[i] = w - vv;
    } else {
      p[i] = w - inc;
    }
  }
  return sq;
})

NC_ISA_FUNCTION((template <class T>), (<T>), double, adagrad_range, (T* __restrict p, T* __restrict acc, const T* __restrict grad,
                                      int64_t n, T l2, T eta, T e),
                (p, acc, grad, n, l2, eta, e), {
  double sq = 0;
_Pragma("omp simd reduction(+ : sq)")
  for (int64_t i = 0; i < n; ++i) {
    const T w = p[i], g = grad[i] + l2 * w;
    sq += double(w) * w;
    const T a = acc[i] + g * g;
    acc[i] = a;
    p[i] = w - eta * g / std::sqrt(a + e);
  }
  return sq;
})

NC_ISA_FUNCTION((template <class T>), (<T>), double, adadelta_range, (T* __restrict p, T* __restrict eg, T* __restrict ed,
                                       const T* __restrict grad, int64_t n, T l2, T r, T c, T e,
                                       T eta),
                (p, eg, ed, grad, n, l2, r, c, e, eta), {
  double sq = 0;
_Pragma("omp simd reduction(+ : sq)")
  for (int64_t i = 0; i < n; ++i) {
    const T w = p[i], g = grad[i] + l2 * w;
    sq += double(w) * w;
    const T a = r * eg[i] + c * g * g;
    eg[i] = a;
    const T d = -std::sqrt(ed[i] + e) / std::sqrt(a + e) * g;
    ed[i] = r * ed[i] + c * d * d;
    p[i] = w + eta * d;
  }
  return sq;
})

NC_ISA_FUNCTION((template <class T>), (<T>), double, adamax_range, (T* __restrict p, T* __restrict m, T* __restrict u,
                                     const T* __restrict grad, int64_t n, T l2, T c1, T b2, T e,
                                     T rate),
                (p, m, u, grad, n, l2, c1, b2, e, rate), {
  double sq = 0;
_Pragma("omp simd reduction(+ : sq)")
  for (int64_t i = 0; i < n; ++i) {
    const T w = p[i], g = grad[i] + l2 * w;
    sq += double(w) * w;
    const T mi = m[i] + (g - m[i]) * c1;
    const T ui = std::max(b2 * u[i], std::abs(g));
    m[i] = mi;
    u[i] = ui;
    p[i] = w - rate * mi / (ui + e);
  }
  return sq;
})

NC_ISA_FUNCTION((template <class T>), (<T>), double, nadam_range, (T* __restrict p, T* __restrict m, T* __restrict v,
                                    const T* __restrict grad, int64_t n, T l2, T c1, T c2, T a,
                                    T b, T vc, T e, T eta),
                (p, m, v, grad, n, l2, c1, c2, a, b, vc, e, eta), {
  double sq = 0;
_Pragma("omp simd reduction(+ : sq)")
  for (int64_t i = 0; i < n; ++i) {
    const T w = p[i], g = grad[i] + l2 * w;
    sq += double(w) * w;
    const T mi = m[i] + (g - m[i]) * c1;
    const T vi = v[i] + (g * g - v[i]) * c2;
    m[i] = mi;
    v[i] = vi;
    p[i] = w - eta * (a * mi + b * g) / (std::sqrt(vi * vc) + e);
  }
  return sq;
})

// Runs kernel(offset, length, l2) over [0, n) in chunks, with l2 applying to
// [0, n_l2) only; returns the sum of squares over [0, n_l2). The chunks are cut
// from n alone (threads take whole chunks) and their sums added in chunk order,
// so the result is the same at any thread count: the sum feeds the reported
// loss, which scikit-learn's tol rule reads to stop.
template <class K>
double fused_pass(int64_t n, int64_t n_l2, double l2, int threads, K&& kernel) {
  constexpr int64_t kMaxChunks = 256, kMinChunk = 1 << 14;
  const int64_t size = std::max(kMinChunk, (n + kMaxChunks - 1) / kMaxChunks);
  const int64_t chunks = n == 0 ? 0 : (n + size - 1) / size;
  double parts[kMaxChunks] = {0};
  parallel_for(chunks, n, threads, [&](int64_t c) {
    const int64_t begin = c * size, end = std::min(n, begin + size);
    double sq = 0;
    const int64_t cut = std::min(std::max(n_l2, begin), end);
    if (cut > begin) sq += kernel(begin, cut - begin, l2);
    if (end > cut) kernel(cut, end - cut, 0.0);
    parts[c] = sq;
  });
  double total = 0;
  for (int64_t i = 0; i < chunks; ++i) total += parts[i];
  return total;
}

}  // namespace detail

// SGD with momentum: v = mu v - lr g; p += v, or with Nesterov p += mu v - lr g.
template <class T>
double sgd_step(T* params, T* velocity, const T* grad, int64_t n, double lr, double momentum,
                bool nesterov, int threads, double l2 = 0, int64_t n_l2 = 0) {
  return detail::fused_pass(n, n_l2, l2, threads, [&](int64_t o, int64_t len, double l) {
    return detail::sgd_range<T>(params + o, velocity + o, grad + o, len, T(l), T(momentum),
                                T(lr), nesterov);
  });
}

// Adam (Kingma and Ba), step t (1-based) with bias correction folded into the rate:
// lr_t = lr sqrt(1 - b2^t) / (1 - b1^t); p -= lr_t m / (sqrt(v) + eps). With
// vhat (AMSGrad), the running maximum of v is used in the denominator.
template <class T>
double adam_step(T* params, T* m, T* v, T* vhat, const T* grad, int64_t n, double lr,
                 double beta1, double beta2, double eps, int64_t t, int threads, double l2 = 0,
                 int64_t n_l2 = 0) {
  const double lr_t = lr * std::sqrt(1.0 - std::pow(beta2, double(t))) /
                      (1.0 - std::pow(beta1, double(t)));
  return detail::fused_pass(n, n_l2, l2, threads, [&](int64_t o, int64_t len, double l) {
    return detail::adam_range<T>(params + o, m + o, v + o, vhat ? vhat + o : nullptr, grad + o,
                                 len, T(l), T(beta1), T(beta2), T(1.0 - beta1), T(1.0 - beta2),
                                 T(eps), T(lr_t));
  });
}

// RMSprop (Keras): ms = rho ms + (1 - rho) g^2; centered: mg = rho mg + (1 - rho) g
// and the denominator uses ms - mg^2; inc = lr g / sqrt(denominator + eps);
// with momentum: mom = momentum mom + inc, p -= mom; else p -= inc.
template <class T>
double rmsprop_step(T* params, T* ms, T* mom, T* mg, const T* grad, int64_t n, double lr,
                    double rho, double momentum, double eps, int threads, double l2 = 0,
                    int64_t n_l2 = 0) {
  return detail::fused_pass(n, n_l2, l2, threads, [&](int64_t o, int64_t len, double l) {
    return detail::rmsprop_range<T>(params + o, ms + o, mom ? mom + o : nullptr,
                                    mg ? mg + o : nullptr, grad + o, len, T(l), T(rho),
                                    T(1.0 - rho), T(eps), T(lr), T(momentum));
  });
}

// Adagrad (Keras): acc += g^2; p -= lr g / sqrt(acc + eps).
template <class T>
double adagrad_step(T* params, T* acc, const T* grad, int64_t n, double lr, double eps,
                    int threads, double l2 = 0, int64_t n_l2 = 0) {
  return detail::fused_pass(n, n_l2, l2, threads, [&](int64_t o, int64_t len, double l) {
    return detail::adagrad_range<T>(params + o, acc + o, grad + o, len, T(l), T(lr), T(eps));
  });
}

// Adadelta (Keras): Eg = rho Eg + (1 - rho) g^2;
// d = -sqrt(Ed + eps) / sqrt(Eg + eps) g; Ed = rho Ed + (1 - rho) d^2; p += lr d.
template <class T>
double adadelta_step(T* params, T* eg, T* ed, const T* grad, int64_t n, double lr, double rho,
                     double eps, int threads, double l2 = 0, int64_t n_l2 = 0) {
  return detail::fused_pass(n, n_l2, l2, threads, [&](int64_t o, int64_t len, double l) {
    return detail::adadelta_range<T>(params + o, eg + o, ed + o, grad + o, len, T(l), T(rho),
                                     T(1.0 - rho), T(eps), T(lr));
  });
}

// Adamax (Keras): m += (g - m)(1 - b1); u = max(b2 u, |g|);
// p -= lr m / ((1 - b1^t)(u + eps)).
template <class T>
double adamax_step(T* params, T* m, T* u, const T* grad, int64_t n, double lr, double beta1,
                   double beta2, double eps, int64_t t, int threads, double l2 = 0,
                   int64_t n_l2 = 0) {
  const double rate = lr / (1.0 - std::pow(beta1, double(t)));
  return detail::fused_pass(n, n_l2, l2, threads, [&](int64_t o, int64_t len, double l) {
    return detail::adamax_range<T>(params + o, m + o, u + o, grad + o, len, T(l),
                                   T(1.0 - beta1), T(beta2), T(eps), T(rate));
  });
}

// Nadam (Keras 3): u_t = b1 (1 - 0.5 * 0.96^t), u_{t+1} likewise; the caller keeps
// the running product u_prod = u_1 ... u_t.
// m_hat = u_{t+1} m / (1 - u_prod u_{t+1}) + (1 - u_t) g / (1 - u_prod);
// v_hat = v / (1 - b2^t); p -= lr m_hat / (sqrt(v_hat) + eps).
template <class T>
double nadam_step(T* params, T* m, T* v, const T* grad, int64_t n, double lr, double beta1,
                  double beta2, double eps, int64_t t, double u_prod, int threads,
                  double l2 = 0, int64_t n_l2 = 0) {
  const double u_t = beta1 * (1.0 - 0.5 * std::pow(0.96, double(t)));
  const double u_t1 = beta1 * (1.0 - 0.5 * std::pow(0.96, double(t + 1)));
  const double a = u_t1 / (1.0 - u_prod * u_t1), b = (1.0 - u_t) / (1.0 - u_prod);
  const double vc = 1.0 / (1.0 - std::pow(beta2, double(t)));
  return detail::fused_pass(n, n_l2, l2, threads, [&](int64_t o, int64_t len, double l) {
    return detail::nadam_range<T>(params + o, m + o, v + o, grad + o, len, T(l), T(1.0 - beta1),
                                  T(1.0 - beta2), T(a), T(b), T(vc), T(eps), T(lr));
  });
}

}  // namespace nc
