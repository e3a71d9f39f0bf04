// The loops of the spatial layers, channels last: im2col / col2im around the
// GEMM (convolution), max and average pooling over windows, global pooling,
// and the index maps of padding, cropping and nearest upsampling. A 1-D
// sequence (T, C) is an image of height 1. Every loop that writes an input
// gradient runs one sample per thread, in a fixed order within the sample, so
// results never depend on the thread count.
#pragma once
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>

#include "../core/parallel.hpp"

namespace nc {

// A per-sample image (h, w, c), channels last.
struct Image {
  int64_t h = 1, w = 1, c = 1;
  int64_t pixels() const { return h * w; }
  int64_t size() const { return h * w * c; }
};

// A sliding window: kernel (kh, kw), strides, dilations, the padding before
// the image (top, left), and the output grid (oh, ow) it produces.
struct Window {
  int64_t kh = 1, kw = 1, sh = 1, sw = 1, dh = 1, dw = 1, top = 0, left = 0, oh = 1, ow = 1;
  int64_t taps() const { return kh * kw; }
  int64_t outputs() const { return oh * ow; }
};

// col (rows * oh * ow, groups * kh * kw * cg), cg = c / groups: row p of a
// sample holds, group after group, its window's values in (i, j, channel)
// order (the kernel's (kh, kw, cg, filters) layout), zero outside the image.
// x (rows, h, w, c).
template <class T>
void im2col(T* col, const T* x, int64_t rows, const Image& in, const Window& win, int64_t groups,
            int threads) {
  const int64_t cg = in.c / groups, kg = win.taps() * cg, K = groups * kg;
  parallel_for(rows * win.oh, rows * win.outputs() * K, threads, [&](int64_t r) {
    const int64_t n = r / win.oh, oh = r % win.oh;
    const T* xs = x + n * in.size();
    T* dst = col + r * win.ow * K;
    for (int64_t ow = 0; ow < win.ow; ++ow, dst += K) {
      for (int64_t i = 0; i < win.kh; ++i) {
        const int64_t ih = oh * win.sh - win.top + i * win.dh;
        for (int64_t j = 0; j < win.kw; ++j) {
          const int64_t iw = ow * win.sw - win.left + j * win.dw;
          const int64_t tap = (i * win.kw + j) * cg;
          // plain loops, not memcpy: a window's run is cg values, often 1 to 3
          // (a first layer's channels), where a call per run cost more than the GEMM
          if (ih < 0 || ih >= in.h || iw < 0 || iw >= in.w) {
            for (int64_t g = 0; g < groups; ++g) {
              T* d = dst + g * kg + tap;
              for (int64_t ch = 0; ch < cg; ++ch) d[ch] = T(0);
            }
          } else {
            const T* src = xs + (ih * in.w + iw) * in.c;
            for (int64_t g = 0; g < groups; ++g) {
              T* d = dst + g * kg + tap;
              const T* sg = src + g * cg;
              for (int64_t ch = 0; ch < cg; ++ch) d[ch] = sg[ch];
            }
          }
        }
      }
    }
  });
}

// dx (rows, h, w, c) = the sum, over every window position that read it, of
// dcol (rows * oh * ow, groups * kh * kw * cg) (im2col's transpose).
template <class T>
void col2im(T* dx, const T* dcol, int64_t rows, const Image& in, const Window& win, int64_t groups,
            int threads) {
  const int64_t cg = in.c / groups, kg = win.taps() * cg, K = groups * kg;
  parallel_for(rows, rows * win.outputs() * K, threads, [&](int64_t n) {
    T* xs = dx + n * in.size();
    std::memset(xs, 0, sizeof(T) * in.size());
    const T* src = dcol + n * win.outputs() * K;
    for (int64_t oh = 0; oh < win.oh; ++oh) {
      for (int64_t ow = 0; ow < win.ow; ++ow, src += K) {
        for (int64_t i = 0; i < win.kh; ++i) {
          const int64_t ih = oh * win.sh - win.top + i * win.dh;
          if (ih < 0 || ih >= in.h) continue;
          for (int64_t j = 0; j < win.kw; ++j) {
            const int64_t iw = ow * win.sw - win.left + j * win.dw;
            if (iw < 0 || iw >= in.w) continue;
            T* d = xs + (ih * in.w + iw) * in.c;
            const int64_t tap = (i * win.kw + j) * cg;
            for (int64_t g = 0; g < groups; ++g) {
              const T* s = src + g * kg + tap;
              T* dg = d + g * cg;
              for (int64_t ch = 0; ch < cg; ++ch) dg[ch] += s[ch];
            }
          }
        }
      }
    }
  });
}

// Pooling over windows (dilation 1), per channel. Max: positions outside the
// image never win; `arg` (rows, oh, ow, c), unless null, records each output's
// winning pixel (ih * w + iw, exact in float32 up to 2^24 pixels) for
// backward: the first maximum in row-major window order (a tie sends the whole
// gradient to the first of the equal values).
// Average: over the positions inside the image only (Keras's "same" pooling).
template <class T>
void pool_forward(T* y, T* arg, const T* x, int64_t rows, const Image& in, const Window& win,
                  bool max, int threads) {
  const int64_t C = in.c, P = win.outputs();
  parallel_for(rows * P, rows * P * C * win.taps(), threads, [&](int64_t r) {
    const int64_t n = r / P, p = r % P, oh = p / win.ow, ow = p % win.ow;
    const T* xs = x + n * in.size();
    T* out = y + r * C;
    T* a = arg ? arg + r * C : nullptr;
    int64_t count = 0;
    for (int64_t ch = 0; ch < C; ++ch) out[ch] = max ? -std::numeric_limits<T>::infinity() : T(0);
    if (a) std::fill(a, a + C, T(0));
    for (int64_t i = 0; i < win.kh; ++i) {
      const int64_t ih = oh * win.sh - win.top + i;
      if (ih < 0 || ih >= in.h) continue;
      for (int64_t j = 0; j < win.kw; ++j) {
        const int64_t iw = ow * win.sw - win.left + j;
        if (iw < 0 || iw >= in.w) continue;
        const T* v = xs + (ih * in.w + iw) * C;
        ++count;
        if (max && a) {
          const T pix = T(ih * in.w + iw);
          for (int64_t ch = 0; ch < C; ++ch) {
            const bool wins = v[ch] > out[ch];
            out[ch] = wins ? v[ch] : out[ch];
            a[ch] = wins ? pix : a[ch];
          }
        } else if (max) {
          for (int64_t ch = 0; ch < C; ++ch) out[ch] = v[ch] > out[ch] ? v[ch] : out[ch];
        } else {
          for (int64_t ch = 0; ch < C; ++ch) out[ch] += v[ch];
        }
      }
    }
    if (!max && count > 0) {
      const T inv = T(1) / T(count);
      for (int64_t ch = 0; ch < C; ++ch) out[ch] *= inv;
    }
  });
}

// dx (rows, h, w, c) from dy (rows, oh, ow, c): max pooling sends each output's
// gradient to its recorded tap, average pooling shares it over the window.
template <class T>
void pool_backward(T* dx, const T* dy, const T* arg, int64_t rows, const Image& in,
                   const Window& win, bool max, int threads) {
  const int64_t C = in.c, P = win.outputs();
  parallel_for(rows, rows * P * C * win.taps(), threads, [&](int64_t n) {
    T* xs = dx + n * in.size();
    std::memset(xs, 0, sizeof(T) * in.size());
    for (int64_t p = 0; p < P; ++p) {
      const int64_t oh = p / win.ow, ow = p % win.ow, r = n * P + p;
      const T* g = dy + r * C;
      if (max) {
        const T* a = arg + r * C;
        for (int64_t ch = 0; ch < C; ++ch) xs[int64_t(a[ch]) * C + ch] += g[ch];
        continue;
      }
      const int64_t i0 = std::max<int64_t>(0, win.top - oh * win.sh);
      const int64_t i1 = std::min(win.kh, in.h + win.top - oh * win.sh);
      const int64_t j0 = std::max<int64_t>(0, win.left - ow * win.sw);
      const int64_t j1 = std::min(win.kw, in.w + win.left - ow * win.sw);
      const int64_t count = std::max<int64_t>(0, i1 - i0) * std::max<int64_t>(0, j1 - j0);
      if (count == 0) continue;
      const T inv = T(1) / T(count);
      for (int64_t i = i0; i < i1; ++i)
        for (int64_t j = j0; j < j1; ++j) {
          T* d = xs + ((oh * win.sh - win.top + i) * in.w + (ow * win.sw - win.left + j)) * C;
          for (int64_t ch = 0; ch < C; ++ch) d[ch] += g[ch] * inv;
        }
    }
  });
}

// Global pooling: y (rows, c) = the max or mean of each channel over the
// image's pixels; `arg` (rows, c), unless null, the first maximum's pixel.
template <class T>
void global_pool_forward(T* y, T* arg, const T* x, int64_t rows, const Image& in, bool max,
                         int threads) {
  const int64_t C = in.c, P = in.pixels();
  parallel_for(rows, rows * in.size(), threads, [&](int64_t n) {
    const T* xs = x + n * in.size();
    T* out = y + n * C;
    T* a = arg ? arg + n * C : nullptr;
    std::copy(xs, xs + C, out);
    if (a) std::fill(a, a + C, T(0));
    for (int64_t p = 1; p < P; ++p) {
      const T* v = xs + p * C;
      if (max) {
        for (int64_t ch = 0; ch < C; ++ch)
          if (v[ch] > out[ch]) {
            out[ch] = v[ch];
            if (a) a[ch] = T(p);
          }
      } else {
        for (int64_t ch = 0; ch < C; ++ch) out[ch] += v[ch];
      }
    }
    if (!max) {
      const T inv = T(1) / T(P);
      for (int64_t ch = 0; ch < C; ++ch) out[ch] *= inv;
    }
  });
}

template <class T>
void global_pool_backward(T* dx, const T* dy, const T* arg, int64_t rows, const Image& in,
                          bool max, int threads) {
  const int64_t C = in.c, P = in.pixels();
  parallel_for(rows, rows * in.size(), threads, [&](int64_t n) {
    T* xs = dx + n * in.size();
    const T* g = dy + n * C;
    if (max) {
      std::memset(xs, 0, sizeof(T) * in.size());
      const T* a = arg + n * C;
      for (int64_t ch = 0; ch < C; ++ch) xs[int64_t(a[ch]) * C + ch] = g[ch];
      return;
    }
    const T inv = T(1) / T(P);
    for (int64_t p = 0; p < P; ++p)
      for (int64_t ch = 0; ch < C; ++ch) xs[p * C + ch] = g[ch] * inv;
  });
}

// The index maps of ZeroPadding, Cropping and UpSampling: output pixel (oh, ow)
// reads input pixel (src_h(oh), src_w(ow)), or zero where that is -1.
struct PixelMap {
  int64_t oh = 1, ow = 1;
  int64_t shift_h = 0, shift_w = 0;  // padding: in = out - shift; cropping: in = out + crop (shift < 0)
  int64_t up_h = 1, up_w = 1;        // upsampling: in = out / up
  int64_t src_h(int64_t o, int64_t h) const {
    const int64_t i = o / up_h - shift_h;
    return i < 0 || i >= h ? -1 : i;
  }
  int64_t src_w(int64_t o, int64_t w) const {
    const int64_t i = o / up_w - shift_w;
    return i < 0 || i >= w ? -1 : i;
  }
};

template <class T>
void map_forward(T* y, const T* x, int64_t rows, const Image& in, const PixelMap& m, int threads) {
  const int64_t C = in.c, out_size = m.oh * m.ow * C;
  parallel_for(rows * m.oh, rows * out_size, threads, [&](int64_t r) {
    const int64_t n = r / m.oh, oh = r % m.oh, ih = m.src_h(oh, in.h);
    T* dst = y + n * out_size + oh * m.ow * C;
    for (int64_t ow = 0; ow < m.ow; ++ow, dst += C) {
      const int64_t iw = m.src_w(ow, in.w);
      if (ih < 0 || iw < 0) {
        for (int64_t ch = 0; ch < C; ++ch) dst[ch] = T(0);
      } else {
        const T* src = x + n * in.size() + (ih * in.w + iw) * C;
        for (int64_t ch = 0; ch < C; ++ch) dst[ch] = src[ch];
      }
    }
  });
}

// dx: each input pixel's gradient, summed over the output pixels that read it
// (several for upsampling, none for what cropping drops).
template <class T>
void map_backward(T* dx, const T* dy, int64_t rows, const Image& in, const PixelMap& m,
                  int threads) {
  const int64_t C = in.c, out_size = m.oh * m.ow * C;
  parallel_for(rows, rows * out_size, threads, [&](int64_t n) {
    T* xs = dx + n * in.size();
    std::memset(xs, 0, sizeof(T) * in.size());
    const T* src = dy + n * out_size;
    for (int64_t oh = 0; oh < m.oh; ++oh) {
      const int64_t ih = m.src_h(oh, in.h);
      for (int64_t ow = 0; ow < m.ow; ++ow, src += C) {
        const int64_t iw = m.src_w(ow, in.w);
        if (ih < 0 || iw < 0) continue;
        T* d = xs + (ih * in.w + iw) * C;
        for (int64_t ch = 0; ch < C; ++ch) d[ch] += src[ch];
      }
    }
  });
}

}  // namespace nc
