// The spatial layers without weights, channels last, 1-D on (T, C) and 2-D on
// (H, W, C) (Keras 3): MaxPooling / AveragePooling (pool_size, strides
// defaulting to pool_size, "valid" / "same" padding), GlobalMaxPooling /
// GlobalAveragePooling (keepdims), and the index maps ZeroPadding, Cropping
// and UpSampling (nearest).
#pragma once
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "../kernels/conv.hpp"
#include "config.hpp"
#include "conv.hpp"
#include "layer.hpp"

namespace nc {

inline Shape image_shape(int rank, int64_t h, int64_t w, int64_t c) {
  return rank == 1 ? Shape{w, c} : Shape{h, w, c};
}

template <class T>
class Pooling : public Layer<T> {
 public:
  bool max = true;
  Image im;
  Window win;

  template <int Rank, bool Max>
  static std::unique_ptr<Layer<T>> make(LayerConfig& cfg, const Shape& in) {
    const std::string name = std::string(Max ? "MaxPooling" : "AveragePooling") + (Rank == 1 ? "1D" : "2D");
    auto l = std::make_unique<Pooling<T>>();
    l->max = Max;
    l->im = image_of(in, Rank, name);
    const auto k = per_axis(cfg, "pool_size", Rank, 2, name);
    const auto s = per_axis(cfg, "strides", Rank, 0, name, 0);  // 0: pool_size
    const std::string padding = cfg.text("padding", "valid");
    if (padding == "causal") throw std::invalid_argument(name + ": padding must be 'valid' or 'same'");
    Window& wn = l->win;
    if (Rank == 1) {
      wn.kw = k[0], wn.sw = s[0] ? s[0] : k[0];
      axis_geometry(l->im.w, wn.kw, wn.sw, 1, padding, name, "width", &wn.ow, &wn.left);
    } else {
      wn.kh = k[0], wn.kw = k[1], wn.sh = s[0] ? s[0] : k[0], wn.sw = s[1] ? s[1] : k[1];
      axis_geometry(l->im.h, wn.kh, wn.sh, 1, padding, name, "height", &wn.oh, &wn.top);
      axis_geometry(l->im.w, wn.kw, wn.sw, 1, padding, name, "width", &wn.ow, &wn.left);
    }
    l->in = in;
    l->out = image_shape(Rank, wn.oh, wn.ow, l->im.c);
    return l;
  }

  bool relu_below = false;  // backward applies the derivative of a relu below

  // max pooling keeps each output's winning tap for backward
  int64_t cache_per_row(bool training) const override {
    return max && training ? this->out.size() : 0;
  }
  bool hostable() const override { return true; }
  bool take_relu_backward() override {
    relu_below = max;
    return max;
  }
  void forward(const Context<T>& c, const Batch<T>& in, T* out, T* cache,
               int64_t rows) const override {
    pool_forward(out, max && c.training ? cache : nullptr, in.dense, rows, im, win, max, c.threads);
  }
  void backward(const Context<T>& c, const Batch<T>&, const T* out, T* dout, const T* cache,
                T* din, T*, int64_t rows, bool) const override {
    if (!din) return;
    // the relu below passed the winner's gradient where the winner (this
    // layer's output) is > 0: zero the rest here, on a quarter of the values
    if (relu_below) {
      ActSpec relu;
      relu.kind = Act::Relu;
      activation_backward<T>(dout, out, nullptr, rows, this->out.size(), relu, c.threads);
    }
    pool_backward(din, dout, cache, rows, im, win, max, c.threads);
  }
};

template <class T>
class GlobalPooling : public Layer<T> {
 public:
  bool max = true;
  Image im;

  template <int Rank, bool Max>
  static std::unique_ptr<Layer<T>> make(LayerConfig& cfg, const Shape& in) {
    const std::string name =
        std::string(Max ? "GlobalMaxPooling" : "GlobalAveragePooling") + (Rank == 1 ? "1D" : "2D");
    auto l = std::make_unique<GlobalPooling<T>>();
    l->max = Max;
    l->im = image_of(in, Rank, name);
    const bool keepdims = cfg.flag("keepdims", false);
    l->in = in;
    l->out = keepdims ? image_shape(Rank, 1, 1, l->im.c) : Shape{l->im.c};
    return l;
  }

