// Dropout and GaussianNoise: random while training, identity at inference.
// Their randomness comes from the fit's one seeded stream (Context::rng).
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <stdexcept>

#include "config.hpp"
#include "layer.hpp"

namespace nc {

// A standard normal draw by Box-Muller from the fit's stream.
inline double normal_draw(MT19937& rng) {
  const double u1 = 1.0 - rng.uniform();  // (0, 1]
  const double u2 = rng.uniform();
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
}

// Inverted dropout's mask: mask[i] = 1 / (1 - rate) (kept) or 0, element i
// kept when the stream's i-th 53-bit uniform (numpy's random_sample: (a >> 5)
// * 2^26 + (b >> 6) over 2^53) is >= rate, that is when its integer
// numerator is >= rate * 2^53 (exact: a power of two). One stream, in order.
template <class T>
void dropout_mask(T* mask, int64_t n, double rate, MT19937& rng) {
  const T keep = T(1.0 / (1.0 - rate));
  const uint64_t threshold = uint64_t(std::ceil(rate * 9007199254740992.0));
  constexpr int64_t kChunk = 2048;
  uint32_t words[2 * kChunk];
  for (int64_t i0 = 0; i0 < n; i0 += kChunk) {
    const int64_t len = std::min(kChunk, n - i0);
    rng.fill_u32(words, 2 * len);
    T* __restrict m = mask + i0;
    for (int64_t i = 0; i < len; ++i) {
      const uint64_t u = uint64_t(words[2 * i] >> 5) * 67108864u + (words[2 * i + 1] >> 6);
      // kept = 1 - (the sign bit of u - threshold): no branch (GCC made one
      // of u >= threshold, and the coin toss cost 4 ns an element)
      m[i] = keep * T(int64_t(1 - ((u - threshold) >> 63)));
    }
  }
}

// Inverted dropout: each unit is kept with probability 1 - rate and scaled by
// 1 / (1 - rate) while training, so inference needs no rescaling.
template <class T>
class Dropout : public Layer<T> {
 public:
  double rate = 0.5;

  static std::unique_ptr<Layer<T>> make(LayerConfig& cfg, const Shape& in) {
    auto d = std::make_unique<Dropout<T>>();
    d->rate = cfg.number("rate", 0.5);
    if (!(d->rate >= 0.0 && d->rate < 1.0)) throw std::invalid_argument("dropout rate must be in [0, 1)");
    d->in = d->out = in;
    return d;
  }

  int64_t cache_per_row(bool training) const override { return training ? this->out.size() : 0; }
  bool passes_mask() const override { return true; }

  void forward(const Context<T>& c, const Batch<T>& in, T* out, T* mask,
               int64_t rows) const override {
    const int64_t n = rows * this->in.size();
    if (!c.training || rate <= 0.0) {
      std::copy(in.dense, in.dense + n, out);
      if (c.training)
        for (int64_t i = 0; i < n; ++i) mask[i] = T(1);
      return;
    }
    if (!c.rng) throw std::logic_error("dropout needs the fit's random stream");
    dropout_mask(mask, n, rate, *c.rng);
    for (int64_t i = 0; i < n; ++i) out[i] = in.dense[i] * mask[i];
  }

  void backward(const Context<T>&, const Batch<T>&, const T*, T* dout, const T* mask, T* din,
                T*, int64_t rows, bool) const override {
    if (!din) return;
    for (int64_t i = 0; i < rows * this->in.size(); ++i) din[i] = dout[i] * mask[i];
  }
};

// Additive zero-mean Gaussian noise of standard deviation stddev, while training.
template <class T>
class GaussianNoise : public Layer<T> {
 public:
  double stddev = 0.1;

  static std::unique_ptr<Layer<T>> make(LayerConfig& cfg, const Shape& in) {
    auto g = std::make_unique<GaussianNoise<T>>();
    g->stddev = cfg.number("stddev", 0.1);
    if (!(g->stddev >= 0.0)) throw std::invalid_argument("noise stddev must be >= 0");
    g->in = g->out = in;
    return g;
  }
  bool passes_mask() const override { return true; }

  void forward(const Context<T>& c, const Batch<T>& in, T* out, T*,
               int64_t rows) const override {
    const int64_t n = rows * this->in.size();
    std::copy(in.dense, in.dense + n, out);
    if (!c.training || stddev <= 0.0) return;
    if (!c.rng) throw std::logic_error("noise needs the fit's random stream");
    for (int64_t i = 0; i < n; ++i) out[i] += T(stddev * normal_draw(*c.rng));
  }

  void backward(const Context<T>&, const Batch<T>&, const T*, T* dout, const T*, T* din, T*,
                int64_t rows, bool) const override {
    if (din) std::copy(dout, dout + rows * this->in.size(), din);
  }
};

}  // namespace nc
