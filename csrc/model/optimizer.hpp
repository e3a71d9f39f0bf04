// The optimizer: gradient clipping, decoupled weight decay and one fused
// update over the flat parameter buffer. Its slots (moments, accumulators)
// are flat buffers of the same length, owned by the caller.
#pragma once
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "../kernels/optimizers.hpp"

namespace nc {

enum class Opt : int { Sgd, Adam, RMSprop, Adagrad, Adadelta, Adamax, Nadam, AdamW };

inline Opt parse_optimizer(const std::string& s) {
  if (s == "sgd") return Opt::Sgd;
  if (s == "adam") return Opt::Adam;
  if (s == "rmsprop") return Opt::RMSprop;
  if (s == "adagrad") return Opt::Adagrad;
  if (s == "adadelta") return Opt::Adadelta;
  if (s == "adamax") return Opt::Adamax;
  if (s == "nadam") return Opt::Nadam;
  if (s == "adamw") return Opt::AdamW;
  throw std::invalid_argument("unknown optimizer '" + s + "'");
}

struct OptConfig {
  Opt kind = Opt::Adam;
  double momentum = 0.0;  // sgd, rmsprop
  bool nesterov = false;  // sgd
  double rho = 0.9;       // rmsprop, adadelta
  bool centered = false;  // rmsprop
  double beta1 = 0.9, beta2 = 0.999, epsilon = 1e-7;
  bool amsgrad = false;          // adam, adamw
  double weight_decay = 0.0;     // decoupled: p -= p * wd * lr before the update
  double clipnorm = 0.0;         // per variable (each kernel and each bias)
  double clipvalue = 0.0;        // elementwise
  double global_clipnorm = 0.0;  // all gradients together
};

// How many slot buffers an optimizer needs.
inline int optimizer_slots(const OptConfig& c) {
  switch (c.kind) {
    case Opt::Sgd: return 1;
    case Opt::Adam:
    case Opt::AdamW: return c.amsgrad ? 3 : 2;
    case Opt::RMSprop: return 3;  // mean square, momentum, mean gradient (last two may go unused)
    case Opt::Adagrad: return 1;
    case Opt::Adadelta: return 2;
    case Opt::Adamax: return 2;
    case Opt::Nadam: return 2;
  }
  return 0;
}

// Scalars the optimizer carries between steps.
struct OptState {
  int64_t iterations = 0;  // steps taken
  double u_product = 1.0;  // Nadam's running product of momentum schedules
};

// segments: (offset, length) of each variable, for clipnorm.
template <class T>
void clip_gradients(const OptConfig& c, T* grad, int64_t n,
                    const std::vector<std::pair<int64_t, int64_t>>& segments) {
  if (c.clipvalue > 0) {
    const T v = T(c.clipvalue);
    for (int64_t i = 0; i < n; ++i) grad[i] = std::min(v, std::max(-v, grad[i]));
  }
  auto scale_to = [&](int64_t off, int64_t len, double norm, double limit) {
    if (norm > limit) {
      const T f = T(limit / norm);
      for (int64_t i = off; i < off + len; ++i) grad[i] *= f;
    }
  };
  if (c.clipnorm > 0) {
    for (const auto& s : segments) {
      double sq = 0;
      for (int64_t i = s.first; i < s.first + s.second; ++i) sq += double(grad[i]) * grad[i];
      scale_to(s.first, s.second, std::sqrt(sq), c.clipnorm);
    }
  }
  if (c.global_clipnorm > 0) {
    double sq = 0;
    for (int64_t i = 0; i < n; ++i) sq += double(grad[i]) * grad[i];
    scale_to(0, n, std::sqrt(sq), c.global_clipnorm);
  }
}

// One optimizer step at learning rate lr. slots: optimizer_slots(c) buffers of n.
// l2 * params is added to the gradient of the first n_l2 entries (scikit-learn's
// alpha on the kernels) inside the update pass; returns sum(params^2) over them,
// taken before the update.
template <class T>
double optimizer_step(const OptConfig& c, OptState& st, T* params, T* const* slots, T* grad,
                      int64_t n, double lr,
                      const std::vector<std::pair<int64_t, int64_t>>& segments, int threads,
                      double l2 = 0.0, int64_t n_l2 = 0) {
  clip_gradients(c, grad, n, segments);
  if (c.weight_decay > 0) {
    const T f = T(1.0 - c.weight_decay * lr);
    for_elems(n, threads, [&](int64_t i) { params[i] *= f; });
  }
  st.iterations += 1;
  const int64_t t = st.iterations;
  switch (c.kind) {
    case Opt::Sgd:
      return sgd_step(params, slots[0], grad, n, lr, c.momentum, c.nesterov, threads, l2, n_l2);
    case Opt::Adam:
    case Opt::AdamW:
      return adam_step(params, slots[0], slots[1], c.amsgrad ? slots[2] : nullptr, grad, n, lr,
                       c.beta1, c.beta2, c.epsilon, t, threads, l2, n_l2);
    case Opt::RMSprop:
      return rmsprop_step(params, slots[0], c.momentum > 0 ? slots[1] : nullptr,
                          c.centered ? slots[2] : nullptr, grad, n, lr, c.rho, c.momentum,
                          c.epsilon, threads, l2, n_l2);
    case Opt::Adagrad:
      return adagrad_step(params, slots[0], grad, n, lr, c.epsilon, threads, l2, n_l2);
    case Opt::Adadelta:
      return adadelta_step(params, slots[0], slots[1], grad, n, lr, c.rho, c.epsilon, threads, l2,
                           n_l2);
    case Opt::Adamax:
      return adamax_step(params, slots[0], slots[1], grad, n, lr, c.beta1, c.beta2, c.epsilon, t,
                         threads, l2, n_l2);
    case Opt::Nadam:
      st.u_product *= c.beta1 * (1.0 - 0.5 * std::pow(0.96, double(t)));
      return nadam_step(params, slots[0], slots[1], grad, n, lr, c.beta1, c.beta2, c.epsilon, t,
                        st.u_product, threads, l2, n_l2);
  }
  return 0.0;
}

}  // namespace nc
