// Network: a stack of Dense layers over one flat parameter buffer (owned by the
// caller, in scikit-learn's packing order: every kernel, then every bias), with
// workspaces sized once for a batch size so that training allocates nothing per step.
#pragma once
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "../core/parallel.hpp"
#include "../core/types.hpp"
#include "../kernels/activations.hpp"
#include "../kernels/losses.hpp"
#include "../layers/activation.hpp"
#include "../layers/dense.hpp"
#include "../layers/layer.hpp"
#include "../layers/noise.hpp"
#include "../layers/normalization.hpp"

namespace nc {

// One layer of the spec the estimators send.
struct LayerConfig {
  std::string type = "dense";  // dense, activation, dropout, gaussian_noise,
                               // batch_normalization, layer_normalization
  int64_t units = 0;
  ActSpec act;
  bool use_bias = true;
  double rate = 0.5;       // dropout
  double stddev = 0.1;     // gaussian_noise
  double momentum = 0.99;  // batch_normalization
  double epsilon = 1e-3;   // normalizations
  bool center = true, scale = true;
  Penalty kernel_penalty, bias_penalty, activity_penalty;  // dense
  Constraint kernel_constraint, bias_constraint;           // dense
};

// One trainable variable of the flat buffer, for initializers and views.
struct VariableInfo {
  int64_t layer = 0;
  std::string name;  // kernel, bias, gamma, beta
  int64_t offset = 0, rows = 0, cols = 0;  // cols == 0: a vector of `rows`
};

struct NetSpec {
  int64_t n_in = 0;
  std::vector<LayerConfig> layers;
  LossSpec loss;
};

// Per-caller scratch memory for `rows` rows at a time. Training owns one;
// every predict call makes its own, so concurrent predicts never share state.
template <class T>
struct Workspace {
  int64_t cap = 0;
  std::vector<T> input;               // (cap, n_in) gathered dense rows
  std::vector<std::vector<T>> outs;   // outs[l]: (cap, n_out of layer l)
  std::vector<std::vector<T>> caches; // caches[l]: what layer l's backward needs
  std::vector<T> d0, d1;              // (cap, widest) gradient ping-pong
  std::vector<T> y, sw;               // (cap, n_out), (cap) gathered targets, weights
  std::vector<double> row_loss;       // (cap)
  double activity = 0;                // activity penalty of the last backward
};

// dst (rows, cols) = src[idx[r], :] for r < rows.
template <class T>
void gather_rows(T* dst, const T* src, const int64_t* idx, int64_t rows, int64_t cols,
                 int threads) {
  parallel_for(rows, rows * cols, threads, [&](int64_t r) {
    std::memcpy(dst + r * cols, src + idx[r] * cols, sizeof(T) * cols);
  });
}

// The flat parameter buffer holds every Dense kernel, then every Dense bias
// (scikit-learn's packing order, so L-BFGS sees scikit-learn's vector), then
// the other layers' parameters in layer order.
template <class T>
class Network {
 public:
  explicit Network(const NetSpec& spec) : spec_(spec) {
    if (spec.n_in <= 0) throw std::invalid_argument("the network needs at least one input");
    if (spec.layers.empty()) throw std::invalid_argument("the network needs an output layer");
    int64_t width = spec.n_in;
    std::vector<Dense<T>*> dense;
    for (size_t l = 0; l < spec.layers.size(); ++l) {
      const LayerConfig& cfg = spec.layers[l];
      std::unique_ptr<Layer<T>> layer;
      if (cfg.type == "dense") {
        if (cfg.units <= 0) throw std::invalid_argument("layer sizes must be positive");
        auto d = std::make_unique<Dense<T>>();
        d->n_out = cfg.units;
        d->act = cfg.act;
        d->use_bias = cfg.use_bias;
        d->kernel_penalty = cfg.kernel_penalty;
        d->bias_penalty = cfg.bias_penalty;
        d->activity_penalty = cfg.activity_penalty;
        d->kernel_constraint = cfg.kernel_constraint;
        d->bias_constraint = cfg.bias_constraint;
        dense.push_back(d.get());
        layer = std::move(d);
      } else if (cfg.type == "activation") {
        auto a = std::make_unique<Activation<T>>();
        a->act = cfg.act;
        layer = std::move(a);
      } else if (cfg.type == "dropout") {
        if (!(cfg.rate >= 0.0 && cfg.rate < 1.0))
          throw std::invalid_argument("dropout rate must be in [0, 1)");
        auto d = std::make_unique<Dropout<T>>();
        d->rate = cfg.rate;
        layer = std::move(d);
      } else if (cfg.type == "gaussian_noise") {
        if (!(cfg.stddev >= 0.0)) throw std::invalid_argument("noise stddev must be >= 0");
        auto g = std::make_unique<GaussianNoise<T>>();
        g->stddev = cfg.stddev;
        layer = std::move(g);
      } else if (cfg.type == "batch_normalization" || cfg.type == "layer_normalization") {
        if (!(cfg.epsilon > 0.0)) throw std::invalid_argument("epsilon must be > 0");
        std::unique_ptr<Normalization<T>> nl;
        if (cfg.type == "batch_normalization") {
          if (!(cfg.momentum >= 0.0 && cfg.momentum <= 1.0))
            throw std::invalid_argument("momentum must be in [0, 1]");
          auto b = std::make_unique<BatchNormalization<T>>();
          b->momentum = cfg.momentum;
          nl = std::move(b);
        } else {
          nl = std::make_unique<LayerNormalization<T>>();
        }
        nl->epsilon = cfg.epsilon;
        nl->center = cfg.center;
        nl->scale = cfg.scale;
        layer = std::move(nl);
      } else {
        throw std::invalid_argument("unknown layer type '" + cfg.type + "'");
      }
      layer->n_in = width;
      if (layer->n_out == 0) layer->n_out = width;
      width = layer->n_out;
      layers_.push_back(std::move(layer));
    }
    // the output activation is fused with the loss where the pair is canonical
    // (stable form, error at z = p - y); otherwise the output layer applies its
    // activation and backpropagates the loss's gradient through it
    auto* last_dense = dynamic_cast<Dense<T>*>(layers_.back().get());
    auto* last_act = dynamic_cast<Activation<T>*>(layers_.back().get());
    if (last_dense) output_act_ = last_dense->act;
    if (last_act) output_act_ = last_act->act;
    // an activity penalty on the output needs the output itself: no fusion
    fused_ = (last_dense || last_act) &&
             !(last_dense && last_dense->activity_penalty.active()) &&
             fused_loss_on_logits(spec.loss, output_act_.kind, &fused_kind_);
    if (requires_canonical_output(spec.loss.kind) && !fused_)
      throw std::invalid_argument("the output layer's activation does not match the loss");
    if (fused_ && last_dense) last_dense->fused_output = true;
    if (fused_ && last_act) last_act->fused_output = true;

    int64_t off = 0;
    for (Dense<T>* d : dense) {
      d->w_off = off;
      off += d->n_in * d->n_out;
    }
    n_coefs_ = off;
    for (Dense<T>* d : dense) {
      d->b_off = off;
      if (d->use_bias) off += d->n_out;
    }
    int64_t state = 0;
    for (auto& layer : layers_) {
      if (!dynamic_cast<Dense<T>*>(layer.get())) {  // other layers' parameters come last
        layer->p_off = off;
        off += layer->param_count();
      }
      layer->s_off = state;
      state += layer->state_count();
    }
    n_params_ = off;
    n_state_ = state;
    for (Dense<T>* d : dense)
      has_penalties_ = has_penalties_ || d->kernel_penalty.active() || d->bias_penalty.active();
  }

