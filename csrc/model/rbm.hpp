// The Bernoulli restricted Boltzmann machine (scikit-learn's BernoulliRBM),
// trained by persistent contrastive divergence (stochastic maximum likelihood)
// on the project's GEMM: scikit-learn's `_fit` step by step, its random draws
// from the same MT19937 stream in the same order, so a float64 fit reproduces
// scikit-learn's to rounding.
//
// W (nc, nf) is components_ in row-major order, bh (nc) and bv (nf) the
// hidden and visible intercepts, chain (chain_rows, nc) the persistent chain
// (h_samples_). One step on a batch v (m, nf):
//   h_pos = logistic(v @ W^T + bh)
//   v_neg = Bernoulli(logistic(chain @ W + bv))   (uniform draws, chain_rows x nf)
//   h_neg = logistic(v_neg @ W^T + bh)
//   W += lr * (h_pos^T @ v - h_neg^T @ v_neg), lr = learning_rate / m
//   bh += lr * (sum h_pos - sum h_neg); bv += lr * (sum v - sum v_neg)
//   chain = Bernoulli(h_neg)                     (uniform draws, chain_rows x nc)
#pragma once
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "../core/parallel.hpp"
#include "../core/rng.hpp"
#include "../core/types.hpp"
#include "../kernels/dense.hpp"
#include "../kernels/gemm.hpp"
#include "../kernels/rbm.hpp"

namespace nc {

template <class T>
struct Rbm {
  T* W;
  T* bh;
  T* bv;
  int64_t nc, nf;
  int threads = 1;

  // out (m, nc) = logistic(v @ W^T + bh) for dense v (m, nf)
  void hidden_means(T* out, const T* v, int64_t m) const {
    detail::gemm<T>(false, true, out, v, W, m, nc, nf, T(1), T(0), threads);
    rbm_logistic(out, bh, m, nc, nc, false);
  }
  // out (m, nf) = logistic(h @ W + bv) for h (m, nc)
  void visible_means(T* out, const T* h, int64_t m) const {
    detail::gemm<T>(false, false, out, h, W, m, nf, nc, T(1), T(0), threads);
    rbm_logistic(out, bv, m, nf, nf, false);
  }

  // Scratch of a step on m rows with chain_rows chains.
  struct Work {
    std::vector<T> values;
    std::vector<uint32_t> bits;
    std::vector<T> partial;  // the blocks' partial products of v_neg's means
    T *s, *ht, *sums;
    Work(const Rbm& r, int64_t m, int64_t chain_rows) {
      partial.resize(size_t(r.blocks() > 1 ? r.blocks() * chain_rows * r.nf : 0));
      const int64_t k = m + chain_rows, draws = chain_rows * std::max(r.nc, r.nf);
      values.resize(size_t(k * (r.nf + r.nc) + 2 * std::max(r.nc, r.nf)));
      bits.resize(size_t(2 * draws));
      s = values.data();          // (m + chain_rows, nf): [v; v_neg]
      ht = s + k * r.nf;          // (nc, m + chain_rows): [h_pos^T, h_neg^T]
      sums = ht + k * r.nc;       // 2 x max(nc, nf)
    }
  };

  // W's rows in blocks of kBlockRows: the unit of the threads' work, fixed
  // by n_components alone (so the arithmetic is the same at any n_jobs). A
  // thread keeps its blocks for all three products of a step, so W's rows
  // stay in its core's cache (split by columns for one product and by rows
  // for the next, digits steps ran 1.1-2.6x slower on 2 threads than on 1).
  static constexpr int64_t kBlockRows = 128;
  int64_t blocks() const { return (nc + kBlockRows - 1) / kBlockRows; }

