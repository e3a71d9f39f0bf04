// Row-major GEMM: C = alpha * op(A) op(B) + beta * C. Three paths:
//  - float32 products of a mini-batch's size on an AVX-512 CPU: a register-tiled
//    kernel of our own (below), parallel over row blocks on our OpenMP threads;
//  - tiny products (any dtype, any CPU): plain vectorized loops;
//  - everything else: OpenBLAS from the scipy-openblas32 wheel.
// Never call this inside an OpenMP region.
#pragma once
#include <cblas.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "../core/parallel.hpp"
#include "../core/simd.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <stdexcept>
#include <type_traits>
#include <vector>

namespace nc {

// Below this many multiply-adds a plain loop beats the BLAS call.
constexpr int64_t kSmallGemmFlops = 24 * 24 * 24;

// OpenBLAS's thread count, set per fit or predict, not per call (changing it is
// expensive, and toggling it per GEMM cost a whole 2x speed-up), and only when
// it differs from what OpenBLAS has now: compared with OpenBLAS's own value, not
// a cached one, so a change made from outside (threadpoolctl) is seen.
inline void set_blas_threads(int n) {
  n = n < 1 ? 1 : n;
  if (scipy_openblas_get_num_threads() != n) scipy_openblas_set_num_threads(n);
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
// The register-tiled float32 kernel (AVX-512). Each tile keeps 6 rows x 2
// vectors of C in 12 registers while it runs along k, broadcasting op(A)'s
// entries: op(A)[i][p] = a[i * ars + p * acs]. Small products read op(A) and
// op(B) in place (masked loads at the right edge, so no padding); large or
// transposed ones pack blocks of both into panels first (see rows_packed).
// Measured on this project's AVX-512 machine, one thread, GFLOP/s against
// OpenBLAS pinned to its Haswell kernels by OPENBLAS_CORETYPE: 64x128x64 212
// vs 73, 64x64x128 219 vs 71; packed, 256x1024x1024 205, 1024x1024x256 (A^T)
// 220, 256x1024x1024 (B^T) 196, against 115-130 for the same read in place.
namespace tile {

#if defined(__GNUC__) && defined(__x86_64__) && !defined(NEUROCORE_NO_TILE_GEMM)
#define NC_TILE_GEMM 1
#define NC_AVX512 __attribute__((target("avx512f")))
#define NC_AVX512_INLINE __attribute__((target("avx512f"), always_inline)) inline

constexpr int kRows = 6;     // rows of C per tile
constexpr int kVector = 16;  // floats per register

// C[MR rows, cols] = alpha * op(A)[MR rows] @ op(B)[:, NV vectors] + beta * C.
// MASKED: the block is narrower than NV whole vectors (loads and stores masked).
template <int MR, int NV, bool MASKED>
NC_AVX512_INLINE void micro(float* __restrict c, int64_t ldc, const float* __restrict a,
                            int64_t ars, int64_t acs, const float* __restrict b, int64_t ldb,
                            int64_t k, int cols, float alpha, float beta) {
  __m512 acc[MR][NV];
  __mmask16 mask[NV];
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v) acc[r][v] = _mm512_setzero_ps();
#pragma GCC unroll 2
  for (int v = 0; v < NV; ++v) {
    const int w = cols - v * kVector;
    mask[v] = w >= kVector ? __mmask16(0xFFFF) : w <= 0 ? __mmask16(0) : __mmask16((1u << w) - 1);
  }
  for (int64_t p = 0; p < k; ++p) {
    __m512 bv[NV];
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v)
      bv[v] = MASKED ? _mm512_maskz_loadu_ps(mask[v], b + p * ldb + v * kVector)
                     : _mm512_loadu_ps(b + p * ldb + v * kVector);
    const float* ap = a + p * acs;
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) {
      const __m512 av = _mm512_set1_ps(ap[r * ars]);
#pragma GCC unroll 2
      for (int v = 0; v < NV; ++v) acc[r][v] = _mm512_fmadd_ps(av, bv[v], acc[r][v]);
    }
  }
  const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v) {
      float* cp = c + r * ldc + v * kVector;
      __m512 out = _mm512_mul_ps(va, acc[r][v]);
      if (MASKED) {
        if (beta != 0.f) out = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(mask[v], cp), out);
        _mm512_mask_storeu_ps(cp, mask[v], out);
      } else {
        if (beta != 0.f) out = _mm512_fmadd_ps(vb, _mm512_loadu_ps(cp), out);
        _mm512_storeu_ps(cp, out);
      }
    }
}

