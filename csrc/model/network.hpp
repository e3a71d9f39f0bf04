// Network: a stack of layers built by the registry on their per-sample
// shapes, over flat buffers the caller owns: parameters (every kernel, then
// every bias, then the rest: scikit-learn's packing order, so L-BFGS sees
// scikit-learn's vector), gradients of the same layout, and state (moving
// statistics). Workspaces are one block sized from the shapes, so training
// allocates nothing per step. It names no layer type.
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
#include "../core/shape.hpp"
#include "../core/types.hpp"
#include "../kernels/activations.hpp"
#include "../kernels/losses.hpp"
#include "../layers/layer.hpp"
#include "../layers/registry.hpp"
#include "batch.hpp"

namespace nc {

// One variable of the flat buffers, for initializers and views.
struct VariableInfo {
  int64_t layer = 0;
  std::string name;  // kernel, bias, gamma, beta, moving_mean, moving_variance
  Role role = Role::Other;
  int64_t offset = 0;  // in the parameter buffer (state: in the state buffer)
  Shape shape;
  int64_t index = 0;  // its place in the layer's variables() (Keras's weight order)
};

struct NetSpec {
  Shape input;  // per sample
  std::vector<LayerConfig> layers;
  LossSpec loss;
};

// Losses that reduce over the output's one axis (a softmax, a class
// distribution): a per-sample output of higher rank would mix its steps.
inline bool reduces_over_outputs(Loss l) {
  return l == Loss::LogLoss || l == Loss::CategoricalCrossentropy ||
         l == Loss::CategoricalHinge || l == Loss::KLDivergence || l == Loss::CosineSimilarity;
}

template <class T>
class Network {
 public:
  explicit Network(const NetSpec& spec) : spec_(spec) {
    spec.input.check_positive("the network's input");
    if (spec.layers.empty()) throw std::invalid_argument("the network needs an output layer");
    Shape shape = spec.input;
    for (const LayerConfig& cfg : spec.layers) {
      try {
        layers_.push_back(make_layer<T>(cfg, shape));
      } catch (const std::invalid_argument& e) {  // Python names the layer from its index
        throw std::invalid_argument("layer " + std::to_string(layers_.size()) + " on input " +
                                    shape.str() + ": " + e.what());
      }
      shape = layers_.back()->out;
      shape.check_positive("the output of layer '" + cfg.type + "'");
    }
    fuse_neighbours();
    // Keras's mask: which layer's mask reaches each layer's input (-1: none)
    mask_src_.assign(layers_.size(), -1);
    for (size_t l = 0, src = size_t(-1); l < layers_.size(); ++l) {
      mask_src_[l] = int64_t(src);
      if (layers_[l]->makes_mask())
        src = l;
      else if (!layers_[l]->passes_mask())
        src = size_t(-1);
    }
    // the output activation is fused with the loss where the pair is canonical
    // (stable form, error at z = p - y); otherwise the output layer applies its
    // activation and backpropagates the loss's gradient through it
    Layer<T>& last = *layers_.back();
    if (const ActSpec* a = last.fusable_activation()) output_act_ = *a;
    // an activity penalty on the output needs the output itself: no fusion
    fused_ = last.fusable_activation() && !last.has_activity() &&
             fused_loss_on_logits(spec.loss, output_act_.kind, &fused_kind_);
    if (requires_canonical_output(spec.loss.kind) && !fused_)
      throw std::invalid_argument("the output layer's activation does not match the loss");
    if (fused_) last.fuse_output();
    if (last.out.rank() > 1 && (output_act_.kind == Act::Softmax || reduces_over_outputs(spec.loss.kind)))
      throw std::invalid_argument(
          "the model's output has per-sample shape " + last.out.str() +
          ": a softmax or a class-distribution loss needs a flat output (add Flatten or a "
          "global pooling layer before the output layer)");

    // the flat layout: kernels, then biases, then the other trainable
    // variables, each group in layer order; state variables in their own buffer
    int64_t off = 0, state = 0;
    for (auto& layer : layers_) layer->off.assign(layer->variables().size(), 0);
    for (Role role : {Role::Kernel, Role::Bias, Role::Other}) {
      for (size_t l = 0; l < layers_.size(); ++l) {
        const auto vars = layers_[l]->variables();
        for (size_t i = 0; i < vars.size(); ++i) {
          if (vars[i].role != role) continue;
          layers_[l]->off[i] = off;
          vars_.push_back({int64_t(l), vars[i].name, role, off, vars[i].shape, int64_t(i)});
          off += vars[i].shape.size();
        }
      }
      if (role == Role::Kernel) n_coefs_ = off;
    }
    for (size_t l = 0; l < layers_.size(); ++l) {
      const auto vars = layers_[l]->variables();
      for (size_t i = 0; i < vars.size(); ++i) {
        if (vars[i].role != Role::State) continue;
        layers_[l]->off[i] = state;
        state_vars_.push_back({int64_t(l), vars[i].name, Role::State, state, vars[i].shape, int64_t(i)});
        state += vars[i].shape.size();
      }
    }
    n_params_ = off;
    n_state_ = state;
    // backward stops at the lowest layer with trainable variables: below it
    // no gradient is needed (a first ZeroPadding, a first Conv's input)
    first_trainable_ = int64_t(layers_.size());
    for (const auto& v : vars_) first_trainable_ = std::min(first_trainable_, v.layer);
    for (const auto& layer : layers_) has_penalties_ = has_penalties_ || layer->has_penalties();
  }

