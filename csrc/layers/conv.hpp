// Conv1D and Conv2D (Keras 3): activation(conv(x, kernel) + bias), channels
// last, with strides, dilation, groups and "valid" / "same" / "causal"
// padding. A Conv1D is a Conv2D of height 1 (a (T, C) sequence is a (1, T, C)
// image). The convolution is im2col into the GEMM: each output pixel's window
// becomes one row of a (rows * oh * ow, kh * kw * cg) matrix, times the kernel
// (kh * kw * cg, filters) of each group; a 1x1 convolution with stride 1 is the
// GEMM on the input itself.
//
// Variables: kernel (kh, kw, c / groups, filters) for Conv2D and (k, c /
// groups, filters) for Conv1D, Keras's layouts, and bias (filters).
#pragma once
#include <algorithm>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "../kernels/activations.hpp"
#include "../kernels/conv.hpp"
#include "../kernels/dense.hpp"
#include "../kernels/gemm.hpp"
#include "config.hpp"
#include "layer.hpp"
#include "weights.hpp"

namespace nc {

// The per-sample image of a layer's input: (T, C) for the 1-D layers, (H, W, C)
// for the 2-D ones, or an error naming the layer and the shape.
inline Image image_of(const Shape& in, int rank, const std::string& layer) {
  if (in.rank() != rank + 1)
    throw std::invalid_argument(
        layer + " expects input of rank " + std::to_string(rank + 1) + " per sample (" +
        (rank == 1 ? "steps, channels" : "height, width, channels") + "), got " + in.str());
  Image im;
  im.c = in.dims.back();
  if (rank == 1) {
    im.w = in.dims[0];
  } else {
    im.h = in.dims[0];
    im.w = in.dims[1];
  }
  return im;
}

// One entry per spatial axis (1 or 2) of an integer option: a single number
// applies to every axis, as Keras's int arguments do.
inline std::vector<int64_t> per_axis(LayerConfig& cfg, const std::string& key, int rank,
                                     int64_t fallback, const std::string& layer, int64_t min = 1) {
  std::vector<int64_t> v = cfg.ints(key, std::vector<int64_t>(size_t(rank), fallback));
  if (v.size() == 1) v.assign(size_t(rank), v[0]);
  if (v.size() != size_t(rank))
    throw std::invalid_argument(layer + ": " + key + " needs " + std::to_string(rank) +
                                " values, got " + std::to_string(v.size()));
  for (int64_t x : v)
    if (x < min)
      throw std::invalid_argument(layer + ": " + key + " must be >= " + std::to_string(min) +
                                  ", got " + std::to_string(x));
  return v;
}

// The output length of one axis and the padding before it, as Keras computes
// them: "valid" (none), "same" (out = ceil(n / s), the odd pixel of padding at
// the end), "causal" (all of it before: Conv1D).
inline void axis_geometry(int64_t n, int64_t k, int64_t s, int64_t d, const std::string& padding,
                          const std::string& layer, const std::string& axis, int64_t* out,
                          int64_t* before) {
  const int64_t span = d * (k - 1) + 1;  // the dilated kernel's extent
  if (padding == "valid") {
    if (span > n)
      throw std::invalid_argument(layer + ": the window (" + std::to_string(span) + " along the " +
                                  axis + ", dilation included) is larger than the input (" +
                                  std::to_string(n) + ")");
    *out = (n - span) / s + 1;
    *before = 0;
  } else if (padding == "same") {
    *out = (n + s - 1) / s;
    const int64_t total = std::max<int64_t>(0, (*out - 1) * s + span - n);
    *before = total / 2;
  } else if (padding == "causal") {
    *before = span - 1;
    *out = (n + *before - span) / s + 1;
  } else {
    throw std::invalid_argument(layer + ": padding must be 'valid' or 'same'" +
                                std::string(axis == "steps" ? " or 'causal'" : "") + ", got '" +
                                padding + "'");
  }
}

template <class T>
class Conv : public Layer<T> {
 public:
  int rank = 2;
  int64_t filters = 0, groups = 1;
  bool use_bias = true;
  ActSpec act;
  WeightOptions w;
  Image im;
  Window win;
  bool fused_output = false;
  bool relu_done_above = false;  // the max pooling above applies the relu's derivative
  const Layer<T>* above_ = nullptr;  // the layer above, run inside forward (host)

  static std::unique_ptr<Layer<T>> make1d(LayerConfig& cfg, const Shape& in) { return make(cfg, in, 1); }
  static std::unique_ptr<Layer<T>> make2d(LayerConfig& cfg, const Shape& in) { return make(cfg, in, 2); }