  // One PCD step on the batch v (m, nf) with the chain (chain_rows, nc), in
  // three products: v_neg's means from the chain (chain @ W, one partial
  // product per block of W's rows, added in block order); the hidden means
  // of v and v_neg at once, transposed (W @ [v; v_neg]^T reads W in place;
  // v @ W^T packed all of W^T for a batch of ten rows); and W += lr *
  // [h_pos^T, -h_neg^T] @ [v; v_neg] as the GEMM's update of W.
  // (scikit-learn rounds h_pos^T v and h_neg^T v_neg apart before their
  // difference: the same sums to rounding.) The draws stay in order on the
  // calling thread.
  void step(const T* v, int64_t m, T* chain, int64_t chain_rows, double learning_rate,
            MT19937& rng, Work& w) const {
    const int64_t k = m + chain_rows, nb = blocks();
    T* v_neg = w.s + m * nf;
    T* sum_pos = w.sums;
    T* sum_neg = w.sums + std::max(nc, nf);
    const double lr_wide = learning_rate / double(m);
    const T lr = T(lr_wide);
    if (v != w.s) std::memcpy(w.s, v, sizeof(T) * size_t(m * nf));
    const int64_t macs = k * nc * nf;
    auto each_block = [&](auto&& f) {
      parallel_for(nb, nb > 1 ? macs : 0, threads, [&](int64_t b) {
        const int64_t r0 = b * kBlockRows;
        f(r0, std::min(nc, r0 + kBlockRows));
      });
    };
    // v_neg's means: the blocks' partial products, then their sum in order
    T* part = nb > 1 ? w.partial.data() : v_neg;
    each_block([&](int64_t r0, int64_t r1) {
      detail::gemm<T>(false, false, part + (r0 / kBlockRows) * chain_rows * nf, chain + r0,
                      W + r0 * nf, chain_rows, nf, r1 - r0, T(1), T(0), 1, nullptr, false, nc, nf, nf);
    });
    if (nb > 1) rbm_sum_blocks(v_neg, part, nb, chain_rows * nf);
    rbm_logistic(v_neg, bv, chain_rows, nf, nf, false);
    rbm_bernoulli(v_neg, v_neg, chain_rows, nf, nf, 1, rng, w.bits.data());
    // the hidden means and their sums, by blocks of units
    each_block([&](int64_t r0, int64_t r1) {
      T* ht = w.ht + r0 * k;
      detail::gemm<T>(false, true, ht, W + r0 * nf, w.s, r1 - r0, k, nf, T(1), T(0), 1);
      rbm_logistic(ht, bh + r0, r1 - r0, k, k, true);
      rbm_row_sums(sum_pos + r0, ht, r1 - r0, m, k);
      rbm_row_sums(sum_neg + r0, ht + m, r1 - r0, chain_rows, k);
    });
    rbm_add_difference(bh, sum_pos, sum_neg, lr_wide, nc, false);
    column_sums(sum_pos, w.s, m, nf, false);
    column_sums(sum_neg, v_neg, chain_rows, nf, false);
    rbm_add_difference(bv, sum_pos, sum_neg, lr_wide, nf, true);
    rbm_bernoulli(chain, w.ht + m, chain_rows, nc, 1, k, rng, w.bits.data());
    // W's update, by the same blocks
    each_block([&](int64_t r0, int64_t r1) {
      rbm_negate(w.ht + r0 * k + m, r1 - r0, chain_rows, k);
      detail::gemm<T>(false, false, W + r0 * nf, w.ht + r0 * k, w.s, r1 - r0, nf, k, lr, T(1), 1);
    });
  }

  // iterations passes over X in consecutive batches of batch_rows (the last
  // one shorter), scikit-learn's fit (batch_rows = batch_size) and partial_fit
  // (batch_rows = all of X, once). Sparse rows are made dense a batch at a time.
  void fit(const InputView<T>& X, int64_t batch_rows, int64_t iterations, T* chain,
           int64_t chain_rows, double learning_rate, MT19937& rng) const {
    if (batch_rows < 1) throw std::invalid_argument("batch_rows must be positive");
    const int64_t rows = std::min(batch_rows, std::max<int64_t>(X.n_rows, 1));
    Work work(*this, rows, chain_rows);
    for (int64_t it = 0; it < iterations; ++it)
      for (int64_t r0 = 0; r0 < X.n_rows; r0 += batch_rows) {
        const int64_t m = std::min(batch_rows, X.n_rows - r0);
        step(batch(X, r0, m, work.s), m, chain, chain_rows, learning_rate, rng, work);
      }
  }

  // rows [r0, r0 + m) of X as a dense (m, nf) block: in place when X is
  // dense, else made dense in `dense`
  static const T* batch(const InputView<T>& X, int64_t r0, int64_t m, T* dense) {
    if (!X.sparse()) return X.dense + r0 * X.n_cols;
    csr_rows_dense(dense, X.data, X.indices, X.indptr + r0, m, X.n_cols);
    return dense;
  }

  // One Gibbs step from v (m, nf): h ~ P(h | v) (draws m x nc), then
  // out ~ P(v | h) (draws m x nf), out (m, nf) of 0 / 1.
  void gibbs(T* out, const T* v, int64_t m, MT19937& rng) const {
    std::vector<T> h(size_t(m * nc));
    std::vector<uint32_t> bits(size_t(2 * m * std::max(nc, nf)));
    hidden_means(h.data(), v, m);
    rbm_bernoulli(h.data(), h.data(), m, nc, nc, 1, rng, bits.data());
    visible_means(out, h.data(), m);
    rbm_bernoulli(out, out, m, nf, nf, 1, rng, bits.data());
  }

  // fe (m) = the free energy of each row of v (m, nf)
  void free_energy(T* fe, const T* v, int64_t m) const {
    std::vector<T> pre(size_t(m * nc));
    detail::gemm<T>(false, true, pre.data(), v, W, m, nc, nf, T(1), T(0), threads);
    rbm_free_energy(fe, v, bv, pre.data(), bh, m, nf, nc);
  }
};

}  // namespace nc