  const NetSpec& spec() const { return spec_; }
  int64_t n_params() const { return n_params_; }
  int64_t n_coefs() const { return n_coefs_; }  // kernels come first in the buffer
  int64_t n_state() const { return n_state_; }
  int64_t n_in() const { return spec_.n_in; }
  int64_t n_out() const { return layers_.back()->n_out; }
  const ActSpec& output_activation_spec() const { return output_act_; }

  void reserve(Workspace<T>& ws, int64_t rows, bool need_input, bool training) const {
    if (ws.cap >= rows) return;
    ws.cap = rows;
    if (need_input) ws.input.assign(size_t(rows * spec_.n_in), T(0));
    ws.outs.resize(layers_.size());
    ws.caches.resize(layers_.size());
    int64_t widest = spec_.n_in;
    for (size_t l = 0; l < layers_.size(); ++l) {
      ws.outs[l].assign(size_t(rows * layers_[l]->n_out), T(0));
      ws.caches[l].assign(
          size_t(rows * layers_[l]->cache_per_row(training) + layers_[l]->cache_fixed(training)),
          T(0));
      widest = std::max(widest, layers_[l]->n_out);
    }
    ws.row_loss.assign(size_t(rows), 0.0);
    if (training) {
      ws.d0.assign(size_t(rows * widest), T(0));
      ws.d1.assign(size_t(rows * widest), T(0));
      ws.y.assign(size_t(rows * n_out()), T(0));
      ws.sw.assign(size_t(rows), T(0));
    }
  }