// One column block of rows [r0, r1): whole tiles, then the remaining rows. Row
// i's tile starts at a + i * ats (ats = ars in place, = k for packed panels).
template <int NV, bool MASKED>
NC_AVX512_INLINE void column_block(float* c, int64_t ldc, const float* a, int64_t ars,
                                   int64_t acs, int64_t ats, const float* b, int64_t ldb,
                                   int64_t r0, int64_t r1, int64_t k, int cols, float alpha,
                                   float beta) {
  int64_t i = r0;
  for (; i + kRows <= r1; i += kRows)
    micro<kRows, NV, MASKED>(c + i * ldc, ldc, a + i * ats, ars, acs, b, ldb, k, cols, alpha,
                             beta);
  float* ci = c + i * ldc;
  const float* ai = a + i * ats;
  static_assert(kRows == 6, "the switch below covers 1..5 remaining rows");
  switch (r1 - i) {
    case 1: micro<1, NV, MASKED>(ci, ldc, ai, ars, acs, b, ldb, k, cols, alpha, beta); break;
    case 2: micro<2, NV, MASKED>(ci, ldc, ai, ars, acs, b, ldb, k, cols, alpha, beta); break;
    case 3: micro<3, NV, MASKED>(ci, ldc, ai, ars, acs, b, ldb, k, cols, alpha, beta); break;
    case 4: micro<4, NV, MASKED>(ci, ldc, ai, ars, acs, b, ldb, k, cols, alpha, beta); break;
    case 5: micro<5, NV, MASKED>(ci, ldc, ai, ars, acs, b, ldb, k, cols, alpha, beta); break;
    default: break;
  }
}

// Rows [r0, r1) of C (m, n), all n columns: blocks of 32 columns, then the
// right edge as one or two (masked) vectors.
NC_AVX512 inline void rows_avx512(float* c, int64_t ldc, const float* a, int64_t ars,
                                  int64_t acs, const float* b, int64_t ldb, int64_t r0,
                                  int64_t r1, int64_t n, int64_t k, float alpha, float beta) {
  constexpr int NR = 2 * kVector;
  int64_t j = 0;
  for (; j + NR <= n; j += NR)
    column_block<2, false>(c + j, ldc, a, ars, acs, ars, b + j, ldb, r0, r1, k, NR, alpha, beta);
  const int rest = int(n - j);
  if (rest == 0) return;
  if (rest == kVector)
    column_block<1, false>(c + j, ldc, a, ars, acs, ars, b + j, ldb, r0, r1, k, rest, alpha, beta);
  else if (rest < kVector)
    column_block<1, true>(c + j, ldc, a, ars, acs, ars, b + j, ldb, r0, r1, k, rest, alpha, beta);
  else
    column_block<2, true>(c + j, ldc, a, ars, acs, ars, b + j, ldb, r0, r1, k, rest, alpha, beta);
}

inline bool available() {
  static const bool ok = [] {
    const char* e = std::getenv("NEUROCORE_TILE_GEMM");
    if (e && e[0] == '0') return false;
    return bool(__builtin_cpu_supports("avx512f"));
  }();
  return ok;
}
#else
inline bool available() { return false; }
#endif

// The products the tile kernel takes: C at least 8 wide unless the product is
// tiny (a narrow C wastes vector lanes, which only pays while the whole product
// is a few thousand multiply-adds: 32x20 @ 20x1 takes 0.05 us this way, 0.3 us
// as dot products).
inline bool takes(int64_t m, int64_t n, int64_t k) {
  if (m < 1 || n < 1 || k < 1 || !available()) return false;
  return n >= 8 || m * n * k <= kSmallGemmFlops;  // a wide GEMV: OpenBLAS
}

// Below this many multiply-adds a product runs on one thread.
constexpr int64_t kParallelMinMacs = int64_t(1) << 16;

