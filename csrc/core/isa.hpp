// Instruction sets: what the CPU has, what NEUROCORE_ISA allows, and the table
// of kernels compiled for each (kernels/gemm_avx512.cpp, gemm_avx2.cpp,
// gemm_portable.cpp). The choice is made once, when the module loads.
#pragma once
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string>

namespace nc {

enum class Isa : int { Generic = 0, Avx2 = 1, Avx512 = 2 };

inline const char* isa_name(Isa i) {
  switch (i) {
    case Isa::Avx512: return "avx512";
    case Isa::Avx2: return "avx2";
    default: return "generic";
  }
}

// One product's operands: c (m, n) = alpha * op(A) @ op(B) + beta * c, with
// op(A)[i][p] = a[i * ars + p * acs] and op(B)[p][j] = b[p * bps + j]
// (transposed = false) or b[j * bps + p] (transposed = true); c's rows are ldc
// apart.
// With bias (n) or relu, each element then becomes act(c + bias[j]) once its
// whole sum is in (in registers, before the store: the pass Dense made after
// the product, with the same arithmetic).
template <class T>
struct GemmArgs {
  T* c;
  const T* a;
  int64_t ars, acs;
  const T* b;
  int64_t bps;
  bool transposed;
  int64_t m, n, k;
  T alpha, beta;
  const T* bias = nullptr;
  bool relu = false;
  bool a_transposed = false;  // op(A) = a^T: its rows are strided
  int64_t ldc = 0;            // c's row stride (a column share of a wider c)
};

// Rows [r0, r1) of a product, on the calling thread. Every element of c is the
// same sum in the same order whatever r0, r1 and m are: k runs in blocks of
// gemm_block_k(k) from 0, each block one multiply-add chain started at zero and
// added to c, so a row's result never depends on the rows around it.
template <class T>
using GemmRowsFn = void (*)(const GemmArgs<T>&, int64_t r0, int64_t r1);

constexpr int64_t kGemmBlockK = 256;

// The length of k's blocks: k cut into equal blocks of at most kGemmBlockK (784
// into 4 x 196, not 3 x 256 + 16, whose last pass over C did little work). A
// function of k alone, so every path of one product sums in the same blocks.
inline int64_t gemm_block_k(int64_t k) {
  const int64_t blocks = (k + kGemmBlockK - 1) / kGemmBlockK;
  return blocks <= 1 ? k : (k + blocks - 1) / blocks;
}

struct IsaKernels {
  Isa isa;
  const char* tile_f32;  // register tile, as rows x columns of C
  const char* tile_f64;
  GemmRowsFn<float> gemm_rows_f32;
  GemmRowsFn<double> gemm_rows_f64;
};

// Defined by each instruction set's translation unit (x86 ones only on x86).
#if defined(__x86_64__) && defined(__GNUC__)
#define NC_HAVE_X86_KERNELS 1
namespace avx512 { const IsaKernels& kernels(); }
namespace avx2 { const IsaKernels& kernels(); }
#endif
namespace portable { const IsaKernels& kernels(); }

// The best instruction set this CPU (and its operating system) supports.
inline Isa detected_isa() {
#ifdef NC_HAVE_X86_KERNELS
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) return Isa::Avx512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return Isa::Avx2;
#endif
  return Isa::Generic;
}

// NEUROCORE_ISA's cap ("avx512", "avx2", "generic"; unset or empty: no cap).
// An unknown value is an error, raised when the module loads.
inline Isa isa_cap() {
  const char* e = std::getenv("NEUROCORE_ISA");
  if (!e || !*e) return Isa::Avx512;
  const std::string s(e);
  if (s == "avx512") return Isa::Avx512;
  if (s == "avx2") return Isa::Avx2;
  if (s == "generic") return Isa::Generic;
  throw std::invalid_argument("NEUROCORE_ISA='" + s +
                              "' is not one of 'avx512', 'avx2', 'generic'");
}

inline const IsaKernels& kernels_for(Isa i) {
#ifdef NC_HAVE_X86_KERNELS
  if (i == Isa::Avx512) return avx512::kernels();
  if (i == Isa::Avx2) return avx2::kernels();
#endif
  (void)i;
  return portable::kernels();
}

// The kernels in use: the detected set, capped by NEUROCORE_ISA.
inline const IsaKernels& active_kernels() {
  static const IsaKernels& k = [] () -> const IsaKernels& {
    const Isa d = detected_isa(), cap = isa_cap();
    return kernels_for(int(cap) < int(d) ? cap : d);
  }();
  return k;
}

}  // namespace nc