  static std::unique_ptr<Layer<T>> make(LayerConfig& cfg, const Shape& in, int rank) {
    const std::string name = rank == 1 ? "Conv1D" : "Conv2D";
    auto l = std::make_unique<Conv<T>>();
    l->rank = rank;
    l->im = image_of(in, rank, name);
    l->filters = cfg.integer("filters", 0);
    if (l->filters < 1) throw std::invalid_argument(name + ": filters must be a positive integer");
    const auto k = per_axis(cfg, "kernel_size", rank, 0, name);
    const auto s = per_axis(cfg, "strides", rank, 1, name);
    const auto d = per_axis(cfg, "dilation_rate", rank, 1, name);
    l->groups = cfg.integer("groups", 1);
    const std::string padding = cfg.text("padding", "valid");
    if (padding == "causal" && rank != 1)
      throw std::invalid_argument(name + ": padding 'causal' is for Conv1D only");
    if (l->groups < 1 || l->im.c % l->groups != 0 || l->filters % l->groups != 0)
      throw std::invalid_argument(name + ": groups=" + std::to_string(l->groups) +
                                  " must divide the input channels (" + std::to_string(l->im.c) +
                                  ") and filters (" + std::to_string(l->filters) + ")");
    if ((s[0] > 1 || (rank == 2 && s[1] > 1)) && (d[0] > 1 || (rank == 2 && d[1] > 1)))
      throw std::invalid_argument(name + ": strides > 1 and dilation_rate > 1 cannot be combined "
                                         "(as in Keras)");
    Window& wn = l->win;
    if (rank == 1) {
      wn.kw = k[0], wn.sw = s[0], wn.dw = d[0];
      axis_geometry(l->im.w, wn.kw, wn.sw, wn.dw, padding, name, "steps", &wn.ow, &wn.left);
    } else {
      wn.kh = k[0], wn.kw = k[1], wn.sh = s[0], wn.sw = s[1], wn.dh = d[0], wn.dw = d[1];
      axis_geometry(l->im.h, wn.kh, wn.sh, wn.dh, padding, name, "height", &wn.oh, &wn.top);
      axis_geometry(l->im.w, wn.kw, wn.sw, wn.dw, padding, name, "width", &wn.ow, &wn.left);
    }
    l->act = cfg.activation();
    l->use_bias = cfg.flag("use_bias", true);
    l->w = WeightOptions::read(cfg);
    l->in = in;
    l->out = rank == 1 ? Shape{wn.ow, l->filters} : Shape{wn.oh, wn.ow, l->filters};
    return l;
  }

  std::vector<VarDecl> variables() const override {
    const int64_t cg = im.c / groups;
    const Shape kernel = rank == 1 ? Shape{win.kw, cg, filters} : Shape{win.kh, win.kw, cg, filters};
    std::vector<VarDecl> v{{"kernel", Role::Kernel, kernel}};
    if (use_bias) v.push_back({"bias", Role::Bias, Shape{filters}});
    return v;
  }
  // per row: the pre-activation (training, when the derivative needs it);
  // fixed: the im2col matrix of one chunk of samples (unless pointwise)
  int64_t cache_per_row(bool training) const override { return keep_per_row(training); }
  int64_t cache_fixed(bool training) const override {
    // a chunk's im2col matrix (and its output, hosting the layer above)
    return pointwise() ? 0 : chunk_samples() * (col_per_sample() + (above_ ? this->out.size() : 0));
  }
  const ActSpec* fusable_activation() const override { return &act; }
  void fuse_output() override { fused_output = true; }
  double flops_per_row() const override {
    return 2.0 * double(win.outputs()) * double(fan_in() / groups) * double(filters);
  }
  // zero padding below: read the unpadded image, the window starting that
  // much further up and left (im2col writes the zeros; the output is the same)
  bool absorb_padding(const Shape& unpadded, int64_t top, int64_t left) override {
    im = image_of(unpadded, rank, rank == 1 ? "Conv1D" : "Conv2D");
    win.top += top;
    win.left += left;
    this->in = unpadded;
    return true;
  }
  bool ends_in_plain_relu() const override {
    return !fused_output && !w.activity_penalty.active() && act.plain_relu();
  }
  void skip_relu_backward() override { relu_done_above = true; }
  // a pooling above, when backward never reads this layer's output (no
  // activation derivative left to apply here, no activity penalty) and the
  // activation is in the product's epilogue
  bool host(const Layer<T>* above) override {
    const bool plain = act.kind == Act::Identity || (act.plain_relu() && relu_done_above);
    if (!plain || w.activity_penalty.active() || fused_output || groups != 1 || pointwise())
      return false;
    above_ = above;
    return true;
  }
  void forward_hosting(const Context<T>& c, const Batch<T>& in, T* cache, T* above_out,
                       T* above_cache, int64_t rows) const override {
    const T* W = c.params + this->off[0];
    const T* bias = use_bias ? c.params + this->off[1] : nullptr;
    T* y = cache + chunk_samples() * col_per_sample();  // a chunk of this layer's output
    const int64_t out_row = above_->out.size(), cache_row = above_->cache_per_row(c.training);
    each_chunk(c, in, cache, rows, [&](int64_t n0, int64_t ns, const T* col) {
      product(y, col, W, ns * win.outputs(), bias, act, true, c.threads);
      above_->forward(c, Batch<T>::of(y), above_out + n0 * out_row,
                      above_cache ? above_cache + n0 * cache_row : nullptr, ns);
    });
  }