  int64_t cache_per_row(bool training) const override { return max && training ? im.c : 0; }
  void forward(const Context<T>& c, const Batch<T>& in, T* out, T* cache,
               int64_t rows) const override {
    global_pool_forward(out, max && c.training ? cache : nullptr, in.dense, rows, im, max, c.threads);
  }
  void backward(const Context<T>& c, const Batch<T>&, const T*, T* dout, const T* cache, T* din,
                T*, int64_t rows, bool) const override {
    if (din) global_pool_backward(din, dout, cache, rows, im, max, c.threads);
  }
};

// ZeroPadding, Cropping and UpSampling: out pixel -> in pixel (or zero).
template <class T>
class PixelMapLayer : public Layer<T> {
 public:
  Image im;
  PixelMap map;

  enum Kind { Pad, Crop, Up };

  template <int Rank, int K>
  static std::unique_ptr<Layer<T>> make(LayerConfig& cfg, const Shape& in) {
    const char* names[] = {"ZeroPadding", "Cropping", "UpSampling"};
    const std::string name = std::string(names[K]) + (Rank == 1 ? "1D" : "2D");
    auto l = std::make_unique<PixelMapLayer<T>>();
    l->im = image_of(in, Rank, name);
    PixelMap& m = l->map;
    if (K == Up) {
      const auto size = per_axis(cfg, "size", Rank, 2, name);
      const std::string how = cfg.text("interpolation", "nearest");
      if (how != "nearest")
        throw std::invalid_argument(name + ": interpolation '" + how + "' is not supported (use 'nearest')");
      m.up_h = Rank == 1 ? 1 : size[0];
      m.up_w = size[Rank - 1];
      m.oh = l->im.h * m.up_h;
      m.ow = l->im.w * m.up_w;
    } else {
      // (before, after) per spatial axis: (top, bottom, left, right) in 2-D
      const std::vector<int64_t> p = cfg.ints(K == Pad ? "padding" : "cropping", {});
      if (p.size() != size_t(2 * Rank))
        throw std::invalid_argument(name + ": needs (before, after) for each of its " +
                                    std::to_string(Rank) + " spatial axes");
      for (int64_t x : p)
        if (x < 0) throw std::invalid_argument(name + ": amounts must be >= 0");
      const int64_t top = Rank == 1 ? 0 : p[0], bottom = Rank == 1 ? 0 : p[1];
      const int64_t left = p[size_t(2 * Rank - 2)], right = p[size_t(2 * Rank - 1)];
      const int64_t sign = K == Pad ? 1 : -1;
      m.oh = l->im.h + sign * (top + bottom);
      m.ow = l->im.w + sign * (left + right);
      if (m.oh < 1 || m.ow < 1)
        throw std::invalid_argument(name + ": cropping " + Shape(p).str() + " leaves nothing of input " +
                                    in.str());
      m.shift_h = sign * top;
      m.shift_w = sign * left;
      l->padding = K == Pad;
    }
    l->in = in;
    l->out = image_shape(Rank, m.oh, m.ow, l->im.c);
    return l;
  }

  bool padding = false, absorbed = false;

  bool pads_only(int64_t* top, int64_t* left) const override {
    *top = map.shift_h;
    *left = map.shift_w;
    return padding && !absorbed;
  }
  void become_alias() override { absorbed = true; }
  bool aliases_input() const override { return absorbed; }
  void forward(const Context<T>& c, const Batch<T>& in, T* out, T*, int64_t rows) const override {
    map_forward(out, in.dense, rows, im, map, c.threads);
  }
  void backward(const Context<T>& c, const Batch<T>&, const T*, T* dout, const T*, T* din, T*,
                int64_t rows, bool) const override {
    if (din) map_backward(din, dout, rows, im, map, c.threads);
  }
};

}  // namespace nc
