// BatchNormalization and LayerNormalization (Keras definitions).
//
// Both normalize over the last axis (Keras's axis=-1): per channel for
// BatchNormalization, per sample and step for LayerNormalization.
// Variables: gamma (n) if scale, beta (n) if center; BatchNormalization's
// state: moving_mean (n), moving_variance (n).
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <vector>

#include "config.hpp"
#include "layer.hpp"

namespace nc {

template <class T>
class Normalization : public Layer<T> {
 public:
  double epsilon = 1e-3;
  bool center = true, scale = true;

  std::vector<VarDecl> variables() const override {
    std::vector<VarDecl> v;
    if (scale) v.push_back({"gamma", Role::Other, Shape{width()}});
    if (center) v.push_back({"beta", Role::Other, Shape{width()}});
    return v;
  }

 protected:
  // the normalized axis's length, and how many vectors of it a batch holds
  int64_t width() const { return this->out.last(); }
  int64_t vectors(int64_t rows) const { return rows * this->out.lead(); }
  void configure(LayerConfig& cfg, const Shape& in) {
    epsilon = cfg.number("epsilon", 1e-3);
    if (!(epsilon > 0.0)) throw std::invalid_argument("epsilon must be > 0");
    center = cfg.flag("center", true);
    scale = cfg.flag("scale", true);
    this->in = this->out = in;
  }
  int64_t n_trainable() const { return int64_t(scale) + int64_t(center); }
  const T* gamma(const Context<T>& c) const { return scale ? c.params + this->off[0] : nullptr; }
  const T* beta(const Context<T>& c) const {
    return center ? c.params + this->off[scale ? 1 : 0] : nullptr;
  }
  T* dgamma(T* grads) const { return scale ? grads + this->off[0] : nullptr; }
  T* dbeta(T* grads) const { return center ? grads + this->off[scale ? 1 : 0] : nullptr; }

  // out = gamma * xhat + beta for one row
  void affine_row(const Context<T>& c, const T* xhat, T* out) const {
    const T* g = gamma(c);
    const T* b = beta(c);
    for (int64_t j = 0; j < width(); ++j)
      out[j] = (g ? g[j] : T(1)) * xhat[j] + (b ? b[j] : T(0));
  }

  // per feature (axis -1): a mask passes (batch statistics count its padded steps)
  bool passes_mask() const override { return true; }

  // Parameter gradients: dgamma += sum dout * xhat, dbeta += sum dout.
  // over `rows` normalized vectors
  void param_grads(const T* dout, const T* xhat, T* grads, int64_t rows, bool accumulate) const {
    const int64_t n = width();
    T* dg = dgamma(grads);
    T* db = dbeta(grads);
    if (!accumulate) {
      if (dg) std::memset(dg, 0, sizeof(T) * n);
      if (db) std::memset(db, 0, sizeof(T) * n);
    }
    for (int64_t i = 0; i < rows; ++i) {
      for (int64_t j = 0; j < n; ++j) {
        if (dg) dg[j] += dout[i * n + j] * xhat[i * n + j];
        if (db) db[j] += dout[i * n + j];
      }
    }
  }
};

// Normalizes each feature over the batch while training (and updates the
// moving statistics), with the moving statistics at inference.
template <class T>
class BatchNormalization : public Normalization<T> {
 public:
  double momentum = 0.99;

  static std::unique_ptr<Layer<T>> make(LayerConfig& cfg, const Shape& in) {
    auto b = std::make_unique<BatchNormalization<T>>();
    b->configure(cfg, in);
    b->momentum = cfg.number("momentum", 0.99);
    if (!(b->momentum >= 0.0 && b->momentum <= 1.0))
      throw std::invalid_argument("momentum must be in [0, 1]");
    return b;
  }

  std::vector<VarDecl> variables() const override {
    std::vector<VarDecl> v = Normalization<T>::variables();
    v.push_back({"moving_mean", Role::State, Shape{this->width()}});
    v.push_back({"moving_variance", Role::State, Shape{this->width()}});
    return v;
  }
  void init_state(T* state) const override {  // moving mean 0, moving variance 1
    T* mm = state + mean_off();
    T* mv = state + var_off();
    for (int64_t j = 0; j < this->width(); ++j) {
      mm[j] = T(0);
      mv[j] = T(1);
    }
  }
  // xhat per row, then one row of inverse standard deviations
  int64_t cache_per_row(bool training) const override { return training ? this->out.size() : 0; }
  int64_t cache_fixed(bool training) const override { return training ? this->width() : 0; }