  // The batch runs through im2col and the GEMMs a chunk of samples at a time,
  // so each chunk's im2col matrix is still in the L2 cache when the product
  // reads it (the whole batch's, 18 MB for Keras's MNIST convnet, went to
  // memory and back on every pass). Chunks are whole samples, fixed by the
  // layer's shapes: the sums never depend on the thread count.
  void forward(const Context<T>& c, const Batch<T>& in, T* out, T* cache,
               int64_t rows) const override {
    const T* W = c.params + this->off[0];
    const T* bias = use_bias ? c.params + this->off[1] : nullptr;
    const ActSpec a = fused_output ? ActSpec{} : act;
    T* keep = keep_per_row(c.training) ? cache : nullptr;
    const bool fused = groups == 1 && !keep && (a.kind == Act::Identity || a.plain_relu());
    const int64_t P = win.outputs(), F = filters;
    if (pointwise()) {
      product(out, in.dense, W, rows * P, bias, a, fused, c.threads);
    } else {
      each_chunk(c, in, cache + rows * keep_per_row(c.training), rows,
                 [&](int64_t n0, int64_t ns, const T* col) {
                   product(out + n0 * P * F, col, W, ns * P, bias, a, fused, c.threads);
                 });
    }
    if (!fused) bias_activation(out, bias, rows * P, F, a, c.threads, keep);
  }

  void backward(const Context<T>& c, const Batch<T>& in, const T* out, T* dout, const T* cache,
                T* din, T* grads, int64_t rows, bool accumulate) const override {
    const int64_t P = win.outputs(), K = fan_in(), F = filters;
    const int64_t kg = K / groups, fg = F / groups;
    const ActSpec a = fused_output || relu_done_above ? ActSpec{} : act;
    const T* x_act = keep_per_row(true) ? cache : nullptr;
    if (use_bias)
      activation_backward_sums(dout, out, x_act, rows * P, F, a, grads + this->off[1], accumulate,
                               c.threads);
    else
      activation_backward(dout, out, x_act, rows * P, F, a, c.threads);
    const T* W = c.params + this->off[0];
    T* dW = grads + this->off[0];
    // the chunks from the last: forward left the last one's im2col matrix in
    // the cache; the others are rebuilt from the input. The cache is this
    // layer's scratch: the gradient at the matrix overwrites it.
    T* col = pointwise() ? nullptr : const_cast<T*>(cache) + rows * keep_per_row(true);
    const int64_t S = pointwise() ? rows : chunk_samples();
    const int64_t chunks = (rows + S - 1) / S;
    for (int64_t q = chunks; q-- > 0;) {
      const int64_t n0 = q * S, ns = std::min(S, rows - n0), m = ns * P;
      const T* x = in.dense + n0 * im.size();
      if (!pointwise() && q != chunks - 1) im2col(col, x, ns, im, win, groups, c.threads);
      const T* xc = pointwise() ? x : col;
      const T* d = dout + n0 * P * F;
      weight_gradient(dW, xc, d, m, accumulate || q != chunks - 1, c.threads);
      if (!din) continue;
      T* dx = din + n0 * im.size();
      T* dcol = pointwise() ? dx : col;
      for (int64_t g = 0; g < groups; ++g)
        gemm_strided<T>(false, true, dcol + g * kg, K, d + g * fg, F, W + g * fg, F, m, kg, fg,
                        T(1), T(0), c.threads);
      if (!pointwise()) col2im(dx, dcol, ns, im, win, groups, c.threads);
    }
  }

