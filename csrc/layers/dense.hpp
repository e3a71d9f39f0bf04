// Dense layer with the bias add and activation fused into one pass after the GEMM.
//
// Parameters: the kernel W (n_in, n_out) row-major at w_off and the bias b
// (n_out) at b_off, offsets into the network's flat buffer (scikit-learn's
// packing order puts every kernel before every bias, so they are not adjacent).
#pragma once
#include <cstdint>
#include <cstring>

#include "../core/parallel.hpp"
#include "../core/types.hpp"
#include "../kernels/activations.hpp"
#include "../kernels/gemm.hpp"
#include "layer.hpp"

namespace nc {

template <class T>
class Dense : public Layer<T> {
 public:
  int64_t w_off = 0, b_off = 0;
  bool use_bias = true;
  ActSpec act;
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
    if (in.csr == nullptr) {
      gemm_nn<T>(out, in.dense, W, rows, n_out, n_in);
    } else {
      csr_matmul(W, in, out, rows, c.threads);
    }
    ActSpec a = act;
    if (fused_output) a = ActSpec{};
    bias_activation(out, use_bias ? c.params + b_off : nullptr, rows, n_out, a, c.threads,
                    cache_per_row(c.training) ? cache : nullptr);
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
      gemm_tn<T>(dW, in.dense, dz, n_in, n_out, rows, T(1), accumulate ? T(1) : T(0));
    } else {
      if (!accumulate) std::memset(dW, 0, sizeof(T) * n_in * n_out);
      csr_weight_grad(in, dz, dW, rows);
    }
    if (use_bias) {
      T* db = grads + b_off;
      if (!accumulate) std::memset(db, 0, sizeof(T) * n_out);
      for (int64_t i = 0; i < rows; ++i) {
        const T* di = dz + i * n_out;
        for (int64_t j = 0; j < n_out; ++j) db[j] += di[j];
      }
    }
    if (din) gemm_nt<T>(din, dz, W, rows, n_in, n_out);
  }

 private:
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
