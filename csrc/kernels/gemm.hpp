// Row-major GEMM: C = alpha * op(A) op(B) + beta * C. Three paths:
//  - float32 products of a mini-batch's size on an AVX-512 CPU: a register-tiled
//    kernel of our own (below), parallel over row blocks on our OpenMP threads;
//  - tiny products (any dtype, any CPU): plain vectorized loops;
//  - everything else: OpenBLAS from the scipy-openblas32 wheel.
// Never call this inside an OpenMP region.
#pragma once
#include <cblas.h>

#include "../core/parallel.hpp"
#include "../core/simd.hpp"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <type_traits>
#include <vector>

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


// ---------------------------------------------------------------------------
// The register-tiled float32 kernel. op(B) is packed (or used in place) as k
// rows of ldb floats, zero-padded to whole vectors; each tile keeps MR rows x
// NV vectors of C in registers while it runs along k, broadcasting op(A)'s
// entries: op(A)[i][p] = a[i * ars + p * acs], so A is never copied or
// transposed. Measured on this project's AVX-512 machine (one thread, GFLOP/s,
// OpenBLAS pinned to its Haswell kernels by OPENBLAS_CORETYPE): 64x128x64
// 118 vs 73, 64x64x128 128 vs 71, 64x128x128 146 vs 76; 256x1024x784 91 vs 81.
namespace tile {

#define NC_ALWAYS_INLINE __attribute__((always_inline)) inline

template <int VW, int MR, int NV>
NC_ALWAYS_INLINE void micro(float* __restrict c, int64_t ldc, const float* __restrict a,
                            int64_t ars, int64_t acs, const float* __restrict bp, int64_t ldb,
                            int64_t k, int cols, float alpha, float beta) {
  typedef float V __attribute__((vector_size(VW * 4)));
  typedef float VU __attribute__((vector_size(VW * 4), aligned(4)));
  V acc[MR][NV];
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) acc[r][v] = V{};
  for (int64_t p = 0; p < k; ++p) {
    V b[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) b[v] = *reinterpret_cast<const VU*>(bp + p * ldb + v * VW);
    const float* ap = a + p * acs;
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) {
      const V av = V{} + ap[r * ars];
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[r][v] += av * b[v];
    }
  }
  if (cols == NV * VW) {
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r)
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) {
        VU* cp = reinterpret_cast<VU*>(c + r * ldc + v * VW);
        *cp = beta == 0.f ? alpha * acc[r][v] : alpha * acc[r][v] + beta * *cp;
      }
  } else {  // the last block of columns: whole vectors, then the rest one by one
    const int whole = cols / VW, rest = cols % VW;
    for (int r = 0; r < MR; ++r) {
      float* cr = c + r * ldc;
      for (int v = 0; v < whole; ++v) {
        VU* cp = reinterpret_cast<VU*>(cr + v * VW);
        *cp = beta == 0.f ? alpha * acc[r][v] : alpha * acc[r][v] + beta * *cp;
      }
      if (rest) {
        float t[VW];
        std::memcpy(t, &acc[r][whole], sizeof t);
        float* cv = cr + whole * VW;
        for (int j = 0; j < rest; ++j) cv[j] = beta == 0.f ? alpha * t[j] : alpha * t[j] + beta * cv[j];
      }
    }
  }
}

// Rows [r0, r1) of C, all n columns.
template <int VW, int MR, int NV>
NC_ALWAYS_INLINE void rows_block(float* c, int64_t ldc, const float* a, int64_t ars, int64_t acs,
                                 const float* bp, int64_t ldb, int64_t r0, int64_t r1, int64_t n,
                                 int64_t k, float alpha, float beta) {
  constexpr int NR = NV * VW;
  for (int64_t j = 0; j < n; j += NR) {
    const int cols = int(std::min<int64_t>(NR, n - j));
    int64_t i = r0;
    for (; i + MR <= r1; i += MR)
      micro<VW, MR, NV>(c + i * ldc + j, ldc, a + i * ars, ars, acs, bp + j, ldb, k, cols, alpha,
                        beta);
    float* ci = c + i * ldc + j;
    const float* ai = a + i * ars;
    static_assert(MR == 6, "the remainder switch below covers 1..5 rows");
    switch (r1 - i) {
      case 1: micro<VW, 1, NV>(ci, ldc, ai, ars, acs, bp + j, ldb, k, cols, alpha, beta); break;
      case 2: micro<VW, 2, NV>(ci, ldc, ai, ars, acs, bp + j, ldb, k, cols, alpha, beta); break;
      case 3: micro<VW, 3, NV>(ci, ldc, ai, ars, acs, bp + j, ldb, k, cols, alpha, beta); break;
      case 4: micro<VW, 4, NV>(ci, ldc, ai, ars, acs, bp + j, ldb, k, cols, alpha, beta); break;
      case 5: micro<VW, 5, NV>(ci, ldc, ai, ars, acs, bp + j, ldb, k, cols, alpha, beta); break;
      default: break;
    }
  }
}