// Blocking of the packed path (GotoBLAS / BLIS order): a kBlockK x kBlockN block
// of op(B) is packed into 32-column panels (512 KiB, resident in L2; one panel,
// 32 KiB, in L1 while a row block runs over it), and a kBlockM x kBlockK block
// of op(A) into 6-row panels (96 KiB, in L2). Unpacked, op(B)'s rows lie n floats
// apart: with n = 1024 every row of a panel falls in the same L1 set, and the
// large products ran at 115-130 GFLOP/s on one core instead of ~200.
constexpr int64_t kBlockK = 256, kBlockN = 512, kBlockM = 96;
constexpr int64_t kPanel = 2 * kVector;
static_assert(kBlockM % kRows == 0 && kBlockN % kPanel == 0, "whole panels per block");

// Products whose op(B) exceeds this many floats, or is transposed, are packed;
// smaller ones are read in place (packing costs more than it saves there).
constexpr int64_t kPackMinB = int64_t(1) << 14;
inline bool packs(int64_t m, int64_t n, int64_t k, bool transposed) {
  return transposed || (k * n > kPackMinB && m > 2 * kRows);
}

// Per-thread packing buffers of fixed size: the training loop does not allocate.
inline float* pack_buffer_b() {
  thread_local std::vector<float> buf(size_t(kBlockK * kBlockN));
  return buf.data();
}
inline float* pack_buffer_a() {
  thread_local std::vector<float> buf(size_t(kBlockM * kBlockK));
  return buf.data();
}

// dst[q * kb * 32 + p * 32 + c] = op(B)[p][q * 32 + c] for p < kb, columns < nb
// (the last panel zero-padded), op(B)[p][j] = b[p * bps + j]; a transposed op(B)
// goes through pack_b_transposed.
NC_VECTOR_CLONES inline void pack_b(float* __restrict dst, const float* __restrict b,
                                    int64_t bps, int64_t kb, int64_t nb) {
  for (int64_t j0 = 0; j0 < nb; j0 += kPanel) {
    const int64_t w = std::min(kPanel, nb - j0);
    float* d = dst + j0 * kb;
    for (int64_t p = 0; p < kb; ++p) {
      const float* src = b + p * bps + j0;
      float* dp = d + p * kPanel;
      if (w == kPanel) {
#pragma omp simd
        for (int64_t c = 0; c < kPanel; ++c) dp[c] = src[c];
      } else {
        for (int64_t c = 0; c < kPanel; ++c) dp[c] = c < w ? src[c] : 0.f;
      }
    }
  }
}

// dst[t * kb * 6 + p * 6 + r] = op(A)[i0 + t * 6 + r][p] for rows < mb, p < kb
// (the last panel zero-padded), op(A)[i][p] = a[i * ars + p * acs].
NC_VECTOR_CLONES inline void pack_a(float* __restrict dst, const float* __restrict a,
                                    int64_t ars, int64_t acs, int64_t mb, int64_t kb) {
  for (int64_t i0 = 0; i0 < mb; i0 += kRows) {
    const int64_t h = std::min<int64_t>(kRows, mb - i0);
    float* d = dst + i0 * kb;
    if (ars == 1) {  // op(A) = a^T: each p holds the panel's rows contiguously
      for (int64_t p = 0; p < kb; ++p)
        for (int64_t r = 0; r < kRows; ++r) d[p * kRows + r] = r < h ? a[p * acs + i0 + r] : 0.f;
    } else {
      for (int64_t r = 0; r < kRows; ++r) {
        const float* src = a + (i0 + r) * ars;
        if (r < h) {
          for (int64_t p = 0; p < kb; ++p) d[p * kRows + r] = src[p * acs];
        } else {
          for (int64_t p = 0; p < kb; ++p) d[p * kRows + r] = 0.f;
        }
      }
    }
  }
}

