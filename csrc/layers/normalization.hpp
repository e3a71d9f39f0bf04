// BatchNormalization and LayerNormalization (Keras definitions).
//
// Parameters: gamma (n) if scale, then beta (n) if center, at p_off.
// BatchNormalization's state: moving mean (n) then moving variance (n), at s_off.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "layer.hpp"

namespace nc {

template <class T>
class Normalization : public Layer<T> {
 public:
  double epsilon = 1e-3;
  bool center = true, scale = true;

  int64_t param_count() const override { return (scale ? this->n_out : 0) + (center ? this->n_out : 0); }

 protected:
  const T* gamma(const Context<T>& c) const { return scale ? c.params + this->p_off : nullptr; }
  const T* beta(const Context<T>& c) const {
    return center ? c.params + this->p_off + (scale ? this->n_out : 0) : nullptr;
  }
  T* dgamma(T* grads) const { return scale ? grads + this->p_off : nullptr; }
  T* dbeta(T* grads) const { return center ? grads + this->p_off + (scale ? this->n_out : 0) : nullptr; }

  // out = gamma * xhat + beta for one row
  void affine_row(const Context<T>& c, const T* xhat, T* out) const {
    const T* g = gamma(c);
    const T* b = beta(c);
    for (int64_t j = 0; j < this->n_out; ++j)
      out[j] = (g ? g[j] : T(1)) * xhat[j] + (b ? b[j] : T(0));
  }

  // Parameter gradients: dgamma += sum dout * xhat, dbeta += sum dout.
  void param_grads(const T* dout, const T* xhat, T* grads, int64_t rows, bool accumulate) const {
    const int64_t n = this->n_out;
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

  int64_t state_count() const override { return 2 * this->n_out; }
  void init_state(T* state) const override {  // moving mean 0, moving variance 1
    for (int64_t j = 0; j < this->n_out; ++j) {
      state[j] = T(0);
      state[this->n_out + j] = T(1);
    }
  }
  // xhat per row, then one row of inverse standard deviations
  int64_t cache_per_row(bool training) const override { return training ? this->n_out : 0; }
  int64_t cache_fixed(bool training) const override { return training ? this->n_out : 0; }

  void forward(const Context<T>& c, const Batch<T>& in, T* out, T* cache,
               int64_t rows) const override {
    const int64_t n = this->n_out;
    const T* x = in.dense;
    if (!c.training) {
      const T* mm = c.state ? c.state + this->s_off : nullptr;
      const T* mv = c.state ? c.state + this->s_off + n : nullptr;
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
        T* mm = c.state + this->s_off;
        T* mv = c.state + this->s_off + n;
        mm[j] = T(momentum * mm[j] + (1.0 - momentum) * mean);
        mv[j] = T(momentum * mv[j] + (1.0 - momentum) * var);
      }
    }
    for (int64_t i = 0; i < rows; ++i) this->affine_row(c, xhat + i * n, out + i * n);
  }

  void backward(const Context<T>& c, const Batch<T>&, const T*, T* dout, const T* cache,
                T* din, T* grads, int64_t rows, bool accumulate) const override {
    const int64_t n = this->n_out;
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
};

// Normalizes each sample over its features, in training and at inference alike.
template <class T>
class LayerNormalization : public Normalization<T> {
 public:
  // xhat (n) and the inverse standard deviation per row
  int64_t cache_per_row(bool) const override { return this->n_out + 1; }

  void forward(const Context<T>& c, const Batch<T>& in, T* out, T* cache,
               int64_t rows) const override {
    const int64_t n = this->n_out;
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
                T* din, T* grads, int64_t rows, bool accumulate) const override {
    const int64_t n = this->n_out;
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