  const NetSpec& spec() const { return spec_; }
  int64_t n_params() const { return n_params_; }
  int64_t n_coefs() const { return n_coefs_; }  // kernels come first in the buffer
  int64_t n_state() const { return n_state_; }
  const Shape& input_shape() const { return spec_.input; }
  const Shape& output_shape() const { return layers_.back()->out; }
  int64_t n_in() const { return spec_.input.size(); }
  int64_t n_out() const { return layers_.back()->out.size(); }
  const ActSpec& output_activation_spec() const { return output_act_; }
  double flops_per_row() const {
    double f = 0.0;
    for (const auto& layer : layers_) f += layer->flops_per_row();
    return f;
  }
  std::vector<Shape> layer_shapes() const {
    std::vector<Shape> s;
    for (const auto& layer : layers_) s.push_back(layer->out);
    return s;
  }

  // Bytes of workspace a row needs: its input, every layer's output and cache.
  int64_t workspace_per_row(bool training) const {
    int64_t values = n_in() + n_out();
    for (const auto& layer : layers_)
      values += (layer->aliases_input() ? 0 : layer->out.size()) + layer->cache_per_row(training);
    return std::max<int64_t>(1, values * int64_t(sizeof(T)));
  }

  // Sizes the workspace for `rows` rows (once: it only grows).
  void reserve(Workspace<T>& ws, int64_t rows, bool training) const {
    if (ws.cap >= rows && (ws.training || !training)) return;
    training = training || ws.training;
    rows = std::max(rows, ws.cap);
    const size_t L = layers_.size();
    typename Workspace<T>::Carver carve(2 * L + 8);
    ws.outs.assign(L, nullptr);
    ws.caches.assign(L, nullptr);
    carve.add(&ws.input, rows * n_in());
    int64_t widest = n_in();
    for (size_t l = 0; l < L; ++l) {
      const Layer<T>& layer = *layers_[l];
      if (!layer.aliases_input()) carve.add(&ws.outs[l], rows * layer.out.size());
      carve.add(&ws.caches[l], rows * layer.cache_per_row(training) + layer.cache_fixed(training));
      widest = std::max(widest, layer.out.size());
    }
    carve.add(&ws.row_loss, rows);
    carve.add(&ws.idx, rows);
    carve.add(&ws.y, rows * n_out());
    carve.add(&ws.sw, rows);
    if (training) {
      carve.add(&ws.d0, rows * widest);
      carve.add(&ws.d1, rows * widest);
    }
    carve.allocate(ws.block, &ws.bytes);
    ws.cap = rows;
    ws.training = training;
  }

