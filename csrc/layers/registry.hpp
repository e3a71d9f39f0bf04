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
#include "augment.hpp"
#include "config.hpp"
#include "conv.hpp"
#include "dense.hpp"
#include "embedding.hpp"
#include "layer.hpp"
#include "noise.hpp"
#include "normalization.hpp"
#include "pooling.hpp"
#include "recurrent.hpp"
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
      {"conv1d", &Conv<T>::make1d},
      {"conv2d", &Conv<T>::make2d},
      {"max_pooling1d", &Pooling<T>::template make<1, true>},
      {"max_pooling2d", &Pooling<T>::template make<2, true>},
      {"average_pooling1d", &Pooling<T>::template make<1, false>},
      {"average_pooling2d", &Pooling<T>::template make<2, false>},
      {"global_max_pooling1d", &GlobalPooling<T>::template make<1, true>},
      {"global_max_pooling2d", &GlobalPooling<T>::template make<2, true>},
      {"global_average_pooling1d", &GlobalPooling<T>::template make<1, false>},
      {"global_average_pooling2d", &GlobalPooling<T>::template make<2, false>},
      {"zero_padding1d", &PixelMapLayer<T>::template make<1, PixelMapLayer<T>::Pad>},
      {"zero_padding2d", &PixelMapLayer<T>::template make<2, PixelMapLayer<T>::Pad>},
      {"cropping1d", &PixelMapLayer<T>::template make<1, PixelMapLayer<T>::Crop>},
      {"cropping2d", &PixelMapLayer<T>::template make<2, PixelMapLayer<T>::Crop>},
      {"up_sampling1d", &PixelMapLayer<T>::template make<1, PixelMapLayer<T>::Up>},
      {"up_sampling2d", &PixelMapLayer<T>::template make<2, PixelMapLayer<T>::Up>},
      {"simple_rnn", &Recurrent<T>::template make<Cell::Simple>},
      {"lstm", &Recurrent<T>::template make<Cell::Lstm>},
      {"gru", &Recurrent<T>::template make<Cell::Gru>},
      {"bidirectional", &Bidirectional<T>::make},
      {"embedding", &Embedding<T>::make},
      {"masking", &Masking<T>::make},
      {"random_flip", &Augment<T>::template make<Augment<T>::Kind::Flip>},
      {"random_rotation", &Augment<T>::template make<Augment<T>::Kind::Rotation>},
      {"random_translation", &Augment<T>::template make<Augment<T>::Kind::Translation>},
      {"random_zoom", &Augment<T>::template make<Augment<T>::Kind::Zoom>},
      {"random_contrast", &Augment<T>::template make<Augment<T>::Kind::Contrast>},
      {"random_brightness", &Augment<T>::template make<Augment<T>::Kind::Brightness>},
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
