"""The convolutional and spatial layers (``neurocore.keras.layers``): Keras 3's
names, arguments and defaults, channels last. ``neurocore.keras.layers``
exports them; the C++ core builds and checks them (a window larger than its
input, a stride below 1 or channels that ``groups`` does not divide is a
ValueError naming the layer when the model is built)."""

from numbers import Integral

from . import _config
from ._base import Layer, _WeightsMixin


def _ints(value, rank, what, minimum=1):
    """A Keras int-or-tuple argument as a tuple of ``rank`` ints."""
    if isinstance(value, Integral) and not isinstance(value, bool):
        value = (int(value),) * rank
    try:
        out = tuple(int(v) for v in value)
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be an int or a tuple of {rank} ints, got {value!r}") from None
    if len(out) != rank or any(v != w for v, w in zip(out, value)):
        raise ValueError(f"{what} must be an int or a tuple of {rank} ints, got {value!r}")
    if any(v < minimum for v in out):
        raise ValueError(f"{what} must be >= {minimum}, got {value!r}")
    return out


def _channels_last(layer, data_format):
    if data_format not in (None, "channels_last"):
        raise ValueError(f"{type(layer).__name__}: data_format={data_format!r} is not supported; "
                         "neurocore is channels last (samples of shape (height, width, channels) "
                         "or (steps, channels)): transpose the data")
    return data_format


class _Conv(_WeightsMixin, Layer):
    _rank = 2

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None,
                 dilation_rate=1, groups=1, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(**kwargs)
        name = type(self).__name__
        if isinstance(filters, bool) or int(filters) != filters or filters < 1:
            raise ValueError(f"{name}: filters must be a positive integer, got {filters!r}")
        self.filters = int(filters)
        self.kernel_size = _ints(kernel_size, self._rank, f"{name}: kernel_size")
        self.strides = _ints(strides, self._rank, f"{name}: strides")
        self.dilation_rate = _ints(dilation_rate, self._rank, f"{name}: dilation_rate")
        padding = str(padding).lower()
        allowed = ("valid", "same", "causal") if self._rank == 1 else ("valid", "same")
        if padding not in allowed:
            raise ValueError(f"{name}: padding must be one of {allowed}, got {padding!r}")
        self.padding = padding
        self.data_format = _channels_last(self, data_format)
        if isinstance(groups, bool) or int(groups) != groups or groups < 1:
            raise ValueError(f"{name}: groups must be a positive integer, got {groups!r}")
        if self.filters % int(groups):
            raise ValueError(f"{name}: filters ({self.filters}) must be a multiple of groups ({groups})")
        self.groups = int(groups)
        self._init_weights(activation, use_bias, kernel_initializer, bias_initializer,
                           kernel_regularizer, bias_regularizer, activity_regularizer,
                           kernel_constraint, bias_constraint)

    def _core_specs(self):
        return [{"type": f"conv{self._rank}d", "filters": self.filters,
                 "kernel_size": list(self.kernel_size), "strides": list(self.strides),
                 "dilation_rate": list(self.dilation_rate), "padding": self.padding,
                 "groups": self.groups, **self._weight_specs()}]


class Conv1D(_Conv):
    """1-D convolution over (steps, channels): kernel (kernel_size, channels / groups, filters)."""

    _prefix = "conv1d"
    _rank = 1


class Conv2D(_Conv):
    """2-D convolution over (height, width, channels): kernel (kh, kw, channels / groups, filters)."""

    _prefix = "conv2d"
    _rank = 2


