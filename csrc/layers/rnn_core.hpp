// One direction's pass of a recurrent layer (RnnCore: SimpleRNN, LSTM, GRU;
// layers/recurrent.hpp puts it on the layer contract). Input (steps,
// features); output (steps, units) with return_sequences, else (units): the
// last state. Backpropagation through time.
//
// The pass: every step's values are one contiguous block, unit-major with the
// batch's samples in vector lanes. The input projections of all steps first
// (K^T @ x_s onto the bias, the steps shared among the threads); then step by
// step one recurrent product for all gates (R^T @ h_prev, added onto the
// step's projection) and the cell's update in one fused pass per unit
// (kernels/recurrent.hpp). Backward keeps the
// gradient at every step's gate pre-activations, so only dh_prev = R @ dz runs
// in the loop over steps; the kernel's, recurrent kernel's and bias's
// gradients (each thread a share of the gates' columns over all steps, in
// order) and the input's (a share of the steps each) come after it.
//
// Masking (Keras's): a sample whose mask is 0 at a step keeps its state over
// it (and outputs it again with return_sequences); nothing flows back through
// the step but the state's own gradient. Dropout (Keras 3): one input mask per
// sample for every step; with recurrent_dropout, one input mask and one
// recurrent mask per gate (Keras's implementation 1), from the fit's stream.
#pragma once
#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "../core/parallel.hpp"
#include "../kernels/gemm.hpp"
#include "../kernels/recurrent.hpp"
#include "../kernels/regularization.hpp"
#include "config.hpp"
#include "layer.hpp"
#include "noise.hpp"
#include "weights.hpp"

namespace nc {

enum class Cell { Simple, Lstm, Gru };

template <class T>
struct RnnCore {
  Cell cell = Cell::Lstm;
  std::string name = "LSTM";  // for errors
  int64_t u = 1, f = 1, steps = 1;
  ActSpec act, ract;
  bool use_bias = true, reset_after = true, go_backwards = false, return_sequences = false;
  double dropout = 0.0, rdropout = 0.0;
  WeightOptions w;
  Penalty rec_penalty;
  Constraint rec_constraint;

  // Reads the cell's options (cfg.type names it); in (steps, features).
  void read(LayerConfig& cfg, const Shape& in, Cell kind, const std::string& label) {
    cell = kind;
    name = label;
    if (in.rank() != 2)
      throw std::invalid_argument(name + " expects samples of shape (timesteps, features), got " +
                                  in.str());
    steps = in.dims[0];
    f = in.dims[1];
    u = cfg.integer("units", 0);
    if (u < 1) throw std::invalid_argument(name + ": units must be a positive integer");
    act = cfg.activation();
    ract = ActSpec{};
    ract.kind = cell == Cell::Simple ? Act::Identity
                                     : parse_activation(cfg.text("recurrent_activation", "sigmoid"));
    const std::string names[2] = {cfg.text("activation", "linear"),
                                  cfg.text("recurrent_activation", "sigmoid")};
    for (int q = 0; q < 2; ++q)
      if (!recurrent_activation_ok(q == 0 ? act : ract))
        throw std::invalid_argument(name + ": activation '" + names[q] +
                                    "' is not supported in a recurrent cell (its derivative "
                                    "needs its input)");
    use_bias = cfg.flag("use_bias", true);
    reset_after = cell == Cell::Gru ? cfg.flag("reset_after", true) : false;
    go_backwards = cfg.flag("go_backwards", false);
    return_sequences = cfg.flag("return_sequences", false);
    dropout = cfg.number("dropout", 0.0);
    rdropout = cfg.number("recurrent_dropout", 0.0);
    if (!(dropout >= 0.0 && dropout < 1.0) || !(rdropout >= 0.0 && rdropout < 1.0))
      throw std::invalid_argument(name + ": dropout and recurrent_dropout must be in [0, 1)");
    w = WeightOptions::read(cfg);
    rec_penalty = {cfg.number("recurrent_l1", 0.0), cfg.number("recurrent_l2", 0.0)};
    rec_constraint = WeightOptions::constraint(cfg, "recurrent_constraint");
  }

