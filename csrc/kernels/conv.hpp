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
#include "../core/simd.hpp"

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

namespace detail {

// d[0, n) = s[0, n), or zeros with s null: the short runs of a window row
template <class T>
inline void copy_run(T* __restrict d, const T* __restrict s, int64_t n) {
  if (s)
    for (int64_t q = 0; q < n; ++q) d[q] = s[q];
  else
    for (int64_t q = 0; q < n; ++q) d[q] = T(0);
}
template <class T>
inline void add_run(T* __restrict d, const T* __restrict s, int64_t n) {
  for (int64_t q = 0; q < n; ++q) d[q] += s[q];
}

// Window row i of outputs [lo, hi) of one output row, all inside the image:
// output ow's run of `run` values starts at src + ow * step of the input row
// and at dst + ow * K of the im2col matrix. Copy (to the matrix) or add (back
// into the image gradient), with the run's length fixed at compile time where
// it is short (a first layer's 3 or 5 values: a loop of unknown length per
// run cost 4 ns).
template <class T, bool Add, int R>
inline void runs_fixed(T* __restrict img, T* __restrict mat, int64_t lo, int64_t hi, int64_t step,
                       int64_t K) {
  for (int64_t ow = lo; ow < hi; ++ow) {
    T* __restrict x = img + ow * step;
    T* __restrict c = mat + ow * K;
    for (int r = 0; r < R; ++r) {
      if (Add)
        x[r] += c[r];
      else
        c[r] = x[r];
    }
  }
}
template <class T, bool Add>
inline void runs(T* img, T* mat, int64_t lo, int64_t hi, int64_t step, int64_t K, int64_t run) {
  switch (run) {
    case 1: return runs_fixed<T, Add, 1>(img, mat, lo, hi, step, K);
    case 2: return runs_fixed<T, Add, 2>(img, mat, lo, hi, step, K);
    case 3: return runs_fixed<T, Add, 3>(img, mat, lo, hi, step, K);
    case 4: return runs_fixed<T, Add, 4>(img, mat, lo, hi, step, K);
    case 5: return runs_fixed<T, Add, 5>(img, mat, lo, hi, step, K);
    case 6: return runs_fixed<T, Add, 6>(img, mat, lo, hi, step, K);
    case 7: return runs_fixed<T, Add, 7>(img, mat, lo, hi, step, K);
    case 8: return runs_fixed<T, Add, 8>(img, mat, lo, hi, step, K);
    default:
      for (int64_t ow = lo; ow < hi; ++ow) {
        if (Add)
          add_run(img + ow * step, mat + ow * K, run);
        else
          copy_run(mat + ow * K, img + ow * step, run);
      }
  }
}

// The outputs [lo, hi) of a row whose windows lie inside the image along w.
inline void interior(const Window& win, int64_t w, int64_t* lo, int64_t* hi) {
  const int64_t span = (win.kw - 1) * win.dw;
  *lo = std::min(win.ow, (win.left + win.sw - 1) / win.sw);  // ow * sw >= left
  *hi = w - 1 - span + win.left < 0 ? 0 : (w - 1 - span + win.left) / win.sw + 1;
  *hi = std::max(*lo, std::min(win.ow, *hi));
}

// Window row i of output ow of one output row, tap by tap: the border
// outputs and the dilated or grouped windows.
template <class T, bool Add>
inline void taps(T* xs, T* dst, const Image& in, const Window& win, int64_t groups, int64_t ih,
                 int64_t ow, int64_t i) {
  const int64_t cg = in.c / groups, kg = win.taps() * cg;
  const int64_t iw0 = ow * win.sw - win.left;
  for (int64_t j = 0; j < win.kw; ++j) {
    const int64_t iw = iw0 + j * win.dw;
    const int64_t tap = (i * win.kw + j) * cg;
    const bool in_image = ih >= 0 && ih < in.h && iw >= 0 && iw < in.w;
    if (Add && !in_image) continue;
    T* px = in_image ? xs + (ih * in.w + iw) * in.c : nullptr;
    for (int64_t g = 0; g < groups; ++g) {
      if (Add)
        add_run(px + g * cg, dst + g * kg + tap, cg);
      else
        copy_run(dst + g * kg + tap, px ? px + g * cg : nullptr, cg);
    }
  }
}

// One output row (oh) of a sample: im2col (Add = false: mat from img) or
// col2im (Add = true: img += mat), window row by window row. For col2im each
// image element receives its terms in the same order as output pixel by
// output pixel (for a given output row the window row is fixed).
template <class T, bool Add>
void window_row(T* xs, T* mat, const Image& in, const Window& win, int64_t groups, int64_t oh) {
  const int64_t K = win.taps() * in.c;
  int64_t lo, hi;
  interior(win, in.w, &lo, &hi);
  const bool whole_rows = groups == 1 && win.dw == 1;  // a window row: kw * c consecutive values
  const int64_t run = win.kw * in.c;
  for (int64_t i = 0; i < win.kh; ++i) {
    const int64_t ih = oh * win.sh - win.top + i * win.dh;
    if (ih < 0 || ih >= in.h) {  // zeros in the matrix, nothing back in the image
      for (int64_t ow = 0; !Add && ow < win.ow; ++ow) {
        if (whole_rows)
          copy_run<T>(mat + ow * K + i * run, nullptr, run);
        else
          taps<T, Add>(xs, mat + ow * K, in, win, groups, ih, ow, i);
      }
      continue;
    }
    for (int64_t ow = 0; ow < (whole_rows ? lo : win.ow); ++ow)
      taps<T, Add>(xs, mat + ow * K, in, win, groups, ih, ow, i);
    if (!whole_rows) continue;
    T* row = xs + (ih * in.w - win.left) * in.c;
    runs<T, Add>(row, mat + i * run, lo, hi, win.sw * in.c, K, run);
    for (int64_t ow = hi; ow < win.ow; ++ow) taps<T, Add>(xs, mat + ow * K, in, win, groups, ih, ow, i);
  }
}

}  // namespace detail

