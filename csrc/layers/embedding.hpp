// Embedding and Masking: the layers that begin a sequence model, and the two
// that make Keras's mask (one value per step: 1 kept, 0 padded), which the
// layer contract carries up to the recurrent layers (layers/layer.hpp).
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "../core/parallel.hpp"
#include "../kernels/regularization.hpp"
#include "config.hpp"
#include "layer.hpp"
#include "weights.hpp"

namespace nc {

// Embedding(input_dim, output_dim, mask_zero): integer token ids (carried as
// T, exact below 2^24 in float32) -> rows of the (input_dim, output_dim)
// table "embeddings". Input of any shape; output adds output_dim. An id that
// is not an integer in [0, input_dim) is an error naming it.
template <class T>
class Embedding : public Layer<T> {
 public:
  int64_t input_dim = 1, output_dim = 1;
  bool mask_zero = false;
  Penalty penalty, activity_penalty;
  Constraint constraint;

  static std::unique_ptr<Layer<T>> make(LayerConfig& cfg, const Shape& in) {
    auto l = std::make_unique<Embedding<T>>();
    l->input_dim = cfg.integer("input_dim", 0);
    l->output_dim = cfg.integer("output_dim", 0);
    if (l->input_dim < 1 || l->output_dim < 1)
      throw std::invalid_argument("Embedding: input_dim and output_dim must be positive integers");
    if (std::is_same_v<T, float> && l->input_dim > (int64_t(1) << 24))
      throw std::invalid_argument("Embedding: input_dim above 2^24 needs float64 (ids are carried as floats)");
    l->mask_zero = cfg.flag("mask_zero", false);
    l->penalty = {cfg.number("embeddings_l1", 0.0), cfg.number("embeddings_l2", 0.0)};
    l->activity_penalty = {cfg.number("activity_l1", 0.0), cfg.number("activity_l2", 0.0)};
    l->constraint = WeightOptions::constraint(cfg, "embeddings_constraint");
    l->in = in;
    std::vector<int64_t> d = in.dims;
    d.push_back(l->output_dim);
    l->out = Shape(d);
    return l;
  }

  std::vector<VarDecl> variables() const override {
    return {{"embeddings", Role::Kernel, Shape{input_dim, output_dim}}};
  }
  // the mask, at the cache's start (inference too: the layers above read it)
  int64_t cache_per_row(bool) const override { return mask_zero ? this->in.size() : 0; }
  bool makes_mask() const override { return mask_zero; }

  void forward(const Context<T>& c, const Batch<T>& in, T* out, T* cache,
               int64_t rows) const override {
    const int64_t n = rows * this->in.size(), d = output_dim;
    const T* E = c.params + this->off[0];
    parallel_for(rows, n * d, c.threads, [&](int64_t r) {
      for (int64_t p = r * this->in.size(); p < (r + 1) * this->in.size(); ++p) {
        const int64_t id = token(in.dense[p]);
        std::copy(E + id * d, E + (id + 1) * d, out + p * d);
        if (mask_zero) cache[p] = id != 0 ? T(1) : T(0);
      }
    });
  }

  // the table's gradient: each thread a share of its columns, rows in order
  void backward(const Context<T>& c, const Batch<T>& in, const T*, T* dout, const T*, T* din,
                T* grads, int64_t rows, bool accumulate) const override {
    const int64_t n = rows * this->in.size(), d = output_dim;
    T* dE = grads + this->off[0];
    if (!accumulate) std::memset(dE, 0, sizeof(T) * input_dim * d);
    constexpr int64_t kCols = 16;
    const int64_t shares = (d + kCols - 1) / kCols;
    parallel_for(shares, n * d, c.threads, [&](int64_t q) {
      const int64_t j0 = q * kCols, j1 = std::min(d, j0 + kCols);
      for (int64_t p = 0; p < n; ++p) {
        T* row = dE + token(in.dense[p]) * d;
        const T* g = dout + p * d;
        for (int64_t j = j0; j < j1; ++j) row[j] += g[j];
      }
    });
    if (din) std::fill(din, din + n, T(0));  // ids are not differentiable
  }

  bool has_penalties() const override { return penalty.active(); }
  double add_penalties(const T* params, T* grads, double scale) const override {
    return add_penalty(penalty, params + this->off[0], grads + this->off[0], input_dim * output_dim, scale);
  }
  void apply_constraints(T* params) const override {
    constrain(constraint, params + this->off[0], input_dim, output_dim);
  }
  bool has_activity() const override { return activity_penalty.active(); }
  double activity(const T* y, T* dy, int64_t rows) const override {
    return activity_loss(activity_penalty, y, dy, rows * this->out.size());
  }

 private:
  int64_t token(T v) const {
    const int64_t id = int64_t(v);
    if (!(T(id) == v) || id < 0 || id >= input_dim)  // (NaN fails the first test)
      throw std::invalid_argument("Embedding: token id " + std::to_string(double(v)) +
                                  " is not an integer in [0, input_dim = " +
                                  std::to_string(input_dim) + ")");
    return id;
  }
};

// Masking(mask_value): a step whose features all equal mask_value is padded:
// its output is zeros and the mask marks it for the layers above.
template <class T>
class Masking : public Layer<T> {
 public:
  double mask_value = 0.0;

  static std::unique_ptr<Layer<T>> make(LayerConfig& cfg, const Shape& in) {
    auto l = std::make_unique<Masking<T>>();
    l->mask_value = cfg.number("mask_value", 0.0);
    if (in.rank() < 2)
      throw std::invalid_argument("Masking expects samples of shape (timesteps, features), got " + in.str());
    l->in = l->out = in;
    return l;
  }
  int64_t cache_per_row(bool) const override { return this->in.lead(); }
  bool makes_mask() const override { return true; }

  void forward(const Context<T>& c, const Batch<T>& in, T* out, T* cache,
               int64_t rows) const override {
    const int64_t steps = this->in.lead(), f = this->in.last();
    const T mv = T(mask_value);
    parallel_for(rows * steps, rows * steps * f, c.threads, [&](int64_t p) {
      const T* x = in.dense + p * f;
      bool any = false;
      for (int64_t j = 0; j < f; ++j) any = any || x[j] != mv;
      cache[p] = any ? T(1) : T(0);
      for (int64_t j = 0; j < f; ++j) out[p * f + j] = any ? x[j] : T(0);
    });
  }
  void backward(const Context<T>&, const Batch<T>&, const T*, T* dout, const T* cache, T* din,
                T*, int64_t rows, bool) const override {
    if (!din) return;
    const int64_t steps = this->in.lead(), f = this->in.last();
    for (int64_t p = 0; p < rows * steps; ++p)
      for (int64_t j = 0; j < f; ++j) din[p * f + j] = dout[p * f + j] * cache[p];
  }
};

}  // namespace nc