  int64_t gates() const { return cell == Cell::Lstm ? 4 : (cell == Cell::Gru ? 3 : 1); }
  int64_t gu() const { return gates() * u; }
  int64_t bias_size() const { return reset_after ? 2 * gu() : gu(); }
  Shape out_shape() const { return return_sequences ? Shape{steps, u} : Shape{u}; }
  int64_t out_size() const { return return_sequences ? steps * u : u; }
  // input dropout masks per sample: none, one for every gate, or one per gate
  int64_t in_masks(bool training) const {
    return training && dropout > 0 ? (rdropout > 0 ? gates() : 1) : 0;
  }
  int64_t rec_masks(bool training) const { return training && rdropout > 0 ? gates() : 0; }

  std::vector<VarDecl> variables(const std::string& prefix) const {
    std::vector<VarDecl> v{{prefix + "kernel", Role::Kernel, Shape{f, gu()}},
                           {prefix + "recurrent_kernel", Role::Kernel, Shape{u, gu()}}};
    if (use_bias)
      v.push_back({prefix + "bias", Role::Bias, reset_after ? Shape{2, gu()} : Shape{gu()}});
    return v;
  }
  double flops() const { return 2.0 * double(steps) * double(f + u) * double(gu()); }

  // The per-sample cache, in arrays of rows * size values each. Step-major,
  // and within a step unit-major with the batch's samples side by side:
  // array[(s * V + v) * rows + i] is value v (of V: a gate unit, a state unit,
  // an input feature) of sample i at processing step s (kernels/recurrent.hpp,
  // "rows in lanes"), so everything a step reads and writes is one contiguous
  // block. (Unit-major over all steps, a step's 512 LSTM gate rows lay 10 KB
  // apart, and each step's passes waited on their loads.)
  struct Layout {
    int64_t xs, z, zr, hp, c, rh, mt, mi, mr, hl, dh, dhn, dc, tmp, hr, scratch, hm, total;
  };
  Layout layout(bool training) const {
    Layout l{};
    int64_t at = 0;
    auto take = [&](int64_t* field, int64_t n) {
      *field = at;
      at += n;
    };
    take(&l.xs, xs_copies(training) * steps * f);  // the input (a copy per dropout block)
    take(&l.z, steps * gu());
    take(&l.zr, reset_after ? steps * gu() : 0);
    take(&l.hp, steps * u);  // h_prev of every step
    take(&l.c, cell == Cell::Lstm ? steps * u : 0);
    take(&l.rh, cell == Cell::Gru && !reset_after ? steps * u : 0);
    take(&l.mt, steps);  // Keras's mask
    take(&l.mi, in_masks(training) * f);
    take(&l.mr, rec_masks(training) * u);
    take(&l.hl, u);  // the last state
    take(&l.dh, u);
    take(&l.dhn, u);
    take(&l.dc, u);
    take(&l.tmp, u);
    take(&l.hr, u);
    take(&l.scratch, 6 * u);
    take(&l.hm, rec_masks(training) * u);  // a step's masked h_prev, per block
    l.total = at;
    return l;
  }
  int64_t cache_per_row(bool training) const { return layout(training).total; }
  // the cache's arrays for a batch of n samples
  struct Planes {
    T *xs, *z, *zr, *hp, *c, *rh, *mt, *mi, *mr, *hl, *dh, *dhn, *dc, *tmp, *hr, *scratch, *hm;
  };
  Planes planes(T* cache, int64_t n, bool training) const {
    const Layout L = layout(training);
    auto at = [&](int64_t off) { return cache + n * off; };
    return {at(L.xs),  at(L.z),   at(L.zr), at(L.hp),  at(L.c),  at(L.rh),      at(L.mt),
            at(L.mi),  at(L.mr),  at(L.hl), at(L.dh),  at(L.dhn), at(L.dc),     at(L.tmp),
            at(L.hr),  at(L.scratch), at(L.hm)};
  }
  int64_t xs_copies(bool training) const { return in_masks(training) ? input_blocks(training).count : 1; }

