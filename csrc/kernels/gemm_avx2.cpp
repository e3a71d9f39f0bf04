// The GEMM kernels for AVX2 + FMA (256-bit registers, 8 floats or 4 doubles;
// BLIS's Haswell tile of 6 x 16 floats in 12 of the 16 registers). Only the
// vector operations are here; the kernel is gemm_tile.inc. Standard headers
// come before the target pragma (see gemm_avx512.cpp).
#include <immintrin.h>

#include <cstdint>
#include <vector>

#include "../core/isa.hpp"

#pragma GCC push_options
#pragma GCC target("avx2,fma")

namespace nc {
namespace avx2 {

template <class T>
struct Vec;

template <>
struct Vec<float> {
  using reg = __m256;
  using mask = __m256i;
  static constexpr int lanes = 8;
  // 256 x 256 floats: 256 KiB of op(B), half the L2 of a Zen 2/3 core
  static constexpr int64_t block_n = 256;
  static constexpr bool wide_tiles = false;
  static constexpr bool has_transpose = true;
  static reg zero() { return _mm256_setzero_ps(); }
  static reg set1(float x) { return _mm256_set1_ps(x); }
  static reg load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, reg r) { _mm256_storeu_ps(p, r); }
  static mask make_mask(int w) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(w), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  }
  static reg loadm(const float* p, mask m) { return _mm256_maskload_ps(p, m); }
  static void storem(float* p, reg r, mask m) { _mm256_maskstore_ps(p, m, r); }
  static reg fma(reg a, reg b, reg c) { return _mm256_fmadd_ps(a, b, c); }
  static reg mul(reg a, reg b) { return _mm256_mul_ps(a, b); }
  static reg add(reg a, reg b) { return _mm256_add_ps(a, b); }
  // max with +0 second: NaN and -0 give +0
  static reg relu(reg a) { return _mm256_max_ps(a, _mm256_setzero_ps()); }
  static void transpose(reg r[8]) {
    reg t[8], u[8];
    for (int i = 0; i < 8; i += 2) {
      t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
      t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
    }
    for (int i = 0; i < 8; i += 4) {
      u[i] = _mm256_shuffle_ps(t[i], t[i + 2], 0x44);
      u[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], 0xEE);
      u[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0x44);
      u[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0xEE);
    }
    for (int i = 0; i < 4; ++i) {
      r[i] = _mm256_permute2f128_ps(u[i], u[i + 4], 0x20);
      r[i + 4] = _mm256_permute2f128_ps(u[i], u[i + 4], 0x31);
    }
  }
};

template <>
struct Vec<double> {
  using reg = __m256d;
  using mask = __m256i;
  static constexpr int lanes = 4;
  static constexpr int64_t block_n = 128;
  static constexpr bool wide_tiles = false;
  static constexpr bool has_transpose = false;
  static reg zero() { return _mm256_setzero_pd(); }
  static reg set1(double x) { return _mm256_set1_pd(x); }
  static reg load(const double* p) { return _mm256_loadu_pd(p); }
  static void store(double* p, reg r) { _mm256_storeu_pd(p, r); }
  static mask make_mask(int w) {
    return _mm256_cmpgt_epi64(_mm256_set1_epi64x(w), _mm256_setr_epi64x(0, 1, 2, 3));
  }
  static reg loadm(const double* p, mask m) { return _mm256_maskload_pd(p, m); }
  static void storem(double* p, reg r, mask m) { _mm256_maskstore_pd(p, m, r); }
  static reg fma(reg a, reg b, reg c) { return _mm256_fmadd_pd(a, b, c); }
  static reg mul(reg a, reg b) { return _mm256_mul_pd(a, b); }
  static reg add(reg a, reg b) { return _mm256_add_pd(a, b); }
  // max with +0 second: NaN and -0 give +0
  static reg relu(reg a) { return _mm256_max_pd(a, _mm256_setzero_pd()); }
  static void transpose(reg*) {}
};

constexpr Isa kIsa = Isa::Avx2;
constexpr const char* kTileF32 = "6x16 (12x8 for one-vector outputs)";
constexpr const char* kTileF64 = "6x8 (12x4 for one-vector outputs)";

#include "gemm_tile.inc"

}  // namespace avx2
}  // namespace nc

#pragma GCC pop_options