  // Forward `rows` rows. With `logits`, the output is left as the
  // pre-activation z (the loss applies the output activation); otherwise the
  // output holds predictions. Returns a pointer to the output (rows, n_out).
  T* forward(const Context<T>& c, const Batch<T>& in, int64_t rows, Workspace<T>& ws,
             bool logits) const {
    Batch<T> cur = in;
    for (size_t l = 0; l < layers_.size(); ++l) {
      if (cur.csr && !layers_[l]->accepts_sparse())
        throw std::invalid_argument("sparse input must go to a Dense layer first");
      layers_[l]->forward(c, cur, ws.outs[l].data(), ws.caches[l].data(), rows);
      cur = Batch<T>::of(ws.outs[l].data());
    }
    T* out = ws.outs.back().data();
    if (fused_ && !logits) bias_activation<T>(out, nullptr, rows, n_out(), output_act_, c.threads);
    return out;
  }

  // After forward(logits=true): applies the output activation, computes the
  // loss against y (rows, n_out) with weights sw (rows, or null) and
  // backpropagates. The error at the output is scaled by `scale` (1 / the sum
  // of weights of the whole objective), so grads hold the gradient of the mean
  // loss. Accumulates into grads if `accumulate`. Returns the weighted loss sum.
  double loss_backward(const Context<T>& c, const Batch<T>& in, const T* y, const T* sw,
                       int64_t rows, T scale, T* grads, Workspace<T>& ws,
                       bool accumulate) const {
    T* dz = ws.d0.data();
    T* other = ws.d1.data();
    const double loss =
        loss_forward_backward(spec_.loss, fused_, fused_kind_, ws.outs.back().data(), dz,
                              ws.row_loss.data(), y, sw, rows, n_out(), scale, c.threads);
    ws.activity = 0;
    for (size_t l = layers_.size(); l-- > 0;) {
      if (const auto* d = dynamic_cast<const Dense<T>*>(layers_[l].get())) {
        // Keras 3 adds the activity penalty to the loss undivided, so its
        // gradient joins the error at this layer's output unscaled
        if (d->activity_penalty.active()) ws.activity += d->activity(ws.outs[l].data(), dz, rows);
      }
      const Batch<T> lin = l == 0 ? in : Batch<T>::of(ws.outs[l - 1].data());
      T* din = l == 0 ? nullptr : other;
      layers_[l]->backward(c, lin, ws.outs[l].data(), dz, ws.caches[l].data(), din, grads,
                           rows, accumulate);
      std::swap(dz, other);
    }
    return loss;
  }

  // The state buffer's starting values (moving means 0, variances 1).
  void init_state(T* state) const {
    for (const auto& layer : layers_) layer->init_state(state + layer->s_off);
  }

  std::vector<VariableInfo> variables() const {
    std::vector<VariableInfo> out;
    for (size_t l = 0; l < layers_.size(); ++l) {
      const Layer<T>* layer = layers_[l].get();
      if (const auto* d = dynamic_cast<const Dense<T>*>(layer)) {
        out.push_back({int64_t(l), "kernel", d->w_off, d->n_in, d->n_out});
        if (d->use_bias) out.push_back({int64_t(l), "bias", d->b_off, d->n_out, 0});
      } else if (const auto* nl = dynamic_cast<const Normalization<T>*>(layer)) {
        int64_t off = nl->p_off;
        if (nl->scale) {
          out.push_back({int64_t(l), "gamma", off, nl->n_out, 0});
          off += nl->n_out;
        }
        if (nl->center) out.push_back({int64_t(l), "beta", off, nl->n_out, 0});
      }
    }
    return out;
  }

