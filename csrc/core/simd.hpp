// Per-CPU code paths for hot loops in a portable build: functions marked
// NC_VECTOR_CLONES are compiled for AVX-512, AVX2 and baseline x86-64, and the
// loader picks the best the CPU has (GCC's target_clones). Elsewhere, or with
// NEUROCORE_NO_CLONES, they are compiled once.
#pragma once

#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__) && !defined(NEUROCORE_NO_CLONES)
#define NC_VECTOR_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define NC_VECTOR_CLONES
#endif

#include <cstdint>

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
