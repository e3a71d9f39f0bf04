// The Bernoulli restricted Boltzmann machine's loops other than its GEMMs
// (model/rbm.hpp): the logistic units, the Bernoulli draws from numpy's legacy
// stream in its order, the row sums of the transposed units and the free
// energy (the column sums are Dense's, kernels/dense.hpp: row after row,
// numpy's order for a sum over axis 0).
// Each is written as scikit-learn's numpy expression computes it, so float64
// results match its arithmetic to rounding.
#pragma once
#include <cmath>
#include <cstdint>

#include "../core/rng.hpp"
#include "../core/simd.hpp"
#include "activations.hpp"

namespace nc {

// p (m, n) of row stride ld = logistic(p + bias) (scikit-learn: p +=
// intercept; expit(p)), the bias by column, or by row when by_row (p holds
// the units' transpose), vectorized (logistic_vec: the units' exponentials
// were a third of a digits step through the scalar exp). A contiguous block
// takes the logistic as one flat run after the bias: the transposed hidden
// units' rows are 20 values (a digits batch and its chains), and a loop per
// row spent its time in the remainders.
NC_ISA_FUNCTION((template <class T>), (<T>), void, rbm_logistic,
                (T* __restrict p, const T* __restrict bias, int64_t m, int64_t n, int64_t ld,
                 bool by_row),
                (p, bias, m, n, ld, by_row), {
  for (int64_t i = 0; i < m; ++i) {
    T* row = p + i * ld;
    if (by_row) {
      const T b = bias[i];
_Pragma("omp simd")
      for (int64_t j = 0; j < n; ++j) row[j] += b;
    } else {
_Pragma("omp simd")
      for (int64_t j = 0; j < n; ++j) row[j] += bias[j];
    }
  }
  const int64_t runs = ld == n ? 1 : m, len = ld == n ? m * n : n;
  for (int64_t i = 0; i < runs; ++i) {
    T* run = p + i * ld;
_Pragma("omp simd")
    for (int64_t j = 0; j < len; ++j) run[j] = logistic_vec(run[j]);
  }
})

// out (rows, cols) = 1 where the uniform draw of bits' words 2q, 2q + 1
// (numpy's random_sample: 53 bits, (a >> 5) 2^26 + (b >> 6) over 2^53) is
// below p(i, j) = p[i * rs + j * cs], q = i * cols + j, else 0 (numpy:
// rng.uniform(size=p.shape) < p, a float32 p widened to double as numpy
// compares); per instruction set (the conversions and compares vectorize).
NC_ISA_FUNCTION((template <class T>), (<T>), void, rbm_bernoulli_bits,
                (T* out, const T* p, int64_t rows, int64_t cols, int64_t rs, int64_t cs,
                 const uint32_t* __restrict bits),
                (out, p, rows, cols, rs, cs, bits), {
  for (int64_t i = 0; i < rows; ++i) {
    const uint32_t* b = bits + 2 * i * cols;
_Pragma("omp simd")
    for (int64_t j = 0; j < cols; ++j) {
      const double u = (double(int32_t(b[2 * j] >> 5)) * 67108864.0 + double(int32_t(b[2 * j + 1] >> 6))) *
                       (1.0 / 9007199254740992.0);
      out[i * cols + j] = u < double(p[i * rs + j * cs]) ? T(1) : T(0);
    }
  }
})

// the same from the stream's next 2 * rows * cols words (bits: their scratch),
// in out's order. out may be p when rs == cols and cs == 1.
template <class T>
void rbm_bernoulli(T* out, const T* p, int64_t rows, int64_t cols, int64_t rs, int64_t cs,
                   MT19937& rng, uint32_t* bits) {
  rng.fill_u32(bits, 2 * rows * cols);
  rbm_bernoulli_bits(out, p, rows, cols, rs, cs, bits);
}

// sums (m) = the row sums of the block a (m, n) of row stride ld, each in
// order (the column sums of its transpose, in numpy's order).
template <class T>
void rbm_row_sums(T* __restrict sums, const T* __restrict a, int64_t m, int64_t n, int64_t ld) {
  for (int64_t i = 0; i < m; ++i) {
    T acc = 0;
    for (int64_t j = 0; j < n; ++j) acc += a[i * ld + j];
    sums[i] = acc;
  }
}

// out (n) = parts[0] + parts[1] + ... (blocks of n), added in block order
template <class T>
void rbm_sum_blocks(T* __restrict out, const T* __restrict parts, int64_t blocks, int64_t n) {
  for (int64_t q = 0; q < n; ++q) out[q] = parts[q];
  for (int64_t b = 1; b < blocks; ++b)
    for (int64_t q = 0; q < n; ++q) out[q] += parts[b * n + q];
}

// a (m, n) of row stride ld = -a
template <class T>
void rbm_negate(T* a, int64_t m, int64_t n, int64_t ld) {
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) a[i * ld + j] = -a[i * ld + j];
}

// numpy's logaddexp(0, x): log(1 + exp(x)) without overflow.
template <class T>
inline T log1p_exp(T x) {
  if (x == T(0)) return T(0.6931471805599453);
  return x > T(0) ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x));
}

// fe (m) = -(v @ bv) - sum_j logaddexp(0, vw[i, j] + bh[j]) for v (m, nf)
// and vw (m, nc) = v @ W^T (scikit-learn's _free_energy).
template <class T>
void rbm_free_energy(T* __restrict fe, const T* __restrict v, const T* __restrict bv,
                     const T* __restrict vw, const T* __restrict bh, int64_t m, int64_t nf,
                     int64_t nc) {
  for (int64_t i = 0; i < m; ++i) {
    T dot = 0, soft = 0;
    for (int64_t j = 0; j < nf; ++j) dot += v[i * nf + j] * bv[j];
    for (int64_t j = 0; j < nc; ++j) soft += log1p_exp(vw[i * nc + j] + bh[j]);
    fe[i] = -dot - soft;
  }
}

// dense (m, n) = the CSR rows whose offsets are indptr[0..m] (values data,
// column indices indices), zeros elsewhere.
template <class T>
void csr_rows_dense(T* __restrict dense, const T* data, const int64_t* indices,
                    const int64_t* indptr, int64_t m, int64_t n) {
  for (int64_t q = 0; q < m * n; ++q) dense[q] = T(0);
  for (int64_t r = 0; r < m; ++r)
    for (int64_t p = indptr[r]; p < indptr[r + 1]; ++p) dense[r * n + indices[p]] += data[p];
}

// b (n) += lr * (pos - neg) (n), in T; or, when wide, in double and rounded
// once into T, as numpy computes the visible intercept's update (v_neg is a
// boolean array there: its column sums are int64, so the difference, the
// product and the sum are float64 before the float32 store).
template <class T>
void rbm_add_difference(T* __restrict b, const T* __restrict pos, const T* __restrict neg,
                        double lr, int64_t n, bool wide) {
  if (wide)
    for (int64_t j = 0; j < n; ++j)
      b[j] = T(double(b[j]) + lr * (double(pos[j]) - double(neg[j])));
  else
    for (int64_t j = 0; j < n; ++j) b[j] += T(lr) * (pos[j] - neg[j]);
}

}  // namespace nc