constexpr int kRows = 6;     // MR: rows of C per tile
constexpr int kVector = 16;  // floats per AVX-512 register

// The AVX-512 entry: 6 x 32 tiles (12 accumulators), or 6 x 16 for narrow C.
__attribute__((target("avx512f"))) inline void rows_avx512(
    float* c, int64_t ldc, const float* a, int64_t ars, int64_t acs, const float* bp,
    int64_t ldb, int64_t r0, int64_t r1, int64_t n, int64_t k, float alpha, float beta) {
  if (n <= kVector)
    rows_block<kVector, kRows, 1>(c, ldc, a, ars, acs, bp, ldb, r0, r1, n, k, alpha, beta);
  else
    rows_block<kVector, kRows, 2>(c, ldc, a, ars, acs, bp, ldb, r0, r1, n, k, alpha, beta);
}
#undef NC_ALWAYS_INLINE

inline bool available() {
#if defined(__GNUC__) && defined(__x86_64__) && !defined(NEUROCORE_NO_TILE_GEMM)
  static const bool ok = [] {
    const char* e = std::getenv("NEUROCORE_TILE_GEMM");
    if (e && e[0] == '0') return false;
    return bool(__builtin_cpu_supports("avx512f"));
  }();
  return ok;
#else
  return false;
#endif
}

// The products the tile kernel takes: op(B) small enough to stay in L2 once
// packed, and C at least 8 wide unless the product is tiny (a narrow C wastes
// vector lanes, which only pays while the whole product is a few thousand
// multiply-adds: 32x20 @ 20x1 takes 0.05 us this way, 0.3 us as dot products).
constexpr int64_t kMaxPackedB = int64_t(1) << 18;  // floats (1 MiB)
inline bool takes(int64_t m, int64_t n, int64_t k) {
  if (m < 1 || n < 1 || k < 1 || !available()) return false;
  if (n < 8 && m * n * k > kSmallGemmFlops) return false;  // a wide GEMV: OpenBLAS
  return k * ((n + 31) / 32 * 32) <= kMaxPackedB;
}

// Below this many multiply-adds a product runs on one thread.
constexpr int64_t kParallelMinMacs = int64_t(1) << 16;

// op(B) as k rows of ldb floats, zero-padded to whole 32-float blocks: reused
// per calling thread, so the training loop does not allocate.
inline float* pack_buffer(int64_t size) {
  thread_local std::vector<float> buf;
  if (buf.size() < size_t(size)) buf.resize(size_t(size));
  return buf.data();
}

// Packing loops written out, not left to memcpy/memset: a tiny network's step
// packs ~100 rows of a few floats, and the library calls cost more than the copy.
#define NC_NO_LIBC_LOOPS __attribute__((optimize("no-tree-loop-distribute-patterns")))

// dst (k rows of ldd) = src (k rows of lds), n floats each, zero-padded to ldd.
NC_NO_LIBC_LOOPS inline void copy_rows(float* __restrict dst, int64_t ldd,
                                       const float* __restrict src, int64_t lds, int64_t n,
                                       int64_t k) {
  for (int64_t p = 0; p < k; ++p) {
    float* d = dst + p * ldd;
    const float* s = src + p * lds;
    for (int64_t j = 0; j < n; ++j) d[j] = s[j];
    for (int64_t j = n; j < ldd; ++j) d[j] = 0.f;
  }
}

// columns [n, ldd) of dst (k rows of ldd) = 0
NC_NO_LIBC_LOOPS inline void zero_pad(float* dst, int64_t ldd, int64_t n, int64_t k) {
  for (int64_t p = 0; p < k; ++p)
    for (int64_t j = n; j < ldd; ++j) dst[p * ldd + j] = 0.f;
}
#undef NC_NO_LIBC_LOOPS

