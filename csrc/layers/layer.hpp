// The layer contract. A layer owns no memory: its parameters are a slice of
// the network's flat parameter buffer (gradients: the same slice of the flat
// gradient buffer), its non-trainable state (running statistics) a slice of
// the flat state buffer, and what backward needs is cached by forward in a
// per-row slice of the workspace.
#pragma once
#include <cstdint>

#include "../core/rng.hpp"
#include "../core/types.hpp"

namespace nc {

// One mini-batch of input rows: a dense contiguous block, or rows of a CSR
// matrix picked by an index list (null list: rows 0..n-1).
template <class T>
struct Batch {
  const T* dense = nullptr;  // (rows, n_in)
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
};

template <class T>
class Layer {
 public:
  virtual ~Layer() = default;

  int64_t n_in = 0, n_out = 0;  // features in and out
  int64_t p_off = 0;            // offset of this layer's parameters in the flat buffer
  int64_t s_off = 0;            // offset of its state in the state buffer

  virtual int64_t param_count() const { return 0; }
  virtual int64_t state_count() const { return 0; }
  // workspace values cached by forward for backward: per row, plus a fixed part
  virtual int64_t cache_per_row(bool training) const { return 0; }
  virtual int64_t cache_fixed(bool training) const { return 0; }
  // the non-trainable state's starting values (state_count of them)
  virtual void init_state(T* state) const {}
  // whether the layer accepts CSR input (only a first Dense layer does)
  virtual bool accepts_sparse() const { return false; }

  // out (rows, n_out) from in (rows, n_in).
  virtual void forward(const Context<T>& c, const Batch<T>& in, T* out, T* cache,
                       int64_t rows) const = 0;

  // dout (rows, n_out): gradient with respect to the output, which the layer
  // may overwrite. Writes din (rows, n_in) unless it is null, and accumulates
  // (or writes, if !accumulate) its parameter gradients into grads (the flat
  // gradient buffer). out and cache are what forward produced.
  virtual void backward(const Context<T>& c, const Batch<T>& in, const T* out, T* dout,
                        const T* cache, T* din, T* grads, int64_t rows,
                        bool accumulate) const = 0;
};

}  // namespace nc