  // column blocks of the gates: [b * width, (b + 1) * width)
  struct Blocks {
    int64_t count, width;
  };
  Blocks input_blocks(bool training) const {
    return in_masks(training) > 1 ? Blocks{gates(), u} : Blocks{1, gu()};
  }
  // the gates whose recurrent product is h_prev @ R (GRU reset before: z and
  // r; its candidate's product is (r * h_prev) @ R_h)
  Blocks rec_blocks(bool training) const {
    const int64_t g = cell == Cell::Gru && !reset_after ? 2 : gates();
    return rec_masks(training) ? Blocks{g, u} : Blocks{1, g * u};
  }
  int64_t time_of(int64_t s) const { return go_backwards ? steps - 1 - s : s; }

  // Forward of rows samples x (rows, steps, f) into out (rows, out_size()).
  void forward(const T* params, int64_t k_off, int64_t r_off, int64_t b_off, const T* x, T* out,
               T* cache, int64_t rows, bool training, MT19937* rng, const T* mask,
               int threads) const {
    const int64_t G = gu(), n = rows;
    const T* K = params + k_off;
    const T* Rk = params + r_off;
    const T* bias = use_bias ? params + b_off : nullptr;
    const Planes P = planes(cache, n, training);
    T *Z = P.z, *ZR = P.zr, *HP = P.hp, *C = P.c, *RH = P.rh, *MT = P.mt, *MI = P.mi, *MR = P.mr;
    T *HL = P.hl, *HR = P.hr;
    const int64_t nmi = in_masks(training), nmr = rec_masks(training);
    if (nmi || nmr) {
      if (!rng) throw std::logic_error(name + ": dropout needs the fit's random stream");
      if (nmi) dropout_mask(MI, n * nmi * f, dropout, *rng);       // (rows, nmi, f)
      if (nmr) dropout_mask(MR, nmr * u * n, rdropout, *rng);      // (nmr, u, rows)
    }
    if (mask)
      for (int64_t s = 0; s < steps; ++s)
        for (int64_t i = 0; i < n; ++i) MT[s * n + i] = mask[i * steps + time_of(s)];
    // the input in processing order, a (f, n) block a step (a copy per
    // input-dropout block, masked)
    const Blocks ib = input_blocks(training);
    for (int64_t b = 0; b < xs_copies(training); ++b)
      for (int64_t s = 0; s < steps; ++s) {
        T* d = xs_block(P, b, s, n);
        for (int64_t i = 0; i < n; ++i) {
          const T* xi = x + (i * steps + time_of(s)) * f;
          const T* mk = nmi ? MI + (i * nmi + b) * f : nullptr;
          for (int64_t j = 0; j < f; ++j) d[j * n + i] = mk ? xi[j] * mk[j] : xi[j];
        }
      }
    const Blocks rb = rec_blocks(training);
    auto row = [&](T* base, int64_t v) { return base + v * n; };
    // every step's input projection (independent steps, a share of them per
    // thread): the gates' pre-activations start as bias + the step's input @ K
    parallel_for(steps, steps * G * n * (f + 2), threads, [&](int64_t s) {
      T* Zs = Z + s * G * n;
      for (int64_t g = 0; g < G; ++g) std::fill(row(Zs, g), row(Zs, g) + n, bias ? bias[g] : T(0));
      if (reset_after) {
        T* ZRs = ZR + s * G * n;
        for (int64_t g = 0; g < G; ++g)
          std::fill(row(ZRs, g), row(ZRs, g) + n, bias ? bias[G + g] : T(0));
      }
      for (int64_t b = 0; b < ib.count; ++b) {
        const int64_t c0 = b * ib.width;
        detail::gemm<T>(true, false, row(Zs, c0), K + c0, xs_block(P, nmi ? b : 0, s, n), ib.width,
                        n, f, T(1), T(1), 1, nullptr, false, G, n, n);
      }
    });
    for (int64_t s = 0; s < steps; ++s) {
      T* Zs = Z + s * G * n;
      T* ZRs = reset_after ? ZR + s * G * n : nullptr;
      T* HPs = HP + s * u * n;
      const T* M = mask ? MT + s * n : nullptr;
      if (s == 0) std::fill(HPs, HPs + u * n, T(0));
      T* hout = s + 1 < steps ? HP + (s + 1) * u * n : HL;
      // + h_prev @ R
      if (s > 0)
        for (int64_t b = 0; b < rb.count; ++b) {
          const int64_t c0 = b * rb.width;
          const T* src = HPs;
          if (nmr) {
            masked_plane(HR, HPs, MR + b * u * n, n);
            src = HR;
          }
          detail::gemm<T>(true, false, row(reset_after ? ZRs : Zs, c0), Rk + c0, src, rb.width, n,
                          u, T(1), T(1), threads, nullptr, false, G, n, n);
        }
      const T* hpr = s > 0 ? HPs : nullptr;
      auto hp = [&](int64_t g) { return hpr ? hpr + g * n : nullptr; };
      if (cell == Cell::Gru && !reset_after) {
        const T* hr = hpr;
        if (hpr && nmr) {
          masked_plane(HR, HPs, MR + 2 * u * n, n);
          hr = HR;
        }
        T* RHs = RH + s * u * n;
        each_unit(n, threads, [&](int64_t g) {
          detail::gru_unit_before_gates<T>(row(Zs, g), row(Zs, u + g), hr ? hr + g * n : nullptr,
                                           RHs + g * n, n, ract);
        });
        if (s > 0)
          detail::gemm<T>(true, false, row(Zs, 2 * u), Rk + 2 * u, RHs, u, n, u, T(1), T(1),
                          threads, nullptr, false, G, n, n);
      }
      each_unit(n, threads, [&](int64_t g) {
        T* h = hout + g * n;
        switch (cell) {
          case Cell::Simple:
            detail::simple_unit<T>(row(Zs, g), hp(g), h, M, n, act);
            break;
          case Cell::Lstm:
            detail::lstm_unit<T>(row(Zs, g), row(Zs, u + g), row(Zs, 2 * u + g), row(Zs, 3 * u + g),
                                 s > 0 ? C + ((s - 1) * u + g) * n : nullptr, hp(g),
                                 C + (s * u + g) * n, h, M, n, act, ract);
            break;
          case Cell::Gru:
            if (reset_after)
              detail::gru_unit_after<T>(row(Zs, g), row(Zs, u + g), row(Zs, 2 * u + g), row(ZRs, g),
                                        row(ZRs, u + g), row(ZRs, 2 * u + g), hp(g), h, M, n, act,
                                        ract);
            else
              detail::gru_unit_before_out<T>(row(Zs, g), row(Zs, 2 * u + g), hp(g), h, M, n, act);
            break;
        }
      });
      if (return_sequences)
        for (int64_t i = 0; i < n; ++i)
          for (int64_t g = 0; g < u; ++g) out[(i * steps + s) * u + g] = hout[g * n + i];
    }
    if (!return_sequences)
      for (int64_t i = 0; i < n; ++i)
        for (int64_t g = 0; g < u; ++g) out[i * u + g] = HL[g * n + i];
  }