// dst[p * ldd + j] = src[j * lds + p] for j < n, p < k: whole 16 x 16 blocks
// with fixed bounds (unrolled into shuffles), then the edges.
NC_VECTOR_CLONES inline void transpose(float* __restrict dst, int64_t ldd, const float* __restrict src,
                                       int64_t lds, int64_t n, int64_t k) {
  constexpr int64_t Bk = 16;
  const int64_t n0 = n / Bk * Bk, k0 = k / Bk * Bk;
  for (int64_t j0 = 0; j0 < n0; j0 += Bk)
    for (int64_t p0 = 0; p0 < k0; p0 += Bk)
      for (int64_t p = 0; p < Bk; ++p)
#pragma omp simd
        for (int64_t j = 0; j < Bk; ++j) dst[(p0 + p) * ldd + j0 + j] = src[(j0 + j) * lds + p0 + p];
  for (int64_t j = 0; j < n; ++j)
    for (int64_t p = (j < n0 ? k0 : 0); p < k; ++p) dst[p * ldd + j] = src[j * lds + p];
}

// c (m, n) = alpha * op(A) @ op(B) + beta * c. op(B)[p][j] = b[p * bps + j * bjs].
inline void run(float* c, const float* a, int64_t ars, int64_t acs, const float* b, int64_t bps,
                int64_t bjs, int64_t m, int64_t n, int64_t k, float alpha, float beta,
                int threads) {
  const int64_t NR = n <= kVector ? kVector : 2 * kVector;
  const int64_t ldb = (n + NR - 1) / NR * NR;
  const float* bp = b;
  int64_t ld = bps;
  if (!(bjs == 1 && ldb == n)) {  // pack unless op(B) is already whole rows of blocks
    float* buf = pack_buffer(k * ldb);
    if (bjs == 1) {
      copy_rows(buf, ldb, b, bps, n, k);
    } else {  // op(B) = B^T
      zero_pad(buf, ldb, n, k);
      transpose(buf, ldb, b, bjs, n, k);
    }
    bp = buf;
    ld = ldb;
  }
  const int nt = (threads > 1 && m * n * k >= kParallelMinMacs && m >= 2 * kRows) ? threads : 1;
  if (nt == 1) {
    rows_avx512(c, n, a, ars, acs, bp, ld, 0, m, n, k, alpha, beta);
    return;
  }
  // whole tiles per thread: the split depends only on m and the thread count
  const int64_t tiles = (m + kRows - 1) / kRows;
#pragma omp parallel num_threads(nt)
  {
    const int t = omp_get_thread_num(), w = omp_get_num_threads();
    const int64_t r0 = std::min(m, tiles * t / w * kRows), r1 = std::min(m, tiles * (t + 1) / w * kRows);
    if (r1 > r0) rows_avx512(c, n, a, ars, acs, bp, ld, r0, r1, n, k, alpha, beta);
  }
}

}  // namespace tile

}  // namespace detail

// c (m, n) = alpha * a (m, k) @ b (k, n) + beta * c
template <class T>
void gemm_nn(T* c, const T* a, const T* b, int64_t m, int64_t n, int64_t k, T alpha = 1,
             T beta = 0, int threads = 1) {
  if constexpr (std::is_same_v<T, float>) {
    if (detail::tile::takes(m, n, k))
      return detail::tile::run(c, a, k, 1, b, n, 1, m, n, k, alpha, beta, threads);
  }
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
             T beta = 0, int threads = 1) {
  if constexpr (std::is_same_v<T, float>) {
    if (detail::tile::takes(m, n, k))
      return detail::tile::run(c, a, 1, m, b, n, 1, m, n, k, alpha, beta, threads);
  }
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
             T beta = 0, int threads = 1) {
  if constexpr (std::is_same_v<T, float>) {
    if (detail::tile::takes(m, n, k))
      return detail::tile::run(c, a, k, 1, b, 1, k, m, n, k, alpha, beta, threads);
  }
  if (m * n * k > kSmallGemmFlops) {
    detail::blas_gemm(CblasNoTrans, CblasTrans, m, n, k, alpha, a, k, b, k, beta, c, n);
    return;
  }
  detail::scale_c(c, m, n, n, beta);
  detail::small_nt(c, a, b, m, n, k, alpha);
}

}  // namespace nc
