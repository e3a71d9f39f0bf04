// Trainer: the whole stochastic training loop (epochs, seeded shuffling,
// mini-batches, loss, backward, one fused optimizer step, validation, early
// stopping with the best weights kept, learning-rate schedule), following
// scikit-learn's MLP `_fit_stochastic` rule for rule. Runs without the GIL;
// calls back once per epoch (and checks for interrupts between mini-batches).
#pragma once
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <limits>
#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>

#include "../core/rng.hpp"
#include "../core/simd.hpp"
#include "../kernels/metrics.hpp"
#include "network.hpp"
#include "objective.hpp"
#include "optimizer.hpp"
#include "schedule.hpp"

namespace nc {

// scikit-learn's learning-rate schedules (they act on SGD only, as there)
enum class Schedule : int { Constant, InvScaling, Adaptive };

struct TrainConfig {
  OptConfig opt;
  Schedule schedule = Schedule::Constant;
  double lr_init = 1e-3, power_t = 0.5;
  double lr_decay = 0.0;  // Keras 2's `decay`: lr / (1 + decay * iterations)
  LRSchedule lr_schedule; // a Keras schedule of the step, replacing the base rate
  double alpha = 1e-4, tol = 1e-4;
  double n_iter_no_change = 10;  // may be +inf
  bool shuffle = true, early_stopping = false, incremental = false;
  // each epoch's order a fresh permutation (Keras; so k one-epoch calls are k
  // epochs), or the previous order shuffled again (scikit-learn's MLPs)
  bool fresh_order = false;
  int64_t batch_size = 200, max_iter = 200;
  int threads = 1;
  bool classifier = true;     // validation score: accuracy, else R^2
  int accuracy_argmax = -1;   // accuracy by argmax (1) or threshold (0); -1: from the output
  double accuracy_threshold = 0.5;
  bool penalty_per_sample = false;  // per-layer penalties divided by the sum of weights (scikit-learn style)
  bool keras_weighting = false;     // the loss divides the weighted sum by the batch size
  std::vector<MetricSpec> metrics;  // running averages over each epoch
  bool validate = false;            // val loss and metrics on the validation rows every epoch
  double report_scale = 1.0;  // reported data loss = scale * objective's (1/K for squared error)
};

// Everything that outlives one call (the estimator's and optimizer's state),
// plus what the call produced. The caller reads it even after an exception.
struct TrainState {
  // persistent
  // the base learning rate (scikit-learn's SGD schedules and callbacks change
  // it); NaN until the first fit, which starts it at learning_rate_init
  double lr = std::numeric_limits<double>::quiet_NaN();
  OptState opt;            // the optimizer's step count and scalars
  int64_t t = 0;           // samples seen (scikit-learn's t_)
  int64_t no_improvement_count = 0;
  double best_loss = std::numeric_limits<double>::infinity();
  double best_val_score = -std::numeric_limits<double>::infinity();
  std::vector<uint32_t> rng_keys = std::vector<uint32_t>(MT19937::N, 0);
  int rng_pos = MT19937::N;
  // this call
  int64_t n_iter = 0;
  double loss = std::numeric_limits<double>::quiet_NaN();
  std::vector<double> loss_curve, val_scores;
  bool converged = false, max_iter_reached = false, stopped_by_callback = false;
  // a non-finite loss or weight stopped this call; the weights (and moving
  // statistics) are those of the start of epoch diverged_epoch (1-based), the
  // optimizer's slots are reset
  bool diverged = false;
  int64_t diverged_epoch = 0;
};

struct EpochReport {
  int64_t n_iter;
  double loss, val_score, lr;
  std::string message;  // stopping / schedule message, as scikit-learn prints it
  std::vector<double> metrics;      // this epoch's running metrics
  double val_loss = std::numeric_limits<double>::quiet_NaN();
  std::vector<double> val_metrics;  // on the validation rows, inference mode
};

// What Python answers after an epoch: stop, and/or a new base learning rate.
struct EpochAnswer {
  bool stop = false;
  double lr = std::numeric_limits<double>::quiet_NaN();  // NaN: unchanged
};

// Data of one fit: X rows, targets Y (n, n_out), weights (n or null), and the
// rows to train on and to validate on (indices into X).
template <class T>
struct TrainData {
  InputView<T> X;
  const T* Y = nullptr;
  const T* sw = nullptr;
  const int64_t* train_idx = nullptr;
  int64_t n_train = 0;
  const int64_t* val_idx = nullptr;
  int64_t n_val = 0;
};

// Flat buffers, all of length n_params, owned by the caller.
template <class T>
struct TrainBuffers {
  T* params = nullptr;
  T* state = nullptr;     // non-trainable state (moving statistics), or null
  std::vector<T*> slots;  // the optimizer's slots (optimizer_slots of them)
  T* best = nullptr;      // best parameters seen (early stopping), or null
};

template <class T>
class Trainer {
 public:
  using EpochCallback = std::function<EpochAnswer(const EpochReport&)>;
  using InterruptCheck = std::function<void()>;
  // Progress within an epoch: (steps done, steps in the epoch, the mean loss
  // and metrics of the samples so far), at most once per progress_every and
  // never for the epoch's last step (on_epoch reports it).
  using BatchCallback = std::function<void(int64_t, int64_t, double, const std::vector<double>&)>;
  std::chrono::milliseconds progress_every{100};

