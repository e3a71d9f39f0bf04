// The full-data objective and its gradient on the packed parameter vector, for
// quasi-Newton solvers (scipy's L-BFGS-B) and for gradient checks.
#pragma once
#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

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
  net.reserve(ws, chunk, false, true);
  std::vector<int64_t> idx(static_cast<size_t>(chunk));
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
    Batch<T> in;
    if (X.sparse()) {
      for (int64_t r = 0; r < rows; ++r) idx[size_t(r)] = s + r;
      in.csr = &X;
      in.rows_idx = idx.data();
    } else {
      in.dense = X.dense + s * X.n_cols;
    }
    net.forward(c, in, rows, ws, true);
    data += net.loss_backward(c, in, Y + s * K, sw ? sw + s : nullptr, rows, T(1.0 / sw_sum),
                              grads, ws, !first);
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

}  // namespace nc
