"""Layers (``neurocore.keras.layers``): Keras's names, arguments and defaults.

A layer here is a description; the network that trains is built in C++ from
these descriptions (``_core_specs``), which also checks and infers every
layer's per-sample shape. ``input_dim`` / ``input_shape`` on the first layer,
or an ``Input``, fixes the input's per-sample shape; otherwise the model is
built at the first fit from the data's shape.
"""

from .. import _activations
from . import _config, _functional
from . import activations as _acts
from . import initializers as _inits
from ._base import Layer, _declared_shape, _WeightsMixin  # noqa: F401  (Layer: keras.layers.Layer)

class InputLayer(Layer):
    """The input of a Sequential model: ``Input(shape=(n_features,))`` or any per-sample shape."""

    _prefix = "input_layer"
    _saves_input_shape = False

    def __init__(self, shape=None, input_shape=None, batch_size=None, name=None, **kwargs):
        super().__init__(name=name, input_shape=shape if shape is not None else input_shape, **kwargs)
        if self._input_shape is None:
            raise ValueError("Input needs shape=(n_features,) or another per-sample shape")
        self.shape = self._input_shape

    def _core_specs(self):
        return []

    def __call__(self, inputs):
        raise ValueError("an InputLayer is not called on a tensor: Input(shape) starts a chain")


def Input(shape=None, batch_size=None, name=None, **kwargs):
    """A symbolic input: the start of a functional chain, or the first item of a Sequential.

    ``x = Input(shape=(784,))`` then ``y = Dense(32)(x)`` and ``Model(x, y)``
    (the functional API); ``Sequential([Input(shape=(5,)), Dense(2)])`` too.

    Parameters
    ----------
    shape : tuple of int
        The per-sample shape (no batch axis).
    batch_size : int, optional
        Accepted for Keras's signature; batches are sized at fit.
    name : str, optional

    Returns
    -------
    KerasTensor
    """
    return _functional.KerasTensor(InputLayer(shape=shape, batch_size=batch_size, name=name, **kwargs))