  Trainer(const Network<T>& net, const TrainConfig& cfg)
      : net_(net), cfg_(cfg), segments_(net.variable_segments()) {}

  void fit(const TrainData<T>& data, TrainBuffers<T> buf, TrainState& st,
           const EpochCallback& on_epoch, const InterruptCheck& check_interrupt,
           const BatchCallback& on_batch = nullptr) {
    const int64_t n = data.n_train;
    if (n <= 0) throw std::invalid_argument("no training samples");
    if (cfg_.early_stopping && data.n_val < 1)
      throw std::invalid_argument("early stopping needs validation samples");
    const int64_t B = std::max<int64_t>(1, std::min(cfg_.batch_size, n));
    const int threads = std::max(1, cfg_.threads);
    const bool identity_rows = !cfg_.shuffle && isIdentity(data.train_idx, n);
    const int64_t P = net_.n_params();

    Workspace<T> ws;
    net_.reserve(ws, B, true);
    std::vector<T> grads(static_cast<size_t>(P), T(0));
    std::vector<int64_t> sample_idx(static_cast<size_t>(n)), perm(static_cast<size_t>(n));
    std::vector<int64_t> tmp(static_cast<size_t>(n)), rows_idx(static_cast<size_t>(B));
    std::iota(sample_idx.begin(), sample_idx.end(), int64_t(0));

    MT19937 rng;
    rng.set_state(st.rng_keys.data(), st.rng_pos);
    struct RngSave {  // hand the stream back whatever happens
      MT19937& r; TrainState& s;
      ~RngSave() { int p; r.get_state(s.rng_keys.data(), &p); s.rng_pos = p; }
    } rng_save{rng, st};

    if (cfg_.early_stopping && !cfg_.classifier)
      val_score_.set_r2_targets_gathered(data, net_.n_out());

    if (std::isnan(st.lr)) st.lr = cfg_.lr_init;
    st.n_iter = 0;
    st.loss_curve.clear();
    st.val_scores.clear();
    st.converged = st.max_iter_reached = st.stopped_by_callback = st.diverged = false;
    st.diverged_epoch = 0;
    // the last weights known finite (each epoch's start), for a divergence
    const int64_t S = buf.state ? net_.n_state() : 0;
    std::vector<T> safe(static_cast<size_t>(P)), safe_state(static_cast<size_t>(S));

    Context<T> train_ctx;
    train_ctx.params = buf.params;
    train_ctx.state = buf.state;
    train_ctx.training = true;
    train_ctx.rng = &rng;
    train_ctx.threads = threads;

    using clock = std::chrono::steady_clock;
    auto last_check = clock::now();
    const auto check_every = std::chrono::milliseconds(50);

    const int64_t steps = (n + B - 1) / B;
    for (int64_t it = 0; it < cfg_.max_iter; ++it) {
      auto last_progress = clock::now();
      int64_t seen = 0;
      if (cfg_.shuffle) {
        std::iota(perm.begin(), perm.end(), int64_t(0));
        rng.shuffle(perm.data(), n);
        if (cfg_.fresh_order) {  // Keras: a new permutation of the rows each epoch
          sample_idx.swap(perm);
        } else {  // scikit-learn: the previous epoch's order shuffled in place
          for (int64_t i = 0; i < n; ++i) tmp[size_t(i)] = sample_idx[size_t(perm[size_t(i)])];
          sample_idx.swap(tmp);
        }
      }
      double accumulated = 0;
      epoch_metrics_.reset(cfg_.metrics.size());
      std::copy(buf.params, buf.params + P, safe.begin());
      if (S) std::copy(buf.state, buf.state + S, safe_state.begin());
      bool finite = true;
      for (int64_t start = 0; start < n && finite; start += B) {
        const int64_t rows = std::min(B, n - start);
        for (int64_t r = 0; r < rows; ++r)
          rows_idx[size_t(r)] = data.train_idx[sample_idx[size_t(start + r)]];
        double batch_loss;
        {
          const FlushSubnormals flush;  // the step only: callbacks see the caller's mode
          batch_loss = step(data, buf, st, ws, grads.data(), rows_idx.data(), rows,
                            identity_rows ? rows_idx[0] : -1, train_ctx);
        }
        finite = std::isfinite(batch_loss);
        accumulated += batch_loss * double(rows);
        seen += rows;
        if (check_interrupt || on_batch) {
          const auto now = clock::now();
          if (check_interrupt && now - last_check > check_every) {
            check_interrupt();
            last_check = now;
          }
          if (on_batch && now - last_progress >= progress_every && start + B < n) {
            on_batch(start / B + 1, steps, accumulated / double(seen), epoch_metrics_.values());
            last_progress = clock::now();
          }
        }
      }
      // a weight can overflow while the loss stays finite (relu maps NaN to 0)
      if (finite) finite = all_finite(buf.params, P) && all_finite(buf.state, S);
      if (!finite) {
        std::copy(safe.begin(), safe.end(), buf.params);
        if (S) std::copy(safe_state.begin(), safe_state.end(), buf.state);
        for (T* slot : buf.slots) std::fill(slot, slot + P, T(0));
        st.diverged = true;
        st.diverged_epoch = st.n_iter + 1;
        break;
      }
      st.n_iter += 1;
      st.loss = accumulated / double(n);
      st.t += n;
      st.loss_curve.push_back(st.loss);

      double val = std::numeric_limits<double>::quiet_NaN();
      if (cfg_.early_stopping) {
        val = validation_score(data, buf.params, buf.state, ws, threads);
        st.val_scores.push_back(val);
        if (val < st.best_val_score + cfg_.tol) {
          st.no_improvement_count += 1;
        } else {
          st.no_improvement_count = 0;
        }
        if (val > st.best_val_score) {
          st.best_val_score = val;
          if (buf.best) std::copy(buf.params, buf.params + P, buf.best);
        }
      } else {
        if (st.loss > st.best_loss - cfg_.tol) {
          st.no_improvement_count += 1;
        } else {
          st.no_improvement_count = 0;
        }
        if (st.loss < st.best_loss) st.best_loss = st.loss;
      }
      const bool sgd = cfg_.opt.kind == Opt::Sgd;
      if (sgd && cfg_.schedule == Schedule::InvScaling)
        st.lr = cfg_.lr_init / std::pow(double(st.t + 1), cfg_.power_t);

      std::string message;
      bool stop = false;
      if (double(st.no_improvement_count) > cfg_.n_iter_no_change) {
        char head[256];
        if (cfg_.early_stopping) {
          std::snprintf(head, sizeof head,
                        "Validation score did not improve more than tol=%f for %lld "
                        "consecutive epochs.",
                        cfg_.tol, (long long)cfg_.n_iter_no_change);
        } else {
          std::snprintf(head, sizeof head,
                        "Training loss did not improve more than tol=%f for %lld "
                        "consecutive epochs.",
                        cfg_.tol, (long long)cfg_.n_iter_no_change);
        }
        message = head;
        if (sgd && cfg_.schedule == Schedule::Adaptive) {
          if (st.lr <= 1e-6) {
            message += " Learning rate too small. Stopping.";
            stop = true;
          } else {
            st.lr /= 5.0;
            char tail[96];
            std::snprintf(tail, sizeof tail, " Setting learning rate to %f", st.lr);
            message += tail;
            st.no_improvement_count = 0;
          }
        } else {
          message += " Stopping.";
          stop = true;
        }
        st.converged = stop;
      }
      if (on_epoch) {
        EpochReport report{st.n_iter, st.loss, val, current_lr(st), message,
                           epoch_metrics_.values(), std::numeric_limits<double>::quiet_NaN(), {}};
        if (cfg_.validate && data.n_val > 0) {
          auto ev = evaluate_rows(net_, buf.params, buf.state, data.X, data.val_idx, data.n_val,
                                  data.Y, data.sw, cfg_.metrics, cfg_.keras_weighting, threads,
                                  ws);
          report.val_loss = ev.first;
          report.val_metrics = ev.second;
        }
        const EpochAnswer answer = on_epoch(report);
        if (answer.stop) {
          st.stopped_by_callback = true;
          stop = true;
        }
        if (!std::isnan(answer.lr)) st.lr = answer.lr;
      } else if (check_interrupt) {
        check_interrupt();
        last_check = clock::now();
      }
      if (stop || cfg_.incremental) break;
      if (st.n_iter == cfg_.max_iter) st.max_iter_reached = true;
    }
    if (cfg_.early_stopping && buf.best) std::copy(buf.best, buf.best + P, buf.params);
  }

