// Losses: the value per sample and its gradient, per row of the output.
//
// Fused rows take the output pre-activation z of a canonical (activation, loss)
// pair and compute in a numerically stable form (log-sum-exp for softmax,
// softplus for the logistic, exp link for Poisson); the gradient at z is then
// (prediction - target). Generic rows take the prediction p after any output
// activation and give dL/dp; the output layer backpropagates it through its
// activation. Keras losses average over outputs where Keras does and clip with
// Keras's epsilon (1e-7).
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <type_traits>

#include "../core/parallel.hpp"
#include "../core/simd.hpp"
#include "../core/types.hpp"
#include "activations.hpp"

namespace nc {

constexpr double kKerasEpsilon = 1e-7;

template <class T>
inline T softplus(T x) {  // log(1 + exp(x)), stable
  return std::max(x, T(0)) + std::log1p(std::exp(-std::abs(x)));
}

template <class T>
inline T xlogx(T y) {
  return y > T(0) ? y * std::log(y) : T(0);
}

inline double sign(double v) { return double((v > 0) - (v < 0)); }

// Softmax cross-entropy on logits z (k) against y: loss, and g = softmax(z) sum(y) - y.
// Writes softmax(z) into p.
template <class T>
inline double softmax_xent_row(const T* z, const T* y, int64_t k, T* p, T* g) {
  T mxT = z[0];
  for (int64_t j = 1; j < k; ++j) mxT = std::max(mxT, z[j]);
  // each exponential once, in the compute precision; sums in double
  T sum = 0;
  double ysum = 0, yz = 0;
  for (int64_t j = 0; j < k; ++j) {
    const T e = exp_le0(z[j] - mxT);
    ysum += y[j];
    yz += double(y[j]) * z[j];  // before p[j] is written: p may alias z
    if (p) p[j] = e;
    sum += e;
  }
  const double loss = (double(mxT) + std::log(double(sum))) * ysum - yz;
  // probabilities as scikit-learn's softmax computes them: exp(z - max) / sum
  for (int64_t j = 0; j < k; ++j) {
    const T pj = (p ? p[j] : exp_le0(z[j] - mxT)) / sum;
    if (g) g[j] = T(double(pj) * ysum - y[j]);
    if (p) p[j] = pj;
  }
  return loss;
}

// log1p(e) for e in [0, 1]. In float32, 2 atanh(s) with s = e / (2 + e) <= 1/3
// as a polynomial: within 3 ulp of log1p, and a third of log1pf's time (the
// binary log-loss of a tiny network spent 10% of its fit in log1pf).
inline double log1p_unit(double e) { return std::log1p(e); }
inline float log1p_unit(float e) {
  const float s = e / (2.f + e), s2 = s * s;
  float p = 1.f / 13;
  p = p * s2 + 1.f / 11;
  p = p * s2 + 1.f / 9;
  p = p * s2 + 1.f / 7;
  p = p * s2 + 1.f / 5;
  p = p * s2 + 1.f / 3;
  p = p * s2 + 1.f;
  return 2.f * s * p;
}

// The binary log-loss of a single logistic output (k = 1), rows [0, n): the
// fused_row arithmetic with the float32 exponential above in one vectorized
// loop. A binary classifier's whole loss layer; with a scalar expf per row it
// was 14% of a tiny network's fit.
NC_ISA_FUNCTION((template <bool kGrad, bool kWeights>), (<kGrad, kWeights>), void, binary_logloss_k1, (float* __restrict z, const float* __restrict y,
                                        float* __restrict g, double* __restrict row_losses,
                                        const float* __restrict sw, float scale, int64_t n),
                (z, y, g, row_losses, sw, scale, n), {
_Pragma("omp simd")
  for (int64_t i = 0; i < n; ++i) {
    const float zi = z[i], e = exp_nonpositive(-std::abs(zi));
    const double l = double((zi > 0.f ? zi : 0.f) + log1p_unit(e)) - double(y[i]) * zi;
    const float p = (zi >= 0.f ? 1.f : e) / (1.f + e);
    float w = 1.f;
    if constexpr (kWeights) w = sw[i];
    z[i] = p;
    row_losses[i] = double(w) * l;
    if constexpr (kGrad) g[i] = (p - y[i]) * (w * scale);
  }
})

// The fused softmax cross-entropy of rows [0, n) (k <= kSoftmaxLanesMaxK
// outputs each) in float32, z replaced by the probabilities: softmax_xent_row's
// arithmetic with the float32 exponential, 16 rows at a time, one row per
// vector lane (the block transposed in and out through the stack), so each
// row's sums keep their order and every loop is a vector loop. Row by row, a
// few classes leave the vector loops empty: a scalar expf and double sums in
// series were 8% of a digits-sized fit.
NC_ISA_FUNCTION((template <bool kGrad, bool kWeights>), (<kGrad, kWeights>), void, softmax_xent_rows, (float* __restrict z, const float* __restrict y,
                                        float* __restrict g, double* __restrict row_losses,
                                        const float* __restrict sw, float scale, int64_t n,
                                        int64_t k),
                (z, y, g, row_losses, sw, scale, n, k), {
  constexpr int64_t L = 16;
  alignas(64) float zt[kSoftmaxLanesMaxK][L], yt[kSoftmaxLanesMaxK][L];
  alignas(64) float mx[L], sum[L], f[L];
  alignas(64) double ysum[L], yz[L];
  for (int64_t i0 = 0; i0 < n; i0 += L) {
    const int64_t m = std::min(L, n - i0);
    for (int64_t l = 0; l < L; ++l)
      for (int64_t j = 0; j < k; ++j) {
        zt[j][l] = l < m ? z[(i0 + l) * k + j] : 0.f;
        yt[j][l] = l < m ? y[(i0 + l) * k + j] : 0.f;
      }
    for (int64_t l = 0; l < L; ++l) {
      mx[l] = zt[0][l];
      sum[l] = 0.f;
      ysum[l] = yz[l] = 0.0;
      f[l] = (kWeights && l < m ? sw[i0 + l] : 1.f) * scale;
    }
    for (int64_t j = 1; j < k; ++j)
      for (int64_t l = 0; l < L; ++l) mx[l] = zt[j][l] > mx[l] ? zt[j][l] : mx[l];
    for (int64_t j = 0; j < k; ++j)
      for (int64_t l = 0; l < L; ++l) {
        const float e = exp_nonpositive(zt[j][l] - mx[l]);
        ysum[l] += yt[j][l];
        yz[l] += double(yt[j][l]) * zt[j][l];
        zt[j][l] = e;
        sum[l] += e;
      }
    for (int64_t l = 0; l < m; ++l) {
      const double w = kWeights ? double(sw[i0 + l]) : 1.0;
      row_losses[i0 + l] = w * ((double(mx[l]) + std::log(double(sum[l]))) * ysum[l] - yz[l]);
    }
    for (int64_t j = 0; j < k; ++j)
      for (int64_t l = 0; l < L; ++l) {
        const float p = zt[j][l] / sum[l];
        yt[j][l] = float(double(p) * ysum[l] - yt[j][l]) * f[l];  // the gradient
        zt[j][l] = p;
      }
    for (int64_t l = 0; l < m; ++l)
      for (int64_t j = 0; j < k; ++j) {
        z[(i0 + l) * k + j] = zt[j][l];
        if constexpr (kGrad) g[(i0 + l) * k + j] = yt[j][l];
      }
  }
})

// Loss of one row on the fused output: z (k) is the pre-activation; writes the
// prediction into p (may alias z) and dL/dz into g (may be null).
template <class T>
inline double fused_row(Loss kind, T* z, const T* y, int64_t k, T* g) {
  double s = 0;
  switch (kind) {
    case Loss::SquaredError:
      for (int64_t j = 0; j < k; ++j) {
        const double d = double(z[j]) - double(y[j]);
        s += 0.5 * d * d;
        if (g) g[j] = T(d);
      }
      return s;
    case Loss::LogLoss:
    case Loss::CategoricalCrossentropy:
      return softmax_xent_row(z, y, k, z, g);
    case Loss::BinaryLogLoss:
    case Loss::BinaryCrossentropy: {
      // scikit-learn sums over outputs, Keras averages
      const double m = kind == Loss::BinaryCrossentropy ? 1.0 / double(k) : 1.0;
      for (int64_t j = 0; j < k; ++j) {
        // one exponential serves the loss and the probability:
        // softplus(z) = max(z, 0) + log1p(e), sigmoid(z) = 1 / (1 + e) or e / (1 + e)
        const T zj = z[j], e = std::exp(-std::abs(zj));
        s += double(std::max(zj, T(0)) + log1p_unit(e)) - double(y[j]) * zj;
        z[j] = zj >= T(0) ? T(1) / (T(1) + e) : e / (T(1) + e);
        if (g) g[j] = T(m * (double(z[j]) - y[j]));
      }
      return m * s;
    }
    case Loss::Poisson:
      for (int64_t j = 0; j < k; ++j) {
        s += xlogx(double(y[j])) - double(y[j]) * z[j] - y[j] + std::exp(double(z[j]));
        z[j] = std::exp(z[j]);
        if (g) g[j] = T(double(z[j]) - y[j]);
      }
      return s;
    default: break;
  }
  throw std::invalid_argument("loss has no fused form");
}

// Loss of one row given predictions p (k); writes dL/dp into g (may be null).
// hinge_pm1: the batch's hinge targets are 0/1 and are read as -1/+1.
template <class T>
inline double generic_row(const LossSpec& L, const T* p, const T* y, int64_t k, T* g,
                          bool hinge_pm1) {
  const double eps = kKerasEpsilon, inv_k = 1.0 / double(k);
  double s = 0;
  auto put = [&](int64_t j, double v) {
    if (g) g[j] = T(v);
  };
  switch (L.kind) {
    case Loss::MeanSquaredError:
      for (int64_t j = 0; j < k; ++j) {
        const double e = double(p[j]) - y[j];
        s += e * e;
        put(j, 2 * e * inv_k);
      }
      return s * inv_k;
    case Loss::MeanAbsoluteError:
      for (int64_t j = 0; j < k; ++j) {
        const double e = double(p[j]) - y[j];
        s += std::abs(e);
        put(j, sign(e) * inv_k);
      }
      return s * inv_k;
    case Loss::MeanAbsolutePercentageError:
      for (int64_t j = 0; j < k; ++j) {
        const double e = double(p[j]) - y[j], d = std::max(std::abs(double(y[j])), eps);
        s += std::abs(e) / d;
        put(j, 100.0 * sign(e) / d * inv_k);
      }
      return 100.0 * s * inv_k;
    case Loss::MeanSquaredLogarithmicError:
      for (int64_t j = 0; j < k; ++j) {
        const double pc = std::max(double(p[j]), eps);
        const double e = std::log(pc + 1) - std::log(std::max(double(y[j]), eps) + 1);
        s += e * e;
        put(j, double(p[j]) > eps ? 2 * e / (pc + 1) * inv_k : 0.0);
      }
      return s * inv_k;
    case Loss::Huber:
      for (int64_t j = 0; j < k; ++j) {
        const double e = double(p[j]) - y[j], a = std::abs(e), d = L.delta;
        if (a <= d) {
          s += 0.5 * e * e;
          put(j, e * inv_k);
        } else {
          s += 0.5 * d * d + d * (a - d);
          put(j, d * sign(e) * inv_k);
        }
      }
      return s * inv_k;
    case Loss::LogCosh:
      for (int64_t j = 0; j < k; ++j) {
        const double e = double(p[j]) - y[j];
        s += e + softplus(-2 * e) - std::log(2.0);
        put(j, std::tanh(e) * inv_k);
      }
      return s * inv_k;
    case Loss::KerasPoisson:
      for (int64_t j = 0; j < k; ++j) {
        s += double(p[j]) - y[j] * std::log(double(p[j]) + eps);
        put(j, (1.0 - y[j] / (double(p[j]) + eps)) * inv_k);
      }
      return s * inv_k;
    case Loss::CategoricalCrossentropy: {
      if (L.from_logits) return softmax_xent_row<T>(p, y, k, nullptr, g);
      // Keras: q = clip(p / sum(p), eps, 1 - eps); loss = -sum y log q
      double S = 0, inside_y = 0;
      for (int64_t j = 0; j < k; ++j) S += p[j];
      for (int64_t j = 0; j < k; ++j) {
        const double q = double(p[j]) / S;
        const bool inside = q > eps && q < 1 - eps;
        s -= y[j] * std::log(std::min(std::max(q, eps), 1 - eps));
        if (inside) inside_y += y[j];
        put(j, inside ? -double(y[j]) / p[j] : 0.0);
      }
      if (g)
        for (int64_t j = 0; j < k; ++j) g[j] = T(double(g[j]) + inside_y / S);
      return s;
    }
    case Loss::BinaryCrossentropy:
      for (int64_t j = 0; j < k; ++j) {
        const double t = y[j];
        if (L.from_logits) {
          const double z = p[j];
          s += softplus(z) - t * z;
          put(j, (logistic(z) - t) * inv_k);
        } else {
          const double q = std::min(std::max(double(p[j]), eps), 1 - eps);
          const bool inside = double(p[j]) > eps && double(p[j]) < 1 - eps;
          s -= t * std::log(q + eps) + (1 - t) * std::log(1 - q + eps);
          put(j, inside ? -(t / (q + eps) - (1 - t) / (1 - q + eps)) * inv_k : 0.0);
        }
      }
      return s * inv_k;
    case Loss::Hinge:
    case Loss::SquaredHinge:
      for (int64_t j = 0; j < k; ++j) {
        const double t = hinge_pm1 ? 2.0 * y[j] - 1.0 : double(y[j]);
        const double m = std::max(1.0 - t * p[j], 0.0);
        if (L.kind == Loss::Hinge) {
          s += m;
          put(j, m > 0 ? -t * inv_k : 0.0);
        } else {
          s += m * m;
          put(j, -2 * m * t * inv_k);
        }
      }
      return s * inv_k;
    case Loss::CategoricalHinge: {
      double pos = 0, neg = -std::numeric_limits<double>::infinity();
      int64_t arg = 0;
      for (int64_t j = 0; j < k; ++j) {
        pos += double(y[j]) * p[j];
        const double v = (1.0 - y[j]) * p[j];
        if (v > neg) {
          neg = v;
          arg = j;
        }
      }
      s = std::max(neg - pos + 1.0, 0.0);
      for (int64_t j = 0; j < k; ++j)
        put(j, s > 0 ? -double(y[j]) + (j == arg ? 1.0 - y[j] : 0.0) : 0.0);
      return s;
    }
    case Loss::KLDivergence:
      for (int64_t j = 0; j < k; ++j) {
        const double t = std::min(std::max(double(y[j]), eps), 1.0);
        const double q = std::min(std::max(double(p[j]), eps), 1.0);
        s += t * std::log(t / q);
        put(j, (double(p[j]) >= eps && double(p[j]) <= 1.0) ? -t / q : 0.0);
      }
      return s;
    case Loss::CosineSimilarity: {
      double tt = 0, pp = 0;
      for (int64_t j = 0; j < k; ++j) {
        tt += double(y[j]) * y[j];
        pp += double(p[j]) * p[j];
      }
      const double tn = 1.0 / std::sqrt(std::max(tt, 1e-12));
      const double pn = 1.0 / std::sqrt(std::max(pp, 1e-12));
      double dot = 0;
      for (int64_t j = 0; j < k; ++j) dot += double(y[j]) * tn * p[j] * pn;
      for (int64_t j = 0; j < k; ++j) {
        const double grad = pp > 1e-12 ? -(double(y[j]) * tn - dot * p[j] * pn) * pn
                                       : -double(y[j]) * tn * pn;
        put(j, grad);
      }
      return -dot;
    }
    default: break;
  }
  throw std::invalid_argument("this loss needs its canonical output activation");
}

// A serial sum: the same result for any thread count.
inline double sum_in_order(const double* v, int64_t n) {
  double total = 0;
  for (int64_t i = 0; i < n; ++i) total += v[i];
  return total;
}

// Keras converts hinge targets given as 0/1 to -1/+1 (checked per batch).
template <class T>
inline bool hinge_targets_are_01(const LossSpec& L, const T* y, int64_t n) {
  if (L.kind != Loss::Hinge && L.kind != Loss::SquaredHinge) return false;
  for (int64_t i = 0; i < n; ++i)
    if (y[i] != T(0) && y[i] != T(1)) return false;
  return true;
}

// The output layer's loss over `rows` rows. If fused, `out` holds the
// pre-activation z: it is replaced by predictions and delta receives dL/dz;
// otherwise `out` holds predictions and delta receives dL/dp. Both are scaled
// by sw[i] * scale. row_losses (rows) receives each sample's weighted loss.
// Returns the weighted loss sum.
template <class T>
double loss_forward_backward(const LossSpec& L, bool fused, Loss fused_kind, T* out, T* delta,
                             double* row_losses, const T* y, const T* sw, int64_t rows,
                             int64_t k, T scale, int threads) {
  const bool pm1 = hinge_targets_are_01(L, y, rows * k);
  if constexpr (std::is_same_v<T, float>) {  // the common fused losses as vector loops
    const bool binary = fused && k == 1 &&
        (fused_kind == Loss::BinaryLogLoss || fused_kind == Loss::BinaryCrossentropy);
    const bool softmax = fused && k <= kSoftmaxLanesMaxK &&
        (fused_kind == Loss::LogLoss || fused_kind == Loss::CategoricalCrossentropy);
    if (binary || softmax) {
      parallel_ranges(rows, rows * k, threads, [&](int64_t r0, int64_t r1, int) {
        float* g = delta ? delta + r0 * k : nullptr;
        const float* w = sw ? sw + r0 : nullptr;
        float* z = out + r0 * k;
        const float* yr = y + r0 * k;
        double* rl = row_losses + r0;
        const int64_t n = r1 - r0;
        if (binary) {
          auto* kernel = g ? (w ? binary_logloss_k1<true, true> : binary_logloss_k1<true, false>)
                           : (w ? binary_logloss_k1<false, true> : binary_logloss_k1<false, false>);
          kernel(z, yr, g, rl, w, scale, n);
        } else {
          auto* kernel = g ? (w ? softmax_xent_rows<true, true> : softmax_xent_rows<true, false>)
                           : (w ? softmax_xent_rows<false, true> : softmax_xent_rows<false, false>);
          kernel(z, yr, g, rl, w, scale, n, k);
        }
      });
      return sum_in_order(row_losses, rows);
    }
  }
  for_rows<T>(rows, k, threads, [&](int64_t i) {
    T* oi = out + i * k;
    const T* yi = y + i * k;
    T* di = delta ? delta + i * k : nullptr;
    const double w = sw ? double(sw[i]) : 1.0;
    const double l = fused ? fused_row(fused_kind, oi, yi, k, di) : generic_row(L, oi, yi, k, di, pm1);
    row_losses[i] = w * l;
    if (di) {
      const T f = T(w) * scale;
      for (int64_t j = 0; j < k; ++j) di[j] *= f;
    }
  });
  return sum_in_order(row_losses, rows);
}

}  // namespace nc
