// Shape: per-sample dimensions (no batch axis): (F), (T, F), (H, W, C).
// Data stays one flat row of size() values per sample (mlpack's rule); the
// shape is metadata that layers check and infer from.
#pragma once
#include <cstdint>
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <vector>

namespace nc {

struct Shape {
  std::vector<int64_t> dims;

  Shape() = default;
  Shape(std::initializer_list<int64_t> d) : dims(d) {}
  explicit Shape(std::vector<int64_t> d) : dims(std::move(d)) {}

  int64_t rank() const { return int64_t(dims.size()); }
  int64_t size() const {
    int64_t s = 1;
    for (int64_t d : dims) s *= d;
    return s;
  }
  int64_t last() const { return dims.empty() ? 1 : dims.back(); }
  // samples times this: how many last-axis rows a batch of `rows` holds
  int64_t lead() const { return dims.empty() ? 1 : size() / last(); }
  int64_t operator[](size_t i) const { return dims[i]; }
  bool operator==(const Shape& o) const { return dims == o.dims; }
  bool operator!=(const Shape& o) const { return dims != o.dims; }
  Shape with_last(int64_t n) const {
    Shape s = *this;
    if (s.dims.empty()) s.dims.push_back(n);
    else s.dims.back() = n;
    return s;
  }
  std::string str() const {
    std::string s = "(";
    for (size_t i = 0; i < dims.size(); ++i) {
      if (i) s += ", ";
      s += std::to_string(dims[i]);
    }
    return s + (dims.size() == 1 ? ",)" : ")");
  }
  void check_positive(const std::string& what) const {
    if (dims.empty()) throw std::invalid_argument(what + " has an empty shape");
    for (int64_t d : dims)
      if (d <= 0) throw std::invalid_argument(what + " has shape " + str() + ": every dimension must be positive");
  }
};

}  // namespace nc