#ifdef NC_TILE_GEMM
// Transposes 16 registers of 16 floats in place: r[i][j] <- r[j][i].
NC_AVX512_INLINE void transpose16(__m512 r[16]) {
  __m512 t[16];
  for (int i = 0; i < 16; i += 2) {
    t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
  }
  for (int i = 0; i < 16; i += 4)
    for (int h = 0; h < 2; ++h) {
      const __m512d a = _mm512_castps_pd(t[i + h]), b = _mm512_castps_pd(t[i + h + 2]);
      r[i + 2 * h] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, b));
      r[i + 2 * h + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, b));
    }
  // each 128-bit lane of r[i] now holds 4 finished columns of one 4-row group:
  // two rounds of 128-bit lane shuffles bring the four groups together
  for (int i = 0; i < 4; ++i) {
    t[i] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0x88);
    t[i + 4] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0xdd);
    t[i + 8] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0x88);
    t[i + 12] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0xdd);
  }
  for (int i = 0; i < 8; ++i) {
    r[i] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0x88);
    r[i + 8] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0xdd);
  }
}

// pack_b's layout for a transposed op(B), op(B)[p][j] = b[j * bps + p], in
// 16 x 16 blocks through registers: one pass
// of whole-vector loads and stores instead of a strided store per float (the
// input gradient d @ W^T of a 64-row batch spent a third of its time packing).
NC_AVX512 inline void pack_b_transposed(float* __restrict dst, const float* __restrict b,
                                        int64_t bps, int64_t kb, int64_t nb) {
  for (int64_t j0 = 0; j0 < nb; j0 += kPanel) {
    float* d = dst + j0 * kb;
    for (int64_t c0 = 0; c0 < kPanel; c0 += kVector) {
      const int64_t cols = std::max<int64_t>(0, std::min<int64_t>(kVector, nb - j0 - c0));
      for (int64_t p0 = 0; p0 < kb; p0 += kVector) {
        const int64_t depth = std::min<int64_t>(kVector, kb - p0);
        const __mmask16 m = __mmask16((1u << depth) - 1);
        __m512 r[16];
        for (int64_t c = 0; c < kVector; ++c)
          r[c] = c < cols ? _mm512_maskz_loadu_ps(m, b + (j0 + c0 + c) * bps + p0)
                          : _mm512_setzero_ps();
        transpose16(r);
        for (int64_t p = 0; p < depth; ++p) _mm512_storeu_ps(d + (p0 + p) * kPanel + c0, r[p]);
      }
    }
  }
}

// Rows [r0, r1) of c (m, n) through packed blocks of op(A) and op(B). Each
// thread packs what it reads, so threads never wait for one another; every C
// element sums its k products in the same order whatever the thread count.
NC_AVX512 inline void rows_packed(float* c, const float* a, int64_t ars, int64_t acs, const float* b,
                        int64_t bps, bool transposed, int64_t r0, int64_t r1, int64_t n,
                        int64_t k, float alpha, float beta) {
  float* pb = pack_buffer_b();
  float* pa = pack_buffer_a();
  const bool pack_a_too = (r1 - r0) * k > kPackMinB;
  for (int64_t j0 = 0; j0 < n; j0 += kBlockN) {
    const int64_t nb = std::min(kBlockN, n - j0);
    for (int64_t p0 = 0; p0 < k; p0 += kBlockK) {
      const int64_t kb = std::min(kBlockK, k - p0);
      const float* bsrc = transposed ? b + j0 * bps + p0 : b + p0 * bps + j0;
      if (transposed)
        pack_b_transposed(pb, bsrc, bps, kb, nb);
      else
        pack_b(pb, bsrc, bps, kb, nb);
      const float bet = p0 == 0 ? beta : 1.f;
      for (int64_t i0 = r0; i0 < r1; i0 += kBlockM) {
        const int64_t mb = std::min(kBlockM, r1 - i0);
        // op(A) as 6-row panels, or in place when it is small enough to stay in L1
        const float* ab = a + i0 * ars + p0 * acs;
        int64_t rs = ars, cs = acs, ts = ars;
        if (pack_a_too) {
          pack_a(pa, ab, ars, acs, mb, kb);
          ab = pa, rs = 1, cs = kRows, ts = kb;
        }
        for (int64_t q = 0; q < nb; q += kPanel) {
          const int cols = int(std::min(kPanel, nb - q));
          float* cq = c + i0 * n + j0 + q;
          const float* bq = pb + q * kb;
          if (cols == kPanel)
            column_block<2, false>(cq, n, ab, rs, cs, ts, bq, kPanel, 0, mb, kb, cols, alpha, bet);
          else if (cols <= kVector)
            column_block<1, true>(cq, n, ab, rs, cs, ts, bq, kPanel, 0, mb, kb, cols, alpha, bet);
          else
            column_block<2, true>(cq, n, ab, rs, cs, ts, bq, kPanel, 0, mb, kb, cols, alpha, bet);
        }
      }
    }
  }
}
#endif

