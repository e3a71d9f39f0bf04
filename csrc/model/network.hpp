// Network: a stack of Dense layers over one flat parameter buffer (owned by the
// caller, in scikit-learn's packing order: every kernel, then every bias), with
// workspaces sized once for a batch size so that training allocates nothing per step.
#pragma once
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "../core/parallel.hpp"
#include "../core/types.hpp"
#include "../kernels/activations.hpp"
#include "../kernels/losses.hpp"
#include "../layers/dense.hpp"

namespace nc {

struct NetSpec {
  int64_t n_in = 0;
  std::vector<int64_t> units;  // hidden sizes..., then the number of outputs
  Act hidden = Act::Relu;
  Loss loss = Loss::SquaredError;
};

// Per-caller scratch memory for `rows` rows at a time. Training owns one;
// every predict call makes its own, so concurrent predicts never share state.
template <class T>
struct Workspace {
  int64_t cap = 0;
  std::vector<T> input;               // (cap, n_in) gathered dense rows
  std::vector<std::vector<T>> acts;   // acts[l]: (cap, units[l]) layer outputs
  std::vector<T> d0, d1;              // (cap, max units) gradient ping-pong
  std::vector<T> y, sw;               // (cap, n_out), (cap) gathered targets, weights
  std::vector<double> row_loss;       // (cap)
};

// dst (rows, cols) = src[idx[r], :] for r < rows.
template <class T>
void gather_rows(T* dst, const T* src, const int64_t* idx, int64_t rows, int64_t cols,
                 int threads) {
  parallel_for(rows, rows * cols, threads, [&](int64_t r) {
    std::memcpy(dst + r * cols, src + idx[r] * cols, sizeof(T) * cols);
  });
}

template <class T>
class Network {
 public:
  explicit Network(const NetSpec& spec) : spec_(spec) {
    if (spec.n_in <= 0) throw std::invalid_argument("the network needs at least one input");
    if (spec.units.empty()) throw std::invalid_argument("the network needs an output layer");
    int64_t n_coefs = 0, prev = spec.n_in;
    for (int64_t u : spec.units) {
      if (u <= 0) throw std::invalid_argument("layer sizes must be positive");
      n_coefs += prev * u;
      prev = u;
    }
    int64_t w = 0, b = n_coefs;
    prev = spec.n_in;
    for (size_t l = 0; l < spec.units.size(); ++l) {
      Dense<T> d;
      d.n_in = prev;
      d.n_out = spec.units[l];
      d.w_off = w;
      d.b_off = b;
      d.act = (l + 1 == spec.units.size()) ? output_activation(spec.loss) : spec.hidden;
      w += d.n_in * d.n_out;
      b += d.n_out;
      prev = d.n_out;
      layers_.push_back(d);
    }
    n_coefs_ = n_coefs;
    n_params_ = b;
  }

  const NetSpec& spec() const { return spec_; }
  const std::vector<Dense<T>>& layers() const { return layers_; }
  int64_t n_params() const { return n_params_; }
  int64_t n_coefs() const { return n_coefs_; }  // kernels come first in the buffer
  int64_t n_in() const { return spec_.n_in; }
  int64_t n_out() const { return spec_.units.back(); }

  void reserve(Workspace<T>& ws, int64_t rows, bool need_input, bool training) const {
    if (ws.cap >= rows) return;
    ws.cap = rows;
    if (need_input) ws.input.assign(size_t(rows * spec_.n_in), T(0));
    ws.acts.resize(layers_.size());
    int64_t widest = spec_.n_in;
    for (size_t l = 0; l < layers_.size(); ++l) {
      ws.acts[l].assign(size_t(rows * layers_[l].n_out), T(0));
      widest = std::max(widest, layers_[l].n_out);
    }
    ws.row_loss.assign(size_t(rows), 0.0);
    if (training) {
      ws.d0.assign(size_t(rows * widest), T(0));
      ws.d1.assign(size_t(rows * widest), T(0));
      ws.y.assign(size_t(rows * n_out()), T(0));
      ws.sw.assign(size_t(rows), T(0));
    }
  }