  // dout (rows, out_size()); din (rows, steps, f) unless null; grads at the
  // offsets (+)= the parameter gradients, each summed step by step as the
  // steps go back (every step's share a fixed-order product).
  void backward(const T* params, T* grads, int64_t k_off, int64_t r_off, int64_t b_off,
                const T* x, const T* dout, T* cache, T* din, int64_t rows, bool accumulate,
                const T* mask, int threads) const {
    (void)x;
    const int64_t G = gu(), n = rows;
    const T* K = params + k_off;
    const T* Rk = params + r_off;
    const Planes P = planes(cache, n, true);
    T *Z = P.z, *ZR = P.zr, *HP = P.hp, *C = P.c, *RH = P.rh, *MT = P.mt, *MI = P.mi, *MR = P.mr;
    T *dh = P.dh, *dhn = P.dhn, *dc = P.dc, *TMP = P.tmp, *HR = P.hr, *S = P.scratch;
    const int64_t nmi = in_masks(true), nmr = rec_masks(true);
    T* dK = grads + k_off;
    T* dR = grads + r_off;
    T* db = use_bias ? grads + b_off : nullptr;
    if (!accumulate) {
      std::fill(dK, dK + f * G, T(0));
      std::fill(dR, dR + u * G, T(0));
      if (db) std::fill(db, db + bias_size(), T(0));
    }
    std::fill(dh, dh + u * n, T(0));
    std::fill(dc, dc + u * n, T(0));
    const Blocks ib = input_blocks(true);
    const Blocks rb = rec_blocks(true);
    auto row = [&](T* base, int64_t v) { return base + v * n; };
    for (int64_t s = steps; s-- > 0;) {
      T* Zs = Z + s * G * n;
      T* ZRs = reset_after ? ZR + s * G * n : nullptr;
      T* HPs = HP + s * u * n;
      const T* M = mask ? MT + s * n : nullptr;
      if (return_sequences || s == steps - 1)
        for (int64_t i = 0; i < n; ++i) {
          const T* d = dout + (return_sequences ? (i * steps + s) * u : i * u);
          for (int64_t g = 0; g < u; ++g) dh[g * n + i] += d[g];
        }
      const T* hpr = s > 0 ? HPs : nullptr;
      auto hp = [&](int64_t g) { return hpr ? hpr + g * n : nullptr; };
      each_unit(n, threads, [&](int64_t g) {
        T* dhg = dh + g * n;
        T* dng = dhn + g * n;
        T* sg = S + g * 6 * n;
        switch (cell) {
          case Cell::Simple:
            detail::simple_unit_backward<T>(row(Zs, g), dhg, sg, M, n, act);
            break;
          case Cell::Lstm:
            detail::lstm_unit_backward<T>(row(Zs, g), row(Zs, u + g), row(Zs, 2 * u + g),
                                          row(Zs, 3 * u + g),
                                          s > 0 ? C + ((s - 1) * u + g) * n : nullptr,
                                          C + (s * u + g) * n, dhg, dc + g * n, sg, M, n, act, ract);
            break;
          case Cell::Gru:
            if (reset_after)
              detail::gru_unit_after_backward<T>(row(Zs, g), row(Zs, u + g), row(Zs, 2 * u + g),
                                                 row(ZRs, g), row(ZRs, u + g), row(ZRs, 2 * u + g),
                                                 hp(g), dhg, dng, sg, M, n, act, ract);
            else
              detail::gru_unit_before_backward1<T>(row(Zs, g), row(Zs, 2 * u + g), hp(g), dhg, dng,
                                                   sg, M, n, act, ract);
            return;
        }
        // no direct term: only a masked step's state passes its gradient back
        std::fill(dng, dng + n, T(0));
        detail::carry_masked<T>(dng, dhg, M, n);
      });
      T* RHs = cell == Cell::Gru && !reset_after ? RH + s * u * n : nullptr;
      if (RHs) {
        // drh = R_h @ d_candidate, then the gradient at r and dh_prev's term
        if (s > 0)
          detail::gemm<T>(false, false, TMP, Rk + 2 * u, row(Zs, 2 * u), u, n, u, T(1), T(0),
                          threads, nullptr, false, G, n, n);
        else
          std::fill(TMP, TMP + u * n, T(0));
        const T* hr = hpr;
        if (hpr && nmr) {
          masked_plane(HR, HPs, MR + 2 * u * n, n);
          hr = HR;
        }
        each_unit(n, threads, [&](int64_t g) {
          detail::gru_unit_before_backward2<T>(row(Zs, u + g), TMP + g * n,
                                               hr ? hr + g * n : nullptr,
                                               nmr ? MR + (2 * u + g) * n : nullptr, dhn + g * n,
                                               S + g * 6 * n, M, n, ract);
        });
      }
      if (s > 0) {
        // dh_prev += R @ dz (through each block's recurrent-dropout mask)
        const T* dZr = reset_after ? ZRs : Zs;
        for (int64_t b = 0; b < rb.count; ++b) {
          const int64_t c0 = b * rb.width;
          if (!nmr) {
            rows_product(dhn, Rk + c0, dZr + c0 * n, n, rb.width, G, threads);
          } else {
            detail::gemm<T>(false, false, TMP, Rk + c0, dZr + c0 * n, u, n, rb.width, T(1), T(0),
                            threads, nullptr, false, G, n, n);
            const T* mk = MR + b * u * n;
            for (int64_t q = 0; q < u * n; ++q) dhn[q] += TMP[q] * mk[q];
          }
        }
      }
      std::swap(dh, dhn);
    }
    // Z (ZR) now hold the gradients at every step's gate pre-activations.
    // The parameter gradients, each a sum over the steps in order of every
    // step's product: a thread takes a share of the gates' columns (whole
    // dropout blocks, or the GRU candidate's block, when they differ).
    const bool by_block = ib.count > 1 || nmr || (cell == Cell::Gru && !reset_after);
    const int64_t width = by_block ? u : 64;
    const int64_t shares = (G + width - 1) / width;
    parallel_for(shares, shares > 1 ? steps * G * n * (f + u + 2) : 0, threads, [&](int64_t q) {
      const int64_t c0 = q * width, w = std::min(G, c0 + width) - c0;
      const int64_t bx = ib.count > 1 ? c0 / u : 0;  // the input copy of these columns
      const bool candidate = cell == Cell::Gru && !reset_after && c0 >= 2 * u;
      for (int64_t s = 0; s < steps; ++s) {
        T* Zs = Z + s * G * n;
        T* dZr = reset_after ? ZR + s * G * n : Zs;
        detail::gemm<T>(false, true, dK + c0, xs_block(P, bx, s, n), row(Zs, c0), f, w, n, T(1),
                        T(1), 1, nullptr, false, n, n, G);
        if (db) {
          add_row_sums(db + c0, row(Zs, c0), w, n);
          if (reset_after) add_row_sums(db + G + c0, row(dZr, c0), w, n);
        }
        if (s == 0) continue;  // h_prev is 0 at the first step
        const T* A = candidate ? RH + s * u * n : HP + s * u * n;
        if (nmr && !candidate) {
          T* hm = P.hm + (c0 / u) * u * n;
          masked_plane(hm, A, MR + (c0 / u) * u * n, n);
          A = hm;
        }
        detail::gemm<T>(false, true, dR + c0, A, row(dZr, c0), u, w, n, T(1), T(1), 1, nullptr,
                        false, n, n, G);
      }
    });
    if (!din) return;
    // dx = K @ dz, each block through its input-dropout mask, into the
    // input's copies (free once dK is done), a share of the steps per thread
    parallel_for(steps, steps * G * n * f, threads, [&](int64_t s) {
      T* Zs = Z + s * G * n;
      for (int64_t b = 0; b < ib.count; ++b) {
        const int64_t c0 = b * ib.width;
        detail::gemm<T>(false, false, xs_block(P, b, s, n), K + c0, row(Zs, c0), f, n, ib.width,
                        T(1), T(0), 1, nullptr, false, G, n, n);
      }
      for (int64_t i = 0; i < n; ++i) {
        T* di = din + (i * steps + time_of(s)) * f;
        for (int64_t j = 0; j < f; ++j) {
          T v = 0;
          for (int64_t b = 0; b < ib.count; ++b) {
            const T d = xs_block(P, b, s, n)[j * n + i];
            v += nmi ? d * MI[(i * nmi + b) * f + j] : d;
          }
          di[j] = v;
        }
      }
    });
  }

