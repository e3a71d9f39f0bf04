// Activations, fused with the bias add that follows each GEMM, and their
// derivatives expressed through the activation's output (what forward cached).
// Adding an activation: one case in act_value, one in act_grad_from_output.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>

#include "../core/parallel.hpp"
#include "../core/types.hpp"

namespace nc {

template <class T>
inline T logistic(T x) {
  return T(1) / (T(1) + std::exp(-x));
}

// Elementwise activation value (softmax is row-wise and handled separately).
template <class T>
inline T act_value(Act a, T x) {
  switch (a) {
    case Act::Identity: return x;
    case Act::Logistic: return logistic(x);
    case Act::Tanh: return std::tanh(x);
    case Act::Relu: return x > T(0) ? x : T(0);
    case Act::Exp: return std::exp(x);
    case Act::Softmax: return x;  // not elementwise
  }
  return x;
}

// d act / d x written in terms of the output y = act(x).
template <class T>
inline T act_grad_from_output(Act a, T y) {
  switch (a) {
    case Act::Identity: return T(1);
    case Act::Logistic: return y * (T(1) - y);
    case Act::Tanh: return T(1) - y * y;
    case Act::Relu: return y > T(0) ? T(1) : T(0);
    case Act::Exp: return y;
    case Act::Softmax: return T(1);  // only used fused with cross-entropy
  }
  return T(1);
}

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

// f(i) for each row of a (rows, cols) matrix, in parallel when it is large.
template <class T, class F>
inline void for_rows(int64_t rows, int64_t cols, int threads, F&& f) {
  parallel_for(rows, rows * cols, threads, f);
}

// z (rows, cols) <- act(z + bias); bias (cols) may be null.
template <class T>
void bias_activation(T* z, const T* bias, int64_t rows, int64_t cols, Act a, int threads) {
  for_rows<T>(rows, cols, threads, [&](int64_t i) {
    T* zi = z + i * cols;
    if (bias) {
      for (int64_t j = 0; j < cols; ++j) zi[j] += bias[j];
    }
    switch (a) {
      case Act::Identity: break;
      case Act::Relu:
        for (int64_t j = 0; j < cols; ++j) zi[j] = zi[j] > T(0) ? zi[j] : T(0);
        break;
      case Act::Softmax: softmax_row(zi, cols); break;
      default:
        for (int64_t j = 0; j < cols; ++j) zi[j] = act_value(a, zi[j]);
    }
  });
}

// delta (rows, cols) *= act'(x), given y = act(x) (rows, cols).
template <class T>
void activation_backward(T* delta, const T* y, int64_t rows, int64_t cols, Act a, int threads) {
  if (a == Act::Identity) return;
  for_rows<T>(rows, cols, threads, [&](int64_t i) {
    T* di = delta + i * cols;
    const T* yi = y + i * cols;
    switch (a) {
      case Act::Relu:
        for (int64_t j = 0; j < cols; ++j) di[j] = yi[j] > T(0) ? di[j] : T(0);
        break;
      case Act::Tanh:
        for (int64_t j = 0; j < cols; ++j) di[j] *= T(1) - yi[j] * yi[j];
        break;
      case Act::Logistic:
        for (int64_t j = 0; j < cols; ++j) di[j] *= yi[j] * (T(1) - yi[j]);
        break;
      default:
        for (int64_t j = 0; j < cols; ++j) di[j] *= act_grad_from_output(a, yi[j]);
    }
  });
}

}  // namespace nc
