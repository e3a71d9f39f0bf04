// The portable GEMM kernels: GCC/Clang vector extensions of 128 bits (4 floats
// or 2 doubles: SSE2 on any x86-64, NEON on aarch64), no intrinsics, so this
// file compiles for every target. A multiply-add is fused where the target
// has the instruction (aarch64) and two roundings where it has not (baseline
// x86-64). Only the vector operations are here; the kernel is gemm_tile.inc.
#include <cstdint>
#include <cstring>
#include <vector>

#include "../core/isa.hpp"

namespace nc {
namespace portable {

template <class T>
struct Vec {
  typedef T reg __attribute__((vector_size(16)));
  using mask = int;  // the number of leading lanes in use
  static constexpr int lanes = int(16 / sizeof(T));
  static constexpr int64_t block_n = sizeof(T) == 4 ? 256 : 128;
  static constexpr bool wide_tiles = false;
  static constexpr bool has_transpose = false;
  static reg zero() { return reg{}; }
  static reg set1(T x) {
    reg r;
    for (int i = 0; i < lanes; ++i) r[i] = x;
    return r;
  }
  static reg load(const T* p) {
    reg r;
    std::memcpy(&r, p, sizeof r);
    return r;
  }
  static void store(T* p, reg r) { std::memcpy(p, &r, sizeof r); }
  static mask make_mask(int w) { return w; }
  static reg loadm(const T* p, mask w) {
    reg r{};
    for (int i = 0; i < lanes; ++i)
      if (i < w) r[i] = p[i];
    return r;
  }
  static void storem(T* p, reg r, mask w) {
    for (int i = 0; i < lanes; ++i)
      if (i < w) p[i] = r[i];
  }
  // Fused where the target has a fused multiply-add (aarch64), two roundings
  // where it has not (baseline x86-64); this file is compiled with
  // -ffp-contract=off, so the compiler fuses nothing on its own: the same
  // arithmetic in every tile, whatever rows it holds.
  static reg fma(reg a, reg b, reg c) {
#if (defined(__FP_FAST_FMA) && defined(__FP_FAST_FMAF)) || defined(__ARM_FEATURE_FMA)
    reg r;
    for (int i = 0; i < lanes; ++i) r[i] = __builtin_fma(a[i], b[i], c[i]);
    return r;
#else
    return a * b + c;
#endif
  }
  static reg mul(reg a, reg b) { return a * b; }
  static reg add(reg a, reg b) { return a + b; }
  static reg relu(reg a) {
    reg r;
    for (int i = 0; i < lanes; ++i) r[i] = a[i] > T(0) ? a[i] : T(0);
    return r;
  }
  static void transpose(reg*) {}
};

constexpr Isa kIsa = Isa::Generic;
constexpr const char* kTileF32 = "6x8 (12x4 for one-vector outputs)";
constexpr const char* kTileF64 = "6x4 (12x2 for one-vector outputs)";

#include "gemm_tile.inc"

}  // namespace portable
}  // namespace nc
