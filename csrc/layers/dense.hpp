// Dense layer with the bias add and activation fused into one pass after the GEMM.
//
// Parameters: the kernel W (n_in, n_out) row-major at w_off and the bias b
// (n_out) at b_off, offsets into the network's flat buffer (scikit-learn's
// packing order puts every kernel before every bias, so they are not adjacent).
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "../core/parallel.hpp"
#include "../core/types.hpp"
#include "../kernels/activations.hpp"
#include "../kernels/gemm.hpp"
#include "layer.hpp"

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

template <class T>
class Dense : public Layer<T> {
 public:
  int64_t w_off = 0, b_off = 0;
  bool use_bias = true;
  ActSpec act;
  Penalty kernel_penalty, bias_penalty, activity_penalty;
  Constraint kernel_constraint, bias_constraint;
  // the output layer whose activation the loss applies (fused, stable form):
  // forward leaves the pre-activation, backward receives the gradient at it
  bool fused_output = false;

  int64_t param_count() const override { return this->n_in * this->n_out + (use_bias ? this->n_out : 0); }
  int64_t cache_per_row(bool) const override {
    return (!fused_output && act.needs_input()) ? this->n_out : 0;
  }
  bool accepts_sparse() const override { return true; }

  void forward(const Context<T>& c, const Batch<T>& in, T* out, T* cache,
               int64_t rows) const override {
    const int64_t n_in = this->n_in, n_out = this->n_out;
    const T* W = c.params + w_off;
    const T* bias = use_bias ? c.params + b_off : nullptr;
    ActSpec a = act;
    if (fused_output) a = ActSpec{};
    T* keep = cache_per_row(c.training) ? cache : nullptr;
    if (in.csr == nullptr && !keep && (a.kind == Act::Identity || a.plain_relu())) {
      // bias and activation in the product's epilogue: no second pass over out
      gemm_nn_bias_act<T>(out, in.dense, W, rows, n_out, n_in, bias, a.kind == Act::Relu,
                          c.threads);
      return;
    }
    if (in.csr == nullptr) {
      gemm_nn<T>(out, in.dense, W, rows, n_out, n_in, T(1), T(0), c.threads);
    } else {
      csr_matmul(W, in, out, rows, c.threads);
    }
    bias_activation(out, bias, rows, n_out, a, c.threads, keep);
  }

  void backward(const Context<T>& c, const Batch<T>& in, const T* out, T* dout,
                const T* cache, T* din, T* grads, int64_t rows,
                bool accumulate) const override {
    const int64_t n_in = this->n_in, n_out = this->n_out;
    if (!fused_output)
      activation_backward(dout, out, cache_per_row(true) ? cache : nullptr, rows, n_out, act,
                          c.threads);
    const T* dz = dout;
    const T* W = c.params + w_off;
    T* dW = grads + w_off;
    if (in.csr == nullptr) {
      gemm_tn<T>(dW, in.dense, dz, n_in, n_out, rows, T(1), accumulate ? T(1) : T(0), c.threads);
    } else {
      if (!accumulate) std::memset(dW, 0, sizeof(T) * n_in * n_out);
      csr_weight_grad(in, dz, dW, rows);
    }
    if (use_bias) column_sums(grads + b_off, dz, rows, n_out, accumulate);
    if (din) gemm_nt<T>(din, dz, W, rows, n_in, n_out, T(1), T(0), c.threads);
  }

 // Adds the kernel and bias penalties' gradient times `scale` to grads and
  // returns the penalty times `scale`.
  double add_penalties(const T* params, T* grads, double scale) const {
    double total = 0;
    auto apply = [&](const Penalty& p, int64_t off, int64_t n) {
      if (!p.active()) return;
      double s1 = 0, s2 = 0;
      const T g1 = T(scale * p.l1), g2 = T(2.0 * scale * p.l2);
      for (int64_t i = off; i < off + n; ++i) {
        const T w = params[i];
        s1 += std::abs(double(w));
        s2 += double(w) * w;
        grads[i] += g1 * T((w > T(0)) - (w < T(0))) + g2 * w;
      }
      total += scale * (p.l1 * s1 + p.l2 * s2);
    };
    apply(kernel_penalty, w_off, this->n_in * this->n_out);
    if (use_bias) apply(bias_penalty, b_off, this->n_out);
    return total;
  }

