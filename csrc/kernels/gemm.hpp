// Row-major GEMM: C = alpha * op(A) op(B) + beta * C, on neurocore's own
// register-tiled kernel for the CPU's instruction set (AVX-512, AVX2 + FMA or
// portable vector code: core/isa.hpp chooses, NEUROCORE_ISA caps), parallel over
// row blocks on the core's OpenMP threads.
// Never call this inside an OpenMP region.
#pragma once
#include "../core/isa.hpp"
#include "../core/parallel.hpp"

#include <algorithm>
#include <cstdint>
#include <type_traits>

namespace nc {

namespace detail {

// Below this many multiply-adds a product runs on one thread. Split smaller,
// the cores hand its rows back and forth with the serial passes around it
// (bias, activation, loss, optimizer): a digits fit of 64 x 128 x 64 products
// took 68 ms at 2 threads and 50 at 1 with the split at 2^16; from 2^22 up
// (512-row predict chunks, 256-row batches of wide layers) 2 threads gain.
constexpr int64_t kParallelMinMacs = int64_t(1) << 22;
// Tall products split from 2^19 multiply-adds when each thread still gets 128
// rows or more: a 1-D CNN's 500 x 25 x 75 and 1000 x 25 x 75 im2col products
// (the 2-thread fit 335 -> 311 ms), while a digits fit's 64-row products stay
// whole (split at 2^19 they took it from 59 to 67 ms).
constexpr int64_t kParallelMinMacsTall = int64_t(1) << 19;
constexpr int64_t kParallelTallRows = 128;

// c (m, n) = alpha * op(a) @ op(b) + beta * c, op(a) (m, k), op(b) (k, n): every
// product, float32 and float64, on the register-tiled kernel of the active
// instruction set (kernels/gemm_tile.inc), split over threads by shares of the
// columns (wide products) or by rows in whole tiles. Each element is the same
// sum in the same order whatever the thread count, the split and the number of
// rows (see GemmRowsFn), which BLAS libraries do not promise: OpenBLAS gave a
// row alone other bits than the row among 300.
//
// lda, ldb, ldc are the row strides of a, b and c as stored (0: packed, that
// is k or m for a, n or k for b, n for c), so a product can read or write a
// block of columns of a wider matrix (a convolution's groups).
template <class T>
void gemm(bool ta, bool tb, T* c, const T* a, const T* b, int64_t m, int64_t n, int64_t k,
          T alpha, T beta, int threads, const T* bias = nullptr, bool relu = false,
          int64_t lda = 0, int64_t ldb = 0, int64_t ldc = 0) {
  if (m < 1 || n < 1) return;
  if (lda == 0) lda = ta ? m : k;
  if (ldb == 0) ldb = tb ? k : n;
  if (ldc == 0) ldc = n;
  const GemmArgs<T> g{c, a, ta ? 1 : lda, ta ? lda : 1, b, ldb, tb, m, n, k, alpha, beta,
                      bias, relu, ta, ldc};
  const IsaKernels& isa = active_kernels();
  GemmRowsFn<T> rows;
  if constexpr (std::is_same_v<T, float>)
    rows = isa.gemm_rows_f32;
  else
    rows = isa.gemm_rows_f64;
  // rows per thread in multiples of the kernels' 6-row tiles (no thread ends
  // on a partial tile); columns in 64-column shares
  constexpr int64_t kTile = 6, kColumns = 64;
  const int64_t macs = m * n * k;
  const bool big = threads > 1 && (macs >= kParallelMinMacs ||
                                   (macs >= kParallelMinMacsTall && m >= kParallelTallRows * threads));
  // No more rows than columns (a batch of 256 through a layer of 1024): each
  // thread takes a share of the columns, so it packs only its share of op(B)
  // (split by rows, each packed all of it: MNIST-shaped training ran 1.7x
  // faster on 2 threads than on 1). Shares are whole 64-column units, so none
  // is narrow enough to change kernel; either split leaves every sum as it is.
  const FpMode fp = FpMode::current();
  if (big && n >= m && n >= 2 * kColumns * threads) {
    const int64_t units = (n + kColumns - 1) / kColumns;
#pragma omp parallel num_threads(threads)
    {
      fp.apply();
      const int t = omp_get_thread_num(), w = omp_get_num_threads();
      const int64_t j0 = std::min(n, units * t / w * kColumns);
      const int64_t j1 = std::min(n, units * (t + 1) / w * kColumns);
      if (j1 > j0) {
        GemmArgs<T> share = g;
        share.c = c + j0;
        share.b = tb ? b + j0 * g.bps : b + j0;
        share.n = j1 - j0;
        share.bias = bias ? bias + j0 : nullptr;
        rows(share, 0, m);
      }
    }
    return;
  }
  if (!big || m < 2 * kTile) {
    rows(g, 0, m);
    return;
  }
  // whole tiles per thread: the split depends only on m and the thread count
  const int64_t tiles = (m + kTile - 1) / kTile;
#pragma omp parallel num_threads(threads)
  {
    fp.apply();
    const int t = omp_get_thread_num(), w = omp_get_num_threads();
    const int64_t r0 = std::min(m, tiles * t / w * kTile);
    const int64_t r1 = std::min(m, tiles * (t + 1) / w * kTile);
    if (r1 > r0) rows(g, r0, r1);
  }
}

}  // namespace detail

// c = alpha * op(a) @ op(b) + beta * c on blocks of wider matrices: op(a) (m, k),
// op(b) (k, n), c (m, n), each stored with the row stride given (lda, ldb, ldc)
template <class T>
void gemm_strided(bool ta, bool tb, T* c, int64_t ldc, const T* a, int64_t lda, const T* b,
                  int64_t ldb, int64_t m, int64_t n, int64_t k, T alpha, T beta, int threads) {
  detail::gemm<T>(ta, tb, c, a, b, m, n, k, alpha, beta, threads, nullptr, false, lda, ldb, ldc);
}

// c (m, n) = alpha * a (m, k) @ b (k, n) + beta * c
template <class T>
void gemm_nn(T* c, const T* a, const T* b, int64_t m, int64_t n, int64_t k, T alpha = 1,
             T beta = 0, int threads = 1) {
  detail::gemm(false, false, c, a, b, m, n, k, alpha, beta, threads);
}

// c (m, n) = act(a (m, k) @ b (k, n) + bias), act = relu or identity, bias (n)
// or null: Dense's forward pass in one pass over c.
template <class T>
void gemm_nn_bias_act(T* c, const T* a, const T* b, int64_t m, int64_t n, int64_t k,
                      const T* bias, bool relu, int threads) {
  detail::gemm(false, false, c, a, b, m, n, k, T(1), T(0), threads, bias, relu);
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
