// Activation layer: y = act(x), elementwise (softmax over the last axis).
#pragma once
#include <algorithm>
#include <cstdint>
#include <memory>

#include "../kernels/activations.hpp"
#include "config.hpp"
#include "layer.hpp"

namespace nc {

template <class T>
class Activation : public Layer<T> {
 public:
  ActSpec act;
  bool fused_output = false;  // the loss applies this activation (see Dense)

  static std::unique_ptr<Layer<T>> make(LayerConfig& cfg, const Shape& in) {
    auto a = std::make_unique<Activation<T>>();
    a->act = cfg.activation();
    a->in = a->out = in;
    return a;
  }

  int64_t cache_per_row(bool) const override {
    return (!fused_output && act.needs_input()) ? this->out.size() : 0;
  }
  const ActSpec* fusable_activation() const override { return &act; }
  bool passes_mask() const override { return true; }
  void fuse_output() override { fused_output = true; }

  void forward(const Context<T>& c, const Batch<T>& in, T* out, T* cache,
               int64_t rows) const override {
    std::copy(in.dense, in.dense + rows * this->in.size(), out);
    bias_activation<T>(out, nullptr, rows * this->out.lead(), this->out.last(),
                       fused_output ? ActSpec{} : act, c.threads,
                       cache_per_row(c.training) ? cache : nullptr);
  }

  void backward(const Context<T>& c, const Batch<T>&, const T* out, T* dout, const T* cache,
                T* din, T*, int64_t rows, bool) const override {
    if (!fused_output)
      activation_backward(dout, out, cache_per_row(true) ? cache : nullptr,
                          rows * this->out.lead(), this->out.last(), act, c.threads);
    if (din) std::copy(dout, dout + rows * this->out.size(), din);
  }
};

}  // namespace nc
