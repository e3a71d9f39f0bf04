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

// Losses. scikit-learn's four (half squared error summed over outputs, log
// loss, binary log loss, half Poisson deviance) go with their canonical output
// activation. The Keras losses take per-sample means over outputs where Keras
// does, and work after any output activation.
enum class Loss : int {
  SquaredError, LogLoss, BinaryLogLoss, Poisson,  // scikit-learn
  MeanSquaredError, MeanAbsoluteError, MeanAbsolutePercentageError,
  MeanSquaredLogarithmicError, Huber, LogCosh, KerasPoisson,
  CategoricalCrossentropy, BinaryCrossentropy, Hinge, SquaredHinge, CategoricalHinge,
  KLDivergence, CosineSimilarity
};

struct LossSpec {
  Loss kind = Loss::SquaredError;
  bool from_logits = false;  // cross-entropies: the network outputs logits
  double delta = 1.0;        // huber
};

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
  if (s == "mean_squared_error") return Loss::MeanSquaredError;
  if (s == "mean_absolute_error") return Loss::MeanAbsoluteError;
  if (s == "mean_absolute_percentage_error") return Loss::MeanAbsolutePercentageError;
  if (s == "mean_squared_logarithmic_error") return Loss::MeanSquaredLogarithmicError;
  if (s == "huber") return Loss::Huber;
  if (s == "log_cosh") return Loss::LogCosh;
  if (s == "keras_poisson") return Loss::KerasPoisson;
  if (s == "categorical_crossentropy") return Loss::CategoricalCrossentropy;
  if (s == "binary_crossentropy") return Loss::BinaryCrossentropy;
  if (s == "hinge") return Loss::Hinge;
  if (s == "squared_hinge") return Loss::SquaredHinge;
  if (s == "categorical_hinge") return Loss::CategoricalHinge;
  if (s == "kl_divergence") return Loss::KLDivergence;
  if (s == "cosine_similarity") return Loss::CosineSimilarity;
  throw std::invalid_argument("unknown loss '" + s + "'");
}

// scikit-learn's losses require their canonical output activation.
inline bool requires_canonical_output(Loss l) {
  return l == Loss::SquaredError || l == Loss::LogLoss || l == Loss::BinaryLogLoss ||
         l == Loss::Poisson;
}

// The loss computed on the pre-activation z when the output activation is
// fused into it (stable form, error at z = p - y), or false if it is not.
// softmax + categorical cross-entropy and sigmoid + binary cross-entropy are
// fused the way Keras's TensorFlow backend fuses them.
inline bool fused_loss_on_logits(const LossSpec& l, Act out, Loss* on_logits) {
  switch (l.kind) {
    case Loss::SquaredError: *on_logits = l.kind; return out == Act::Identity;
    case Loss::LogLoss: *on_logits = l.kind; return out == Act::Softmax;
    case Loss::BinaryLogLoss: *on_logits = l.kind; return out == Act::Logistic;
    case Loss::Poisson: *on_logits = l.kind; return out == Act::Exp;
    case Loss::CategoricalCrossentropy:
      *on_logits = Loss::CategoricalCrossentropy;
      return !l.from_logits && out == Act::Softmax;
    case Loss::BinaryCrossentropy:
      *on_logits = Loss::BinaryCrossentropy;
      return !l.from_logits && out == Act::Logistic;
    default: return false;
  }
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
