// Keras 3's image augmentation layers: RandomFlip, RandomRotation,
// RandomTranslation, RandomZoom, RandomContrast, RandomBrightness. Each draws
// its per-image parameters from the fit's one stream while training (image
// after image, in order, on the calling thread: the same draws at any thread
// count) and is the identity at inference (validation, predict). Images are
// (height, width, channels). The ranges come checked from the Python layer
// (keras/_augment.py), as Keras's arguments resolve them:
//   flip:        u <= 0.5 flips the image (both axes for horizontal_and_vertical)
//   rotation:    angle = lower + (upper - lower) u (radians), about the centre
//   translation: dy = H (h_lower + ... u1), dx = W (w_lower + ... u2)
//   zoom:        zy = 1 + h_lower + ... u1, zx = 1 + w_lower + ... u2 (or zy)
//   contrast:    factor = lower + (upper - lower) u, around each channel's mean
//   brightness:  delta = lower + (upper - lower) u, added
// and the last two clip to value_range. Backward is each transform's adjoint
// (a layer after trainable ones passes its gradient on).
#pragma once
#include <algorithm>
#include <cmath>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "../core/parallel.hpp"
#include "../kernels/augment.hpp"
#include "config.hpp"
#include "layer.hpp"

namespace nc {

template <class T>
class Augment : public Layer<T> {
 public:
  enum class Kind { Flip, Rotation, Translation, Zoom, Contrast, Brightness };
  Kind kind = Kind::Flip;
  std::string name;
  bool flip_h = false, flip_v = false, two_draws = false, bilinear = true;
  double lo[2] = {0, 0}, hi[2] = {0, 0};  // the draws' ranges
  Fill fill = Fill::Reflect;
  double fill_value = 0.0, value_lo = 0.0, value_hi = 255.0;
  static constexpr int64_t kParams = 2;  // cached per image

  template <Kind K>
  static std::unique_ptr<Layer<T>> make(LayerConfig& cfg, const Shape& in) {
    auto a = std::make_unique<Augment<T>>();
    a->kind = K;
    a->name = label(K);
    if (in.rank() != 3)
      throw std::invalid_argument(a->name + " expects images of shape (height, width, channels), got " +
                                  in.str());
    a->in = a->out = in;
    auto range = [&](int q, const std::string& key) {
      a->lo[q] = cfg.number(key + "_lower", 0.0);
      a->hi[q] = cfg.number(key + "_upper", 0.0);
      if (!(a->lo[q] <= a->hi[q])) throw std::invalid_argument(a->name + ": " + key + " range is empty");
    };
    switch (K) {
      case Kind::Flip: {
        const std::string mode = cfg.text("mode", "horizontal_and_vertical");
        a->flip_h = mode == "horizontal" || mode == "horizontal_and_vertical";
        a->flip_v = mode == "vertical" || mode == "horizontal_and_vertical";
        if (!a->flip_h && !a->flip_v)
          throw std::invalid_argument(a->name + ": mode must be horizontal, vertical or "
                                                "horizontal_and_vertical, got '" + mode + "'");
        break;
      }
      case Kind::Rotation: range(0, "angle"); break;
      case Kind::Translation: range(0, "height"); range(1, "width"); a->two_draws = true; break;
      case Kind::Zoom:
        range(0, "height");
        a->two_draws = cfg.flag("width_given", false);
        if (a->two_draws) range(1, "width");
        break;
      case Kind::Contrast: range(0, "factor"); break;
      case Kind::Brightness: range(0, "delta"); break;
    }
    if (K == Kind::Rotation || K == Kind::Translation || K == Kind::Zoom) {
      const std::string f = cfg.text("fill_mode", "reflect");
      if (f == "reflect") a->fill = Fill::Reflect;
      else if (f == "wrap") a->fill = Fill::Wrap;
      else if (f == "nearest") a->fill = Fill::Nearest;
      else if (f == "constant") a->fill = Fill::Constant;
      else throw std::invalid_argument(a->name + ": unknown fill_mode '" + f + "'");
      const std::string interp = cfg.text("interpolation", "bilinear");
      if (interp != "bilinear" && interp != "nearest")
        throw std::invalid_argument(a->name + ": interpolation must be bilinear or nearest");
      a->bilinear = interp == "bilinear";
      a->fill_value = cfg.number("fill_value", 0.0);
    }
    if (K == Kind::Contrast || K == Kind::Brightness) {
      a->value_lo = cfg.number("value_low", 0.0);
      a->value_hi = cfg.number("value_high", 255.0);
      if (!(a->value_lo < a->value_hi)) throw std::invalid_argument(a->name + ": value_range is empty");
    }
    return a;
  }

  int64_t cache_per_row(bool training) const override { return training ? kParams : 0; }

