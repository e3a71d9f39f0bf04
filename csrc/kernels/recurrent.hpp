// The recurrent cells' steps (SimpleRNN, LSTM, GRU), Keras's gate orders:
// LSTM (i, f, c, o), GRU (z, r, h). One time step of a batch: the gate
// pre-activations of the step (the input projection of every step is one
// GEMM beforehand, the recurrent product one GEMM for all gates) go through
// their activations and the cell's update in one pass per row, and back.
// Compiled per instruction set; sigmoid and tanh in float32 are straight-line
// arithmetic on the float32 exponential (activations.hpp), so the loops are
// vector loops.
//
// Layouts: a step's rows are `rows` samples; z rows hold G * u gate values
// (ldz apart), states u values (lds apart). mask (rows, ldm apart; null: no
// mask): a sample whose mask is 0 at this step keeps its state (Keras's
// masking: the state is carried over the padded step).
#pragma once
#include <cmath>
#include <cstdint>

#include "../core/simd.hpp"
#include "../core/types.hpp"
#include "activations.hpp"

namespace nc {

// logistic(x) = 1 / (1 + e^-x) through e = exp(-|x|) <= 1, never overflowing
inline float gate_sigmoid(float x) {
  const float e = exp_nonpositive(-std::fabs(x));
  const float inv = 1.f / (1.f + e);
  return x >= 0.f ? inv : e * inv;
}
inline double gate_sigmoid(double x) { return logistic(x); }

// tanh: Cephes's tanhf (a polynomial below 0.625, else 1 - 2 / (e^2x + 1)),
// with e^-2|x| from the float32 exponential
inline float gate_tanh(float x) {
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

// LSTM: z = (i, f, c~, o) pre-activations -> their activations (in place);
// c = f * c_prev + i * c~, h = o * act(c). th (u) is scratch.
NC_ISA_FUNCTION((template <class T>), (<T>), void, lstm_row,
                (T* __restrict z, const T* __restrict c_prev, T* __restrict c, T* __restrict h,
                 T* __restrict th, int64_t u, const ActSpec& act, const ActSpec& ract),
                (z, c_prev, c, h, th, u, act, ract), {
  act_inplace<T>(z, 2 * u, ract);
  act_inplace<T>(z + 2 * u, u, act);
  act_inplace<T>(z + 3 * u, u, ract);
  const T* ig = z;
  const T* fg = z + u;
  const T* cg = z + 2 * u;
  for (int64_t j = 0; j < u; ++j) {
    const T cp = c_prev ? c_prev[j] : T(0);
    c[j] = fg[j] * cp + ig[j] * cg[j];
    th[j] = c[j];
  }
  act_inplace<T>(th, u, act);
  const T* og = z + 3 * u;
  for (int64_t j = 0; j < u; ++j) h[j] = og[j] * th[j];
})

// LSTM backward of one row: dh (the gradient at h), dc (at c, from the step
// after; becomes the gradient at c_prev), z the gate activations (becomes the
// gradient at the pre-activations). s (6 u) scratch.
NC_ISA_FUNCTION((template <class T>), (<T>), void, lstm_row_backward,
                (T* __restrict z, T* __restrict dc, const T* __restrict dh, const T* __restrict c,
                 const T* __restrict c_prev, T* __restrict s, int64_t u, const ActSpec& act,
                 const ActSpec& ract),
                (z, dc, dh, c, c_prev, s, u, act, ract), {
  T* a = s;            // the gate activations i, f, c~, o
  T* tc = s + 4 * u;   // act(c)
  T* dtc = s + 5 * u;  // the gradient at c through h
  for (int64_t j = 0; j < 4 * u; ++j) a[j] = z[j];
  for (int64_t j = 0; j < u; ++j) tc[j] = c[j];
  act_inplace<T>(tc, u, act);
  for (int64_t j = 0; j < u; ++j) {
    z[3 * u + j] = dh[j] * tc[j];  // at o
    dtc[j] = dh[j] * a[3 * u + j];
  }
  act_grad_inplace<T>(dtc, tc, u, act);
  for (int64_t j = 0; j < u; ++j) {
    const T d = dc[j] + dtc[j];
    const T cp = c_prev ? c_prev[j] : T(0);
    z[j] = d * a[2 * u + j];  // at i
    z[u + j] = d * cp;        // at f
    z[2 * u + j] = d * a[j];  // at c~
    dc[j] = d * a[u + j];
  }
  act_grad_inplace<T>(z, a, 2 * u, ract);              // i, f
  act_grad_inplace<T>(z + 2 * u, a + 2 * u, u, act);   // c~
  act_grad_inplace<T>(z + 3 * u, a + 3 * u, u, ract);  // o
})

// GRU, reset after (Keras's default): zx = (x_z, x_r, x_h) with the input
// bias, rz = h_prev @ R + the recurrent bias. zx becomes (z, r, hh);
// h = z * h_prev + (1 - z) * hh, hh = act(x_h + r * rz_h).
NC_ISA_FUNCTION((template <class T>), (<T>), void, gru_row_after,
                (T* __restrict zx, const T* __restrict rz, const T* __restrict hp, T* __restrict h,
                 int64_t u, const ActSpec& act, const ActSpec& ract),
                (zx, rz, hp, h, u, act, ract), {
  for (int64_t j = 0; j < 2 * u; ++j) zx[j] += rz[j];
  act_inplace<T>(zx, 2 * u, ract);
  T* hh = zx + 2 * u;
  for (int64_t j = 0; j < u; ++j) hh[j] += zx[u + j] * rz[2 * u + j];
  act_inplace<T>(hh, u, act);
  for (int64_t j = 0; j < u; ++j) {
    const T p = hp ? hp[j] : T(0);
    h[j] = zx[j] * p + (T(1) - zx[j]) * hh[j];
  }
})

// its backward: zx (the activations z, r, hh) becomes the gradient at the
// input pre-activations, zr (rz) the gradient at the recurrent ones; dhp =
// dh * z (the direct term; the recurrent product's is added after). s (4 u).
NC_ISA_FUNCTION((template <class T>), (<T>), void, gru_row_after_backward,
                (T* __restrict zx, T* __restrict zr, const T* __restrict hp,
                 const T* __restrict dh, T* __restrict dhp, T* __restrict s, int64_t u,
                 const ActSpec& act, const ActSpec& ract),
                (zx, zr, hp, dh, dhp, s, u, act, ract), {
  for (int64_t j = 0; j < 3 * u; ++j) s[j] = zx[j];
  const T* zg = s;
  const T* rg = s + u;
  const T* hh = s + 2 * u;
  for (int64_t j = 0; j < u; ++j) {
    const T p = hp ? hp[j] : T(0);
    zx[j] = dh[j] * (p - hh[j]);             // at z
    zx[2 * u + j] = dh[j] * (T(1) - zg[j]);  // at hh
    dhp[j] = dh[j] * zg[j];
  }
  act_grad_inplace<T>(zx + 2 * u, hh, u, act);
  for (int64_t j = 0; j < u; ++j) {
    const T rzh = zr[2 * u + j];
    zx[u + j] = zx[2 * u + j] * rzh;  // at r
    zr[2 * u + j] = zx[2 * u + j] * rg[j];
  }
  act_grad_inplace<T>(zx, zg, 2 * u, ract);
  for (int64_t j = 0; j < 2 * u; ++j) zr[j] = zx[j];
})

// GRU, reset before: zx = (x_z + h_prev R_z, x_r + h_prev R_r, x_h) ->
// (z, r, .) and rh = r * hr (hr: h_prev, or its recurrent-dropout copy for
// the candidate's product) before the candidate's product ...
NC_ISA_FUNCTION((template <class T>), (<T>), void, gru_row_before_gates,
                (T* __restrict zx, const T* __restrict hr, T* __restrict rh, int64_t u,
                 const ActSpec& ract),
                (zx, hr, rh, u, ract), {
  act_inplace<T>(zx, 2 * u, ract);
  for (int64_t j = 0; j < u; ++j) rh[j] = hr ? zx[u + j] * hr[j] : T(0);
})

// ... and after it (zx's third row + rh @ R_h): hh = act(.), h = z h_prev + (1 - z) hh
NC_ISA_FUNCTION((template <class T>), (<T>), void, gru_row_before_out,
                (T* __restrict zx, const T* __restrict hp, T* __restrict h, int64_t u,
                 const ActSpec& act),
                (zx, hp, h, u, act), {
  T* hh = zx + 2 * u;
  act_inplace<T>(hh, u, act);
  for (int64_t j = 0; j < u; ++j) {
    const T p = hp ? hp[j] : T(0);
    h[j] = zx[j] * p + (T(1) - zx[j]) * hh[j];
  }
})

// Its backward in two passes around the candidate's product: first the
// gradients at z and at the candidate (zx rows 0 and 2), dhp = dh * z; the
// caller then forms drh = d_candidate @ R_h^T, and the second pass gives the
// gradient at r (row 1) and adds drh * r * (rm: the recurrent-dropout mask
// of the candidate, or null) to dhp. r, saved in s (u), the first pass keeps.
NC_ISA_FUNCTION((template <class T>), (<T>), void, gru_row_before_backward1,
                (T* __restrict zx, const T* __restrict hp, const T* __restrict dh,
                 T* __restrict dhp, T* __restrict s, int64_t u, const ActSpec& act,
                 const ActSpec& ract),
                (zx, hp, dh, dhp, s, u, act, ract), {
  T* zg = s;
  T* hh = s + u;
  for (int64_t j = 0; j < u; ++j) {
    zg[j] = zx[j];
    hh[j] = zx[2 * u + j];
  }
  for (int64_t j = 0; j < u; ++j) {
    const T p = hp ? hp[j] : T(0);
    zx[j] = dh[j] * (p - hh[j]);
    zx[2 * u + j] = dh[j] * (T(1) - zg[j]);
    dhp[j] = dh[j] * zg[j];
  }
  act_grad_inplace<T>(zx, zg, u, ract);
  act_grad_inplace<T>(zx + 2 * u, hh, u, act);
})

NC_ISA_FUNCTION((template <class T>), (<T>), void, gru_row_before_backward2,
                (T* __restrict zx, const T* __restrict drh, const T* __restrict hr,
                 const T* __restrict rm, T* __restrict dhp, T* __restrict s, int64_t u,
                 const ActSpec& ract),
                (zx, drh, hr, rm, dhp, s, u, ract), {
  T* rg = zx + u;  // r's activation, then the gradient at its pre-activation
  for (int64_t j = 0; j < u; ++j) {
    s[j] = rg[j];
    dhp[j] += drh[j] * rg[j] * (rm ? rm[j] : T(1));
    rg[j] = hr ? drh[j] * hr[j] : T(0);
  }
  act_grad_inplace<T>(rg, s, u, ract);
})

}  // namespace detail
}  // namespace nc