  double add_penalties(const T* params, T* grads, double scale, int64_t k_off, int64_t r_off,
                       int64_t b_off) const {
    double total = w.add_penalties(params, grads, scale, k_off, use_bias ? b_off : -1, f, gu());
    if (use_bias && reset_after)  // the recurrent bias row
      total += add_penalty(w.bias_penalty, params + b_off + gu(), grads + b_off + gu(), gu(), scale);
    return total + add_penalty(rec_penalty, params + r_off, grads + r_off, u * gu(), scale);
  }
  bool has_penalties() const { return w.has_penalties() || rec_penalty.active(); }
  void apply_constraints(T* params, int64_t k_off, int64_t r_off, int64_t b_off) const {
    constrain(w.kernel_constraint, params + k_off, f, gu());
    constrain(rec_constraint, params + r_off, u, gu());
    if (use_bias) constrain(w.bias_constraint, params + b_off, reset_after ? 2 : 1, gu());
  }

 private:
  // f(g) for every unit g of a step (independent lanes: any split is exact)
  template <class F>
  void each_unit(int64_t n, int threads, F&& fn) const {
    parallel_for(u, u * n * 16, threads, fn);
  }
  // dh (u, n) += R[:, block] (u, width; row stride G) @ dz (width, n): the
  // loop's serial product, its rows shared among the threads (GEMM keeps a
  // product this small on one thread, and the other waits out every step). A
  // row's sum is the same whatever rows it comes with, so any split is exact.
  void rows_product(T* dh, const T* R, const T* dz, int64_t n, int64_t width, int64_t G,
                    int threads) const {
    constexpr int64_t kTile = 12;  // whole register tiles per share
    const int64_t tiles = (u + kTile - 1) / kTile;
    const int64_t macs = u * n * width;  // split from 2^18 (an LSTM 128's 2^21 at batch 32)
    const int shares = macs >= (int64_t(1) << 18) ? int(std::min<int64_t>(threads, tiles)) : 1;
    parallel_for(shares, shares > 1 ? macs : 0, shares, [&](int64_t t) {
      const int64_t r0 = std::min(u, tiles * t / shares * kTile);
      const int64_t r1 = std::min(u, tiles * (t + 1) / shares * kTile);
      if (r1 > r0)
        detail::gemm<T>(false, false, dh + r0 * n, R + r0 * G, dz, r1 - r0, n, width, T(1), T(1),
                        1, nullptr, false, G, n, n);
    });
  }
  // step s's input block (f, n) of copy b
  T* xs_block(const Planes& P, int64_t b, int64_t s, int64_t n) const {
    return P.xs + (b * steps + s) * f * n;
  }
  // dst (u, n) = h (u, n) times the mask plane mk (u, n)
  void masked_plane(T* dst, const T* h, const T* mk, int64_t n) const {
    for (int64_t q = 0; q < u * n; ++q) dst[q] = h[q] * mk[q];
  }
  // db (m) += the sums of the rows of z (m, len), each in a fixed order
  static void add_row_sums(T* db, const T* z, int64_t m, int64_t len) {
    constexpr int64_t W = 16;  // lanes of partial sums (q mod 16), added by a fixed tree
    for (int64_t g = 0; g < m; ++g) {
      T acc[W] = {};
      const T* zg = z + g * len;
      int64_t q = 0;
      for (; q + W <= len; q += W)
        for (int64_t l = 0; l < W; ++l) acc[l] += zg[q + l];
      for (int64_t l = 0; q + l < len; ++l) acc[l] += zg[q + l];
      for (int64_t w = W / 2; w >= 1; w /= 2)
        for (int64_t l = 0; l < w; ++l) acc[l] += acc[l + w];
      db[g] += acc[0];
    }
  }
};

}  // namespace nc
