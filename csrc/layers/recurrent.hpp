// The recurrent layers, Keras's definitions and weight layouts: SimpleRNN,
// LSTM (gates i, f, c, o), GRU (gates z, r, h; reset_after with the (2, 3u)
// bias, or reset before with (3u)), and Bidirectional around any of them.
// Input (steps, features); output (steps, units) with return_sequences, else
// (units): the last state. Backpropagation through time.
//
// One direction's pass (RnnCore): the input projection of every step is one
// GEMM over rows * steps rows (the input bias in its epilogue); then step by
// step one recurrent product for all gates (h_prev @ R, added onto the step's
// projection) and the cell's update in one pass per row (kernels/recurrent.hpp).
// Backward keeps the gradient at every step's gate pre-activations, so the
// kernel's, the recurrent kernel's and the bias's gradients are one GEMM (or
// column sum) each over all steps, and only dh_prev = dz @ R^T runs per step.
//
// Masking (Keras's): a sample whose mask is 0 at a step keeps its state over
// it (and outputs it again with return_sequences); nothing flows back through
// the step but the state's own gradient. Dropout (Keras 3): one input mask per
// sample for every step; with recurrent_dropout, one input mask and one
// recurrent mask per gate (Keras's implementation 1), from the fit's stream.
#pragma once
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "../core/parallel.hpp"
#include "../kernels/dense.hpp"
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

  // The per-sample cache, in arrays of rows * size values each. A step's
  // values are unit-major with the samples side by side: array[v * rows *
  // plane_steps() + s * rows + i] is value v (a gate unit, a state unit) of
  // sample i at processing step s (kernels/recurrent.hpp, "rows in lanes").
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
    take(&l.xs, xs_copies(training) * steps * f);  // the input, step-major (processing order)
    const int64_t sp = plane_steps();
    take(&l.z, sp * gu());
    take(&l.zr, reset_after ? sp * gu() : 0);
    take(&l.hp, sp * u);  // h_prev of every step
    take(&l.c, cell == Cell::Lstm ? sp * u : 0);
    take(&l.rh, cell == Cell::Gru && !reset_after ? sp * u : 0);
    take(&l.mt, steps);  // Keras's mask, step-major
    take(&l.mi, in_masks(training) * f);
    take(&l.mr, rec_masks(training) * u);
    take(&l.hl, u);  // the last state
    take(&l.dh, u);
    take(&l.dhn, u);
    take(&l.dc, u);
    take(&l.tmp, u);
    take(&l.hr, u);
    take(&l.scratch, 6 * u);
    take(&l.hm, rec_masks(training) ? sp * u : 0);
    l.total = at;
    return l;
  }
  int64_t cache_per_row(bool training) const { return layout(training).total; }
  // A plane's rows (one value v over every step and sample) lie rows *
  // plane_steps() apart, one step more than they hold: a batch of 32 over 80
  // steps put them 10240 bytes apart, so a step's 512 LSTM gate rows fell in
  // 2 of L1's 64 sets and each step's pass waited on L2.
  int64_t plane_steps() const { return steps + 1; }
  // the cache's arrays for a batch of n samples
  struct Planes {
    T *xs, *z, *zr, *hp, *c, *rh, *mt, *mi, *mr, *hl, *dh, *dhn, *dc, *tmp, *hr, *scratch, *hm;
  };
  Planes planes(T* cache, int64_t n, bool training) const {
    const Layout L = layout(training);
    auto at = [&](int64_t off) { return cache + n * off; };
    return {at(L.xs), at(L.z),   at(L.zr),  at(L.hp), at(L.c),  at(L.rh),  at(L.mt), at(L.mi), at(L.mr),
            at(L.hl), at(L.dh), at(L.dhn), at(L.dc), at(L.tmp), at(L.hr), at(L.scratch), at(L.hm)};
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
    const int64_t G = gu(), n = rows, RS = rows * steps, PS = rows * plane_steps();
    const T* K = params + k_off;
    const T* Rk = params + r_off;
    const T* bias = use_bias ? params + b_off : nullptr;
    const Planes P = planes(cache, n, training);
    T *Z = P.z, *ZR = P.zr, *HP = P.hp, *C = P.c, *RH = P.rh, *MT = P.mt, *MI = P.mi, *MR = P.mr;
    T *HL = P.hl, *HR = P.hr, *S = P.scratch;
    const int64_t nmi = in_masks(training), nmr = rec_masks(training);
    if (nmi || nmr) {
      if (!rng) throw std::logic_error(name + ": dropout needs the fit's random stream");
      if (nmi) dropout_mask(MI, n * nmi * f, dropout, *rng);       // (rows, nmi, f)
      if (nmr) dropout_mask(MR, nmr * u * n, rdropout, *rng);      // (nmr, u, rows)
    }
    if (mask)
      for (int64_t s = 0; s < steps; ++s)
        for (int64_t i = 0; i < n; ++i) MT[s * n + i] = mask[i * steps + time_of(s)];
    // the input, step-major in processing order (a copy per input-dropout
    // block, masked), then its projection: one GEMM over every step per block
    const Blocks ib = input_blocks(training);
    for (int64_t b = 0; b < xs_copies(training); ++b) {
      T* xs = P.xs + b * RS * f;
      for (int64_t s = 0; s < steps; ++s)
        for (int64_t i = 0; i < n; ++i) {
          const T* xi = x + (i * steps + time_of(s)) * f;
          T* d = xs + (s * n + i) * f;
          if (nmi) {
            const T* mk = MI + (i * nmi + b) * f;
            for (int64_t j = 0; j < f; ++j) d[j] = xi[j] * mk[j];
          } else {
            std::copy(xi, xi + f, d);
          }
        }
    }
    for (int64_t g = 0; g < G; ++g) std::fill(Z + g * PS, Z + g * PS + RS, bias ? bias[g] : T(0));
    if (reset_after)
      for (int64_t g = 0; g < G; ++g)
        std::fill(ZR + g * PS, ZR + g * PS + RS, bias ? bias[G + g] : T(0));
    for (int64_t b = 0; b < ib.count; ++b) {
      const int64_t c0 = b * ib.width;
      detail::gemm<T>(true, true, Z + c0 * PS, K + c0, P.xs + (nmi ? b : 0) * RS * f,
                      ib.width, RS, f, T(1), T(1), threads, nullptr, false, G, f, PS);
    }
    const Blocks rb = rec_blocks(training);
    for (int64_t s = 0; s < steps; ++s) {
      T* Zs = Z + s * n;
      T* ZRs = ZR + s * n;
      T* HPs = HP + s * n;
      const T* M = mask ? MT + s * n : nullptr;
      if (s == 0)
        for (int64_t g = 0; g < u; ++g) std::fill(HPs + g * PS, HPs + g * PS + n, T(0));
      T* hout = s + 1 < steps ? HP + (s + 1) * n : HL;
      const int64_t ldo = s + 1 < steps ? PS : n;
      if (s > 0)  // the recurrent products: gates (rows c0..) += R^T @ h_prev
        for (int64_t b = 0; b < rb.count; ++b) {
          const int64_t c0 = b * rb.width;
          const T* src = HPs;
          int64_t lds = PS;
          if (nmr) {
            masked_plane(HR, HPs, PS, MR + b * u * n, n);
            src = HR;
            lds = n;
          }
          detail::gemm<T>(true, false, (reset_after ? ZRs : Zs) + c0 * PS, Rk + c0, src,
                          rb.width, n, u, T(1), T(1), threads, nullptr, false, G, lds, PS);
        }
      const T* hpr = s > 0 ? HPs : nullptr;
      auto hp = [&](int64_t g) { return hpr ? hpr + g * PS : nullptr; };
      auto row = [&](T* base, int64_t v) { return base + v * PS; };
      if (cell == Cell::Gru && !reset_after) {
        const T* hr = hpr;
        int64_t ldr = PS;
        if (hpr && nmr) {
          masked_plane(HR, HPs, PS, MR + 2 * u * n, n);
          hr = HR;
          ldr = n;
        }
        each_unit(n, threads, [&](int64_t g) {
          detail::gru_unit_before_gates<T>(row(Zs, g), row(Zs, u + g), hr ? hr + g * ldr : nullptr,
                                           RH + g * PS + s * n, n, ract);
        });
        if (s > 0)
          detail::gemm<T>(true, false, Zs + 2 * u * PS, Rk + 2 * u, RH + s * n, u, n, u, T(1), T(1),
                          threads, nullptr, false, G, PS, PS);
      }
      each_unit(n, threads, [&](int64_t g) {
        T* h = hout + g * ldo;
        switch (cell) {
          case Cell::Simple:
            detail::simple_unit<T>(row(Zs, g), hp(g), h, M, n, act);
            break;
          case Cell::Lstm:
            detail::lstm_unit<T>(row(Zs, g), row(Zs, u + g), row(Zs, 2 * u + g), row(Zs, 3 * u + g),
                                 s > 0 ? C + g * PS + (s - 1) * n : nullptr, hp(g),
                                 C + g * PS + s * n, h, M, n, act, ract);
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
          for (int64_t g = 0; g < u; ++g) out[(i * steps + s) * u + g] = hout[g * ldo + i];
    }
    if (!return_sequences)
      for (int64_t i = 0; i < n; ++i)
        for (int64_t g = 0; g < u; ++g) out[i * u + g] = HL[g * n + i];
  }

  // dout (rows, out_size()); din (rows, steps, f) unless null; grads at the
  // offsets (+)= the parameter gradients.
  void backward(const T* params, T* grads, int64_t k_off, int64_t r_off, int64_t b_off,
                const T* x, const T* dout, T* cache, T* din, int64_t rows, bool accumulate,
                const T* mask, int threads) const {
    (void)x;
    const int64_t G = gu(), n = rows, RS = rows * steps, PS = rows * plane_steps();
    const T* K = params + k_off;
    const T* Rk = params + r_off;
    const Planes P = planes(cache, n, true);
    T *Z = P.z, *ZR = P.zr, *HP = P.hp, *C = P.c, *RH = P.rh, *MT = P.mt, *MI = P.mi, *MR = P.mr;
    T *dh = P.dh, *dhn = P.dhn, *dc = P.dc, *TMP = P.tmp, *HR = P.hr, *S = P.scratch;
    const int64_t nmi = in_masks(true), nmr = rec_masks(true);
    std::fill(dh, dh + u * n, T(0));
    std::fill(dc, dc + u * n, T(0));
    const Blocks rb = rec_blocks(true);
    auto row = [&](T* base, int64_t v) { return base + v * PS; };
    for (int64_t s = steps; s-- > 0;) {
      T* Zs = Z + s * n;
      T* ZRs = ZR + s * n;
      T* HPs = HP + s * n;
      const T* M = mask ? MT + s * n : nullptr;
      if (return_sequences || s == steps - 1)
        for (int64_t i = 0; i < n; ++i) {
          const T* d = dout + (return_sequences ? (i * steps + s) * u : i * u);
          for (int64_t g = 0; g < u; ++g) dh[g * n + i] += d[g];
        }
      const T* hpr = s > 0 ? HPs : nullptr;
      auto hp = [&](int64_t g) { return hpr ? hpr + g * PS : nullptr; };
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
                                          s > 0 ? C + g * PS + (s - 1) * n : nullptr,
                                          C + g * PS + s * n, dhg, dc + g * n, sg, M, n, act, ract);
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
      if (cell == Cell::Gru && !reset_after) {
        // drh = R_h @ d_candidate, then the gradient at r and dh_prev's term
        if (s > 0)
          detail::gemm<T>(false, false, TMP, Rk + 2 * u, Zs + 2 * u * PS, u, n, u, T(1), T(0),
                          threads, nullptr, false, G, PS, n);
        else
          std::fill(TMP, TMP + u * n, T(0));
        const T* hr = hpr;
        int64_t ldr = PS;
        if (hpr && nmr) {
          masked_plane(HR, HPs, PS, MR + 2 * u * n, n);
          hr = HR;
          ldr = n;
        }
        each_unit(n, threads, [&](int64_t g) {
          detail::gru_unit_before_backward2<T>(row(Zs, u + g), TMP + g * n,
                                               hr ? hr + g * ldr : nullptr,
                                               nmr ? MR + (2 * u + g) * n : nullptr, dhn + g * n,
                                               S + g * 6 * n, M, n, ract);
        });
      }
      if (s > 0) {
        const T* dZr = reset_after ? ZRs : Zs;
        for (int64_t b = 0; b < rb.count; ++b) {
          const int64_t c0 = b * rb.width;
          if (!nmr) {
            detail::gemm<T>(false, false, dhn, Rk + c0, dZr + c0 * PS, u, n, rb.width, T(1), T(1),
                            threads, nullptr, false, G, PS, n);
          } else {
            detail::gemm<T>(false, false, TMP, Rk + c0, dZr + c0 * PS, u, n, rb.width, T(1), T(0),
                            threads, nullptr, false, G, PS, n);
            const T* mk = MR + b * u * n;
            for (int64_t q = 0; q < u * n; ++q) dhn[q] += TMP[q] * mk[q];
          }
        }
      }
      std::swap(dh, dhn);
    }
    // the parameter gradients over all steps at once
    const T beta = accumulate ? T(1) : T(0);
    const Blocks ib = input_blocks(true);
    for (int64_t b = 0; b < ib.count; ++b) {
      const int64_t c0 = b * ib.width;
      detail::gemm<T>(true, true, grads + k_off + c0, P.xs + (nmi ? b : 0) * RS * f,
                      Z + c0 * PS, f, ib.width, RS, T(1), beta, threads, nullptr, false, f, PS, G);
    }
    for (int64_t b = 0; b < rb.count; ++b) {
      const int64_t c0 = b * rb.width;
      const T* A = HP;
      if (nmr) {
        T* HM = P.hm;
        for (int64_t v = 0; v < u; ++v)
          for (int64_t s = 0; s < steps; ++s)
            for (int64_t i = 0; i < n; ++i)
              HM[v * PS + s * n + i] = HP[v * PS + s * n + i] * MR[(b * u + v) * n + i];
        A = HM;
      }
      detail::gemm<T>(false, true, grads + r_off + c0, A, (reset_after ? ZR : Z) + c0 * PS, u,
                      rb.width, RS, T(1), beta, threads, nullptr, false, PS, PS, G);
    }
    if (cell == Cell::Gru && !reset_after)
      detail::gemm<T>(false, true, grads + r_off + 2 * u, RH, Z + 2 * u * PS, u, u, RS, T(1), beta,
                      threads, nullptr, false, PS, PS, G);
    if (use_bias) {
      row_sums(grads + b_off, Z, G, RS, PS, accumulate);
      if (reset_after) row_sums(grads + b_off + G, ZR, G, RS, PS, accumulate);
    }
    if (!din) return;
    for (int64_t b = 0; b < ib.count; ++b) {  // into the input's copies, free after dK
      const int64_t c0 = b * ib.width;
      detail::gemm<T>(true, true, P.xs + b * RS * f, Z + c0 * PS, K + c0, RS, f,
                      ib.width, T(1), T(0), threads, nullptr, false, PS, G, f);
    }
    for (int64_t s = 0; s < steps; ++s)
      for (int64_t i = 0; i < n; ++i) {
        T* di = din + (i * steps + time_of(s)) * f;
        for (int64_t j = 0; j < f; ++j) {
          T v = 0;
          for (int64_t b = 0; b < ib.count; ++b) {
            const T d = P.xs[b * RS * f + (s * n + i) * f + j];
            v += nmi ? d * MI[(i * nmi + b) * f + j] : d;
          }
          di[j] = v;
        }
      }
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
  // dst (u, n) = plane h (u rows ld apart) times the mask plane mk (u, n)
  void masked_plane(T* dst, const T* h, int64_t ld, const T* mk, int64_t n) const {
    for (int64_t g = 0; g < u; ++g)
      for (int64_t i = 0; i < n; ++i) dst[g * n + i] = h[g * ld + i] * mk[g * n + i];
  }
  // db (m) (+)= the sums of the rows of z (m, len; rows ld apart), in a fixed order
  static void row_sums(T* db, const T* z, int64_t m, int64_t len, int64_t ld, bool accumulate) {
    constexpr int64_t W = 16;  // lanes of partial sums (q mod 16), added by a fixed tree
    for (int64_t g = 0; g < m; ++g) {
      T acc[W] = {};
      const T* zg = z + g * ld;
      int64_t q = 0;
      for (; q + W <= len; q += W)
        for (int64_t l = 0; l < W; ++l) acc[l] += zg[q + l];
      for (int64_t l = 0; q + l < len; ++l) acc[l] += zg[q + l];
      for (int64_t w = W / 2; w >= 1; w /= 2)
        for (int64_t l = 0; l < w; ++l) acc[l] += acc[l + w];
      db[g] = accumulate ? db[g] + acc[0] : acc[0];
    }
  }
};

// SimpleRNN, LSTM, GRU: one direction.
template <class T>
class Recurrent : public Layer<T> {
 public:
  RnnCore<T> core;

  template <Cell kind>
  static std::unique_ptr<Layer<T>> make(LayerConfig& cfg, const Shape& in) {
    auto l = std::make_unique<Recurrent<T>>();
    l->core.read(cfg, in, kind, label(kind));
    l->in = in;
    l->out = l->core.out_shape();
    return l;
  }
  static const char* label(Cell kind) {
    return kind == Cell::Lstm ? "LSTM" : (kind == Cell::Gru ? "GRU" : "SimpleRNN");
  }

  std::vector<VarDecl> variables() const override { return core.variables(""); }
  int64_t cache_per_row(bool training) const override { return core.cache_per_row(training); }
  double flops_per_row() const override { return core.flops(); }
  bool passes_mask() const override { return core.return_sequences; }
  bool reads_mask() const override { return true; }

  void forward(const Context<T>& c, const Batch<T>& in, T* out, T* cache,
               int64_t rows) const override {
    core.forward(c.params, k(), r(), b(), in.dense, out, cache, rows, c.training, c.rng, c.mask,
                 c.threads);
  }
  void backward(const Context<T>& c, const Batch<T>& in, const T*, T* dout, const T* cache,
                T* din, T* grads, int64_t rows, bool accumulate) const override {
    core.backward(c.params, grads, k(), r(), b(), in.dense, dout, const_cast<T*>(cache), din,
                  rows, accumulate, c.mask, c.threads);
  }

  bool has_penalties() const override { return core.has_penalties(); }
  double add_penalties(const T* params, T* grads, double scale) const override {
    return core.add_penalties(params, grads, scale, k(), r(), b());
  }
  void apply_constraints(T* params) const override { core.apply_constraints(params, k(), r(), b()); }
  bool has_activity() const override { return core.w.activity_penalty.active(); }
  double activity(const T* y, T* dy, int64_t rows) const override {
    return activity_loss(core.w.activity_penalty, y, dy, rows * this->out.size());
  }

 private:
  int64_t k() const { return this->off[0]; }
  int64_t r() const { return this->off[1]; }
  int64_t b() const { return core.use_bias ? this->off[2] : 0; }
};

// Bidirectional(layer, merge_mode): the layer and a copy of it reading the
// sequence the other way (go_backwards flipped), their outputs merged
// (concat, sum, mul or ave) after the backward one's steps are put back in
// the input's order (return_sequences). Weights: the forward layer's, then
// the backward one's (Keras's order).
template <class T>
class Bidirectional : public Layer<T> {
 public:
  enum class Merge { Concat, Sum, Mul, Ave };
  RnnCore<T> fw, bw;
  Merge merge = Merge::Concat;

  static std::unique_ptr<Layer<T>> make(LayerConfig& cfg, const Shape& in) {
    auto l = std::make_unique<Bidirectional<T>>();
    const std::string inner = cfg.text("layer", "");
    Cell kind;
    if (inner == "lstm") kind = Cell::Lstm;
    else if (inner == "gru") kind = Cell::Gru;
    else if (inner == "simple_rnn") kind = Cell::Simple;
    else
      throw std::invalid_argument("Bidirectional wraps a recurrent layer (SimpleRNN, LSTM or GRU), got '" +
                                  inner + "'");
    l->fw.read(cfg, in, kind, std::string("Bidirectional(") + Recurrent<T>::label(kind) + ")");
    l->bw = l->fw;
    l->bw.go_backwards = !l->fw.go_backwards;
    const std::string mm = cfg.text("merge_mode", "concat");
    if (mm == "concat") l->merge = Merge::Concat;
    else if (mm == "sum") l->merge = Merge::Sum;
    else if (mm == "mul") l->merge = Merge::Mul;
    else if (mm == "ave") l->merge = Merge::Ave;
    else
      throw std::invalid_argument("Bidirectional: merge_mode must be 'concat', 'sum', 'mul' or 'ave', got '" +
                                  mm + "'");
    l->in = in;
    const int64_t width = l->merge == Merge::Concat ? 2 * l->fw.u : l->fw.u;
    l->out = l->fw.return_sequences ? Shape{l->fw.steps, width} : Shape{width};
    return l;
  }

  std::vector<VarDecl> variables() const override {
    std::vector<VarDecl> v = fw.variables("forward_");
    for (auto& d : bw.variables("backward_")) v.push_back(d);
    return v;
  }
  // each direction's output and cache, and the backward one's input gradient
  int64_t cache_per_row(bool training) const override {
    return 2 * fw.out_size() + fw.cache_per_row(training) + bw.cache_per_row(training) +
           (training ? this->in.size() : 0);
  }
  double flops_per_row() const override { return 2 * fw.flops(); }
  bool passes_mask() const override { return fw.return_sequences; }
  bool reads_mask() const override { return true; }

  void forward(const Context<T>& c, const Batch<T>& in, T* out, T* cache,
               int64_t rows) const override {
    Parts p = parts(cache, rows, c.training);
    fw.forward(c.params, voff(0), voff(1), voff(2), in.dense, p.fo, p.fc, rows, c.training, c.rng,
               c.mask, c.threads);
    bw.forward(c.params, voff(3), voff(4), voff(5), in.dense, p.bo, p.bc, rows, c.training, c.rng,
               c.mask, c.threads);
    const int64_t u = fw.u, steps = fw.return_sequences ? fw.steps : 1;
    const int64_t width = this->out.last();
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t s = 0; s < steps; ++s) {
        const T* a = p.fo + (i * steps + s) * u;
        const T* b = p.bo + (i * steps + (steps - 1 - s)) * u;  // back in the input's order
        T* o = out + (i * steps + s) * width;
        switch (merge) {
          case Merge::Concat:
            std::copy(a, a + u, o);
            std::copy(b, b + u, o + u);
            break;
          case Merge::Sum: for (int64_t j = 0; j < u; ++j) o[j] = a[j] + b[j]; break;
          case Merge::Mul: for (int64_t j = 0; j < u; ++j) o[j] = a[j] * b[j]; break;
          case Merge::Ave: for (int64_t j = 0; j < u; ++j) o[j] = (a[j] + b[j]) * T(0.5); break;
        }
      }
  }

  void backward(const Context<T>& c, const Batch<T>& in, const T*, T* dout, const T* cache,
                T* din, T* grads, int64_t rows, bool accumulate) const override {
    Parts p = parts(const_cast<T*>(cache), rows, true);
    const int64_t u = fw.u, steps = fw.return_sequences ? fw.steps : 1;
    const int64_t width = this->out.last();
    // the directions' output gradients, over their own outputs (fo, bo: no
    // longer needed but by mul, which reads both before either is written)
    T* dfo = p.fo;
    T* dbo = p.bo;
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t s = 0; s < steps; ++s) {
        const T* d = dout + (i * steps + s) * width;
        T* a = dfo + (i * steps + s) * u;
        T* b = dbo + (i * steps + (steps - 1 - s)) * u;
        for (int64_t j = 0; j < u; ++j) {
          T da, db;
          switch (merge) {
            case Merge::Concat: da = d[j]; db = d[u + j]; break;
            case Merge::Sum: da = db = d[j]; break;
            case Merge::Mul: da = d[j] * b[j]; db = d[j] * a[j]; break;
            default: da = db = d[j] * T(0.5); break;
          }
          a[j] = da;
          b[j] = db;
        }
      }
    fw.backward(c.params, grads, voff(0), voff(1), voff(2), in.dense, dfo, p.fc, din, rows,
                accumulate, c.mask, c.threads);
    bw.backward(c.params, grads, voff(3), voff(4), voff(5), in.dense, dbo, p.bc, din ? p.din : nullptr,
                rows, accumulate, c.mask, c.threads);
    if (din)
      for (int64_t q = 0; q < rows * this->in.size(); ++q) din[q] += p.din[q];
  }

  bool has_penalties() const override { return fw.has_penalties(); }
  double add_penalties(const T* params, T* grads, double scale) const override {
    return fw.add_penalties(params, grads, scale, voff(0), voff(1), voff(2)) +
           bw.add_penalties(params, grads, scale, voff(3), voff(4), voff(5));
  }
  void apply_constraints(T* params) const override {
    fw.apply_constraints(params, voff(0), voff(1), voff(2));
    bw.apply_constraints(params, voff(3), voff(4), voff(5));
  }
  bool has_activity() const override { return fw.w.activity_penalty.active(); }
  double activity(const T* y, T* dy, int64_t rows) const override {
    return activity_loss(fw.w.activity_penalty, y, dy, rows * this->out.size());
  }

 private:
  struct Parts {
    T *fo, *bo, *fc, *bc, *din;
  };
  Parts parts(T* cache, int64_t rows, bool training) const {
    Parts p;
    p.fo = cache;
    p.bo = p.fo + rows * fw.out_size();
    p.fc = p.bo + rows * fw.out_size();
    p.bc = p.fc + rows * fw.cache_per_row(training);
    p.din = p.bc + rows * bw.cache_per_row(training);
    return p;
  }
  // variable q of the forward (0-2) and backward (3-5) layers: kernel,
  // recurrent kernel, bias
  int64_t voff(int q) const {
    const int per = fw.use_bias ? 3 : 2;
    const int d = q / 3, v = q % 3;
    if (v >= per) return 0;
    return this->off[size_t(d * per + v)];
  }
};

}  // namespace nc