 private:
  // The learning rate of the next step: scikit-learn's SGD schedules keep it in
  // st.lr; Keras 2's decay divides by (1 + decay * iterations).
  double current_lr(const TrainState& st) const {
    double lr = cfg_.lr_schedule.active() ? cfg_.lr_schedule(st.opt.iterations) : st.lr;
    if (cfg_.lr_decay > 0) lr /= 1.0 + cfg_.lr_decay * double(st.opt.iterations);
    return lr;
  }

  Rows<T> rows_of(const TrainData<T>& data) const {
    return Rows<T>{&data.X, data.Y, data.sw, net_.n_out()};
  }

  static bool isIdentity(const int64_t* idx, int64_t n) {
    for (int64_t i = 0; i < n; ++i)
      if (idx[i] != i) return false;
    return true;
  }

  // One mini-batch: gather, forward, loss, backward, optimizer step. Returns
  // the batch loss as scikit-learn reports it (mean loss plus L2 penalty).
  double step(const TrainData<T>& data, TrainBuffers<T>& buf, TrainState& st, Workspace<T>& ws,
              T* grads, const int64_t* idx, int64_t rows, int64_t contiguous_start,
              const Context<T>& c) {
    const Assembled<T> b =
        assemble(rows_of(data), contiguous_start >= 0 ? nullptr : idx, contiguous_start, rows, ws,
                 c.threads);
    const int threads = c.threads;
    const Batch<T>& in = b.in;
    const T* sw = b.sw;
    double sw_sum = b.sw_sum;
    if (sw) {
      if (!(sw_sum > 0)) return 0.0;  // a batch of zero weight carries no gradient
      if (cfg_.keras_weighting) sw_sum = double(rows);  // Keras: weighted sum / batch size
    }
    net_.forward(c, in, rows, ws, true);
    const double data_loss =
        net_.loss_backward(c, in, b.y, sw, rows, T(1.0 / sw_sum), grads, ws, false);
    epoch_metrics_.add(cfg_.metrics, ws.outs.back(), b.y, sw, rows, net_.n_out());
    double penalty = ws.activity;
    if (net_.has_penalties())
      penalty += net_.add_penalties(buf.params, grads, cfg_.penalty_per_sample ? 1.0 / sw_sum : 1.0);
    // scikit-learn's alpha: its gradient and the loss's sum of squares are
    // taken inside the optimizer's pass over the buffer
    const double l2 = cfg_.alpha > 0 ? cfg_.alpha / sw_sum : 0.0;
    const double sq = optimizer_step(cfg_.opt, st.opt, buf.params, buf.slots.data(), grads,
                                     net_.n_params(), current_lr(st), segments_, threads, l2,
                                     cfg_.alpha > 0 ? net_.n_coefs() : 0);
    if (cfg_.alpha > 0) penalty += 0.5 * cfg_.alpha * sq / sw_sum;
    net_.apply_constraints(buf.params);
    return cfg_.report_scale * data_loss / sw_sum + penalty;
  }

