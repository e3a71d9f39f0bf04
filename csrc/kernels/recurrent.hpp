// The recurrent cells' steps (SimpleRNN, LSTM, GRU), Keras's gate orders:
// LSTM (i, f, c, o), GRU (z, r, h). The layer keeps a step's values unit by
// unit with the batch's samples side by side (one unit's values for every
// sample are contiguous: "rows in lanes"), so every elementwise pass of a
// step runs over whole vectors whatever the number of units (6 GRU units
// over a batch of 100 are 6 rows of 100 lanes, not 100 rows of 6). Each
// function here is one unit's row of a step, over `n` samples; compiled per
// instruction set. sigmoid and tanh in float32 are straight-line arithmetic on
// the float32 exponential (activations.hpp), so the loops are vector loops.
//
// mask (n; null: none): a sample whose mask is 0 at this step keeps its
// state (Keras's masking: the state is carried over the padded step).
#pragma once
#include <cmath>
#include <cstdint>

#include "../core/simd.hpp"
#include "../core/types.hpp"
#include "activations.hpp"

namespace nc {

// logistic(x) = 1 / (1 + e^-x) through e = exp(-|x|) <= 1, never overflowing
__attribute__((always_inline)) inline float gate_sigmoid(float x) {
  const float e = exp_nonpositive(-std::fabs(x));
  const float inv = 1.f / (1.f + e);
  return x >= 0.f ? inv : e * inv;
}
inline double gate_sigmoid(double x) { return logistic(x); }

// tanh: Cephes's tanhf (a polynomial below 0.625, else 1 - 2 / (e^2x + 1)),
// with e^-2|x| from the float32 exponential
__attribute__((always_inline)) inline float gate_tanh(float x) {
  const float a = std::fabs(x);
  const float e = exp_nonpositive(-2.f * a);
  const float big = (1.f - e) / (1.f + e);
  const float z = x * x;
  const float small =
      ((((-5.70498872745e-3f * z + 2.06390887954e-2f) * z - 5.37397155531e-2f) * z +
        1.33314422036e-1f) * z - 3.33332819422e-1f) * z * a + a;
  const float t = a > 0.625f ? big : small;
  return x < 0.f ? -t : t;
}
inline double gate_tanh(double x) { return std::tanh(x); }

// The activations a recurrent layer takes: those whose derivative is a
// function of their output (checked when the layer is built).
inline bool recurrent_activation_ok(const ActSpec& a) {
  return !a.needs_input() && a.kind != Act::Softmax;
}

// Keras's defaults (tanh, with sigmoid gates): the cells' steps then run as one
// fused pass over the unit's row, every value loaded and stored once (a pass
// per activation waited on its loads: with the step-major layout of
// layers/rnn_core.hpp, the LSTM text step's forward gate work went from 4.8
// to 3.3 ms). First: the first step (no previous state: null cp, hp);
// Masked: a mask is given. Each case is its own loop, so none tests a pointer
// per lane (a pass that did ran in half-width vectors with masked loads).
inline bool default_gates(const ActSpec& act, const ActSpec& ract) {
  return act.kind == Act::Tanh && ract.kind == Act::Logistic;
}
#define NC_RNN_CASES(FIRST, F, ...)                        \
  if (FIRST) {                                             \
    if (mask) return F<T, true, true>(__VA_ARGS__);        \
    return F<T, true, false>(__VA_ARGS__);                 \
  }                                                        \
  if (mask) return F<T, false, true>(__VA_ARGS__);         \
  return F<T, false, false>(__VA_ARGS__);

template <class T, bool First, bool Masked>
__attribute__((always_inline)) inline void lstm_step(T* __restrict i, T* __restrict f,
                                                     T* __restrict g, T* __restrict o,
                                                     const T* __restrict cp,
                                                     const T* __restrict hp, T* __restrict c,
                                                     T* __restrict h, const T* __restrict mask,
                                                     int64_t n) {
  for (int64_t j = 0; j < n; ++j) {
    const T iv = gate_sigmoid(i[j]);
    const T fv = gate_sigmoid(f[j]);
    const T gv = gate_tanh(g[j]);
    const T ov = gate_sigmoid(o[j]);
    const T p = First ? T(0) : cp[j];
    const T cv = fv * p + iv * gv;
    const T hv = ov * gate_tanh(cv);
    i[j] = iv;
    f[j] = fv;
    g[j] = gv;
    o[j] = ov;
    if (Masked) {
      const bool kept = mask[j] != T(0);
      c[j] = kept ? cv : p;
      h[j] = kept ? hv : (First ? T(0) : hp[j]);
    } else {
      c[j] = cv;
      h[j] = hv;
    }
  }
}

template <class T, bool First, bool Masked>
__attribute__((always_inline)) inline void lstm_step_backward(
    T* __restrict i, T* __restrict f, T* __restrict g, T* __restrict o, const T* __restrict cp,
    const T* __restrict c, const T* __restrict dh, T* __restrict dc, const T* __restrict mask,
    int64_t n) {
  for (int64_t j = 0; j < n; ++j) {
    const T tc = gate_tanh(c[j]);
    const T iv = i[j];
    const T fv = f[j];
    const T gv = g[j];
    const T ov = o[j];
    const T d = dh[j] * ov * (T(1) - tc * tc) + dc[j];
    const T p = First ? T(0) : cp[j];
    const T gi = d * gv * (iv * (T(1) - iv));
    const T gf = d * p * (fv * (T(1) - fv));
    const T gg = d * iv * (T(1) - gv * gv);
    const T go = dh[j] * tc * (ov * (T(1) - ov));
    if (Masked) {
      const bool kept = mask[j] != T(0);
      i[j] = kept ? gi : T(0);
      f[j] = kept ? gf : T(0);
      g[j] = kept ? gg : T(0);
      o[j] = kept ? go : T(0);
      dc[j] = kept ? d * fv : dc[j];
    } else {
      i[j] = gi;
      f[j] = gf;
      g[j] = gg;
      o[j] = go;
      dc[j] = d * fv;
    }
  }
}

template <class T, bool First, bool Masked>
__attribute__((always_inline)) inline void gru_step(T* __restrict xz, T* __restrict xr,
                                                    T* __restrict xh, const T* __restrict rz,
                                                    const T* __restrict rr,
                                                    const T* __restrict rh,
                                                    const T* __restrict hp, T* __restrict h,
                                                    const T* __restrict mask, int64_t n) {
  for (int64_t j = 0; j < n; ++j) {
    const T z = gate_sigmoid(xz[j] + rz[j]);
    const T r = gate_sigmoid(xr[j] + rr[j]);
    const T hh = gate_tanh(xh[j] + r * rh[j]);
    const T p = First ? T(0) : hp[j];
    xz[j] = z;
    xr[j] = r;
    xh[j] = hh;
    const T hv = z * p + (T(1) - z) * hh;
    h[j] = Masked ? (mask[j] != T(0) ? hv : p) : hv;
  }
}

template <class T, bool First, bool Masked>
__attribute__((always_inline)) inline void gru_step_backward(
    T* __restrict xz, T* __restrict xr, T* __restrict xh, T* __restrict rz, T* __restrict rr,
    T* __restrict rh, const T* __restrict hp, const T* __restrict dh, T* __restrict dhp,
    const T* __restrict mask, int64_t n) {
  for (int64_t j = 0; j < n; ++j) {
    const T z = xz[j];
    const T r = xr[j];
    const T hh = xh[j];
    const T p = First ? T(0) : hp[j];
    const bool kept = Masked ? mask[j] != T(0) : true;
    const T gz = kept ? dh[j] * (p - hh) * (z * (T(1) - z)) : T(0);
    const T gh = kept ? dh[j] * (T(1) - z) * (T(1) - hh * hh) : T(0);
    const T gr = gh * rh[j] * (r * (T(1) - r));
    dhp[j] = kept ? dh[j] * z : dh[j];
    rh[j] = gh * r;
    xz[j] = gz;
    rz[j] = gz;
    xr[j] = gr;
    rr[j] = gr;
    xh[j] = gh;
  }
}
namespace detail {

// x[0, n) <- act(x), in place
NC_ISA_FUNCTION((template <class T>), (<T>), void, act_inplace,
                (T* __restrict x, int64_t n, const ActSpec& a), (x, n, a), {
  switch (a.kind) {
    case Act::Identity: return;
    case Act::Logistic:
      for (int64_t j = 0; j < n; ++j) x[j] = gate_sigmoid(x[j]);
      return;
    case Act::Tanh:
      for (int64_t j = 0; j < n; ++j) x[j] = gate_tanh(x[j]);
      return;
    case Act::Relu:
      if (a.plain_relu()) {
        for (int64_t j = 0; j < n; ++j) x[j] = x[j] > T(0) ? x[j] : T(0);
        return;
      }
      break;
    case Act::HardSigmoid:
      for (int64_t j = 0; j < n; ++j) {
        const T v = T(0.2) * x[j] + T(0.5);
        x[j] = v < T(0) ? T(0) : (v > T(1) ? T(1) : v);
      }
      return;
    default: break;
  }
  for (int64_t j = 0; j < n; ++j) x[j] = act_forward(a, x[j]);
})

// d[0, n) <- d * act'(y), y = act(x)
NC_ISA_FUNCTION((template <class T>), (<T>), void, act_grad_inplace,
                (T* __restrict d, const T* __restrict y, int64_t n, const ActSpec& a),
                (d, y, n, a), {
  switch (a.kind) {
    case Act::Identity: return;
    case Act::Logistic:
      for (int64_t j = 0; j < n; ++j) d[j] *= y[j] * (T(1) - y[j]);
      return;
    case Act::Tanh:
      for (int64_t j = 0; j < n; ++j) d[j] *= T(1) - y[j] * y[j];
      return;
    default: break;
  }
  for (int64_t j = 0; j < n; ++j) d[j] *= act_derivative(a, T(0), y[j]);
})

// y[0, n) = mask ? x : keep (keep null: zeros), the masked steps' carry
NC_ISA_FUNCTION((template <class T>), (<T>), void, carry_masked,
                (T* __restrict y, const T* __restrict keep, const T* __restrict mask, int64_t n),
                (y, keep, mask, n), {
  if (!mask) return;
  for (int64_t j = 0; j < n; ++j) y[j] = mask[j] != T(0) ? y[j] : (keep ? keep[j] : T(0));
})

// z[0, n) = mask ? z : 0 (no gradient through a masked step's gates)
NC_ISA_FUNCTION((template <class T>), (<T>), void, zero_masked,
                (T* __restrict z, const T* __restrict mask, int64_t n), (z, mask, n), {
  if (!mask) return;
  for (int64_t j = 0; j < n; ++j) z[j] = mask[j] != T(0) ? z[j] : T(0);
})

// LSTM forward of one unit: the gate rows i, f, g (= c~), o hold their
// pre-activations and become their activations; c = f * c_prev + i * g,
// h = o * act(c), masked samples keeping c_prev and h_prev.
NC_ISA_FUNCTION((template <class T>), (<T>), void, lstm_unit,
                (T* __restrict i, T* __restrict f, T* __restrict g, T* __restrict o,
                 const T* __restrict cp, const T* __restrict hp, T* __restrict c, T* __restrict h,
                 const T* __restrict mask, int64_t n, const ActSpec& act, const ActSpec& ract),
                (i, f, g, o, cp, hp, c, h, mask, n, act, ract), {
  if (default_gates(act, ract)) {
    NC_RNN_CASES(!cp, lstm_step, i, f, g, o, cp, hp, c, h, mask, n)
  }
  act_inplace<T>(i, n, ract);
  act_inplace<T>(f, n, ract);
  act_inplace<T>(g, n, act);
  act_inplace<T>(o, n, ract);
  for (int64_t j = 0; j < n; ++j) c[j] = f[j] * (cp ? cp[j] : T(0)) + i[j] * g[j];
  for (int64_t j = 0; j < n; ++j) h[j] = c[j];
  act_inplace<T>(h, n, act);
  for (int64_t j = 0; j < n; ++j) h[j] *= o[j];
  carry_masked<T>(c, cp, mask, n);
  carry_masked<T>(h, hp, mask, n);
})

// LSTM backward of one unit: dh the gradient at h; dc at c (from the step
// after), becoming the gradient at c_prev; the gate rows' activations become
// the gradients at their pre-activations (zero where masked). s: 6 rows of n
// scratch, s + k * n.
NC_ISA_FUNCTION((template <class T>), (<T>), void, lstm_unit_backward,
                (T* __restrict i, T* __restrict f, T* __restrict g, T* __restrict o,
                 const T* __restrict cp, const T* __restrict c, const T* __restrict dh,
                 T* __restrict dc, T* __restrict s, const T* __restrict mask, int64_t n,
                 const ActSpec& act, const ActSpec& ract),
                (i, f, g, o, cp, c, dh, dc, s, mask, n, act, ract), {
  if (default_gates(act, ract)) {
    NC_RNN_CASES(!cp, lstm_step_backward, i, f, g, o, cp, c, dh, dc, mask, n)
  }
  T* tc = s;
  T* d = s + n;
  T* go = s + 2 * n;
  T* gi = s + 3 * n;
  T* gf = s + 4 * n;
  T* gg = s + 5 * n;
  for (int64_t j = 0; j < n; ++j) tc[j] = c[j];
  act_inplace<T>(tc, n, act);
  for (int64_t j = 0; j < n; ++j) d[j] = dh[j] * o[j];
  act_grad_inplace<T>(d, tc, n, act);
  for (int64_t j = 0; j < n; ++j) {
    d[j] += dc[j];
    go[j] = dh[j] * tc[j];
    gi[j] = d[j] * g[j];
    gf[j] = d[j] * (cp ? cp[j] : T(0));
    gg[j] = d[j] * i[j];
    const bool kept = !mask || mask[j] != T(0);
    dc[j] = kept ? d[j] * f[j] : dc[j];
  }
  act_grad_inplace<T>(go, o, n, ract);
  act_grad_inplace<T>(gi, i, n, ract);
  act_grad_inplace<T>(gf, f, n, ract);
  act_grad_inplace<T>(gg, g, n, act);
  for (int64_t j = 0; j < n; ++j) {
    i[j] = gi[j];
    f[j] = gf[j];
    g[j] = gg[j];
    o[j] = go[j];
  }
  zero_masked<T>(i, mask, n);
  zero_masked<T>(f, mask, n);
  zero_masked<T>(g, mask, n);
  zero_masked<T>(o, mask, n);
})

// SimpleRNN forward of one unit: z (the pre-activation) becomes act(z), h
// that, or h_prev where masked.
NC_ISA_FUNCTION((template <class T>), (<T>), void, simple_unit,
                (T* __restrict z, const T* __restrict hp, T* __restrict h, const T* __restrict mask,
                 int64_t n, const ActSpec& act),
                (z, hp, h, mask, n, act), {
  act_inplace<T>(z, n, act);
  for (int64_t j = 0; j < n; ++j) h[j] = z[j];
  carry_masked<T>(h, hp, mask, n);
})

// its backward: z (act(z)) becomes dh * act'(z), zero where masked
NC_ISA_FUNCTION((template <class T>), (<T>), void, simple_unit_backward,
                (T* __restrict z, const T* __restrict dh, T* __restrict s,
                 const T* __restrict mask, int64_t n, const ActSpec& act),
                (z, dh, s, mask, n, act), {
  for (int64_t j = 0; j < n; ++j) s[j] = dh[j];
  act_grad_inplace<T>(s, z, n, act);
  for (int64_t j = 0; j < n; ++j) z[j] = s[j];
  zero_masked<T>(z, mask, n);
})

// GRU, reset after (Keras's default), one unit: the input rows xz, xr, xh
// (with the input bias) and the recurrent rows rz, rr, rh (h_prev @ R plus
// the recurrent bias): z = ract(xz + rz), r = ract(xr + rr), hh = act(xh +
// r * rh), h = z * h_prev + (1 - z) * hh. xz, xr, xh become z, r, hh.
NC_ISA_FUNCTION((template <class T>), (<T>), void, gru_unit_after,
                (T* __restrict xz, T* __restrict xr, T* __restrict xh, const T* __restrict rz,
                 const T* __restrict rr, const T* __restrict rh, const T* __restrict hp,
                 T* __restrict h, const T* __restrict mask, int64_t n, const ActSpec& act,
                 const ActSpec& ract),
                (xz, xr, xh, rz, rr, rh, hp, h, mask, n, act, ract), {
  if (default_gates(act, ract)) {
    NC_RNN_CASES(!hp, gru_step, xz, xr, xh, rz, rr, rh, hp, h, mask, n)
  }
  for (int64_t j = 0; j < n; ++j) {
    xz[j] += rz[j];
    xr[j] += rr[j];
  }
  act_inplace<T>(xz, n, ract);
  act_inplace<T>(xr, n, ract);
  for (int64_t j = 0; j < n; ++j) xh[j] += xr[j] * rh[j];
  act_inplace<T>(xh, n, act);
  for (int64_t j = 0; j < n; ++j) {
    const T p = hp ? hp[j] : T(0);
    h[j] = xz[j] * p + (T(1) - xz[j]) * xh[j];
  }
  carry_masked<T>(h, hp, mask, n);
})

// its backward: z, r, hh (rows xz, xr, xh) become the gradients at the input
// pre-activations, rz, rr, rh (the recurrent pre-activations) the gradients
// at them; dhp = dh * z, or dh where masked (the direct terms; the recurrent
// product's come after). s: 3 rows of n scratch.
NC_ISA_FUNCTION((template <class T>), (<T>), void, gru_unit_after_backward,
                (T* __restrict xz, T* __restrict xr, T* __restrict xh, T* __restrict rz,
                 T* __restrict rr, T* __restrict rh, const T* __restrict hp,
                 const T* __restrict dh, T* __restrict dhp, T* __restrict s,
                 const T* __restrict mask, int64_t n, const ActSpec& act, const ActSpec& ract),
                (xz, xr, xh, rz, rr, rh, hp, dh, dhp, s, mask, n, act, ract), {
  if (default_gates(act, ract)) {
    NC_RNN_CASES(!hp, gru_step_backward, xz, xr, xh, rz, rr, rh, hp, dh, dhp, mask, n)
  }
  T* gz = s;
  T* gh = s + n;
  T* gr = s + 2 * n;
  for (int64_t j = 0; j < n; ++j) {
    const T p = hp ? hp[j] : T(0);
    gz[j] = dh[j] * (p - xh[j]);
    gh[j] = dh[j] * (T(1) - xz[j]);
    const bool kept = !mask || mask[j] != T(0);
    dhp[j] = kept ? dh[j] * xz[j] : dh[j];
  }
  act_grad_inplace<T>(gz, xz, n, ract);
  act_grad_inplace<T>(gh, xh, n, act);
  for (int64_t j = 0; j < n; ++j) gr[j] = gh[j] * rh[j];
  act_grad_inplace<T>(gr, xr, n, ract);
  for (int64_t j = 0; j < n; ++j) {
    rh[j] = gh[j] * xr[j];
    xz[j] = rz[j] = gz[j];
    xr[j] = rr[j] = gr[j];
    xh[j] = gh[j];
  }
  zero_masked<T>(xz, mask, n);
  zero_masked<T>(xr, mask, n);
  zero_masked<T>(xh, mask, n);
  zero_masked<T>(rz, mask, n);
  zero_masked<T>(rr, mask, n);
  zero_masked<T>(rh, mask, n);
})

// GRU, reset before, one unit, in two passes around the candidate's product:
// first z = ract(xz), r = ract(xr) (the rows already hold h_prev @ R_z, R_r)
// and rhp = r * hr (hr: h_prev, or its recurrent-dropout copy; null at the
// first step); then, xh holding x_h + rhp @ R_h, hh = act(xh), h = z h_prev
// + (1 - z) hh.
NC_ISA_FUNCTION((template <class T>), (<T>), void, gru_unit_before_gates,
                (T* __restrict xz, T* __restrict xr, const T* __restrict hr, T* __restrict rhp,
                 int64_t n, const ActSpec& ract),
                (xz, xr, hr, rhp, n, ract), {
  act_inplace<T>(xz, n, ract);
  act_inplace<T>(xr, n, ract);
  for (int64_t j = 0; j < n; ++j) rhp[j] = hr ? xr[j] * hr[j] : T(0);
})

NC_ISA_FUNCTION((template <class T>), (<T>), void, gru_unit_before_out,
                (const T* __restrict xz, T* __restrict xh, const T* __restrict hp, T* __restrict h,
                 const T* __restrict mask, int64_t n, const ActSpec& act),
                (xz, xh, hp, h, mask, n, act), {
  act_inplace<T>(xh, n, act);
  for (int64_t j = 0; j < n; ++j) {
    const T p = hp ? hp[j] : T(0);
    h[j] = xz[j] * p + (T(1) - xz[j]) * xh[j];
  }
  carry_masked<T>(h, hp, mask, n);
})

// Its backward, first pass: z and hh's rows become their gradients (zero
// where masked), dhp = dh * z (dh where masked); the caller then forms drh =
// R_h @ d_candidate ...
NC_ISA_FUNCTION((template <class T>), (<T>), void, gru_unit_before_backward1,
                (T* __restrict xz, T* __restrict xh, const T* __restrict hp,
                 const T* __restrict dh, T* __restrict dhp, T* __restrict s,
                 const T* __restrict mask, int64_t n, const ActSpec& act, const ActSpec& ract),
                (xz, xh, hp, dh, dhp, s, mask, n, act, ract), {
  T* gz = s;
  T* gh = s + n;
  for (int64_t j = 0; j < n; ++j) {
    const T p = hp ? hp[j] : T(0);
    gz[j] = dh[j] * (p - xh[j]);
    gh[j] = dh[j] * (T(1) - xz[j]);
    const bool kept = !mask || mask[j] != T(0);
    dhp[j] = kept ? dh[j] * xz[j] : dh[j];
  }
  act_grad_inplace<T>(gz, xz, n, ract);
  act_grad_inplace<T>(gh, xh, n, act);
  for (int64_t j = 0; j < n; ++j) {
    xz[j] = gz[j];
    xh[j] = gh[j];
  }
  zero_masked<T>(xz, mask, n);
  zero_masked<T>(xh, mask, n);
})

// ... and the second: r's row becomes its gradient drh * hr * ract'(r), and
// dhp += drh * r * rm (rm: the candidate's recurrent-dropout mask, or null)
NC_ISA_FUNCTION((template <class T>), (<T>), void, gru_unit_before_backward2,
                (T* __restrict xr, const T* __restrict drh, const T* __restrict hr,
                 const T* __restrict rm, T* __restrict dhp, T* __restrict s,
                 const T* __restrict mask, int64_t n, const ActSpec& ract),
                (xr, drh, hr, rm, dhp, s, mask, n, ract), {
  for (int64_t j = 0; j < n; ++j) {
    const bool kept = !mask || mask[j] != T(0);
    dhp[j] += kept ? drh[j] * xr[j] * (rm ? rm[j] : T(1)) : T(0);
    s[j] = hr ? drh[j] * hr[j] : T(0);
  }
  act_grad_inplace<T>(s, xr, n, ract);
  for (int64_t j = 0; j < n; ++j) xr[j] = s[j];
  zero_masked<T>(xr, mask, n);
})

}  // namespace detail
}  // namespace nc

#undef NC_RNN_CASES
