// Flatten and Reshape: a new per-sample shape over the same flat rows, so
// they cost nothing (aliases_input: the network passes the buffer through).
#pragma once
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <vector>

#include "config.hpp"
#include "layer.hpp"

namespace nc {

template <class T>
class Reshape : public Layer<T> {
 public:
  // Flatten: (d1, ..., dk) -> (d1 * ... * dk)
  static std::unique_ptr<Layer<T>> make_flatten(LayerConfig&, const Shape& in) {
    auto r = std::make_unique<Reshape<T>>();
    r->in = in;
    r->out = Shape{in.size()};
    return r;
  }

  // Reshape(target_shape), one entry of which may be -1 (inferred), as Keras.
  static std::unique_ptr<Layer<T>> make(LayerConfig& cfg, const Shape& in) {
    std::vector<int64_t> dims = cfg.ints("target_shape", {});
    if (dims.empty()) throw std::invalid_argument("Reshape needs a target_shape");
    int64_t known = 1, unknown = -1;
    for (size_t i = 0; i < dims.size(); ++i) {
      if (dims[i] == -1) {
        if (unknown >= 0) throw std::invalid_argument("Reshape: only one dimension of target_shape may be -1");
        unknown = int64_t(i);
      } else if (dims[i] <= 0) {
        throw std::invalid_argument("Reshape: target_shape dimensions must be positive or -1");
      } else {
        known *= dims[i];
      }
    }
    if (unknown >= 0) {
      if (in.size() % known != 0)
        throw std::invalid_argument("Reshape: cannot reshape input of shape " + in.str() + " to " +
                                    Shape(dims).str());
      dims[size_t(unknown)] = in.size() / known;
    }
    const Shape out(dims);
    if (out.size() != in.size())
      throw std::invalid_argument("Reshape: input of shape " + in.str() + " (" + std::to_string(in.size()) +
                                  " values) cannot become " + out.str() + " (" +
                                  std::to_string(out.size()) + " values)");
    auto r = std::make_unique<Reshape<T>>();
    r->in = in;
    r->out = out;
    return r;
  }

  bool aliases_input() const override { return true; }
  void forward(const Context<T>&, const Batch<T>&, T*, T*, int64_t) const override {}
  void backward(const Context<T>&, const Batch<T>&, const T*, T*, const T*, T*, T*, int64_t,
                bool) const override {}
};

}  // namespace nc