// col (rows * oh * ow, groups * kh * kw * cg), cg = c / groups: row p of a
// sample holds, group after group, its window's values in (i, j, channel)
// order (the kernel's (kh, kw, cg, filters) layout), zero outside the image.
// x (rows, h, w, c).
template <class T>
void im2col(T* col, const T* x, int64_t rows, const Image& in, const Window& win, int64_t groups,
            int threads) {
  const int64_t K = win.taps() * in.c;
  parallel_for(rows * win.oh, rows * win.outputs() * K, threads, [&](int64_t r) {
    const int64_t n = r / win.oh, oh = r % win.oh;
    detail::window_row<T, false>(const_cast<T*>(x) + n * in.size(), col + r * win.ow * K, in, win,
                                 groups, oh);
  });
}

// dx (rows, h, w, c) = the sum, over every window position that read it, of
// dcol (rows * oh * ow, groups * kh * kw * cg) (im2col's transpose).
template <class T>
void col2im(T* dx, const T* dcol, int64_t rows, const Image& in, const Window& win, int64_t groups,
            int threads) {
  const int64_t K = win.taps() * in.c;
  parallel_for(rows, rows * win.outputs() * K, threads, [&](int64_t n) {
    T* xs = dx + n * in.size();
    std::memset(xs, 0, sizeof(T) * in.size());
    for (int64_t oh = 0; oh < win.oh; ++oh)
      detail::window_row<T, true>(xs, const_cast<T*>(dcol) + (n * win.oh + oh) * win.ow * K, in,
                                  win, groups, oh);
  });
}