  // Forward `rows` rows. With `logits`, the output is left as the
  // pre-activation z (the loss applies the output activation); otherwise the
  // output holds predictions. Returns a pointer to the output (rows, n_out).
  T* forward(const Context<T>& c0, const Batch<T>& in, int64_t rows, Workspace<T>& ws,
             bool logits) const {
    Batch<T> cur = in;
    Context<T> c = c0;
    for (size_t l = 0; l < layers_.size(); ++l) {
      const Layer<T>& layer = *layers_[l];
      c.mask = mask_of(l, ws);
      if (cur.csr && !layer.accepts_sparse())
        throw std::invalid_argument("sparse input must go to a Dense layer first");
      if (layer.aliases_input()) {
        ws.outs[l] = const_cast<T*>(cur.dense);  // read only: a new shape over the same rows
        continue;
      }
      if (hosts_[l]) {  // the layer above runs inside this one's forward
        layer.forward_hosting(c, cur, ws.caches[l], ws.outs[l + 1], ws.caches[l + 1], rows);
        cur = Batch<T>::of(ws.outs[++l]);
        continue;
      }
      layer.forward(c, cur, ws.outs[l], ws.caches[l], rows);
      cur = Batch<T>::of(ws.outs[l]);
    }
    T* out = ws.outs.back();
    if (fused_ && !logits)
      bias_activation<T>(out, nullptr, rows * output_shape().lead(), output_shape().last(),
                         output_act_, c.threads);
    return out;
  }

  // After forward(logits=true): applies the output activation, computes the
  // loss against y (rows, n_out) with weights sw (rows, or null) and
  // backpropagates. The error at the output is scaled by `scale` (1 / the sum
  // of weights of the whole objective), so grads hold the gradient of the mean
  // loss. Accumulates into grads if `accumulate`. Returns the weighted loss sum.
  double loss_backward(const Context<T>& c0, const Batch<T>& in, const T* y, const T* sw,
                       int64_t rows, T scale, T* grads, Workspace<T>& ws,
                       bool accumulate) const {
    Context<T> c = c0;
    T* dz = ws.d0;
    T* other = ws.d1;
    const double loss = loss_forward_backward(spec_.loss, fused_, fused_kind_, ws.outs.back(), dz,
                                              ws.row_loss, y, sw, rows, n_out(), scale, c.threads);
    ws.activity = 0;
    for (size_t l = layers_.size(); l-- > 0;) {
      const Layer<T>& layer = *layers_[l];
      if (layer.aliases_input()) continue;  // the gradient passes through unchanged
      // Keras 3 adds the activity penalty to the loss undivided, so its
      // gradient joins the error at this layer's output unscaled
      if (layer.has_activity()) ws.activity += layer.activity(ws.outs[l], dz, rows);
      if (int64_t(l) < first_trainable_) continue;  // nothing below to train
      size_t below = l;  // the nearest layer below with a buffer of its own
      while (below > 0 && layers_[below - 1]->aliases_input()) --below;
      const Batch<T> lin = below == 0 ? in : Batch<T>::of(ws.outs[below - 1]);
      T* din = int64_t(below) <= first_trainable_ ? nullptr : other;
      c.mask = mask_of(l, ws);
      layer.backward(c, lin, ws.outs[l], dz, ws.caches[l], din, grads, rows, accumulate);
      std::swap(dz, other);
    }
    return loss;
  }

  // The state buffer's starting values (moving means 0, variances 1).
  void init_state(T* state) const {
    for (const auto& layer : layers_) layer->init_state(state);
  }

  const std::vector<VariableInfo>& variables() const { return vars_; }
  const std::vector<VariableInfo>& state_variables() const { return state_vars_; }

  // (offset, length) of every trainable variable, as Keras's per-variable
  // gradient clipping sees them.
  std::vector<std::pair<int64_t, int64_t>> variable_segments() const {
    std::vector<std::pair<int64_t, int64_t>> segs;
    for (const auto& v : vars_) segs.emplace_back(v.offset, v.shape.size());
    return segs;
  }

  // After forward(logits=true): the weighted loss sum of `rows` rows, with
  // predictions left in the output and ws.activity set; no gradient.
  double loss_only(const Context<T>& c, const T* y, const T* sw, int64_t rows,
                   Workspace<T>& ws) const {
    const double loss = loss_forward_backward(spec_.loss, fused_, fused_kind_, ws.outs.back(),
                                              static_cast<T*>(nullptr), ws.row_loss, y, sw, rows,
                                              n_out(), T(1), c.threads);
    ws.activity = 0;
    for (size_t l = 0; l < layers_.size(); ++l)
      if (layers_[l]->has_activity()) ws.activity += layers_[l]->activity(ws.outs[l], nullptr, rows);
    return loss;
  }

