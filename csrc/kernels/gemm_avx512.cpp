// The GEMM kernels for AVX-512 (32 registers of 512 bits, 16 floats or 8
// doubles; 12 x 32 float tiles). Only the vector operations are here; the kernel is
// gemm_tile.inc. Standard headers come before the target pragma, so nothing
// they define is compiled for AVX-512 (the loader could otherwise pick such a
// copy for code that runs on any CPU).
#include <immintrin.h>

#include <cstdint>
#include <vector>

#include "../core/isa.hpp"

#pragma GCC push_options
#pragma GCC target("avx512f,avx2,fma")

namespace nc {
namespace avx512 {

template <class T>
struct Vec;

template <>
struct Vec<float> {
  using reg = __m512;
  using mask = __mmask16;
  static constexpr int lanes = 16;
  static constexpr int64_t block_n = 512;  // 256 x 512 floats: 512 KiB of op(B) in L2
  static constexpr bool wide_tiles = true;
  static constexpr bool has_transpose = true;
  static reg zero() { return _mm512_setzero_ps(); }
  static reg set1(float x) { return _mm512_set1_ps(x); }
  static reg load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, reg r) { _mm512_storeu_ps(p, r); }
  static mask make_mask(int w) {
    return w >= 16 ? mask(0xFFFF) : w <= 0 ? mask(0) : mask((1u << w) - 1);
  }
  static reg loadm(const float* p, mask m) { return _mm512_maskz_loadu_ps(m, p); }
  static void storem(float* p, reg r, mask m) { _mm512_mask_storeu_ps(p, m, r); }
  static reg fma(reg a, reg b, reg c) { return _mm512_fmadd_ps(a, b, c); }
  static reg mul(reg a, reg b) { return _mm512_mul_ps(a, b); }
  static reg add(reg a, reg b) { return _mm512_add_ps(a, b); }
  // max with +0 second: NaN and -0 give +0
  static reg relu(reg a) { return _mm512_max_ps(a, _mm512_setzero_ps()); }
  static void transpose(reg r[16]) {
    reg t[16];
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
    // each 128-bit lane of r[i] now holds 4 finished columns of one 4-row
    // group: two rounds of 128-bit lane shuffles bring the four groups together
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
};

template <>
struct Vec<double> {
  using reg = __m512d;
  using mask = __mmask8;
  static constexpr int lanes = 8;
  static constexpr int64_t block_n = 256;
  static constexpr bool wide_tiles = true;
  static constexpr bool has_transpose = false;
  static reg zero() { return _mm512_setzero_pd(); }
  static reg set1(double x) { return _mm512_set1_pd(x); }
  static reg load(const double* p) { return _mm512_loadu_pd(p); }
  static void store(double* p, reg r) { _mm512_storeu_pd(p, r); }
  static mask make_mask(int w) {
    return w >= 8 ? mask(0xFF) : w <= 0 ? mask(0) : mask((1u << w) - 1);
  }
  static reg loadm(const double* p, mask m) { return _mm512_maskz_loadu_pd(m, p); }
  static void storem(double* p, reg r, mask m) { _mm512_mask_storeu_pd(p, m, r); }
  static reg fma(reg a, reg b, reg c) { return _mm512_fmadd_pd(a, b, c); }
  static reg mul(reg a, reg b) { return _mm512_mul_pd(a, b); }
  static reg add(reg a, reg b) { return _mm512_add_pd(a, b); }
  // max with +0 second: NaN and -0 give +0
  static reg relu(reg a) { return _mm512_max_pd(a, _mm512_setzero_pd()); }
  static void transpose(reg*) {}
};

constexpr Isa kIsa = Isa::Avx512;
constexpr const char* kTileF32 = "12x32 (12x16 for one-vector outputs)";
constexpr const char* kTileF64 = "12x16 (12x8 for one-vector outputs)";

#include "gemm_tile.inc"

}  // namespace avx512
}  // namespace nc

#pragma GCC pop_options