  bool has_penalties() const override { return w.has_penalties(); }
  double add_penalties(const T* params, T* grads, double scale) const override {
    return w.add_penalties(params, grads, scale, this->off[0], use_bias ? this->off[1] : -1,
                           fan_in() / groups, filters);
  }
  void apply_constraints(T* params) const override {
    w.apply_constraints(params, this->off[0], use_bias ? this->off[1] : -1, fan_in() / groups, filters);
  }
  bool has_activity() const override { return w.activity_penalty.active(); }
  double activity(const T* y, T* dy, int64_t rows) const override {
    return activity_loss(w.activity_penalty, y, dy, rows * this->out.size());
  }

 private:
  // dW (+)= col (m, fan_in)^T @ d (m, filters), per group. A small kernel
  // over many rows (a first layer's 9 x 32 over 30000 pixels) is a product
  // too short for threads to share: its rows go in fixed segments, each
  // segment's product on one thread, the partial sums added in order (the
  // same sums at any thread count).
  void weight_gradient(T* dW, const T* col, const T* d, int64_t m, bool accumulate,
                       int threads) const {
    const int64_t K = fan_in(), F = filters, kg = K / groups, fg = F / groups;
    constexpr int64_t kSegment = 512;
    const int64_t segments = (m + kSegment - 1) / kSegment;
    if (K * F > 8192 || segments < 2) {
      for (int64_t g = 0; g < groups; ++g)
        gemm_strided<T>(true, false, dW + g * fg, F, col + g * kg, K, d + g * fg, F, kg, fg, m,
                        T(1), accumulate ? T(1) : T(0), threads);
      return;
    }
    thread_local std::vector<T> partial;  // grows to the largest call, then stays
    if (partial.size() < size_t(segments * K * F)) partial.resize(size_t(segments * K * F));
    T* parts = partial.data();
    parallel_for(segments, m * (K + F), threads, [&](int64_t s) {
      const int64_t r0 = s * kSegment, rs = std::min(kSegment, m - r0);
      for (int64_t g = 0; g < groups; ++g)
        gemm_strided<T>(true, false, parts + s * K * F + g * fg, F, col + r0 * K + g * kg, K,
                        d + r0 * F + g * fg, F, kg, fg, rs, T(1), T(0), 1);
    });
    if (!accumulate) std::fill(dW, dW + K * F, T(0));
    for (int64_t s = 0; s < segments; ++s) {
      const T* __restrict p = parts + s * K * F;
      for (int64_t i = 0; i < K * F; ++i) dW[i] += p[i];
    }
  }

  // f(n0, ns, col) for each chunk of samples [n0, n0 + ns) in order, col its
  // im2col matrix (written into the cache at `col`)
  template <class Fn>
  void each_chunk(const Context<T>& c, const Batch<T>& in, T* col, int64_t rows, Fn&& f) const {
    const int64_t S = chunk_samples();
    for (int64_t n0 = 0; n0 < rows; n0 += S) {
      const int64_t ns = std::min(S, rows - n0);
      im2col(col, in.dense + n0 * im.size(), ns, im, win, groups, c.threads);
      f(n0, ns, col);
    }
  }

  // out (m, filters) = col (m, fan_in) @ kernel per group, with the bias and a
  // plain relu in the product's epilogue when `fused`
  void product(T* out, const T* col, const T* W, int64_t m, const T* bias, const ActSpec& a,
               bool fused, int threads) const {
    const int64_t K = fan_in(), F = filters;
    if (fused) {
      gemm_nn_bias_act<T>(out, col, W, m, F, K, bias, a.kind == Act::Relu, threads);
      return;
    }
    const int64_t kg = K / groups, fg = F / groups;
    for (int64_t g = 0; g < groups; ++g)
      gemm_strided<T>(false, false, out + g * fg, F, col + g * kg, K, W + g * fg, F, m, fg, kg,
                      T(1), T(0), threads);
  }
  int64_t col_per_sample() const { return win.outputs() * fan_in(); }
  // samples per chunk: an im2col matrix of about kChunkBytes
  int64_t chunk_samples() const {
    constexpr int64_t kChunkBytes = int64_t(1) << 20;
    const int64_t per_sample = col_per_sample() + (above_ ? this->out.size() : 0);
    return std::max<int64_t>(1, kChunkBytes / (per_sample * int64_t(sizeof(T))));
  }
  // a row of the im2col matrix: every group's window
  int64_t fan_in() const { return win.taps() * im.c; }
  int64_t keep_per_row(bool training) const {
    return training && !fused_output && act.needs_input() ? this->out.size() : 0;
  }
  // a 1x1 window at stride 1 without padding: the input is its own im2col
  bool pointwise() const {
    return win.taps() == 1 && win.sh == 1 && win.sw == 1 && win.top == 0 && win.left == 0 &&
           groups == 1;
  }
};

}  // namespace nc
