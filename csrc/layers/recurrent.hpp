// The recurrent layers, Keras's definitions and weight layouts: SimpleRNN,
// LSTM (gates i, f, c, o), GRU (gates z, r, h; reset_after with the (2, 3u)
// bias, or reset before with (3u)), and Bidirectional around any of them, on
// the layer contract; each direction's pass is an RnnCore (rnn_core.hpp).
#pragma once
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "../kernels/dense.hpp"
#include "config.hpp"
#include "layer.hpp"
#include "rnn_core.hpp"

namespace nc {

// SimpleRNN, LSTM, GRU: one direction.
template <class T>
class Recurrent : public Layer<T> {
 public:
  RnnCore<T> core;

  template <Cell kind>
  static std::unique_ptr<Layer<T>> make(LayerConfig& cfg, const Shape& in) {
    auto l = std::make_unique<Recurrent<T>>();
    l->core.read(cfg, in, kind, label(kind));
    l->in = in;
    l->out = l->core.out_shape();
    return l;
  }
  static const char* label(Cell kind) {
    return kind == Cell::Lstm ? "LSTM" : (kind == Cell::Gru ? "GRU" : "SimpleRNN");
  }

  std::vector<VarDecl> variables() const override { return core.variables(""); }
  int64_t cache_per_row(bool training) const override { return core.cache_per_row(training); }
  double flops_per_row() const override { return core.flops(); }
  bool passes_mask() const override { return core.return_sequences; }
  bool reads_mask() const override { return true; }

  void forward(const Context<T>& c, const Batch<T>& in, T* out, T* cache,
               int64_t rows) const override {
    core.forward(c.params, k(), r(), b(), in.dense, out, cache, rows, c.training, c.rng, c.mask,
                 c.threads);
  }
  void backward(const Context<T>& c, const Batch<T>& in, const T*, T* dout, const T* cache,
                T* din, T* grads, int64_t rows, bool accumulate) const override {
    core.backward(c.params, grads, k(), r(), b(), in.dense, dout, const_cast<T*>(cache), din,
                  rows, accumulate, c.mask, c.threads);
  }

  bool has_penalties() const override { return core.has_penalties(); }
  double add_penalties(const T* params, T* grads, double scale) const override {
    return core.add_penalties(params, grads, scale, k(), r(), b());
  }
  void apply_constraints(T* params) const override { core.apply_constraints(params, k(), r(), b()); }
  bool has_activity() const override { return core.w.activity_penalty.active(); }
  double activity(const T* y, T* dy, int64_t rows) const override {
    return activity_loss(core.w.activity_penalty, y, dy, rows * this->out.size());
  }

 private:
  int64_t k() const { return this->off[0]; }
  int64_t r() const { return this->off[1]; }
  int64_t b() const { return core.use_bias ? this->off[2] : 0; }
};

// Bidirectional(layer, merge_mode): the layer and a copy of it reading the
// sequence the other way (go_backwards flipped), their outputs merged
// (concat, sum, mul or ave) after the backward one's steps are put back in
// the input's order (return_sequences). Weights: the forward layer's, then
// the backward one's (Keras's order).
template <class T>
class Bidirectional : public Layer<T> {
 public:
  enum class Merge { Concat, Sum, Mul, Ave };
  RnnCore<T> fw, bw;
  Merge merge = Merge::Concat;

  static std::unique_ptr<Layer<T>> make(LayerConfig& cfg, const Shape& in) {
    auto l = std::make_unique<Bidirectional<T>>();
    const std::string inner = cfg.text("layer", "");
    Cell kind;
    if (inner == "lstm") kind = Cell::Lstm;
    else if (inner == "gru") kind = Cell::Gru;
    else if (inner == "simple_rnn") kind = Cell::Simple;
    else
      throw std::invalid_argument("Bidirectional wraps a recurrent layer (SimpleRNN, LSTM or GRU), got '" +
                                  inner + "'");
    l->fw.read(cfg, in, kind, std::string("Bidirectional(") + Recurrent<T>::label(kind) + ")");
    l->bw = l->fw;
    l->bw.go_backwards = !l->fw.go_backwards;
    const std::string mm = cfg.text("merge_mode", "concat");
    if (mm == "concat") l->merge = Merge::Concat;
    else if (mm == "sum") l->merge = Merge::Sum;
    else if (mm == "mul") l->merge = Merge::Mul;
    else if (mm == "ave") l->merge = Merge::Ave;
    else
      throw std::invalid_argument("Bidirectional: merge_mode must be 'concat', 'sum', 'mul' or 'ave', got '" +
                                  mm + "'");
    l->in = in;
    const int64_t width = l->merge == Merge::Concat ? 2 * l->fw.u : l->fw.u;
    l->out = l->fw.return_sequences ? Shape{l->fw.steps, width} : Shape{width};
    return l;
  }

