// The full-data objective and its gradient on the packed parameter vector, for
// quasi-Newton solvers (scipy's L-BFGS-B) and for gradient checks.
#pragma once
#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

#include "../kernels/metrics.hpp"
#include "network.hpp"

namespace nc {

// Returns {objective, reported loss}: objective = sum_i w_i loss_i / sum_i w_i
// + alpha/2 ||W||^2 / sum_i w_i, whose exact gradient lands in grads (n_params).
// The reported loss scales the data term by report_scale (scikit-learn averages
// the squared error over outputs when it reports it).
template <class T>
std::pair<double, double> full_objective(const Network<T>& net, const T* params,
                                         const InputView<T>& X, const T* Y, const T* sw,
                                         double alpha, double report_scale, T* grads,
                                         int threads, uint32_t seed = 0,
                                         bool penalty_per_sample = false) {
  const int64_t n = X.n_rows, K = net.n_out();
  double sw_sum = double(n);
  if (sw) {
    sw_sum = 0;
    for (int64_t i = 0; i < n; ++i) sw_sum += double(sw[i]);
  }
  if (!(sw_sum > 0)) throw std::invalid_argument("the sample weights sum to zero");
  const int64_t chunk = std::min<int64_t>(n, 1024);
  Workspace<T> ws;
  net.reserve(ws, chunk, true);
  const Rows<T> src{&X, Y, sw, K};
  // dropout masks and noise from a stream seeded afresh on every call, so the
  // objective is a deterministic function of the parameters
  MT19937 rng;
  rng.seed(seed);
  Context<T> c;
  c.params = params;
  c.training = true;
  c.rng = &rng;
  c.threads = threads;
  double data = 0, activity = 0;
  bool first = true;
  for (int64_t s = 0; s < n; s += chunk) {
    const int64_t rows = std::min(chunk, n - s);
    const Assembled<T> b = assemble(src, nullptr, s, rows, ws, threads);
    net.forward(c, b.in, rows, ws, true);
    data += net.loss_backward(c, b.in, b.y, b.sw, rows, T(1.0 / sw_sum), grads, ws, !first);
    activity += ws.activity;
    first = false;
  }
  double penalty = activity;
  if (net.has_penalties())
    penalty += net.add_penalties(params, grads, penalty_per_sample ? 1.0 / sw_sum : 1.0);
  if (alpha > 0) {
    penalty += 0.5 * alpha * net.coef_sq_norm(params) / sw_sum;
    net.add_l2_grad(params, grads, T(alpha / sw_sum));
  }
  return {data / sw_sum + penalty, report_scale * data / sw_sum + penalty};
}

// Loss (plus penalties, as Keras counts them) and metrics of the rows idx (or
// all rows when idx is null) of X in inference mode: Keras's evaluate. The
// loss is the weighted sum over samples divided by their number (Keras) or by
// the sum of weights (scikit-learn).
template <class T>
std::pair<double, std::vector<double>> evaluate_rows(
    const Network<T>& net, const T* params, const T* state, const InputView<T>& X,
    const int64_t* idx, int64_t n, const T* Y, const T* sw,
    const std::vector<MetricSpec>& metrics, bool keras_weighting, int threads,
    Workspace<T>& ws) {
  const int64_t K = net.n_out();
  const int64_t chunk = std::max<int64_t>(1, std::min<int64_t>(n, ws.cap > 0 ? ws.cap : 512));
  net.reserve(ws, chunk, true);
  const Rows<T> src{&X, Y, sw, K};
  Context<T> c;
  c.params = params;
  c.state = const_cast<T*>(state);
  c.threads = threads;
  MetricSums sums;
  sums.reset(metrics.size());
  double loss = 0, weight = 0, activity = 0;
  for (int64_t s = 0; s < n; s += chunk) {
    const int64_t rows = std::min(chunk, n - s);
    const Assembled<T> b = assemble(src, idx ? idx + s : nullptr, s, rows, ws, threads);
    const T* w = b.sw;
    net.forward(c, b.in, rows, ws, true);
    loss += net.loss_only(c, b.y, w, rows, ws);
    activity += ws.activity;
    sums.add(metrics, ws.outs.back(), b.y, w, rows, K);
    for (int64_t r = 0; r < rows; ++r) weight += w ? double(w[r]) : 1.0;
  }
  const double divisor = keras_weighting ? double(n) : weight;
  std::vector<T> scratch;
  double penalty = activity;
  if (net.has_penalties()) {
    scratch.assign(size_t(net.n_params()), T(0));
    penalty += net.add_penalties(params, scratch.data(), 1.0);
  }
  return {n > 0 ? loss / divisor + penalty : std::nan(""), sums.values()};
}

}  // namespace nc