  void forward(const Context<T>& c, const Batch<T>& in, T* out, T* cache,
               int64_t samples) const override {
    const int64_t n = this->width(), rows = this->vectors(samples);
    const T* x = in.dense;
    if (!c.training) {
      const T* mm = c.state ? c.state + mean_off() : nullptr;
      const T* mv = c.state ? c.state + var_off() : nullptr;
      std::vector<T> xhat(static_cast<size_t>(n));
      for (int64_t i = 0; i < rows; ++i) {
        for (int64_t j = 0; j < n; ++j) {
          const T mean = mm ? mm[j] : T(0), var = mv ? mv[j] : T(1);
          xhat[size_t(j)] = (x[i * n + j] - mean) / std::sqrt(var + T(this->epsilon));
        }
        this->affine_row(c, xhat.data(), out + i * n);
      }
      return;
    }
    T* xhat = cache;
    T* inv_std = cache + rows * n;
    for (int64_t j = 0; j < n; ++j) {
      double mean = 0;
      for (int64_t i = 0; i < rows; ++i) mean += x[i * n + j];
      mean /= double(rows);
      double var = 0;
      for (int64_t i = 0; i < rows; ++i) {
        const double d = x[i * n + j] - mean;
        var += d * d;
      }
      var /= double(rows);  // biased batch variance, as Keras
      const T is = T(1.0 / std::sqrt(var + this->epsilon));
      inv_std[j] = is;
      for (int64_t i = 0; i < rows; ++i) xhat[i * n + j] = (x[i * n + j] - T(mean)) * is;
      if (c.state) {
        T* mm = c.state + mean_off();
        T* mv = c.state + var_off();
        mm[j] = T(momentum * mm[j] + (1.0 - momentum) * mean);
        mv[j] = T(momentum * mv[j] + (1.0 - momentum) * var);
      }
    }
    for (int64_t i = 0; i < rows; ++i) this->affine_row(c, xhat + i * n, out + i * n);
  }

  void backward(const Context<T>& c, const Batch<T>&, const T*, T* dout, const T* cache,
                T* din, T* grads, int64_t samples, bool accumulate) const override {
    const int64_t n = this->width(), rows = this->vectors(samples);
    const T* xhat = cache;
    const T* inv_std = cache + rows * n;
    this->param_grads(dout, xhat, grads, rows, accumulate);
    if (!din) return;
    const T* g = this->gamma(c);
    for (int64_t j = 0; j < n; ++j) {
      double s1 = 0, s2 = 0;  // sum dxhat, sum dxhat * xhat
      for (int64_t i = 0; i < rows; ++i) {
        const double dx = double(dout[i * n + j]) * (g ? g[j] : T(1));
        s1 += dx;
        s2 += dx * xhat[i * n + j];
      }
      const double m = double(rows);
      for (int64_t i = 0; i < rows; ++i) {
        const double dx = double(dout[i * n + j]) * (g ? g[j] : T(1));
        din[i * n + j] = T(inv_std[j] / m * (m * dx - s1 - xhat[i * n + j] * s2));
      }
    }
  }

 private:
  int64_t mean_off() const { return this->off[size_t(this->n_trainable())]; }
  int64_t var_off() const { return this->off[size_t(this->n_trainable()) + 1]; }
};

// Normalizes each sample over its features, in training and at inference alike.
template <class T>
class LayerNormalization : public Normalization<T> {
 public:
  static std::unique_ptr<Layer<T>> make(LayerConfig& cfg, const Shape& in) {
    auto l = std::make_unique<LayerNormalization<T>>();
    l->configure(cfg, in);
    return l;
  }

  // xhat (n) and the inverse standard deviation per normalized vector
  int64_t cache_per_row(bool) const override { return this->out.lead() * (this->width() + 1); }

  void forward(const Context<T>& c, const Batch<T>& in, T* out, T* cache,
               int64_t samples) const override {
    const int64_t n = this->width(), rows = this->vectors(samples);
    for (int64_t i = 0; i < rows; ++i) {
      const T* x = in.dense + i * n;
      double mean = 0;
      for (int64_t j = 0; j < n; ++j) mean += x[j];
      mean /= double(n);
      double var = 0;
      for (int64_t j = 0; j < n; ++j) var += (x[j] - mean) * (x[j] - mean);
      var /= double(n);
      const T is = T(1.0 / std::sqrt(var + this->epsilon));
      T* xhat = cache + i * (n + 1);
      for (int64_t j = 0; j < n; ++j) xhat[j] = (x[j] - T(mean)) * is;
      xhat[n] = is;
      this->affine_row(c, xhat, out + i * n);
    }
  }

  void backward(const Context<T>& c, const Batch<T>&, const T*, T* dout, const T* cache,
                T* din, T* grads, int64_t samples, bool accumulate) const override {
    const int64_t n = this->width(), rows = this->vectors(samples);
    T* dg = this->dgamma(grads);
    T* db = this->dbeta(grads);
    if (!accumulate) {
      if (dg) std::memset(dg, 0, sizeof(T) * n);
      if (db) std::memset(db, 0, sizeof(T) * n);
    }
    const T* g = this->gamma(c);
    for (int64_t i = 0; i < rows; ++i) {
      const T* xhat = cache + i * (n + 1);
      const T* d = dout + i * n;
      double s1 = 0, s2 = 0;
      for (int64_t j = 0; j < n; ++j) {
        if (dg) dg[j] += d[j] * xhat[j];
        if (db) db[j] += d[j];
        const double dx = double(d[j]) * (g ? g[j] : T(1));
        s1 += dx;
        s2 += dx * xhat[j];
      }
      if (!din) continue;
      const double is = xhat[n];
      for (int64_t j = 0; j < n; ++j) {
        const double dx = double(d[j]) * (g ? g[j] : T(1));
        din[i * n + j] = T(is / double(n) * (double(n) * dx - s1 - xhat[j] * s2));
      }
    }
  }
};

}  // namespace nc