  std::vector<VarDecl> variables() const override {
    std::vector<VarDecl> v = fw.variables("forward_");
    for (auto& d : bw.variables("backward_")) v.push_back(d);
    return v;
  }
  // each direction's output and cache, and the backward one's input gradient
  int64_t cache_per_row(bool training) const override {
    return 2 * fw.out_size() + fw.cache_per_row(training) + bw.cache_per_row(training) +
           (training ? this->in.size() : 0);
  }
  double flops_per_row() const override { return 2 * fw.flops(); }
  bool passes_mask() const override { return fw.return_sequences; }
  bool reads_mask() const override { return true; }

  void forward(const Context<T>& c, const Batch<T>& in, T* out, T* cache,
               int64_t rows) const override {
    Parts p = parts(cache, rows, c.training);
    fw.forward(c.params, voff(0), voff(1), voff(2), in.dense, p.fo, p.fc, rows, c.training, c.rng,
               c.mask, c.threads);
    bw.forward(c.params, voff(3), voff(4), voff(5), in.dense, p.bo, p.bc, rows, c.training, c.rng,
               c.mask, c.threads);
    const int64_t u = fw.u, steps = fw.return_sequences ? fw.steps : 1;
    const int64_t width = this->out.last();
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t s = 0; s < steps; ++s) {
        const T* a = p.fo + (i * steps + s) * u;
        const T* b = p.bo + (i * steps + (steps - 1 - s)) * u;  // back in the input's order
        T* o = out + (i * steps + s) * width;
        switch (merge) {
          case Merge::Concat:
            std::copy(a, a + u, o);
            std::copy(b, b + u, o + u);
            break;
          case Merge::Sum: for (int64_t j = 0; j < u; ++j) o[j] = a[j] + b[j]; break;
          case Merge::Mul: for (int64_t j = 0; j < u; ++j) o[j] = a[j] * b[j]; break;
          case Merge::Ave: for (int64_t j = 0; j < u; ++j) o[j] = (a[j] + b[j]) * T(0.5); break;
        }
      }
  }

  void backward(const Context<T>& c, const Batch<T>& in, const T*, T* dout, const T* cache,
                T* din, T* grads, int64_t rows, bool accumulate) const override {
    Parts p = parts(const_cast<T*>(cache), rows, true);
    const int64_t u = fw.u, steps = fw.return_sequences ? fw.steps : 1;
    const int64_t width = this->out.last();
    // the directions' output gradients, over their own outputs (fo, bo: no
    // longer needed but by mul, which reads both before either is written)
    T* dfo = p.fo;
    T* dbo = p.bo;
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t s = 0; s < steps; ++s) {
        const T* d = dout + (i * steps + s) * width;
        T* a = dfo + (i * steps + s) * u;
        T* b = dbo + (i * steps + (steps - 1 - s)) * u;
        for (int64_t j = 0; j < u; ++j) {
          T da, db;
          switch (merge) {
            case Merge::Concat: da = d[j]; db = d[u + j]; break;
            case Merge::Sum: da = db = d[j]; break;
            case Merge::Mul: da = d[j] * b[j]; db = d[j] * a[j]; break;
            default: da = db = d[j] * T(0.5); break;
          }
          a[j] = da;
          b[j] = db;
        }
      }
    fw.backward(c.params, grads, voff(0), voff(1), voff(2), in.dense, dfo, p.fc, din, rows,
                accumulate, c.mask, c.threads);
    bw.backward(c.params, grads, voff(3), voff(4), voff(5), in.dense, dbo, p.bc, din ? p.din : nullptr,
                rows, accumulate, c.mask, c.threads);
    if (din)
      for (int64_t q = 0; q < rows * this->in.size(); ++q) din[q] += p.din[q];
  }

  bool has_penalties() const override { return fw.has_penalties(); }
  double add_penalties(const T* params, T* grads, double scale) const override {
    return fw.add_penalties(params, grads, scale, voff(0), voff(1), voff(2)) +
           bw.add_penalties(params, grads, scale, voff(3), voff(4), voff(5));
  }
  void apply_constraints(T* params) const override {
    fw.apply_constraints(params, voff(0), voff(1), voff(2));
    bw.apply_constraints(params, voff(3), voff(4), voff(5));
  }
  bool has_activity() const override { return fw.w.activity_penalty.active(); }
  double activity(const T* y, T* dy, int64_t rows) const override {
    return activity_loss(fw.w.activity_penalty, y, dy, rows * this->out.size());
  }

 private:
  struct Parts {
    T *fo, *bo, *fc, *bc, *din;
  };
  Parts parts(T* cache, int64_t rows, bool training) const {
    Parts p;
    p.fo = cache;
    p.bo = p.fo + rows * fw.out_size();
    p.fc = p.bo + rows * fw.out_size();
    p.bc = p.fc + rows * fw.cache_per_row(training);
    p.din = p.bc + rows * bw.cache_per_row(training);
    return p;
  }
  // variable q of the forward (0-2) and backward (3-5) layers: kernel,
  // recurrent kernel, bias
  int64_t voff(int q) const {
    const int per = fw.use_bias ? 3 : 2;
    const int d = q / 3, v = q % 3;
    if (v >= per) return 0;
    return this->off[size_t(d * per + v)];
  }
};

}  // namespace nc
