// Dense: activation(x @ kernel + bias) over the last axis of the input (Keras
// 3: on (T, F) it maps every step), with the bias add and activation fused
// into one pass after the GEMM (or into its epilogue).
//
// Variables: kernel (F, units) row-major, bias (units). scikit-learn's
// packing order puts every kernel before every bias, so they are not adjacent.
#pragma once
#include <cstdint>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>

#include "../kernels/activations.hpp"
#include "../kernels/dense.hpp"
#include "../kernels/gemm.hpp"
#include "../kernels/regularization.hpp"
#include "config.hpp"
#include "layer.hpp"
#include "weights.hpp"

namespace nc {

template <class T>
class Dense : public Layer<T> {
 public:
  bool use_bias = true;
  ActSpec act;
  WeightOptions w;
  // the output layer whose activation the loss applies (fused, stable form):
  // forward leaves the pre-activation, backward receives the gradient at it
  bool fused_output = false;

  static std::unique_ptr<Layer<T>> make(LayerConfig& cfg, const Shape& in) {
    auto d = std::make_unique<Dense<T>>();
    const int64_t units = cfg.integer("units", 0);
    if (units <= 0) throw std::invalid_argument("layer sizes must be positive");
    d->act = cfg.activation();
    d->use_bias = cfg.flag("use_bias", true);
    d->w = WeightOptions::read(cfg);
    d->in = in;
    d->out = in.with_last(units);
    return d;
  }

  std::vector<VarDecl> variables() const override {
    std::vector<VarDecl> v{{"kernel", Role::Kernel, Shape{n_in(), n_out()}}};
    if (use_bias) v.push_back({"bias", Role::Bias, Shape{n_out()}});
    return v;
  }
  int64_t cache_per_row(bool) const override {
    return (!fused_output && act.needs_input()) ? this->out.size() : 0;
  }
  bool accepts_sparse() const override { return this->in.rank() == 1; }
  bool passes_mask() const override { return this->in.rank() >= 2; }  // per step
  double flops_per_row() const override {
    return 2.0 * static_cast<double>(this->in.lead()) * static_cast<double>(n_in()) *
           static_cast<double>(n_out());
  }
  const ActSpec* fusable_activation() const override {
    return &act;  // (an activity penalty, which needs the output itself, blocks fusion)
  }
  void fuse_output() override { fused_output = true; }

  void forward(const Context<T>& c, const Batch<T>& in, T* out, T* cache,
               int64_t rows) const override {
    const int64_t m = rows * this->in.lead(), k = n_in(), n = n_out();
    const T* W = c.params + kernel_off();
    const T* bias = use_bias ? c.params + bias_off() : nullptr;
    const ActSpec a = fused_output ? ActSpec{} : act;
    T* keep = cache_per_row(c.training) ? cache : nullptr;
    if (in.csr == nullptr && !keep && (a.kind == Act::Identity || a.plain_relu())) {
      // bias and activation in the product's epilogue: no second pass over out
      gemm_nn_bias_act<T>(out, in.dense, W, m, n, k, bias, a.kind == Act::Relu, c.threads);
      return;
    }
    if (in.csr == nullptr) {
      gemm_nn<T>(out, in.dense, W, m, n, k, T(1), T(0), c.threads);
    } else {
      csr_matmul(out, *in.csr, in.rows_idx, W, m, n, c.threads);
    }
    bias_activation(out, bias, m, n, a, c.threads, keep);
  }

  void backward(const Context<T>& c, const Batch<T>& in, const T* out, T* dout,
                const T* cache, T* din, T* grads, int64_t rows,
                bool accumulate) const override {
    const int64_t m = rows * this->in.lead(), k = n_in(), n = n_out();
    if (!fused_output)
      activation_backward(dout, out, cache_per_row(true) ? cache : nullptr, m, n, act, c.threads);
    const T* dz = dout;
    const T* W = c.params + kernel_off();
    T* dW = grads + kernel_off();
    if (in.csr == nullptr) {
      gemm_tn<T>(dW, in.dense, dz, k, n, m, T(1), accumulate ? T(1) : T(0), c.threads);
    } else {
      if (!accumulate) std::memset(dW, 0, sizeof(T) * k * n);
      csr_weight_grad(dW, *in.csr, in.rows_idx, dz, m, n);
    }
    if (use_bias) column_sums<T>(grads + bias_off(), dz, m, n, accumulate);
    if (din) gemm_nt<T>(din, dz, W, m, k, n, T(1), T(0), c.threads);
  }

  bool has_penalties() const override { return w.has_penalties(); }
  double add_penalties(const T* params, T* grads, double scale) const override {
    return w.add_penalties(params, grads, scale, kernel_off(), use_bias ? bias_off() : -1, n_in(), n_out());
  }
  void apply_constraints(T* params) const override {
    w.apply_constraints(params, kernel_off(), use_bias ? bias_off() : -1, n_in(), n_out());
  }
  bool has_activity() const override { return w.activity_penalty.active(); }
  double activity(const T* y, T* dy, int64_t rows) const override {
    return activity_loss(w.activity_penalty, y, dy, rows * this->out.size());
  }

 private:
  int64_t n_in() const { return this->in.last(); }
  int64_t n_out() const { return this->out.last(); }
  int64_t kernel_off() const { return this->off[0]; }
  int64_t bias_off() const { return this->off[1]; }
};

}  // namespace nc
