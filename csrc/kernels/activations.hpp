// Activations, fused with the bias add that follows each GEMM, and their
// derivatives expressed through the activation's output (what forward cached).
// Adding an activation: one case in act_forward, one in act_derivative.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <vector>

#include "../core/parallel.hpp"
#include "../core/simd.hpp"
#include "../core/types.hpp"

namespace nc {

template <class T>
inline T logistic(T x) {
  return T(1) / (T(1) + std::exp(-x));
}

constexpr double kSeluAlpha = 1.6732632423543772848170429916717;
constexpr double kSeluScale = 1.0507009873554804934193349852946;
constexpr double kSqrt2OverPi = 0.7978845608028654;  // sqrt(2 / pi)
constexpr double kInvSqrt2 = 0.7071067811865476;
constexpr double kInvSqrt2Pi = 0.3989422804014327;  // 1 / sqrt(2 pi)
constexpr double kGeluCubic = 0.044715;

// y = act(x), elementwise (softmax is row-wise: see softmax_row).
template <class T>
inline T act_forward(const ActSpec& a, T x) {
  switch (a.kind) {
    case Act::Identity: return x;
    case Act::Logistic: return logistic(x);
    case Act::Tanh: return std::tanh(x);
    case Act::Relu: {
      if (x > T(a.threshold)) return x < T(a.max_value) ? x : T(a.max_value);
      return T(a.alpha) * (x - T(a.threshold));
    }
    case Act::Exp: return std::exp(x);
    case Act::HardSigmoid: return std::min(T(1), std::max(T(0), T(0.2) * x + T(0.5)));
    case Act::Softsign: return x / (T(1) + std::abs(x));
    case Act::Elu: return x > T(0) ? x : T(a.alpha) * std::expm1(x);
    case Act::Selu: return T(kSeluScale) * (x > T(0) ? x : T(kSeluAlpha) * std::expm1(x));
    case Act::Softplus: return std::max(x, T(0)) + std::log1p(std::exp(-std::abs(x)));
    case Act::Gelu:
      if (a.approximate) {
        const T u = T(kSqrt2OverPi) * (x + T(kGeluCubic) * x * x * x);
        return T(0.5) * x * (T(1) + std::tanh(u));
      }
      return T(0.5) * x * (T(1) + std::erf(x * T(kInvSqrt2)));
    case Act::Swish: return x * logistic(x);
    case Act::Softmax: return x;  // not elementwise
  }
  return x;
}

// d act / d x at pre-activation x with output y. x is only read when
// a.needs_input(); otherwise the derivative comes from y alone.
template <class T>
inline T act_derivative(const ActSpec& a, T x, T y) {
  switch (a.kind) {
    case Act::Identity: return T(1);
    case Act::Logistic: return y * (T(1) - y);
    case Act::Tanh: return T(1) - y * y;
    case Act::Relu:
      if (a.plain_relu()) return y > T(0) ? T(1) : T(0);
      if (x > T(a.threshold)) return x < T(a.max_value) ? T(1) : T(0);
      return T(a.alpha);
    case Act::Exp: return y;
    case Act::HardSigmoid: return (y > T(0) && y < T(1)) ? T(0.2) : T(0);
    case Act::Softsign: {
      const T s = T(1) - std::abs(y);
      return s * s;
    }
    case Act::Elu: return y > T(0) ? T(1) : y + T(a.alpha);
    case Act::Selu: return y > T(0) ? T(kSeluScale) : y + T(kSeluScale * kSeluAlpha);
    case Act::Softplus: return -std::expm1(-y);  // sigmoid(x) = 1 - exp(-softplus(x))
    case Act::Gelu:
      if (a.approximate) {
        const T u = T(kSqrt2OverPi) * (x + T(kGeluCubic) * x * x * x);
        const T t = std::tanh(u);
        return T(0.5) * (T(1) + t) +
               T(0.5) * x * (T(1) - t * t) * T(kSqrt2OverPi) * (T(1) + T(3 * kGeluCubic) * x * x);
      }
      return T(0.5) * (T(1) + std::erf(x * T(kInvSqrt2))) +
             x * T(kInvSqrt2Pi) * std::exp(T(-0.5) * x * x);
    case Act::Swish: {
      const T s = logistic(x);
      return s * (T(1) + x * (T(1) - s));
    }
    case Act::Softmax: return T(1);  // row-wise: see activation_backward
  }
  return T(1);
}

// exp(x) for x <= 0 in float32 as straight-line arithmetic, so a loop over it
// vectorizes (std::exp is a scalar call): Cephes's expf reduction
// x = n ln2 + r, |r| <= ln2 / 2, a degree-7 polynomial for exp(r), and 2^n
// applied as two exact powers so results down to the smallest subnormal are
// right. Within 1 ulp of the correctly rounded exp on every float in [-110, 0]
// (checked exhaustively); exp(x) below -104 rounds to 0.
__attribute__((always_inline)) inline float exp_nonpositive(float x) {
  x = x > -104.f ? x : -104.f;
  // round to nearest by adding and removing 1.5 * 2^23 (no libm call)
  const float n = (x * 1.44269504088896341f + 12582912.f) - 12582912.f;
  const float r = (x - n * 0.693359375f) - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.f;
  const int32_t ni = int32_t(n), half = ni / 2;  // each half >= -75: a normal power
  const int32_t b1 = (half + 127) << 23, b2 = (ni - half + 127) << 23;
  float s1, s2;
  std::memcpy(&s1, &b1, sizeof s1);
  std::memcpy(&s2, &b2, sizeof s2);
  return p * s1 * s2;
}

// The same in float64: x = n ln2 + r with ln2 in two parts (n ln2_hi exact
// for |n| < 2^11), the degree-13 Taylor polynomial of exp(r) (truncation
// below 1e-17 for |r| <= ln2 / 2), and 2^n from the rounding constant's bits
// (64-bit integer shifts, which AVX2 has; no double -> int64 conversion,
// which it lacks), applied as 2^(n + 64) then the exact 2^-64 so that results
// down to the subnormals are right; below -746 exp rounds to 0. Within 2 ulp
// of the correctly rounded exp (tests/test_rbm.py, through the logistic
// units), vectorizing where std::exp is a scalar call.
__attribute__((always_inline)) inline double exp_nonpositive(double x) {
  x = x > -746.0 ? x : -746.0;
  constexpr double kRound = 6755399441055744.0;  // 1.5 * 2^52
  const double t = x * 1.4426950408889634 + kRound;
  const double n = t - kRound;
  const double r = (x - n * 0.693147180369123816490) - n * 1.90821492927058770002e-10;
  double p = 1.0 / 6227020800.0;  // 1 / 13!
  p = p * r + 1.0 / 479001600.0;
  p = p * r + 1.0 / 39916800.0;
  p = p * r + 1.0 / 3628800.0;
  p = p * r + 1.0 / 362880.0;
  p = p * r + 1.0 / 40320.0;
  p = p * r + 1.0 / 5040.0;
  p = p * r + 1.0 / 720.0;
  p = p * r + 1.0 / 120.0;
  p = p * r + 1.0 / 24.0;
  p = p * r + 1.0 / 6.0;
  p = p * r + 0.5;
  p = p * r + 1.0;
  p = p * r + 1.0;
  uint64_t bits;
  std::memcpy(&bits, &t, sizeof bits);
  // t's low mantissa bits hold n in two's complement: n << 52 + the bias
  bits = (bits << 52) + (uint64_t(1023 + 64) << 52);
  double scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return p * scale * 5.421010862427522e-20;  // 2^-64
}

// logistic(x) = 1 / (1 + e^-x) through e = exp(-|x|) <= 1 as straight-line
// arithmetic (never overflowing; a loop over it vectorizes), to rounding of
// logistic() in either precision.
template <class T>
__attribute__((always_inline)) inline T logistic_vec(T x) {
  const T e = exp_nonpositive(-std::fabs(x));
  const T inv = T(1) / (T(1) + e);
  return x >= T(0) ? inv : e * inv;
}

// exp(x), x <= 0: the float32 kernel above, the library's exp in float64
// (whose results stay identical to scikit-learn's).
inline float exp_le0(float x) { return exp_nonpositive(x); }
inline double exp_le0(double x) { return std::exp(x); }

// Numerically stable softmax of one row, in place.
template <class T>
inline void softmax_row(T* z, int64_t n) {
  T mx = z[0];
  for (int64_t j = 1; j < n; ++j) mx = std::max(mx, z[j]);
  T s = 0;
  for (int64_t j = 0; j < n; ++j) {
    z[j] = std::exp(z[j] - mx);
    s += z[j];
  }
  const T inv = T(1) / s;
  for (int64_t j = 0; j < n; ++j) z[j] *= inv;
}

// The most outputs a softmax takes with its rows in vector lanes (float32).
constexpr int64_t kSoftmaxLanesMaxK = 32;

// f(i) for each row of a (rows, cols) matrix, in parallel when it is large.
template <class T, class F>
inline void for_rows(int64_t rows, int64_t cols, int threads, F&& f) {
  parallel_for(rows, rows * cols, threads, f);
}

// The elementwise passes of the common activations, compiled per instruction
// set (NC_ISA_FUNCTION: the module itself targets baseline x86-64, so these
// loops ran 4 floats wide on AVX-512 machines).
namespace detail {
// z (rows, cols) <- z + bias, then max(z, 0) if relu: one pass
NC_ISA_FUNCTION((template <class T>), (<T>), void, bias_relu_rows, (T* __restrict z, const T* __restrict bias, int64_t rows,
                                     int64_t cols, bool relu),
                (z, bias, rows, cols, relu), {
  if (bias && relu) {
    for (int64_t i = 0; i < rows; ++i) {
      T* zi = z + i * cols;
      for (int64_t j = 0; j < cols; ++j) {
        const T v = zi[j] + bias[j];
        zi[j] = v > T(0) ? v : T(0);
      }
    }
  } else if (bias) {
    for (int64_t i = 0; i < rows; ++i) {
      T* zi = z + i * cols;
      for (int64_t j = 0; j < cols; ++j) zi[j] += bias[j];
    }
  } else if (relu) {
    const int64_t n = rows * cols;
    for (int64_t j = 0; j < n; ++j) z[j] = z[j] > T(0) ? z[j] : T(0);
  }
})

// Softmax of rows [0, n) of z (n, k), k <= kSoftmaxLanesMaxK, in float32, in
// place: 16 rows at a time, one row per vector lane, with the float32
// exponential above: the probabilities the fused loss layer computes
// (softmax_xent_rows), as exp(z - max) / sum. Row by row, a scalar expf per
// output was a fifth of predicting 10000 rows of a 10-class digits model.
NC_ISA_FUNCTION((), (), void, softmax_rows_lanes, (float* __restrict z, int64_t n, int64_t k),
                (z, n, k), {
  constexpr int64_t L = 16;
  alignas(64) float zt[kSoftmaxLanesMaxK][L];
  alignas(64) float mx[L], sum[L];
  for (int64_t i0 = 0; i0 < n; i0 += L) {
    const int64_t m = std::min(L, n - i0);
    if (m < L)  // the lanes past the last row compute on zeros
      for (int64_t j = 0; j < k; ++j)
        for (int64_t l = 0; l < L; ++l) zt[j][l] = 0.f;
    for (int64_t l = 0; l < m; ++l)
      for (int64_t j = 0; j < k; ++j) zt[j][l] = z[(i0 + l) * k + j];
    for (int64_t l = 0; l < L; ++l) {
      mx[l] = zt[0][l];
      sum[l] = 0.f;
    }
    for (int64_t j = 1; j < k; ++j)
      for (int64_t l = 0; l < L; ++l) mx[l] = zt[j][l] > mx[l] ? zt[j][l] : mx[l];
    for (int64_t j = 0; j < k; ++j)
      for (int64_t l = 0; l < L; ++l) {
        const float e = exp_nonpositive(zt[j][l] - mx[l]);
        zt[j][l] = e;
        sum[l] += e;
      }
    for (int64_t j = 0; j < k; ++j)
      for (int64_t l = 0; l < L; ++l) zt[j][l] = zt[j][l] / sum[l];
    for (int64_t l = 0; l < m; ++l)
      for (int64_t j = 0; j < k; ++j) z[(i0 + l) * k + j] = zt[j][l];
  }
})

// d <- d * act'(y) for the activations whose derivative is a function of y
NC_ISA_FUNCTION((template <class T>), (<T>), void, backward_from_output, (T* __restrict d, const T* __restrict y, int64_t n,
                                           Act kind),
                (d, y, n, kind), {
  switch (kind) {
    case Act::Relu:
      for (int64_t j = 0; j < n; ++j) d[j] = y[j] > T(0) ? d[j] : T(0);
      break;
    case Act::Tanh:
      for (int64_t j = 0; j < n; ++j) d[j] *= T(1) - y[j] * y[j];
      break;
    case Act::Logistic:
      for (int64_t j = 0; j < n; ++j) d[j] *= y[j] * (T(1) - y[j]);
      break;
    default: break;
  }
})
}  // namespace detail

// z (rows, cols) <- act(z + bias); bias (cols) may be null. If keep is not
// null it receives the pre-activation z + bias (for derivatives that need x).
// Rows are cut into one range per thread; the activation is chosen once per
// range, not per row (a tiny network's rows are a few floats long).
template <class T>
void bias_activation(T* z, const T* bias, int64_t rows, int64_t cols, const ActSpec& a,
                     int threads, T* keep = nullptr) {
  parallel_ranges(rows, rows * cols, threads, [&](int64_t r0, int64_t r1, int) {
    T* zr = z + r0 * cols;
    const int64_t n = (r1 - r0) * cols;
    // a plain relu whose input is not kept: bias and max(., 0) in one pass
    const bool plain = a.kind == Act::Relu && a.plain_relu();
    detail::bias_relu_rows(zr, bias, r1 - r0, cols, plain && !keep);
    if (keep) std::copy(zr, zr + n, keep + r0 * cols);
    switch (a.kind) {
      case Act::Identity: break;
      case Act::Relu:
        if (!plain) {
          for (int64_t j = 0; j < n; ++j) zr[j] = act_forward(a, zr[j]);
        } else if (keep) {  // after the copy of its input
          detail::bias_relu_rows(zr, static_cast<const T*>(nullptr), r1 - r0, cols, true);
        }
        break;
      case Act::Softmax:
        if constexpr (std::is_same_v<T, float>) {
          if (cols <= kSoftmaxLanesMaxK) {
            detail::softmax_rows_lanes(zr, r1 - r0, cols);
            break;
          }
        }
        for (int64_t i = r0; i < r1; ++i) softmax_row(z + i * cols, cols);
        break;
      default:
        for (int64_t j = 0; j < n; ++j) zr[j] = act_forward(a, zr[j]);
    }
  });
}

// delta (rows, cols) <- delta * act'(x): the gradient with respect to the
// output becomes the gradient with respect to the pre-activation. y is the
// output; x (the pre-activation) is read only when a.needs_input().
template <class T>
void activation_backward(T* delta, const T* y, const T* x, int64_t rows, int64_t cols,
                         const ActSpec& a, int threads) {
  if (a.kind == Act::Identity) return;
  parallel_ranges(rows, rows * cols, threads, [&](int64_t r0, int64_t r1, int) {
    T* d = delta + r0 * cols;
    const T* yr = y + r0 * cols;
    const T* xr = x ? x + r0 * cols : yr;
    const int64_t n = (r1 - r0) * cols;
    switch (a.kind) {
      case Act::Relu:
        if (a.plain_relu()) {
          detail::backward_from_output(d, yr, n, Act::Relu);
        } else {
          for (int64_t j = 0; j < n; ++j) d[j] *= act_derivative(a, xr[j], yr[j]);
        }
        break;
      case Act::Tanh:
      case Act::Logistic:
        detail::backward_from_output(d, yr, n, a.kind);
        break;
      case Act::Softmax:  // Jacobian-vector product per row: y * (d - <d, y>)
        for (int64_t i = 0; i < r1 - r0; ++i) {
          T* di = d + i * cols;
          const T* yi = yr + i * cols;
          T dot = 0;
          for (int64_t j = 0; j < cols; ++j) dot += di[j] * yi[j];
          for (int64_t j = 0; j < cols; ++j) di[j] = yi[j] * (di[j] - dot);
        }
        break;
      default:
        for (int64_t j = 0; j < n; ++j) d[j] *= act_derivative(a, xr[j], yr[j]);
    }
  });
}

// activation_backward, then db (cols) = (or += with accumulate) the column
// sums of the result: a convolution's bias gradient over rows * pixels rows,
// in one pass over blocks of rows while they are in cache (two passes over a
// first layer's 11 MB output cost a millisecond a batch). Each block of
// 4096 / cols rows is summed from zero and the blocks are added in order: the
// sums depend on the rows alone, not on the thread count.
template <class T>
void activation_backward_sums(T* delta, const T* y, const T* x, int64_t rows, int64_t cols,
                              const ActSpec& a, T* db, bool accumulate, int threads) {
  const int64_t block = std::max<int64_t>(1, 4096 / cols);
  const int64_t blocks = (rows + block - 1) / block;
  thread_local std::vector<T> partial;  // grows to the largest call, then stays
  if (partial.size() < size_t(blocks * cols)) partial.resize(size_t(blocks * cols));
  T* sums = partial.data();
  parallel_for(blocks, rows * cols, threads, [&](int64_t b) {
    const int64_t r0 = b * block, r1 = std::min(rows, r0 + block);
    T* d = delta + r0 * cols;
    activation_backward(d, y + r0 * cols, x ? x + r0 * cols : nullptr, r1 - r0, cols, a, 1);
    T* __restrict s = sums + b * cols;
    for (int64_t j = 0; j < cols; ++j) s[j] = T(0);
    for (int64_t i = 0; i < r1 - r0; ++i) {
      const T* __restrict di = d + i * cols;
      for (int64_t j = 0; j < cols; ++j) s[j] += di[j];
    }
  });
  if (!accumulate) std::fill(db, db + cols, T(0));
  for (int64_t b = 0; b < blocks; ++b)
    for (int64_t j = 0; j < cols; ++j) db[j] += sums[b * cols + j];
}

}  // namespace nc
