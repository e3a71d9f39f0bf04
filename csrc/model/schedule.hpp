// Learning-rate schedules as functions of the optimizer step (Keras's
// LearningRateSchedule semantics: the step is the number of updates made).
#pragma once
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace nc {

struct LRSchedule {
  enum Kind { None, Exponential, InverseTime, PiecewiseConstant, Cosine, Step } kind = None;
  double initial = 1e-3;
  double decay_steps = 1.0;
  double decay_rate = 0.5;
  bool staircase = false;
  double alpha = 0.0;  // cosine: the final fraction of the initial rate
  std::vector<double> boundaries, values;  // piecewise constant

  bool active() const { return kind != None; }

  double operator()(int64_t step_i) const {
    const double step = double(step_i);
    double p = step / decay_steps;
    if (staircase) p = std::floor(p);
    switch (kind) {
      case None: return initial;
      case Exponential: return initial * std::pow(decay_rate, p);
      case InverseTime: return initial / (1.0 + decay_rate * p);
      case Step:  // drop by decay_rate every decay_steps steps
        return initial * std::pow(decay_rate, std::floor(step / decay_steps));
      case Cosine: {
        const double s = std::min(step, decay_steps) / decay_steps;
        const double c = 0.5 * (1.0 + std::cos(3.141592653589793 * s));
        return initial * ((1.0 - alpha) * c + alpha);
      }
      case PiecewiseConstant: {
        for (size_t i = 0; i < boundaries.size(); ++i)
          if (step <= boundaries[i]) return values[i];
        return values.back();
      }
    }
    return initial;
  }

  void validate() const {
    if (kind == None) return;
    if (!(decay_steps > 0)) throw std::invalid_argument("decay_steps must be > 0");
    if (kind == PiecewiseConstant && values.size() != boundaries.size() + 1)
      throw std::invalid_argument("piecewise constant needs one more value than boundaries");
  }
};

inline LRSchedule::Kind parse_schedule(const std::string& s) {
  if (s.empty() || s == "none") return LRSchedule::None;
  if (s == "exponential") return LRSchedule::Exponential;
  if (s == "inverse_time") return LRSchedule::InverseTime;
  if (s == "piecewise_constant") return LRSchedule::PiecewiseConstant;
  if (s == "cosine") return LRSchedule::Cosine;
  if (s == "step") return LRSchedule::Step;
  throw std::invalid_argument("unknown learning-rate schedule '" + s + "'");
}

}  // namespace nc