// c (m, n) = alpha * op(A) @ op(B) + beta * c, with op(B)[p][j] = b[p * bps + j]
// (transposed = false) or b[j * bps + p] (transposed = true).
inline void run(float* c, const float* a, int64_t ars, int64_t acs, const float* b, int64_t bps,
                bool transposed, int64_t m, int64_t n, int64_t k, float alpha, float beta,
                int threads) {
#ifdef NC_TILE_GEMM
  const bool packed = packs(m, n, k, transposed);
  auto rows = [&](int64_t r0, int64_t r1) {
    if (packed)
      rows_packed(c, a, ars, acs, b, bps, transposed, r0, r1, n, k, alpha, beta);
    else  // small: op(A) and op(B) read in place
      rows_avx512(c, n, a, ars, acs, b, bps, r0, r1, n, k, alpha, beta);
  };
  const int nt = (threads > 1 && m * n * k >= kParallelMinMacs && m >= 2 * kRows) ? threads : 1;
  if (nt == 1) {
    rows(0, m);
    return;
  }
  // whole tiles per thread: the split depends only on m and the thread count
  const int64_t tiles = (m + kRows - 1) / kRows;
#pragma omp parallel num_threads(nt)
  {
    const int t = omp_get_thread_num(), w = omp_get_num_threads();
    const int64_t r0 = std::min(m, tiles * t / w * kRows);
    const int64_t r1 = std::min(m, tiles * (t + 1) / w * kRows);
    if (r1 > r0) rows(r0, r1);
  }
#endif
}

#undef NC_AVX512
#undef NC_AVX512_INLINE
}  // namespace tile

// c (m, n) = alpha * op(a) @ op(b) + beta * c, op(a) (m, k), op(b) (k, n): the
// one place that picks the path (a transposed a^T @ b^T is never needed).
template <class T>
void gemm(bool ta, bool tb, T* c, const T* a, const T* b, int64_t m, int64_t n, int64_t k,
          T alpha, T beta, int threads) {
  const int64_t lda = ta ? m : k, ldb = tb ? k : n;
  if constexpr (std::is_same_v<T, float>) {
    if (tile::takes(m, n, k))
      return tile::run(c, a, ta ? 1 : k, ta ? m : 1, b, ldb, tb, m, n, k, alpha, beta, threads);
  }
  if (m * n * k > kSmallGemmFlops) {
    blas_gemm(ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n, k, alpha, a,
              lda, b, ldb, beta, c, n);
    return;
  }
  scale_c(c, m, n, n, beta);
  if (ta)
    small_tn(c, a, b, m, n, k, alpha);
  else if (tb)
    small_nt(c, a, b, m, n, k, alpha);
  else
    small_nn(c, a, b, m, n, k, alpha);
}

}  // namespace detail

// c (m, n) = alpha * a (m, k) @ b (k, n) + beta * c
template <class T>
void gemm_nn(T* c, const T* a, const T* b, int64_t m, int64_t n, int64_t k, T alpha = 1,
             T beta = 0, int threads = 1) {
  detail::gemm(false, false, c, a, b, m, n, k, alpha, beta, threads);
}

// c (m, n) = alpha * a^T @ b + beta * c, with a (k, m) and b (k, n)
template <class T>
void gemm_tn(T* c, const T* a, const T* b, int64_t m, int64_t n, int64_t k, T alpha = 1,
             T beta = 0, int threads = 1) {
  detail::gemm(true, false, c, a, b, m, n, k, alpha, beta, threads);
}

// c (m, n) = alpha * a @ b^T + beta * c, with a (m, k) and b (n, k)
template <class T>
void gemm_nt(T* c, const T* a, const T* b, int64_t m, int64_t n, int64_t k, T alpha = 1,
             T beta = 0, int threads = 1) {
  detail::gemm(false, true, c, a, b, m, n, k, alpha, beta, threads);
}

}  // namespace nc