  // (offset, length) of every variable (each kernel, each bias, each other
  // layer's parameters), as Keras's per-variable gradient clipping sees them.
  std::vector<std::pair<int64_t, int64_t>> variable_segments() const {
    std::vector<std::pair<int64_t, int64_t>> segs;
    for (const auto& layer : layers_) {
      if (const auto* d = dynamic_cast<const Dense<T>*>(layer.get())) {
        segs.emplace_back(d->w_off, d->n_in * d->n_out);
        if (d->use_bias) segs.emplace_back(d->b_off, d->n_out);
      } else if (layer->param_count() > 0) {
        segs.emplace_back(layer->p_off, layer->param_count());
      }
    }
    return segs;
  }

  // After forward(logits=true): the weighted loss sum of `rows` rows, with
  // predictions left in the output and ws.activity set; no gradient.
  double loss_only(const Context<T>& c, const T* y, const T* sw, int64_t rows,
                   Workspace<T>& ws) const {
    const double loss =
        loss_forward_backward(spec_.loss, fused_, fused_kind_, ws.outs.back().data(),
                              static_cast<T*>(nullptr), ws.row_loss.data(), y, sw, rows,
                              n_out(), T(1), c.threads);
    ws.activity = 0;
    for (size_t l = 0; l < layers_.size(); ++l)
      if (const auto* d = dynamic_cast<const Dense<T>*>(layers_[l].get()))
        if (d->activity_penalty.active()) ws.activity += d->activity(ws.outs[l].data(), nullptr, rows);
    return loss;
  }

  // Per-layer kernel and bias penalties: adds scale * their gradient to grads
  // and returns scale * their value.
  double add_penalties(const T* params, T* grads, double scale) const {
    double total = 0;
    for (const auto& layer : layers_)
      if (const auto* d = dynamic_cast<const Dense<T>*>(layer.get()))
        total += d->add_penalties(params, grads, scale);
    return total;
  }
  bool has_penalties() const { return has_penalties_; }

  // Weight constraints, after each optimizer step.
  void apply_constraints(T* params) const {
    for (const auto& layer : layers_)
      if (const auto* d = dynamic_cast<const Dense<T>*>(layer.get())) d->apply_constraints(params);
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

  // Predictions for every row of X into out (n, n_out), in chunks of 512 rows.
  // Several chunks: each thread takes whole chunks and runs the whole forward
  // pass of each on one thread, with a workspace of its own, so a chunk's rows
  // stay in one core's cache from the first layer to the last (splitting each
  // product across threads made 2 threads 1.2x faster than 1; this makes them
  // about 2x). One chunk: its products use the threads. A row's result is the
  // same either way (the kernels never let one row change another's sum).
  // Safe to call concurrently on one network.
  void predict(const T* params, const T* state, const InputView<T>& X, T* out,
               int threads) const {
    const int64_t chunk = 512;
    const int64_t chunks = (X.n_rows + chunk - 1) / chunk;
    const int outer = int(std::min<int64_t>(threads, chunks));
    auto run = [&](int64_t first, int64_t step, int inner) {
      Context<T> c;
      c.params = params;
      c.state = const_cast<T*>(state);  // read-only at inference
      c.threads = inner;
      Workspace<T> ws;
      reserve(ws, std::min<int64_t>(chunk, std::max<int64_t>(X.n_rows, 1)), false, false);
      std::vector<int64_t> idx;
      for (int64_t q = first; q < chunks; q += step) {
        const int64_t s = q * chunk, rows = std::min(chunk, X.n_rows - s);
        Batch<T> b;
        if (X.sparse()) {
          idx.resize(size_t(rows));
          for (int64_t r = 0; r < rows; ++r) idx[size_t(r)] = s + r;
          b.csr = &X;
          b.rows_idx = idx.data();
        } else {
          b.dense = X.dense + s * X.n_cols;
        }
        const T* p = forward(c, b, rows, ws, false);
        std::memcpy(out + s * n_out(), p, sizeof(T) * rows * n_out());
      }
    };
    if (outer <= 1) {
      run(0, 1, threads);
      return;
    }
    ExceptionCollector errors;
#pragma omp parallel num_threads(outer)
    {
      const int t = omp_get_thread_num(), w = omp_get_num_threads();
      errors.run([&] { run(t, w, 1); });
    }
    errors.rethrow();
  }

 private:
  NetSpec spec_;
  std::vector<std::unique_ptr<Layer<T>>> layers_;
  ActSpec output_act_;
  bool fused_ = false;
  bool has_penalties_ = false;
  Loss fused_kind_ = Loss::SquaredError;
  int64_t n_params_ = 0, n_coefs_ = 0, n_state_ = 0;
};

}  // namespace nc
