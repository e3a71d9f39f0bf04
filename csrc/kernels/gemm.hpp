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
#include <cstdlib>
#include <limits>
#include <stdexcept>
#include <type_traits>
#include <vector>

namespace nc {

namespace detail {

// Below this many multiply-adds a product runs on one thread. Split smaller,
// the cores hand its rows back and forth with the serial passes around it
// (bias, activation, loss, optimizer): a digits fit of 64 x 128 x 64 products
// took 68 ms at 2 threads and 50 at 1 with the split at 2^16; from 2^22 up
// (512-row predict chunks, 256-row batches of wide layers) 2 threads gain.
constexpr int64_t kParallelMinMacs = int64_t(1) << 22;

// c (m, n) = alpha * op(a) @ op(b) + beta * c, op(a) (m, k), op(b) (k, n): every
// product, float32 and float64, on the register-tiled kernel of the active
// instruction set (kernels/gemm_tile.inc), split over threads by whole 6-row
// tiles. Each element is the same sum in the same order whatever the thread
// count and the number of rows (see GemmRowsFn), which BLAS libraries do not
// promise: OpenBLAS gave a row alone other bits than the row among 300.
template <class T>
void gemm(bool ta, bool tb, T* c, const T* a, const T* b, int64_t m, int64_t n, int64_t k,
          T alpha, T beta, int threads, const T* bias = nullptr, bool relu = false) {
  if (m < 1 || n < 1) return;
  const GemmArgs<T> g{c, a, ta ? 1 : k, ta ? m : 1, b, tb ? k : n, tb, m, n, k, alpha, beta,
                      bias, relu, ta};
  const IsaKernels& isa = active_kernels();
  GemmRowsFn<T> rows;
  if constexpr (std::is_same_v<T, float>)
    rows = isa.gemm_rows_f32;
  else
    rows = isa.gemm_rows_f64;
  constexpr int64_t kTile = 6;
  const int nt = (threads > 1 && m * n * k >= kParallelMinMacs && m >= 2 * kTile) ? threads : 1;
  if (nt == 1) {
    rows(g, 0, m);
    return;
  }
  // whole tiles per thread: the split depends only on m and the thread count
  const int64_t tiles = (m + kTile - 1) / kTile;
#pragma omp parallel num_threads(nt)
  {
    const int t = omp_get_thread_num(), w = omp_get_num_threads();
    const int64_t r0 = std::min(m, tiles * t / w * kTile);
    const int64_t r1 = std::min(m, tiles * (t + 1) / w * kTile);
    if (r1 > r0) rows(g, r0, r1);
  }
}

}  // namespace detail

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