  // Activity penalty on this layer's output y (rows, n_out): returns its value
  // and adds its gradient to dy (rows, n_out) if dy is not null.
  double activity(const T* y, T* dy, int64_t rows) const {
    if (!activity_penalty.active()) return 0.0;
    const double l1 = activity_penalty.l1, l2 = activity_penalty.l2;
    double s = 0;
    for (int64_t i = 0; i < rows * this->n_out; ++i) {
      s += l1 * std::abs(double(y[i])) + l2 * double(y[i]) * y[i];
      if (dy) dy[i] += T(l1 * double((y[i] > T(0)) - (y[i] < T(0))) + 2.0 * l2 * y[i]);
    }
    return s;
  }

  void apply_constraints(T* params) const {
    constrain(kernel_constraint, params + w_off, this->n_in, this->n_out);
    if (use_bias) constrain(bias_constraint, params + b_off, 1, this->n_out);
  }

 private:
  // Keras's constraints on w (rows, cols), norms over axis 0 (each column).
  static void constrain(const Constraint& c, T* w, int64_t rows, int64_t cols) {
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
      const double f = c.kind == Constraint::MaxNorm
                           ? std::min(norm, c.max_value) / (eps + norm)
                           : 1.0 / (eps + norm);
      for (int64_t i = 0; i < rows; ++i) w[i * cols + j] = T(w[i * cols + j] * f);
    }
  }

  // db (n) (+)= the column sums of dz (rows, n).
  NC_ISA_FUNCTION((), (), static void, column_sums, (T* __restrict db, const T* __restrict dz, int64_t rows,
                                           int64_t n, bool accumulate),
                  (db, dz, rows, n, accumulate), {
    if (!accumulate) std::memset(db, 0, sizeof(T) * n);
    for (int64_t i = 0; i < rows; ++i) {
      const T* di = dz + i * n;
_Pragma("omp simd")
      for (int64_t j = 0; j < n; ++j) db[j] += di[j];
    }
  })

  // out (rows, n_out) = X[rows] @ W for CSR X.
  void csr_matmul(const T* W, const Batch<T>& in, T* out, int64_t rows, int threads) const {
    const InputView<T>& X = *in.csr;
    const int64_t n_out = this->n_out;
    parallel_for(rows, rows * n_out, threads, [&](int64_t r) {
      T* o = out + r * n_out;
      std::memset(o, 0, sizeof(T) * n_out);
      const int64_t s = in.csr_row(r);
      for (int64_t p = X.indptr[s]; p < X.indptr[s + 1]; ++p) {
        const T v = X.data[p];
        const T* w = W + X.indices[p] * n_out;
        for (int64_t j = 0; j < n_out; ++j) o[j] += v * w[j];
      }
    });
  }

  // dW (n_in, n_out) += X[rows]^T dz for CSR X.
  void csr_weight_grad(const Batch<T>& in, const T* dz, T* dW, int64_t rows) const {
    const InputView<T>& X = *in.csr;
    const int64_t n_out = this->n_out;
    for (int64_t r = 0; r < rows; ++r) {
      const T* d = dz + r * n_out;
      const int64_t s = in.csr_row(r);
      for (int64_t p = X.indptr[s]; p < X.indptr[s + 1]; ++p) {
        const T v = X.data[p];
        T* g = dW + X.indices[p] * n_out;
        for (int64_t j = 0; j < n_out; ++j) g[j] += v * d[j];
      }
    }
  }
};

}  // namespace nc