  // Forward `rows` rows. With `logits`, the output layer is left as the
  // pre-activation z (the loss applies the output activation); otherwise the
  // output holds predictions. Returns a pointer to the output (rows, n_out).
  T* forward(const T* params, const Batch<T>& in, int64_t rows, Workspace<T>& ws, bool logits,
             int threads) const {
    Batch<T> cur = in;
    for (size_t l = 0; l < layers_.size(); ++l) {
      const bool last = l + 1 == layers_.size();
      layers_[l].forward(params, cur, ws.acts[l].data(), rows, !(last && logits), threads);
      cur = Batch<T>{};
      cur.dense = ws.acts[l].data();
    }
    return ws.acts.back().data();
  }

  // After forward(logits=true): applies the output activation, computes the
  // loss against y (rows, n_out) with weights sw (rows, or null) and
  // backpropagates. The error at the output is scaled by `scale` (1 / the sum
  // of weights of the whole objective), so grads hold the gradient of the mean
  // loss. Accumulates into grads if `accumulate`. Returns the weighted loss sum.
  double loss_backward(const T* params, const Batch<T>& in, const T* y, const T* sw,
                       int64_t rows, T scale, T* grads, Workspace<T>& ws, bool accumulate,
                       int threads) const {
    const size_t L = layers_.size();
    T* dz = ws.d0.data();
    T* other = ws.d1.data();
    const double loss = loss_forward_backward(ws.acts.back().data(), dz, ws.row_loss.data(), y,
                                              sw, rows, n_out(), spec_.loss, scale, threads);
    for (size_t l = L; l-- > 0;) {
      const Dense<T>& d = layers_[l];
      Batch<T> lin;
      if (l == 0) {
        lin = in;
      } else {
        lin.dense = ws.acts[l - 1].data();
      }
      T* din = l == 0 ? nullptr : other;
      d.backward(params, lin, dz, grads, din, rows, accumulate);
      if (l > 0) {
        activation_backward(din, ws.acts[l - 1].data(), rows, layers_[l - 1].n_out,
                            layers_[l - 1].act, threads);
        std::swap(dz, other);
      }
    }
    return loss;
  }

  // Sum of squares of the kernels (the L2 penalty leaves biases alone).
  double coef_sq_norm(const T* params) const {
    double s = 0;
    for (int64_t i = 0; i < n_coefs_; ++i) s += double(params[i]) * params[i];
    return s;
  }

  // grads[kernels] += l2 * params[kernels]
  void add_l2_grad(const T* params, T* grads, T l2) const {
    for (int64_t i = 0; i < n_coefs_; ++i) grads[i] += l2 * params[i];
  }

  // Predictions for every row of X into out (n, n_out), in chunks, with a
  // workspace of its own (safe to call concurrently on one network).
  void predict(const T* params, const InputView<T>& X, T* out, int threads) const {
    const int64_t chunk = 512;
    Workspace<T> ws;
    reserve(ws, std::min<int64_t>(chunk, std::max<int64_t>(X.n_rows, 1)), false, false);
    for (int64_t s = 0; s < X.n_rows; s += chunk) {
      const int64_t rows = std::min(chunk, X.n_rows - s);
      Batch<T> b;
      std::vector<int64_t> idx;
      if (X.sparse()) {
        idx.resize(size_t(rows));
        for (int64_t r = 0; r < rows; ++r) idx[size_t(r)] = s + r;
        b.csr = &X;
        b.rows_idx = idx.data();
      } else {
        b.dense = X.dense + s * X.n_cols;
      }
      const T* p = forward(params, b, rows, ws, false, threads);
      std::memcpy(out + s * n_out(), p, sizeof(T) * rows * n_out());
    }
  }

 private:
  NetSpec spec_;
  std::vector<Dense<T>> layers_;
  int64_t n_params_ = 0, n_coefs_ = 0;
};

}  // namespace nc
