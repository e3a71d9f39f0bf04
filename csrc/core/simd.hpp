// Per-instruction-set copies of the elementwise loops, chosen like the GEMM's.
//
// NC_ISA_FUNCTION((template <class T>), (<T>), RET, NAME, (PARAMS), (ARGS), { BODY })
// defines NAME_avx512, NAME_avx2 and NAME_generic from one body (compiled with
// GCC's target attribute for AVX-512, AVX2 + FMA, and the baseline), and NAME,
// which calls the one for the instruction set in use: the CPU's best, capped by
// NEUROCORE_ISA (core/isa.hpp), so one machine can run and measure every path.
// (GCC's target_clones, used before, let the loader choose from the CPU alone.)
// Pragmas inside BODY are written _Pragma("omp simd ..."). Elsewhere than x86-64
// with GCC, or with NEUROCORE_NO_CLONES, NAME is compiled once.
#pragma once

#include <cstdint>

#include "isa.hpp"

#define NC_UNPAREN(...) __VA_ARGS__

#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__) && !defined(NEUROCORE_NO_CLONES)
#define NC_ISA_FUNCTION(TPL, TARGS, RET, NAME, PARAMS, ARGS, ...)                         \
  NC_UNPAREN TPL __attribute__((target("avx512f,avx2,fma"))) inline RET NAME##_avx512     \
      PARAMS __VA_ARGS__                                                                  \
  NC_UNPAREN TPL __attribute__((target("avx2,fma"))) inline RET NAME##_avx2 PARAMS        \
      __VA_ARGS__                                                                         \
  NC_UNPAREN TPL inline RET NAME##_generic PARAMS __VA_ARGS__                             \
  NC_UNPAREN TPL inline RET NAME PARAMS {                                                 \
    switch (::nc::active_kernels().isa) {                                                 \
      case ::nc::Isa::Avx512: return NAME##_avx512 NC_UNPAREN TARGS ARGS;                 \
      case ::nc::Isa::Avx2: return NAME##_avx2 NC_UNPAREN TARGS ARGS;                     \
      default: return NAME##_generic NC_UNPAREN TARGS ARGS;                               \
    }                                                                                     \
  }
#else
#define NC_ISA_FUNCTION(TPL, TARGS, RET, NAME, PARAMS, ARGS, ...) \
  NC_UNPAREN TPL inline RET NAME PARAMS __VA_ARGS__
#endif

namespace nc {

// True when x[0..n) holds no NaN or infinity: x * 0 is NaN exactly for those,
// so one vectorized pass with no branches.
template <class T>
inline bool all_finite(const T* x, int64_t n) {
  T acc = 0;
#pragma omp simd reduction(+ : acc)
  for (int64_t i = 0; i < n; ++i) acc += x[i] * T(0);
  return acc == T(0);
}

}  // namespace nc