  void forward(const Context<T>& c, const Batch<T>& in, T* out, T* cache,
               int64_t rows) const override {
    const int64_t n = this->in.size();
    if (!c.training) {
      std::copy(in.dense, in.dense + rows * n, out);
      return;
    }
    if (!c.rng) throw std::logic_error(name + " needs the fit's random stream");
    for (int64_t i = 0; i < rows; ++i) draw(cache + i * kParams, *c.rng);  // in order
    parallel_for(rows, rows * n * 8, c.threads, [&](int64_t i) {
      apply(out + i * n, in.dense + i * n, cache + i * kParams, false, nullptr);
    });
  }

  void backward(const Context<T>& c, const Batch<T>& in, const T*, T* dout, const T* cache, T* din,
                T*, int64_t rows, bool) const override {
    if (!din) return;
    const int64_t n = this->in.size();
    parallel_for(rows, rows * n * 8, c.threads, [&](int64_t i) {
      apply(din + i * n, dout + i * n, cache + i * kParams, true, in.dense + i * n);
    });
  }

 private:
  static const char* label(Kind k) {
    switch (k) {
      case Kind::Flip: return "RandomFlip";
      case Kind::Rotation: return "RandomRotation";
      case Kind::Translation: return "RandomTranslation";
      case Kind::Zoom: return "RandomZoom";
      case Kind::Contrast: return "RandomContrast";
      case Kind::Brightness: return "RandomBrightness";
    }
    return "";
  }

  // p (kParams) = this image's parameters, from the next draws of the stream
  void draw(T* p, MT19937& rng) const {
    if (kind == Kind::Flip) {
      p[0] = rng.uniform() <= 0.5 ? T(1) : T(0);
      return;
    }
    for (int q = 0; q < (two_draws ? 2 : 1); ++q) p[q] = T(lo[q] + (hi[q] - lo[q]) * rng.uniform());
  }

  // the affine map (output pixel -> input position) of parameters p
  void affine(const T* p, double* m) const {
    const double H = double(this->in.dims[0]), W = double(this->in.dims[1]);
    switch (kind) {
      case Kind::Flip:
        m[0] = flip_h ? -1.0 : 1.0, m[1] = 0.0, m[2] = flip_h ? W - 1.0 : 0.0;
        m[3] = 0.0, m[4] = flip_v ? -1.0 : 1.0, m[5] = flip_v ? H - 1.0 : 0.0;
        break;
      case Kind::Rotation: {
        const double cs = std::cos(double(p[0])), sn = std::sin(double(p[0]));
        m[0] = cs, m[1] = -sn, m[2] = ((W - 1.0) - (cs * (W - 1.0) - sn * (H - 1.0))) / 2.0;
        m[3] = sn, m[4] = cs, m[5] = ((H - 1.0) - (sn * (W - 1.0) + cs * (H - 1.0))) / 2.0;
        break;
      }
      case Kind::Translation:
        m[0] = 1.0, m[1] = 0.0, m[2] = -double(p[1]) * W;
        m[3] = 0.0, m[4] = 1.0, m[5] = -double(p[0]) * H;
        break;
      default: {  // zoom
        const double zy = 1.0 + double(p[0]), zx = two_draws ? 1.0 + double(p[1]) : zy;
        m[0] = zx, m[1] = 0.0, m[2] = (W - 1.0) / 2.0 * (1.0 - zx);
        m[3] = 0.0, m[4] = zy, m[5] = (H - 1.0) / 2.0 * (1.0 - zy);
        break;
      }
    }
  }

  // one image forward (src the input) or backward (src the output's gradient,
  // x the input), into dst
  void apply(T* dst, const T* src, const T* p, bool back, const T* x) const {
    const int64_t H = this->in.dims[0], W = this->in.dims[1], C = this->in.dims[2];
    const int64_t n = H * W * C;
    if (kind == Kind::Flip && p[0] == T(0)) {
      std::copy(src, src + n, dst);
      return;
    }
    if (kind == Kind::Contrast || kind == Kind::Brightness) {
      // each thread's channel means, grown once (no allocation per image)
      thread_local std::vector<double> scratch;
      if (scratch.size() < size_t(2 * C)) scratch.resize(size_t(2 * C));
      if (kind == Kind::Contrast) {
        if (back)
          contrast_image_backward(dst, src, x, H * W, C, double(p[0]), value_lo, value_hi,
                                  scratch.data(), scratch.data() + C);
        else
          contrast_image(dst, src, H * W, C, double(p[0]), value_lo, value_hi, scratch.data());
      } else if (back) {
        brightness_image_backward(dst, src, x, n, double(p[0]), value_lo, value_hi);
      } else {
        brightness_image(dst, src, n, double(p[0]), value_lo, value_hi);
      }
      return;
    }
    double m[6];
    affine(p, m);
    const bool interp = kind == Kind::Flip ? false : bilinear;  // a flip lands on pixels
    if (back)
      affine_image_backward(dst, src, H, W, C, m, interp, fill);
    else
      affine_image(dst, src, H, W, C, m, interp, fill, fill_value);
  }
};

}  // namespace nc
