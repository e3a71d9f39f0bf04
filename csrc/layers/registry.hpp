// The layer registry: name -> factory(config, input shape). The network builds
// every layer through it and names no layer type; adding a layer is one file
// in layers/ and one line here.
#pragma once
#include <functional>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>

#include "activation.hpp"
#include "config.hpp"
#include "dense.hpp"
#include "layer.hpp"
#include "noise.hpp"
#include "normalization.hpp"
#include "reshape.hpp"

namespace nc {

template <class T>
using LayerFactory = std::function<std::unique_ptr<Layer<T>>(LayerConfig&, const Shape&)>;

template <class T>
const std::map<std::string, LayerFactory<T>>& layer_registry() {
  static const std::map<std::string, LayerFactory<T>> registry = {
      {"dense", &Dense<T>::make},
      {"activation", &Activation<T>::make},
      {"dropout", &Dropout<T>::make},
      {"gaussian_noise", &GaussianNoise<T>::make},
      {"batch_normalization", &BatchNormalization<T>::make},
      {"layer_normalization", &LayerNormalization<T>::make},
      {"flatten", &Reshape<T>::make_flatten},
      {"reshape", &Reshape<T>::make},
  };
  return registry;
}

// The layer `cfg` describes, on per-sample input of shape `in`; an unknown
// layer name or an option the layer does not take is an error naming it.
template <class T>
std::unique_ptr<Layer<T>> make_layer(LayerConfig cfg, const Shape& in) {
  const auto& reg = layer_registry<T>();
  auto it = reg.find(cfg.type);
  if (it == reg.end()) {
    std::string known;
    for (const auto& kv : reg) known += (known.empty() ? "" : ", ") + kv.first;
    throw std::invalid_argument("unknown layer type '" + cfg.type + "' (known: " + known + ")");
  }
  std::unique_ptr<Layer<T>> layer = it->second(cfg, in);
  cfg.check_all_read();
  return layer;
}

}  // namespace nc
