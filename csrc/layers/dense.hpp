// Dense layer with the bias add and activation fused into one pass after the GEMM.
//
// Parameters live in the network's flat buffer: the kernel W (n_in, n_out)
// row-major at w_off and the bias b (n_out) at b_off, in scikit-learn's packing
// order (all kernels, then all biases). The layer owns no memory.
#pragma once
#include <cstdint>
#include <cstring>

#include "../core/parallel.hpp"
#include "../core/types.hpp"
#include "../kernels/activations.hpp"
#include "../kernels/gemm.hpp"

namespace nc {

// One mini-batch of input rows: a dense contiguous block, or rows of a CSR
// matrix picked by an index list (null list: rows 0..n-1).
template <class T>
struct Batch {
  const T* dense = nullptr;  // (rows, n_in)
  const InputView<T>* csr = nullptr;
  const int64_t* rows_idx = nullptr;
  int64_t csr_row(int64_t r) const { return rows_idx ? rows_idx[r] : r; }
};

template <class T>
struct Dense {
  int64_t n_in = 0, n_out = 0;
  int64_t w_off = 0, b_off = 0;
  Act act = Act::Identity;

  int64_t param_count() const { return n_in * n_out + n_out; }

  // out (rows, n_out) = act(in @ W + b). With apply_act false, out holds the
  // pre-activation z (the output layer, whose activation is fused into the loss).
  void forward(const T* params, const Batch<T>& in, T* out, int64_t rows, bool apply_act,
               int threads) const {
    const T* W = params + w_off;
    const T* b = params + b_off;
    if (in.csr == nullptr) {
      gemm_nn<T>(out, in.dense, W, rows, n_out, n_in);
    } else {
      csr_matmul(W, in, out, rows, threads);
    }
    bias_activation(out, b, rows, n_out, apply_act ? act : Act::Identity, threads);
  }

  // dz (rows, n_out): gradient with respect to the pre-activation, already
  // scaled by the loss normalisation. Accumulates (or writes, if !accumulate)
  // dW = in^T dz and db = column sums of dz into grads; writes din = dz W^T
  // (rows, n_in) when din is not null.
  void backward(const T* params, const Batch<T>& in, const T* dz, T* grads, T* din,
                int64_t rows, bool accumulate) const {
    const T* W = params + w_off;
    T* dW = grads + w_off;
    T* db = grads + b_off;
    if (in.csr == nullptr) {
      gemm_tn<T>(dW, in.dense, dz, n_in, n_out, rows, T(1), accumulate ? T(1) : T(0));
    } else {
      if (!accumulate) std::memset(dW, 0, sizeof(T) * n_in * n_out);
      csr_weight_grad(in, dz, dW, rows);
    }
    if (!accumulate) std::memset(db, 0, sizeof(T) * n_out);
    for (int64_t i = 0; i < rows; ++i) {
      const T* di = dz + i * n_out;
      for (int64_t j = 0; j < n_out; ++j) db[j] += di[j];
    }
    if (din) gemm_nt<T>(din, dz, W, rows, n_in, n_out);
  }

 private:
  // out (rows, n_out) = X[rows] @ W for CSR X.
  void csr_matmul(const T* W, const Batch<T>& in, T* out, int64_t rows, int threads) const {
    const InputView<T>& X = *in.csr;
    auto row = [&](int64_t r) {
      T* o = out + r * n_out;
      std::memset(o, 0, sizeof(T) * n_out);
      const int64_t s = in.csr_row(r);
      for (int64_t p = X.indptr[s]; p < X.indptr[s + 1]; ++p) {
        const T v = X.data[p];
        const T* w = W + X.indices[p] * n_out;
        for (int64_t j = 0; j < n_out; ++j) o[j] += v * w[j];
      }
    };
    parallel_for(rows, rows * n_out, threads, row);
  }

  // dW (n_in, n_out) += X[rows]^T dz for CSR X.
  void csr_weight_grad(const Batch<T>& in, const T* dz, T* dW, int64_t rows) const {
    const InputView<T>& X = *in.csr;
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
