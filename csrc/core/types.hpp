// Names shared by kernels, layers and the model: activations, losses, views.
#pragma once
#include <cstdint>
#include <stdexcept>
#include <string>

namespace nc {

// Hidden and output activations. Adding one means: a value here, a name in
// parse_activation, one forward and one derivative case in kernels/activations.hpp.
enum class Act : int { Identity, Logistic, Tanh, Relu, Softmax, Exp };

// Output losses, each paired with its canonical output activation so that the
// error at the output pre-activation is simply (prediction - target).
enum class Loss : int { SquaredError, LogLoss, BinaryLogLoss, Poisson };

inline Act parse_activation(const std::string& s) {
  if (s == "identity") return Act::Identity;
  if (s == "logistic") return Act::Logistic;
  if (s == "tanh") return Act::Tanh;
  if (s == "relu") return Act::Relu;
  if (s == "softmax") return Act::Softmax;
  if (s == "exp") return Act::Exp;
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
