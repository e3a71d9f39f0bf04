// Image augmentation's loops (layers/augment.hpp): Keras 3's affine image
// transform (each output pixel reads the input at an affine function of its
// position, bilinear or nearest, points outside filled by reflect / wrap /
// nearest / constant, as keras.ops.image.affine_transform does on the numpy
// backend), contrast and brightness, and the adjoint of each for backward.
// Images are (height, width, channels), channels last.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>

namespace nc {

enum class Fill { Reflect, Wrap, Nearest, Constant };

// The pixel index that stands for position i of an axis of n pixels under
// fill, or -1 for the constant fill value: reflect (d c b a | a b c d |
// d c b a, about the edge of the last pixel), wrap (a b c d | a b c d),
// nearest (a a | a b c d | d d).
inline int64_t fill_index(int64_t i, int64_t n, Fill fill) {
  if (i >= 0 && i < n) return i;
  switch (fill) {
    case Fill::Constant: return -1;
    case Fill::Nearest: return i < 0 ? 0 : n - 1;
    case Fill::Wrap: {
      const int64_t m = i % n;
      return m < 0 ? m + n : m;
    }
    case Fill::Reflect: {
      const int64_t p = 2 * n;
      int64_t m = i % p;
      if (m < 0) m += p;
      return m < n ? m : p - 1 - m;
    }
  }
  return -1;
}

// The input taps of output pixel (r, c) under the affine map m: x_in = m[0]
// c + m[1] r + m[2], y_in = m[3] c + m[4] r + m[5] (Keras's transform
// a0 a1 a2 b0 b1 b2, x the column). Writes up to 4 (pixel index or -1,
// weight) pairs, returns how many: bilinear (the corners in the order
// y0x0, y0x1, y1x0, y1x1) or the nearest pixel (floor(v + 0.5), scipy's
// order-0 rounding).
inline int affine_taps(const double* m, int64_t r, int64_t c, int64_t H, int64_t W, bool bilinear,
                       Fill fill, int64_t* idx, double* w) {
  const double x = m[0] * double(c) + m[1] * double(r) + m[2];
  const double y = m[3] * double(c) + m[4] * double(r) + m[5];
  if (!bilinear) {
    const int64_t yi = fill_index(int64_t(std::floor(y + 0.5)), H, fill);
    const int64_t xi = fill_index(int64_t(std::floor(x + 0.5)), W, fill);
    idx[0] = yi < 0 || xi < 0 ? -1 : yi * W + xi;
    w[0] = 1.0;
    return 1;
  }
  const double fy = std::floor(y), fx = std::floor(x);
  const double ty = y - fy, tx = x - fx;
  const int64_t y0 = int64_t(fy), x0 = int64_t(fx);
  const int64_t ys[2] = {fill_index(y0, H, fill), fill_index(y0 + 1, H, fill)};
  const int64_t xs[2] = {fill_index(x0, W, fill), fill_index(x0 + 1, W, fill)};
  const double wy[2] = {1.0 - ty, ty}, wx[2] = {1.0 - tx, tx};
  int k = 0;
  for (int a = 0; a < 2; ++a)
    for (int b = 0; b < 2; ++b, ++k) {
      idx[k] = ys[a] < 0 || xs[b] < 0 ? -1 : ys[a] * W + xs[b];
      w[k] = wy[a] * wx[b];
    }
  return 4;
}

// out (H, W, C) = the image in (H, W, C) under the affine map m.
template <class T>
void affine_image(T* __restrict out, const T* __restrict in, int64_t H, int64_t W, int64_t C,
                  const double* m, bool bilinear, Fill fill, double fill_value) {
  int64_t idx[4];
  double w[4];
  for (int64_t r = 0; r < H; ++r)
    for (int64_t c = 0; c < W; ++c) {
      const int taps = affine_taps(m, r, c, H, W, bilinear, fill, idx, w);
      T* o = out + (r * W + c) * C;
      for (int64_t ch = 0; ch < C; ++ch) {
        double v = 0.0;
        for (int k = 0; k < taps; ++k) v += w[k] * (idx[k] < 0 ? fill_value : double(in[idx[k] * C + ch]));
        o[ch] = T(v);
      }
    }
}

// din (H, W, C) = the adjoint of affine_image applied to dout: each output
// pixel's gradient back to the pixels it read, by their weights (the fill
// value's share goes nowhere).
template <class T>
void affine_image_backward(T* __restrict din, const T* __restrict dout, int64_t H, int64_t W,
                           int64_t C, const double* m, bool bilinear, Fill fill) {
  std::fill(din, din + H * W * C, T(0));
  int64_t idx[4];
  double w[4];
  for (int64_t r = 0; r < H; ++r)
    for (int64_t c = 0; c < W; ++c) {
      const int taps = affine_taps(m, r, c, H, W, bilinear, fill, idx, w);
      const T* d = dout + (r * W + c) * C;
      for (int k = 0; k < taps; ++k) {
        if (idx[k] < 0) continue;
        T* g = din + idx[k] * C;
        for (int64_t ch = 0; ch < C; ++ch) g[ch] += T(w[k] * double(d[ch]));
      }
    }
}

// mean (C) = each channel's mean over the image's H * W pixels (in pixel order)
template <class T>
void channel_means(double* mean, const T* img, int64_t pixels, int64_t C) {
  std::fill(mean, mean + C, 0.0);
  for (int64_t p = 0; p < pixels; ++p)
    for (int64_t ch = 0; ch < C; ++ch) mean[ch] += double(img[p * C + ch]);
  for (int64_t ch = 0; ch < C; ++ch) mean[ch] /= double(pixels);
}

// out = clip((in - mean) * factor + mean, lo, hi), mean per channel (Keras's
// RandomContrast); mean (C) is scratch.
template <class T>
void contrast_image(T* __restrict out, const T* __restrict in, int64_t pixels, int64_t C,
                    double factor, double lo, double hi, double* mean) {
  channel_means(mean, in, pixels, C);
  for (int64_t p = 0; p < pixels; ++p)
    for (int64_t ch = 0; ch < C; ++ch) {
      const double v = (double(in[p * C + ch]) - mean[ch]) * factor + mean[ch];
      out[p * C + ch] = T(std::min(std::max(v, lo), hi));
    }
}

// din = the gradient of contrast_image at in: through the clip (where the
// value lay within [lo, hi]), then factor * d + (1 - factor) * mean(d) per
// channel (the mean moves with every pixel). mean, dsum (C) are scratch.
template <class T>
void contrast_image_backward(T* __restrict din, const T* __restrict dout, const T* __restrict in,
                             int64_t pixels, int64_t C, double factor, double lo, double hi,
                             double* mean, double* dsum) {
  channel_means(mean, in, pixels, C);
  std::fill(dsum, dsum + C, 0.0);
  for (int64_t p = 0; p < pixels; ++p)
    for (int64_t ch = 0; ch < C; ++ch) {
      const double v = (double(in[p * C + ch]) - mean[ch]) * factor + mean[ch];
      const double d = v >= lo && v <= hi ? double(dout[p * C + ch]) : 0.0;
      din[p * C + ch] = T(d);  // the clipped gradient, for now
      dsum[ch] += d;
    }
  for (int64_t p = 0; p < pixels; ++p)
    for (int64_t ch = 0; ch < C; ++ch)
      din[p * C + ch] =
          T(factor * double(din[p * C + ch]) + (1.0 - factor) * dsum[ch] / double(pixels));
}

// out = clip(in + delta, lo, hi) (Keras's RandomBrightness) over n values
template <class T>
void brightness_image(T* __restrict out, const T* __restrict in, int64_t n, double delta, double lo,
                      double hi) {
  for (int64_t i = 0; i < n; ++i) out[i] = T(std::min(std::max(double(in[i]) + delta, lo), hi));
}

// din = dout where in + delta lay within [lo, hi], else 0
template <class T>
void brightness_image_backward(T* __restrict din, const T* __restrict dout, const T* __restrict in,
                               int64_t n, double delta, double lo, double hi) {
  for (int64_t i = 0; i < n; ++i) {
    const double v = double(in[i]) + delta;
    din[i] = v >= lo && v <= hi ? dout[i] : T(0);
  }
}

}  // namespace nc
