// The layer contract (docs/design.md). A layer owns no memory and knows
// shapes, not buffers:
//  - `in` and `out` are its per-sample shapes (no batch axis), set by its
//    factory, which checks them (layers/registry.hpp);
//  - `variables()` lists what it keeps (kernel, bias, other trainable, state),
//    and the network lays them out in its flat buffers and writes each one's
//    offset into `off` (same order): every kernel first, then every bias, then
//    the rest (scikit-learn's packing order); state in the state buffer;
//  - forward caches what backward needs in a per-row slice of the workspace
//    (cache_per_row / cache_fixed values).
// The network calls only these virtuals, so it names no layer type.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "../core/rng.hpp"
#include "../core/shape.hpp"
#include "../core/types.hpp"

namespace nc {

// One mini-batch of input rows: a dense contiguous block, or rows of a CSR
// matrix picked by an index list (null list: rows 0..n-1).
template <class T>
struct Batch {
  const T* dense = nullptr;  // (rows, in.size())
  const InputView<T>* csr = nullptr;
  const int64_t* rows_idx = nullptr;
  int64_t csr_row(int64_t r) const { return rows_idx ? rows_idx[r] : r; }
  static Batch of(const T* p) {
    Batch b;
    b.dense = p;
    return b;
  }
};

// What every layer call sees.
template <class T>
struct Context {
  const T* params = nullptr;  // flat parameter buffer
  T* state = nullptr;         // flat non-trainable state (may be null at inference)
  bool training = false;      // dropout, noise and batch statistics only when training
  MT19937* rng = nullptr;     // the fit's one random stream (training only)
  int threads = 1;
  // Keras's mask of the layer's input, one value per step (rows, steps): 1
  // kept, 0 padded; null when none reaches the layer (the network sets it)
  const T* mask = nullptr;
};

// What a variable is for: the flat buffer's order and the L2 penalty of
// scikit-learn's alpha (kernels only) follow from it.
enum class Role { Kernel, Bias, Other, State };

struct VarDecl {
  std::string name;  // Keras's: kernel, bias, gamma, beta, moving_mean, moving_variance
  Role role;
  Shape shape;
};

template <class T>
class Layer {
 public:
  virtual ~Layer() = default;

  Shape in, out;             // per sample
  std::vector<int64_t> off;  // offset of each of variables(), in its buffer

  virtual std::vector<VarDecl> variables() const { return {}; }
  // workspace values cached by forward for backward: per row, plus a fixed part
  virtual int64_t cache_per_row(bool training) const { return 0; }
  virtual int64_t cache_fixed(bool training) const { return 0; }
  // the state variables' starting values, written at their offsets
  virtual void init_state(T* state) const {}
  // whether the layer accepts CSR input (only a first Dense layer does)
  virtual bool accepts_sparse() const { return false; }
  // the output is the input itself (Flatten, Reshape): forward and backward
  // are never called and cost nothing
  virtual bool aliases_input() const { return false; }

  // The output activation a loss may apply in its stable fused form (null:
  // none can be); after fuse_output() forward leaves the pre-activation and
  // backward receives the gradient at it.
  virtual const ActSpec* fusable_activation() const { return nullptr; }
  virtual void fuse_output() {}

  // Fusions with the layer below, which the network makes once it is built
  // (layers unaware of them keep the defaults):
  //  - zero padding below a layer that pads inside its own loops (a
  //    convolution's im2col): the padding layer becomes an alias of its input
  //    and the layer above reads the unpadded input, padded (top, left) first;
  //  - a plain relu below a max pooling: the pooling's backward applies the
  //    relu's derivative (each window's winner is its output, so the relu
  //    passed it where the output is > 0) and the layer below skips its pass.
  virtual bool pads_only(int64_t* top, int64_t* left) const { return false; }
  virtual void become_alias() {}
  virtual bool absorb_padding(const Shape& unpadded, int64_t top, int64_t left) { return false; }
  virtual bool ends_in_plain_relu() const { return false; }
  virtual void skip_relu_backward() {}
  virtual bool take_relu_backward() { return false; }
  //  - a pooling above a convolution whose backward does not read its own
  //    output runs inside the convolution's forward, a chunk of samples at a
  //    time, on the chunk's output while it is in cache: the convolution's
  //    whole output is never written. The network then calls forward_hosting
  //    with the pooling's output and cache instead of the two forwards.
  virtual bool hostable() const { return false; }
  virtual bool host(const Layer* above) { return false; }
  virtual void forward_hosting(const Context<T>& c, const Batch<T>& in, T* cache, T* above_out,
                               T* above_cache, int64_t rows) const {}

  // Keras's masking: a layer that makes a mask (Embedding with mask_zero,
  // Masking) writes it, one value per step of its output, at the start of
  // its cache in forward; a layer whose output keeps its input's steps (a
  // per-step layer, a recurrent layer with return_sequences) passes the mask
  // it receives on; every other layer ends it. A layer that reads it (the
  // recurrent layers) finds it in Context::mask.
  virtual bool makes_mask() const { return false; }
  virtual bool passes_mask() const { return false; }
  virtual bool reads_mask() const { return false; }

  // floating-point operations of forward per sample (a multiply-add is 2);
  // backward costs about twice as much. For benchmarks' fraction of peak.
  virtual double flops_per_row() const { return 0.0; }

  // Regularization hooks (Keras's kernel/bias regularizers, constraints and
  // activity regularizer).
  virtual bool has_penalties() const { return false; }
  // adds scale * the penalties' gradient to grads, returns scale * their value
  virtual double add_penalties(const T* params, T* grads, double scale) const { return 0.0; }
  virtual void apply_constraints(T* params) const {}
  virtual bool has_activity() const { return false; }
  // the activity penalty of the output y (rows samples); adds its gradient to
  // dy unless null
  virtual double activity(const T* y, T* dy, int64_t rows) const { return 0.0; }

  // out (rows, out.size()) from in (rows, in.size()).
  virtual void forward(const Context<T>& c, const Batch<T>& in, T* out, T* cache,
                       int64_t rows) const = 0;

  // dout (rows, out.size()): gradient with respect to the output, which the
  // layer may overwrite. Writes din (rows, in.size()) unless it is null, and
  // accumulates (or writes, if !accumulate) its parameter gradients into grads
  // (the flat gradient buffer). out and cache are what forward produced.
  virtual void backward(const Context<T>& c, const Batch<T>& in, const T* out, T* dout,
                        const T* cache, T* din, T* grads, int64_t rows,
                        bool accumulate) const = 0;
};

}  // namespace nc
