// The _cuda extension's kernels (kernels.cu): declarations the host code
// calls. Pointers are device pointers; shapes row-major, as the CPU core.
#pragma once
#include <cstddef>
#include <cstdint>

#include <cuda_runtime.h>

#include "../core/types.hpp"

typedef struct cublasLtContext* cublasLtHandle_t;

namespace nc::cuda {

// y (rows, cols) = act(y + bias), bias by column (or null); softmax by row.
template <class T>
void bias_activation(T* y, const T* bias, int64_t rows, int64_t cols, const ActSpec& act, cudaStream_t stream);

// The fused optimizer steps over n values of the flat buffer, as
// kernels/optimizers.hpp's sgd_range and adam_range (scikit-learn's rules:
// g = grad + l2 p; SGD v = mu v - eta g, p += v, or with Nesterov p += mu v -
// eta g; Adam m = b1 m + c1 g, v = b2 v + c2 g^2, p -= rate m / (sqrt(v) + e)).
template <class T>
void sgd_step(T* p, T* v, const T* grad, int64_t n, T l2, T mu, T eta, bool nesterov, cudaStream_t stream);
template <class T>
void adam_step(T* p, T* m, T* v, const T* grad, int64_t n, T l2, T b1, T b2, T c1, T c2, T e, T rate,
               cudaStream_t stream);

// One cuBLASLt handle and its workspace (per device; not thread-safe).
class Blas {
 public:
  Blas();
  ~Blas();
  Blas(const Blas&) = delete;
  Blas& operator=(const Blas&) = delete;
  // C (m, n) = alpha op(A) op(B) + beta C: A (m, k), or (k, m) when ta; B (k, n), or (n, k) when tb
  template <class T>
  void gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, T alpha, const T* A, const T* B, T beta, T* C,
            cudaStream_t stream);
  static size_t version();

 private:
  static constexpr size_t kWorkspace = size_t(32) << 20;
  cublasLtHandle_t handle_ = nullptr;
  void* workspace_ = nullptr;
};

}  // namespace nc::cuda
