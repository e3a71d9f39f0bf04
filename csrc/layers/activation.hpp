// Activation layer: y = act(x), elementwise (softmax row-wise).
#pragma once
#include <algorithm>
#include <cstdint>

#include "../kernels/activations.hpp"
#include "layer.hpp"

namespace nc {

template <class T>
class Activation : public Layer<T> {
 public:
  ActSpec act;
  bool fused_output = false;  // the loss applies this activation (see Dense)

  int64_t cache_per_row(bool) const override {
    return (!fused_output && act.needs_input()) ? this->n_out : 0;
  }

  void forward(const Context<T>& c, const Batch<T>& in, T* out, T* cache,
               int64_t rows) const override {
    std::copy(in.dense, in.dense + rows * this->n_in, out);
    bias_activation<T>(out, nullptr, rows, this->n_out, fused_output ? ActSpec{} : act, c.threads,
                       cache_per_row(c.training) ? cache : nullptr);
  }

  void backward(const Context<T>& c, const Batch<T>&, const T* out, T* dout, const T* cache,
                T* din, T*, int64_t rows, bool) const override {
    if (!fused_output)
      activation_backward(dout, out, cache_per_row(true) ? cache : nullptr, rows, this->n_out,
                          act, c.threads);
    if (din) std::copy(dout, dout + rows * this->n_out, din);
  }
};

}  // namespace nc