  double validation_score(const TrainData<T>& data, const T* params, T* state, Workspace<T>& ws,
                          int threads) {
    const int64_t K = net_.n_out();
    const int64_t B = ws.cap;
    val_score_.correct = val_score_.weight = 0;
    std::fill(val_score_.sse.begin(), val_score_.sse.end(), 0.0);
    if (val_score_.sse.size() != size_t(K)) val_score_.sse.assign(size_t(K), 0.0);
    val_score_.nonfinite = false;
    for (int64_t s = 0; s < data.n_val; s += B) {
      const int64_t rows = std::min(B, data.n_val - s);
      const Assembled<T> b = assemble(rows_of(data), data.val_idx + s, 0, rows, ws, threads);
      Context<T> c;
      c.params = params;
      c.state = state;
      c.threads = threads;
      const T* p = net_.forward(c, b.in, rows, ws, false);
      if (cfg_.classifier) {
        const bool argmax = cfg_.accuracy_argmax >= 0
                                ? cfg_.accuracy_argmax == 1
                                : net_.output_activation_spec().kind == Act::Softmax;
        val_score_.add_accuracy(p, b.y, b.sw, rows, K, argmax, T(cfg_.accuracy_threshold));
      } else {
        val_score_.add_r2(p, b.y, b.sw, rows, K);
      }
    }
    return cfg_.classifier ? val_score_.accuracy() : val_score_.r2();
  }

  struct ValScore : ScoreAccumulator {
    void set_r2_targets_gathered(const TrainData<T>& data, int64_t K) {
      std::vector<T> y(static_cast<size_t>(data.n_val * K)), w;
      for (int64_t i = 0; i < data.n_val; ++i)
        for (int64_t j = 0; j < K; ++j) y[size_t(i * K + j)] = data.Y[data.val_idx[i] * K + j];
      if (data.sw) {
        w.resize(size_t(data.n_val));
        for (int64_t i = 0; i < data.n_val; ++i) w[size_t(i)] = data.sw[data.val_idx[i]];
      }
      set_r2_targets(y.data(), data.sw ? w.data() : nullptr, data.n_val, K);
    }
  };

  const Network<T>& net_;
  TrainConfig cfg_;
  std::vector<std::pair<int64_t, int64_t>> segments_;
  ValScore val_score_;
  MetricSums epoch_metrics_;
};

}  // namespace nc
