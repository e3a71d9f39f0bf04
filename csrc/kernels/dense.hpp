// The Dense layer's loops other than the GEMM: column sums (the bias
// gradient) and the CSR products of a sparse first layer.
#pragma once
#include <cstdint>
#include <cstring>

#include "../core/parallel.hpp"
#include "../core/simd.hpp"
#include "../core/types.hpp"

namespace nc {

// db (n) (+)= the column sums of dz (rows, n).
NC_ISA_FUNCTION((template <class T>), (<T>), void, column_sums,
                (T* __restrict db, const T* __restrict dz, int64_t rows, int64_t n, bool accumulate),
                (db, dz, rows, n, accumulate), {
  if (!accumulate) std::memset(db, 0, sizeof(T) * n);
  for (int64_t i = 0; i < rows; ++i) {
    const T* di = dz + i * n;
_Pragma("omp simd")
    for (int64_t j = 0; j < n; ++j) db[j] += di[j];
  }
})

// out (rows, n_out) = X[rows_idx] @ W (n_cols, n_out) for CSR X (rows_idx null: rows 0..).
template <class T>
void csr_matmul(T* out, const InputView<T>& X, const int64_t* rows_idx, const T* W, int64_t rows,
                int64_t n_out, int threads) {
  parallel_for(rows, rows * n_out, threads, [&](int64_t r) {
    T* o = out + r * n_out;
    std::memset(o, 0, sizeof(T) * n_out);
    const int64_t s = rows_idx ? rows_idx[r] : r;
    for (int64_t p = X.indptr[s]; p < X.indptr[s + 1]; ++p) {
      const T v = X.data[p];
      const T* w = W + X.indices[p] * n_out;
      for (int64_t j = 0; j < n_out; ++j) o[j] += v * w[j];
    }
  });
}

// dW (n_cols, n_out) += X[rows_idx]^T dz (rows, n_out) for CSR X.
template <class T>
void csr_weight_grad(T* dW, const InputView<T>& X, const int64_t* rows_idx, const T* dz,
                     int64_t rows, int64_t n_out) {
  for (int64_t r = 0; r < rows; ++r) {
    const T* d = dz + r * n_out;
    const int64_t s = rows_idx ? rows_idx[r] : r;
    for (int64_t p = X.indptr[s]; p < X.indptr[s + 1]; ++p) {
      const T v = X.data[p];
      T* g = dW + X.indices[p] * n_out;
      for (int64_t j = 0; j < n_out; ++j) g[j] += v * d[j];
    }
  }
}

}  // namespace nc