class Dense(_WeightsMixin, Layer):
    """Fully connected layer: activation(x @ kernel + bias), on the last axis of its input."""

    _prefix = "dense"

    def __init__(self, units, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(**kwargs)
        if int(units) != units or units < 1:
            raise ValueError(f"units must be a positive integer, got {units!r}")
        self.units = int(units)
        self._init_weights(activation, use_bias, kernel_initializer, bias_initializer,
                           kernel_regularizer, bias_regularizer, activity_regularizer,
                           kernel_constraint, bias_constraint)

    def _core_specs(self):
        return [{"type": "dense", "units": self.units, **self._weight_specs()}]


class Flatten(Layer):
    """Flattens each sample to one axis: (n, d1, ..., dk) -> (n, d1 * ... * dk). Costs no copy."""

    _prefix = "flatten"

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        if data_format not in (None, "channels_last"):
            raise ValueError("Flatten supports data_format='channels_last' only (neurocore is channels last)")
        self.data_format = data_format

    def _core_specs(self):
        return [{"type": "flatten"}]


class Reshape(Layer):
    """Gives each sample the shape ``target_shape`` (one entry may be -1). Costs no copy."""

    _prefix = "reshape"

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        shape = tuple(target_shape)
        if not shape or any(int(d) != d or (d < 1 and d != -1) for d in shape):
            raise ValueError(f"target_shape must hold positive integers (one may be -1), got {target_shape!r}")
        self.target_shape = tuple(int(d) for d in shape)

    def _core_specs(self):
        return [{"type": "reshape", "target_shape": list(self.target_shape)}]


class Activation(Layer):
    """Applies an activation: Activation('relu'), Activation('softmax'), ..."""

    _prefix = "activation"

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation = activation
        self._act = _acts.get(activation)

    def _activation_spec(self):
        return dict(self._act)

    def _core_specs(self):
        return [{"type": "activation", **self._act}]


class _ActivationLayer(Activation):
    def __init__(self, spec, **kwargs):
        Layer.__init__(self, **kwargs)
        self._act = spec


class ReLU(_ActivationLayer):
    """relu with max_value, negative_slope and threshold (Keras's ReLU layer)."""

    _prefix = "re_lu"

    def __init__(self, max_value=None, negative_slope=0.0, threshold=0.0, **kwargs):
        self.max_value, self.negative_slope, self.threshold = max_value, negative_slope, threshold
        super().__init__(_activations.activation_spec(
            "relu", alpha=negative_slope, max_value=max_value, threshold=threshold), **kwargs)


class LeakyReLU(_ActivationLayer):
    """relu with slope alpha for x <= 0 (Keras 2's LeakyReLU, default alpha 0.3).

    Usable as a layer or as ``Dense(..., activation=LeakyReLU(0.3))``.
    ``negative_slope`` is Keras 3's name for ``alpha``.
    """

    _prefix = "leaky_re_lu"

    def __init__(self, alpha=0.3, negative_slope=None, **kwargs):
        self.alpha = float(alpha if negative_slope is None else negative_slope)
        super().__init__(_activations.activation_spec("relu", alpha=self.alpha), **kwargs)


class ELU(_ActivationLayer):
    """x for x > 0, alpha (exp(x) - 1) otherwise."""

    _prefix = "elu"

    def __init__(self, alpha=1.0, **kwargs):
        self.alpha = float(alpha)
        super().__init__(_activations.activation_spec("elu", alpha=self.alpha), **kwargs)


class Softmax(_ActivationLayer):
    """Softmax over the features."""

    _prefix = "softmax"

    def __init__(self, axis=-1, **kwargs):
        if axis != -1:
            raise ValueError("Softmax acts on the last axis")
        super().__init__(_activations.activation_spec("softmax"), **kwargs)


class Dropout(Layer):
    """Sets a random fraction `rate` of the inputs to 0 while training (inverted dropout).

    The kept units are scaled by 1 / (1 - rate), so nothing changes at inference.
    """

    _prefix = "dropout"

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not 0 <= rate < 1:
            raise ValueError(f"rate must be in [0, 1), got {rate!r}")
        if noise_shape is not None:
            raise ValueError("noise_shape is not supported on flat inputs")
        self.rate, self.seed = float(rate), seed

    def _core_specs(self):
        return [{"type": "dropout", "rate": self.rate}]


class GaussianNoise(Layer):
    """Adds zero-mean Gaussian noise of standard deviation stddev while training."""

    _prefix = "gaussian_noise"

    def __init__(self, stddev, seed=None, **kwargs):
        super().__init__(**kwargs)
        if stddev < 0:
            raise ValueError(f"stddev must be >= 0, got {stddev!r}")
        self.stddev, self.seed = float(stddev), seed

    def _core_specs(self):
        return [{"type": "gaussian_noise", "stddev": self.stddev}]


class _Normalization(Layer):
    """Shared arguments of the normalization layers (scale gamma, offset beta)."""

    def __init__(self, axis=-1, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones", **kwargs):
        super().__init__(**kwargs)
        if axis not in (-1, 1):
            raise ValueError(f"{type(self).__name__} normalizes the feature axis (-1)")
        if epsilon <= 0:
            raise ValueError(f"epsilon must be > 0, got {epsilon!r}")
        self.axis, self.epsilon, self.center, self.scale = axis, float(epsilon), bool(center), bool(scale)
        self.beta_initializer = _inits.get(beta_initializer)
        self.gamma_initializer = _inits.get(gamma_initializer)

    def _core_specs(self):
        return [{"type": self._core_type, "epsilon": self.epsilon, "center": self.center,
                 "scale": self.scale}]

    def _initializers(self):
        inits = {}
        if self.scale:
            inits["gamma"] = self.gamma_initializer
        if self.center:
            inits["beta"] = self.beta_initializer
        return inits


class BatchNormalization(_Normalization):
    """Normalizes each feature with the batch's statistics while training and
    the moving statistics (momentum) at inference; place it before or after
    an activation."""

    _prefix = "batch_normalization"
    _core_type = "batch_normalization"

    def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones", **kwargs):
        super().__init__(axis, epsilon, center, scale, beta_initializer, gamma_initializer, **kwargs)
        if not 0 <= momentum <= 1:
            raise ValueError(f"momentum must be in [0, 1], got {momentum!r}")
        self.momentum = float(momentum)

    def _core_specs(self):
        return [{**super()._core_specs()[0], "momentum": self.momentum}]


class LayerNormalization(_Normalization):
    """Normalizes each sample over its features (training and inference alike)."""

    _prefix = "layer_normalization"
    _core_type = "layer_normalization"


class _Merge(Layer):
    """Keras's merge layers take several tensors; the core runs chains, so
    calling one raises a ValueError that says so (rather than an import error)."""

    def __init__(self, **kwargs):
        kwargs.pop("axis", None)
        super().__init__(**kwargs)

    def __call__(self, inputs):
        _functional.refuse_merge(self)

    def _core_specs(self):
        _functional.refuse_merge(self)


class Add(_Merge):
    """Keras's Add: refused (a graph that merges; see _Merge)."""


class Subtract(_Merge):
    """Keras's Subtract: refused (a graph that merges; see _Merge)."""


class Multiply(_Merge):
    """Keras's Multiply: refused (a graph that merges; see _Merge)."""


class Average(_Merge):
    """Keras's Average: refused (a graph that merges; see _Merge)."""


class Concatenate(_Merge):
    """Keras's Concatenate: refused (a graph that merges; see _Merge)."""


_config.register_module(globals())

# the convolutional and spatial layers (defined in _spatial, which builds on the above)
from ._spatial import (  # noqa: E402,F401
    AveragePooling1D, AveragePooling2D, Conv1D, Conv2D, Cropping1D, Cropping2D,
    GlobalAveragePooling1D, GlobalAveragePooling2D, GlobalMaxPooling1D, GlobalMaxPooling2D,
    MaxPooling1D, MaxPooling2D, UpSampling1D, UpSampling2D, ZeroPadding1D, ZeroPadding2D,
)

# the image augmentation layers (defined in _augment)
from ._augment import (  # noqa: E402,F401
    RandomBrightness, RandomContrast, RandomFlip, RandomRotation, RandomTranslation, RandomZoom,
)

# the recurrent and sequence layers (defined in _recurrent)
from ._recurrent import GRU, LSTM, Bidirectional, Embedding, Masking, SimpleRNN  # noqa: E402,F401