class _Pooling(Layer):
    _rank = 2
    _kind = "max"

    def __init__(self, pool_size=2, strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(**kwargs)
        name = type(self).__name__
        self.pool_size = _ints(pool_size, self._rank, f"{name}: pool_size")
        self.strides = None if strides is None else _ints(strides, self._rank, f"{name}: strides")
        padding = str(padding).lower()
        if padding not in ("valid", "same"):
            raise ValueError(f"{name}: padding must be 'valid' or 'same', got {padding!r}")
        self.padding = padding
        self.data_format = _channels_last(self, data_format)

    def _core_specs(self):
        strides = self.strides or self.pool_size
        return [{"type": f"{self._kind}_pooling{self._rank}d", "pool_size": list(self.pool_size),
                 "strides": list(strides), "padding": self.padding}]


class MaxPooling1D(_Pooling):
    """The maximum over windows of ``pool_size`` steps (strides default to pool_size)."""

    _prefix = "max_pooling1d"
    _rank = 1


class MaxPooling2D(_Pooling):
    """The maximum over ``pool_size`` windows (strides default to pool_size).

    A window's gradient goes to its first maximum (row-major order) when several are equal."""

    _prefix = "max_pooling2d"


class AveragePooling1D(_Pooling):
    """The mean over windows of ``pool_size`` steps ("same": over the steps inside the input)."""

    _prefix = "average_pooling1d"
    _rank = 1
    _kind = "average"


class AveragePooling2D(_Pooling):
    """The mean over ``pool_size`` windows ("same": over the pixels inside the input)."""

    _prefix = "average_pooling2d"
    _kind = "average"


class _GlobalPooling(Layer):
    _rank = 2
    _kind = "max"

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(**kwargs)
        self.data_format = _channels_last(self, data_format)
        self.keepdims = bool(keepdims)

    def _core_specs(self):
        return [{"type": f"global_{self._kind}_pooling{self._rank}d", "keepdims": self.keepdims}]


class GlobalMaxPooling1D(_GlobalPooling):
    """Each channel's maximum over the steps: (steps, c) -> (c,) (keepdims: (1, c))."""

    _prefix = "global_max_pooling1d"
    _rank = 1


class GlobalMaxPooling2D(_GlobalPooling):
    """Each channel's maximum over the pixels: (h, w, c) -> (c,) (keepdims: (1, 1, c))."""

    _prefix = "global_max_pooling2d"


class GlobalAveragePooling1D(_GlobalPooling):
    """Each channel's mean over the steps: (steps, c) -> (c,) (keepdims: (1, c))."""

    _prefix = "global_average_pooling1d"
    _rank = 1
    _kind = "average"


class GlobalAveragePooling2D(_GlobalPooling):
    """Each channel's mean over the pixels: (h, w, c) -> (c,) (keepdims: (1, 1, c))."""

    _prefix = "global_average_pooling2d"
    _kind = "average"


def _before_after(value, rank, what):
    """Keras's padding / cropping argument as (before, after) per spatial axis, flat."""
    if isinstance(value, Integral) and not isinstance(value, bool):
        pairs = [(int(value), int(value))] * rank
    else:
        value = tuple(value)
        if rank == 1 and len(value) == 2 and all(isinstance(v, Integral) for v in value):
            pairs = [value]
        elif rank == 2 and len(value) == 2 and all(isinstance(v, Integral) for v in value):
            pairs = [(value[0], value[0]), (value[1], value[1])]
        elif rank == 2 and len(value) == 2:
            pairs = [tuple(v) for v in value]
        else:
            raise ValueError(f"{what} must be an int, {'(before, after)' if rank == 1 else '(h, w) or ((top, bottom), (left, right))'}; got {value!r}")
    flat = [int(v) for pair in pairs for v in pair]
    if len(flat) != 2 * rank or any(v < 0 for v in flat):
        raise ValueError(f"{what} must hold non-negative ints, got {value!r}")
    return tuple(tuple(p) for p in pairs) if rank == 2 else tuple(pairs[0]), flat


class _Edges(Layer):
    """ZeroPadding and Cropping: amounts before and after each spatial axis."""

    _rank = 2
    _arg = "padding"

    def __init__(self, amounts, data_format=None, **kwargs):
        super().__init__(**kwargs)
        value, self._flat = _before_after(amounts, self._rank, f"{type(self).__name__}: {self._arg}")
        setattr(self, self._arg, value)
        self.data_format = _channels_last(self, data_format)

    def _core_specs(self):
        return [{"type": self._prefix, self._arg: self._flat}]


class ZeroPadding1D(_Edges):
    """Zeros before and after the steps: ``padding`` int or (before, after)."""

    _prefix = "zero_padding1d"
    _rank = 1

    def __init__(self, padding=1, data_format=None, **kwargs):
        super().__init__(padding, data_format, **kwargs)


class ZeroPadding2D(_Edges):
    """Zero rows and columns around each image: ``padding`` int, (h, w) or ((top, bottom), (left, right))."""

    _prefix = "zero_padding2d"

    def __init__(self, padding=(1, 1), data_format=None, **kwargs):
        super().__init__(padding, data_format, **kwargs)


class Cropping1D(_Edges):
    """Drops steps at the start and end: ``cropping`` int or (before, after)."""

    _prefix = "cropping1d"
    _rank = 1
    _arg = "cropping"

    def __init__(self, cropping=(1, 1), data_format=None, **kwargs):
        super().__init__(cropping, data_format, **kwargs)


class Cropping2D(_Edges):
    """Drops rows and columns at the edges: ``cropping`` int, (h, w) or ((top, bottom), (left, right))."""

    _prefix = "cropping2d"
    _arg = "cropping"

    def __init__(self, cropping=((0, 0), (0, 0)), data_format=None, **kwargs):
        super().__init__(cropping, data_format, **kwargs)


class UpSampling1D(Layer):
    """Repeats each step ``size`` times."""

    _prefix = "up_sampling1d"

    def __init__(self, size=2, **kwargs):
        super().__init__(**kwargs)
        self.size = _ints(size, 1, "UpSampling1D: size")[0]

    def _core_specs(self):
        return [{"type": "up_sampling1d", "size": [self.size]}]


class UpSampling2D(Layer):
    """Repeats each row and column ``size`` times (nearest neighbour)."""

    _prefix = "up_sampling2d"

    def __init__(self, size=(2, 2), data_format=None, interpolation="nearest", **kwargs):
        super().__init__(**kwargs)
        self.size = _ints(size, 2, "UpSampling2D: size")
        self.data_format = _channels_last(self, data_format)
        if interpolation != "nearest":
            raise ValueError(f"UpSampling2D: interpolation={interpolation!r} is not supported; "
                             "neurocore upsamples by nearest neighbour ('nearest')")
        self.interpolation = interpolation

    def _core_specs(self):
        return [{"type": "up_sampling2d", "size": list(self.size)}]


_config.register_module(globals())