  // Per-layer kernel and bias penalties: adds scale * their gradient to grads
  // and returns scale * their value.
  double add_penalties(const T* params, T* grads, double scale) const {
    double total = 0;
    for (const auto& layer : layers_) total += layer->add_penalties(params, grads, scale);
    return total;
  }
  bool has_penalties() const { return has_penalties_; }

  // Weight constraints, after each optimizer step.
  void apply_constraints(T* params) const {
    for (const auto& layer : layers_) layer->apply_constraints(params);
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
    // up to 512 rows a chunk, fewer when a row's workspace is large (an image
    // network's im2col matrices): a few MiB stay in cache and are not paged in
    // afresh on every call. Rows are independent, so results are the same.
    const int64_t chunk = std::clamp<int64_t>(int64_t(4 << 20) / workspace_per_row(false), 8, 512);
    const int64_t chunks = (X.n_rows + chunk - 1) / chunk;
    const int outer = int(std::min<int64_t>(threads, chunks));
    auto run = [&](int64_t first, int64_t step, int inner) {
      Context<T> c;
      c.params = params;
      c.state = const_cast<T*>(state);  // read-only at inference
      c.threads = inner;
      Workspace<T> ws;
      reserve(ws, std::min<int64_t>(chunk, std::max<int64_t>(X.n_rows, 1)), false);
      const Rows<T> src{&X, nullptr, nullptr, 0};
      for (int64_t q = first; q < chunks; q += step) {
        const int64_t s = q * chunk, rows = std::min(chunk, X.n_rows - s);
        const Assembled<T> b = assemble(src, nullptr, s, rows, ws, inner);
        const T* p = forward(c, b.in, rows, ws, false);
        std::memcpy(out + s * n_out(), p, sizeof(T) * rows * n_out());
      }
    };
    if (outer <= 1) {
      run(0, 1, threads);
      return;
    }
    ExceptionCollector errors;
    const FpMode fp = FpMode::current();
#pragma omp parallel num_threads(outer)
    {
      fp.apply();
      const int t = omp_get_thread_num(), w = omp_get_num_threads();
      errors.run([&] { run(t, w, 1); });
    }
    errors.rethrow();
  }

 private:
  // the mask reaching layer l's input (its maker's cache holds it), or null
  const T* mask_of(size_t l, const Workspace<T>& ws) const {
    const int64_t src = mask_src_[l];
    return src >= 0 && layers_[l]->reads_mask() ? ws.caches[size_t(src)] : nullptr;
  }

  // The fusions of the layer contract (layers/layer.hpp), before the loss
  // fuses the output activation (an output layer keeps its own).
  void fuse_neighbours() {
    for (size_t l = 1; l < layers_.size(); ++l) {
      Layer<T>& below = *layers_[l - 1];
      Layer<T>& above = *layers_[l];
      int64_t top = 0, left = 0;
      if (below.pads_only(&top, &left) && above.absorb_padding(below.in, top, left))
        below.become_alias();
      if (below.ends_in_plain_relu() && above.take_relu_backward())
        below.skip_relu_backward();
    }
    hosts_.assign(layers_.size(), false);
    for (size_t l = 0; l + 1 < layers_.size(); ++l)
      if (layers_[l + 1]->hostable() && layers_[l]->host(layers_[l + 1].get()))
        hosts_[l] = true;
  }

  NetSpec spec_;
  std::vector<std::unique_ptr<Layer<T>>> layers_;
  std::vector<VariableInfo> vars_, state_vars_;
  ActSpec output_act_;
  bool fused_ = false;
  bool has_penalties_ = false;
  Loss fused_kind_ = Loss::SquaredError;
  int64_t n_params_ = 0, n_coefs_ = 0, n_state_ = 0;
  int64_t first_trainable_ = 0;  // the lowest layer with trainable variables
  std::vector<bool> hosts_;      // hosts_[l]: layer l runs layer l + 1 inside its forward
  std::vector<int64_t> mask_src_;  // the layer whose mask reaches layer l's input, or -1
};

}  // namespace nc