// Pooling over windows (dilation 1), per channel. Max: positions outside the
// image never win; `arg` (rows, oh, ow, c), unless null, records each output's
// winning pixel (ih * w + iw, exact in float32 up to 2^24 pixels) for
// backward: the first maximum in row-major window order (a tie sends the whole
// gradient to the first of the equal values).
// Average: over the positions inside the image only (Keras's "same" pooling).
namespace detail {

// One output row (oh) of a sample's pooling: outputs (ow, c) from xs (h, w, c),
// arg (ow, c) unless null. Compiled per instruction set: its channel loops are
// selects (a branch on which of two activations is larger is a coin toss the
// predictor loses: 10 ms a batch of 128 26 x 26 x 32 images, now 0.3).
NC_ISA_FUNCTION((template <class T>), (<T>), void, pool_row,
                (T* __restrict out, T* __restrict arg, const T* __restrict xs, const Image& in,
                 const Window& win, int64_t oh, bool max),
                (out, arg, xs, in, win, oh, max), {
  const int64_t C = in.c;
  for (int64_t ow = 0; ow < win.ow; ++ow, out += C, arg = arg ? arg + C : nullptr) {
    int64_t count = 0;
    const T start = max ? -std::numeric_limits<T>::infinity() : T(0);
    for (int64_t ch = 0; ch < C; ++ch) out[ch] = start;
    if (arg)
      for (int64_t ch = 0; ch < C; ++ch) arg[ch] = T(0);
    for (int64_t i = 0; i < win.kh; ++i) {
      const int64_t ih = oh * win.sh - win.top + i;
      if (ih < 0 || ih >= in.h) continue;
      for (int64_t j = 0; j < win.kw; ++j) {
        const int64_t iw = ow * win.sw - win.left + j;
        if (iw < 0 || iw >= in.w) continue;
        const T* __restrict v = xs + (ih * in.w + iw) * C;
        ++count;
        if (max && arg) {
          const T pix = T(ih * in.w + iw);
_Pragma("omp simd")
          for (int64_t ch = 0; ch < C; ++ch) {
            const T cur = out[ch], val = v[ch];
            const bool wins = val > cur;
            out[ch] = wins ? val : cur;
            arg[ch] = wins ? pix : arg[ch];
          }
        } else if (max) {
_Pragma("omp simd")
          for (int64_t ch = 0; ch < C; ++ch) out[ch] = v[ch] > out[ch] ? v[ch] : out[ch];
        } else {
_Pragma("omp simd")
          for (int64_t ch = 0; ch < C; ++ch) out[ch] += v[ch];
        }
      }
    }
    if (!max && count > 0) {
      const T inv = T(1) / T(count);
      for (int64_t ch = 0; ch < C; ++ch) out[ch] *= inv;
    }
  }
})

// Max pooling's backward for windows that tile the image (each pixel in one
// window): every pixel of output row oh's windows gets its window's gradient
// where it won, else zero, written once (no clearing pass before).
NC_ISA_FUNCTION((template <class T>), (<T>), void, unpool_tiled_row,
                (T* __restrict xs, const T* __restrict g, const T* __restrict arg, const Image& in,
                 const Window& win, int64_t oh),
                (xs, g, arg, in, win, oh), {
  const int64_t C = in.c;
  for (int64_t ow = 0; ow < win.ow; ++ow, g += C, arg += C)
    for (int64_t i = 0; i < win.kh; ++i)
      for (int64_t j = 0; j < win.kw; ++j) {
        const int64_t pix = (oh * win.kh + i) * in.w + ow * win.kw + j;
        const T fp = T(pix);
        T* __restrict d = xs + pix * C;
_Pragma("omp simd")
        for (int64_t ch = 0; ch < C; ++ch) d[ch] = arg[ch] == fp ? g[ch] : T(0);
      }
})

}  // namespace detail

template <class T>
void pool_forward(T* y, T* arg, const T* x, int64_t rows, const Image& in, const Window& win,
                  bool max, int threads) {
  const int64_t C = in.c, row = win.ow * C;
  parallel_for(rows * win.oh, rows * win.outputs() * C * win.taps(), threads, [&](int64_t r) {
    const int64_t n = r / win.oh, oh = r % win.oh;
    detail::pool_row<T>(y + r * row, arg ? arg + r * row : nullptr, x + n * in.size(), in, win, oh,
                        max);
  });
}

