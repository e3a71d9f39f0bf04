// The workspace (one allocation, carved from the network's shapes) and the one
// batch assembler every loop uses: training steps, validation, evaluation,
// the full objective and predict.
#pragma once
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "../core/parallel.hpp"
#include "../core/types.hpp"
#include "../layers/layer.hpp"

namespace nc {

// Per-caller scratch memory for `cap` rows at a time: one block, carved into
// 64-byte aligned spans. Training owns one; every predict call makes its own,
// so concurrent predicts never share state.
template <class T>
struct Workspace {
  int64_t cap = 0;
  bool training = false;
  T* input = nullptr;             // (cap, in.size()) gathered dense rows
  std::vector<T*> outs;           // outs[l]: (cap, out.size() of layer l); an aliasing
                                  // layer's entry is set by forward to its input
  std::vector<T*> caches;         // caches[l]: what layer l's backward needs
  T *d0 = nullptr, *d1 = nullptr; // (cap, widest) gradient ping-pong (training)
  T *y = nullptr, *sw = nullptr;  // (cap, n_out), (cap) gathered targets, weights
  double* row_loss = nullptr;     // (cap)
  int64_t* idx = nullptr;         // (cap) row numbers of a contiguous CSR block
  double activity = 0;            // activity penalty of the last backward
  int64_t bytes = 0;              // the block's size

  // Lays out spans of the given sizes (in elements of their types) and
  // allocates the block once.
  class Carver {
   public:
    explicit Carver(size_t spans = 16) { spans_.reserve(spans); }
    template <class U>
    void add(U** where, int64_t count) {
      spans_.push_back({reinterpret_cast<void**>(where), total_});
      total_ += (int64_t(sizeof(U)) * std::max<int64_t>(count, 0) + 63) / 64 * 64;
    }
    void allocate(std::unique_ptr<unsigned char[]>& block, int64_t* bytes) {
      block.reset(new unsigned char[size_t(total_ + 64)]());
      const uintptr_t base = (reinterpret_cast<uintptr_t>(block.get()) + 63) & ~uintptr_t(63);
      for (const auto& s : spans_) *s.first = reinterpret_cast<void*>(base + uintptr_t(s.second));
      *bytes = total_;
    }
   private:
    std::vector<std::pair<void**, int64_t>> spans_;
    int64_t total_ = 0;
  };
  std::unique_ptr<unsigned char[]> block;
};

// The data a batch is drawn from: X rows, and targets Y (n, K) and weights
// (n) when there are any.
template <class T>
struct Rows {
  const InputView<T>* X = nullptr;
  const T* Y = nullptr;
  const T* sw = nullptr;
  int64_t K = 0;
};

// One assembled batch: the layers' input, its targets, weights and their sum.
template <class T>
struct Assembled {
  Batch<T> in;
  const T* y = nullptr;
  const T* sw = nullptr;
  double sw_sum = 0;  // the number of rows without weights
};

// Rows idx[0..rows) of src, or the contiguous rows start..start+rows when idx
// is null (then dense X, Y and weights are used in place, with no copy).
template <class T>
Assembled<T> assemble(const Rows<T>& src, const int64_t* idx, int64_t start, int64_t rows,
                      Workspace<T>& ws, int threads) {
  Assembled<T> a;
  const InputView<T>& X = *src.X;
  if (X.sparse()) {
    if (!idx) {
      for (int64_t r = 0; r < rows; ++r) ws.idx[r] = start + r;
      a.in.rows_idx = ws.idx;
    } else {
      a.in.rows_idx = idx;
    }
    a.in.csr = &X;
  } else if (!idx) {
    a.in.dense = X.dense + start * X.n_cols;
  } else {
    const int64_t D = X.n_cols;
    T* dst = ws.input;
    parallel_for(rows, rows * D, threads, [&](int64_t r) {
      std::memcpy(dst + r * D, X.dense + idx[r] * D, sizeof(T) * D);
    });
    a.in.dense = ws.input;
  }
  if (src.Y) {
    if (!idx) {
      a.y = src.Y + start * src.K;
    } else {
      for (int64_t r = 0; r < rows; ++r)
        std::memcpy(ws.y + r * src.K, src.Y + idx[r] * src.K, sizeof(T) * src.K);
      a.y = ws.y;
    }
  }
  a.sw_sum = double(rows);
  if (src.sw) {
    if (!idx) {
      a.sw = src.sw + start;
    } else {
      for (int64_t r = 0; r < rows; ++r) ws.sw[r] = src.sw[idx[r]];
      a.sw = ws.sw;
    }
    a.sw_sum = 0;
    for (int64_t r = 0; r < rows; ++r) a.sw_sum += double(a.sw[r]);
  }
  return a;
}

}  // namespace nc
