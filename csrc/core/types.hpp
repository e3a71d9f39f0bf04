// Names shared by kernels, layers and the model: activations, losses, views.
#pragma once
#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>

namespace nc {

// Activations. Adding one means: a value here, a name in parse_activation, and
// one case each in act_forward / act_derivative (kernels/activations.hpp).
enum class Act : int {
  Identity, Logistic, Tanh, Relu, Softmax, Exp,
  HardSigmoid, Softsign, Elu, Selu, Softplus, Gelu, Swish
};

// An activation with its parameters. relu follows Keras: x for x > threshold
// (capped at max_value), alpha * (x - threshold) otherwise; alpha is also
// elu's scale of the negative part; approximate selects gelu's tanh form.
struct ActSpec {
  Act kind = Act::Identity;
  double alpha = 0.0;
  double max_value = std::numeric_limits<double>::infinity();
  double threshold = 0.0;
  bool approximate = false;

  // plain max(x, 0): its derivative can be read from the output, as scikit-learn does
  bool plain_relu() const {
    return kind == Act::Relu && alpha == 0.0 && threshold == 0.0 && std::isinf(max_value);
  }
  // whether the derivative needs the pre-activation x, not just the output y
  bool needs_input() const {
    return kind == Act::Gelu || kind == Act::Swish || (kind == Act::Relu && !plain_relu());
  }
};

// Output losses, each paired with its canonical output activation so that the
// error at the output pre-activation is simply (prediction - target).
enum class Loss : int { SquaredError, LogLoss, BinaryLogLoss, Poisson };

inline Act parse_activation(const std::string& s) {
  if (s == "identity" || s == "linear") return Act::Identity;
  if (s == "logistic" || s == "sigmoid") return Act::Logistic;
  if (s == "tanh") return Act::Tanh;
  if (s == "relu") return Act::Relu;
  if (s == "softmax") return Act::Softmax;
  if (s == "exp" || s == "exponential") return Act::Exp;
  if (s == "hard_sigmoid") return Act::HardSigmoid;
  if (s == "softsign") return Act::Softsign;
  if (s == "elu") return Act::Elu;
  if (s == "selu") return Act::Selu;
  if (s == "softplus") return Act::Softplus;
  if (s == "gelu") return Act::Gelu;
  if (s == "swish" || s == "silu") return Act::Swish;
  throw std::invalid_argument("unknown activation '" + s + "'");
}

inline Loss parse_loss(const std::string& s) {
  if (s == "squared_error") return Loss::SquaredError;
  if (s == "log_loss") return Loss::LogLoss;
  if (s == "binary_log_loss") return Loss::BinaryLogLoss;
  if (s == "poisson") return Loss::Poisson;
  throw std::invalid_argument("unknown loss '" + s + "'");
}

// The activation a loss expects at the output.
inline Act output_activation(Loss l) {
  switch (l) {
    case Loss::SquaredError: return Act::Identity;
    case Loss::LogLoss: return Act::Softmax;
    case Loss::BinaryLogLoss: return Act::Logistic;
    case Loss::Poisson: return Act::Exp;
  }
  return Act::Identity;
}

// Input rows: either a dense row-major matrix or a CSR matrix. Rows are
// addressed through an optional index list (the shuffled batch), so sparse
// input never needs a gathered copy.
template <class T>
struct InputView {
  const T* dense = nullptr;        // (n_rows, n_cols) row-major, or null
  const T* data = nullptr;         // CSR values
  const int64_t* indptr = nullptr;  // CSR (n_rows + 1)
  const int64_t* indices = nullptr; // CSR column indices
  int64_t n_rows = 0;
  int64_t n_cols = 0;
  bool sparse() const { return dense == nullptr; }
};

}  // namespace nc
