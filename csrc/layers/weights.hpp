// What the layers with a kernel and a bias share (Dense, the convolutions):
// Keras's kernel / bias / activity regularizers and kernel / bias constraints,
// read from the layer's options, and the hooks that apply them. The kernel is
// (fan_in, units) as the flat buffer holds it: a convolution's (kh, kw, cg,
// filters) is (kh * kw * cg, filters), so constraints act on each unit's
// incoming weights as Keras's do (axis 0, or axes 0-2 of a Conv2D kernel).
#pragma once
#include <cstdint>
#include <stdexcept>
#include <string>

#include "../kernels/regularization.hpp"
#include "config.hpp"

namespace nc {

struct WeightOptions {
  Penalty kernel_penalty, bias_penalty, activity_penalty;
  Constraint kernel_constraint, bias_constraint;

  static WeightOptions read(LayerConfig& cfg) {
    WeightOptions w;
    w.kernel_penalty = {cfg.number("kernel_l1", 0.0), cfg.number("kernel_l2", 0.0)};
    w.bias_penalty = {cfg.number("bias_l1", 0.0), cfg.number("bias_l2", 0.0)};
    w.activity_penalty = {cfg.number("activity_l1", 0.0), cfg.number("activity_l2", 0.0)};
    w.kernel_constraint = constraint(cfg, "kernel_constraint");
    w.bias_constraint = constraint(cfg, "bias_constraint");
    return w;
  }

  bool has_penalties() const { return kernel_penalty.active() || bias_penalty.active(); }

  // the penalties of kernel (fan_in, units) at params + k_off and bias (units)
  // at params + b_off (b_off < 0: no bias)
  template <class T>
  double add_penalties(const T* params, T* grads, double scale, int64_t k_off, int64_t b_off,
                       int64_t fan_in, int64_t units) const {
    double total = add_penalty(kernel_penalty, params + k_off, grads + k_off, fan_in * units, scale);
    if (b_off >= 0) total += add_penalty(bias_penalty, params + b_off, grads + b_off, units, scale);
    return total;
  }

  template <class T>
  void apply_constraints(T* params, int64_t k_off, int64_t b_off, int64_t fan_in, int64_t units) const {
    constrain(kernel_constraint, params + k_off, fan_in, units);
    if (b_off >= 0) constrain(bias_constraint, params + b_off, 1, units);
  }

  static Constraint constraint(LayerConfig& cfg, const std::string& which) {
    Constraint k;
    const std::string name = cfg.text(which, "");
    if (name == "max_norm") k.kind = Constraint::MaxNorm;
    else if (name == "non_neg") k.kind = Constraint::NonNeg;
    else if (name == "unit_norm") k.kind = Constraint::UnitNorm;
    else if (!name.empty()) throw std::invalid_argument("unknown constraint '" + name + "'");
    k.max_value = cfg.number(which + "_max_value", 2.0);
    return k;
  }
};

}  // namespace nc