// dx (rows, h, w, c) from dy (rows, oh, ow, c): max pooling sends each output's
// gradient to its recorded tap, average pooling shares it over the window.
template <class T>
void pool_backward(T* dx, const T* dy, const T* arg, int64_t rows, const Image& in,
                   const Window& win, bool max, int threads) {
  const int64_t C = in.c, P = win.outputs();
  // windows that tile the image exactly (2 x 2 pooling of an even image): each
  // pixel is in one window, written once, without clearing dx first
  const bool tiles = win.sh == win.kh && win.sw == win.kw && win.top == 0 && win.left == 0 &&
                     win.oh * win.kh == in.h && win.ow * win.kw == in.w;
  parallel_for(rows, rows * P * C * win.taps(), threads, [&](int64_t n) {
    T* xs = dx + n * in.size();
    if (max && tiles) {
      for (int64_t oh = 0; oh < win.oh; ++oh) {
        const int64_t r = (n * win.oh + oh) * win.ow * C;
        detail::unpool_tiled_row<T>(xs, dy + r, arg + r, in, win, oh);
      }
      return;
    }
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
  const bool shift_only = m.up_w == 1;  // padding, cropping: one run of input pixels per row
  parallel_for(rows * m.oh, rows * out_size, threads, [&](int64_t r) {
    const int64_t n = r / m.oh, oh = r % m.oh, ih = m.src_h(oh, in.h);
    T* dst = y + n * out_size + oh * m.ow * C;
    if (shift_only) {
      // output columns [o0, o1) read input columns from o0 - shift_w on
      const int64_t o0 = ih < 0 ? 0 : std::clamp<int64_t>(m.shift_w, 0, m.ow);
      const int64_t o1 = ih < 0 ? 0 : std::clamp<int64_t>(in.w + m.shift_w, o0, m.ow);
      detail::copy_run<T>(dst, nullptr, o0 * C);
      if (o1 > o0)
        detail::copy_run(dst + o0 * C, x + n * in.size() + (ih * in.w + o0 - m.shift_w) * C,
                         (o1 - o0) * C);
      detail::copy_run<T>(dst + o1 * C, nullptr, (m.ow - o1) * C);
      return;
    }
    for (int64_t ow = 0; ow < m.ow; ++ow, dst += C) {
      const int64_t iw = m.src_w(ow, in.w);
      detail::copy_run(dst, ih < 0 || iw < 0 ? nullptr : x + n * in.size() + (ih * in.w + iw) * C, C);
    }
  });
}

// dx: each input pixel's gradient, summed over the output pixels that read it
// (several for upsampling, none for what cropping drops).
template <class T>
void map_backward(T* dx, const T* dy, int64_t rows, const Image& in, const PixelMap& m,
                  int threads) {
  const int64_t C = in.c, out_size = m.oh * m.ow * C;
  const bool shift_only = m.up_w == 1 && m.up_h == 1;
  parallel_for(rows, rows * out_size, threads, [&](int64_t n) {
    T* xs = dx + n * in.size();
    std::memset(xs, 0, sizeof(T) * in.size());
    const T* src = dy + n * out_size;
    for (int64_t oh = 0; oh < m.oh; ++oh, src += m.ow * C) {
      const int64_t ih = m.src_h(oh, in.h);
      if (ih < 0) continue;
      if (shift_only) {  // each input pixel read by at most one output pixel
        const int64_t o0 = std::clamp<int64_t>(m.shift_w, 0, m.ow);
        const int64_t o1 = std::clamp<int64_t>(in.w + m.shift_w, o0, m.ow);
        if (o1 > o0)
          detail::copy_run(xs + (ih * in.w + o0 - m.shift_w) * C, src + o0 * C, (o1 - o0) * C);
        continue;
      }
      for (int64_t ow = 0; ow < m.ow; ++ow) {
        const int64_t iw = m.src_w(ow, in.w);
        if (iw >= 0) detail::add_run(xs + (ih * in.w + iw) * C, src + ow * C, C);
      }
    }
  });
}

}  // namespace nc
