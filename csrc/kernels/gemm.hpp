// Row-major GEMM: C = alpha * op(A) op(B) + beta * C, through OpenBLAS from the
// scipy-openblas32 wheel, with a plain loop for tiny products where the BLAS
// call overhead dominates. Never call this inside an OpenMP region.
#pragma once
#include <cblas.h>

#include "../core/simd.hpp"

#include <atomic>

#include <cstdint>
#include <cstdlib>
#include <limits>
#include <stdexcept>

namespace nc {

// Below this many multiply-adds a plain loop beats the BLAS call.
constexpr int64_t kSmallGemmFlops = 24 * 24 * 24;

// The thread count OpenBLAS was last given (set per fit or predict, not per call:
// changing it is expensive, and toggling it per GEMM cost a whole 2x speed-up).
inline std::atomic<int>& blas_threads_current() {
  static std::atomic<int> v{-1};
  return v;
}

inline void set_blas_threads(int n) {
  n = n < 1 ? 1 : n;
  if (blas_threads_current().exchange(n) != n) scipy_openblas_set_num_threads(n);
}
inline int get_blas_threads() { return scipy_openblas_get_num_threads(); }

// A call whose largest GEMM is below this many flops runs OpenBLAS on one
// thread: waking threads costs more than it saves (measured: see issue 4).
inline int64_t& blas_parallel_min_flops() {
  static int64_t v = [] {
    const char* e = std::getenv("NEUROCORE_BLAS_PARALLEL_MIN_FLOPS");
    return e ? std::atoll(e) : int64_t(8) << 20;
  }();
  return v;
}

// The BLAS threads for a call whose largest product has `max_flops`.
inline int blas_threads_for(int64_t max_flops, int threads) {
  return max_flops >= blas_parallel_min_flops() ? threads : 1;
}

namespace detail {

inline blasint to_blas(int64_t v) {
  if (v > std::numeric_limits<blasint>::max())
    throw std::invalid_argument("matrix dimension too large for 32-bit BLAS");
  return static_cast<blasint>(v);
}

inline void blas_gemm(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int64_t m, int64_t n, int64_t k,
                      float alpha, const float* a, int64_t lda, const float* b, int64_t ldb,
                      float beta, float* c, int64_t ldc) {
  scipy_cblas_sgemm(CblasRowMajor, ta, tb, to_blas(m), to_blas(n), to_blas(k), alpha, a,
                    to_blas(lda), b, to_blas(ldb), beta, c, to_blas(ldc));
}
inline void blas_gemm(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int64_t m, int64_t n, int64_t k,
                      double alpha, const double* a, int64_t lda, const double* b, int64_t ldb,
                      double beta, double* c, int64_t ldc) {
  scipy_cblas_dgemm(CblasRowMajor, ta, tb, to_blas(m), to_blas(n), to_blas(k), alpha, a,
                    to_blas(lda), b, to_blas(ldb), beta, c, to_blas(ldc));
}

template <class T>
inline void scale_c(T* c, int64_t m, int64_t n, int64_t ldc, T beta) {
  for (int64_t i = 0; i < m; ++i) {
    T* ci = c + i * ldc;
    if (beta == T(0)) {
      for (int64_t j = 0; j < n; ++j) ci[j] = T(0);
    } else if (beta != T(1)) {
      for (int64_t j = 0; j < n; ++j) ci[j] *= beta;
    }
  }
}

}  // namespace detail

// OpenBLAS's parallel work, run on our OpenMP threads: one pool for the whole
// core, so no OpenBLAS worker spins while our loops run (set once at import).
inline void openmp_blas_backend(int /*sync*/, openblas_dojob_callback dojob, int numjobs,
                                size_t jobdata_elsize, void* jobdata, int dojob_data) {
  if (numjobs < 2) {
    for (int i = 0; i < numjobs; ++i)
      dojob(i, static_cast<char*>(jobdata) + size_t(i) * jobdata_elsize, dojob_data);
    return;
  }
#pragma omp parallel for num_threads(numjobs) schedule(static, 1)
  for (int i = 0; i < numjobs; ++i)
    dojob(i, static_cast<char*>(jobdata) + size_t(i) * jobdata_elsize, dojob_data);
}

inline void install_openmp_blas_backend() {
  scipy_openblas_set_threads_callback_function(openmp_blas_backend);
}

namespace detail {

// The plain loops for tiny products, over restrict pointers so they vectorize;
// compiled per instruction set (see NC_VECTOR_CLONES).
template <class T>
NC_VECTOR_CLONES void small_nn(T* __restrict c, const T* __restrict a, const T* __restrict b,
                               int64_t m, int64_t n, int64_t k, T alpha) {
  if (n < 8) {  // a narrow output: dot products along k
    for (int64_t i = 0; i < m; ++i) {
      const T* ai = a + i * k;
      for (int64_t j = 0; j < n; ++j) {
        T s = 0;
#pragma omp simd reduction(+ : s)
        for (int64_t p = 0; p < k; ++p) s += ai[p] * b[p * n + j];
        c[i * n + j] += alpha * s;
      }
    }
    return;
  }
  for (int64_t i = 0; i < m; ++i) {
    T* ci = c + i * n;
    for (int64_t p = 0; p < k; ++p) {
      const T av = alpha * a[i * k + p];
      const T* bp = b + p * n;
#pragma omp simd
      for (int64_t j = 0; j < n; ++j) ci[j] += av * bp[j];
    }
  }
}

template <class T>
NC_VECTOR_CLONES void small_tn(T* __restrict c, const T* __restrict a, const T* __restrict b,
                               int64_t m, int64_t n, int64_t k, T alpha) {
  if (n < 8) {  // a narrow output: run along m, contiguous in a
    for (int64_t p = 0; p < k; ++p) {
      const T* ap = a + p * m;
      for (int64_t j = 0; j < n; ++j) {
        const T bv = alpha * b[p * n + j];
#pragma omp simd
        for (int64_t i = 0; i < m; ++i) c[i * n + j] += ap[i] * bv;
      }
    }
    return;
  }
  for (int64_t p = 0; p < k; ++p) {
    const T* ap = a + p * m;
    const T* bp = b + p * n;
    for (int64_t i = 0; i < m; ++i) {
      const T av = alpha * ap[i];
      T* ci = c + i * n;
#pragma omp simd
      for (int64_t j = 0; j < n; ++j) ci[j] += av * bp[j];
    }
  }
}

template <class T>
NC_VECTOR_CLONES void small_nt(T* __restrict c, const T* __restrict a, const T* __restrict b,
                               int64_t m, int64_t n, int64_t k, T alpha) {
  if (k < 16) {  // short dot products: run along the output row instead
    for (int64_t i = 0; i < m; ++i) {
      T* ci = c + i * n;
      for (int64_t p = 0; p < k; ++p) {
        const T av = alpha * a[i * k + p];
#pragma omp simd
        for (int64_t j = 0; j < n; ++j) ci[j] += av * b[j * k + p];
      }
    }
    return;
  }
  for (int64_t i = 0; i < m; ++i) {
    const T* ai = a + i * k;
    T* ci = c + i * n;
    for (int64_t j = 0; j < n; ++j) {
      const T* bj = b + j * k;
      T s = 0;
#pragma omp simd reduction(+ : s)
      for (int64_t p = 0; p < k; ++p) s += ai[p] * bj[p];
      ci[j] += alpha * s;
    }
  }
}

}  // namespace detail

// c (m, n) = alpha * a (m, k) @ b (k, n) + beta * c
template <class T>
void gemm_nn(T* c, const T* a, const T* b, int64_t m, int64_t n, int64_t k, T alpha = 1,
             T beta = 0) {
  if (m * n * k > kSmallGemmFlops) {
    detail::blas_gemm(CblasNoTrans, CblasNoTrans, m, n, k, alpha, a, k, b, n, beta, c, n);
    return;
  }
  detail::scale_c(c, m, n, n, beta);
  detail::small_nn(c, a, b, m, n, k, alpha);
}

// c (m, n) = alpha * a^T @ b + beta * c, with a (k, m) and b (k, n)
template <class T>
void gemm_tn(T* c, const T* a, const T* b, int64_t m, int64_t n, int64_t k, T alpha = 1,
             T beta = 0) {
  if (m * n * k > kSmallGemmFlops) {
    detail::blas_gemm(CblasTrans, CblasNoTrans, m, n, k, alpha, a, m, b, n, beta, c, n);
    return;
  }
  detail::scale_c(c, m, n, n, beta);
  detail::small_tn(c, a, b, m, n, k, alpha);
}

// c (m, n) = alpha * a @ b^T + beta * c, with a (m, k) and b (n, k)
template <class T>
void gemm_nt(T* c, const T* a, const T* b, int64_t m, int64_t n, int64_t k, T alpha = 1,
             T beta = 0) {
  if (m * n * k > kSmallGemmFlops) {
    detail::blas_gemm(CblasNoTrans, CblasTrans, m, n, k, alpha, a, k, b, k, beta, c, n);
    return;
  }
  detail::scale_c(c, m, n, n, beta);
  detail::small_nt(c, a, b, m, n, k, alpha);
}

}  // namespace nc
