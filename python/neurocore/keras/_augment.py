"""Keras 3's image augmentation layers (re-exported by ``neurocore.keras.layers``).

RandomFlip, RandomRotation, RandomTranslation, RandomZoom, RandomContrast and
RandomBrightness take Keras's arguments with Keras's meaning and run in the C++
core (layers/augment.hpp): while training, each image gets its own random
transform, drawn from the fit's one random stream (seeded by the model's or
estimator's ``random_state``; bit-identical at any thread count); at inference
(predict, evaluate, validation, a cross-validation's test fold) they pass images
through unchanged. Images are channels last, (height, width, channels).

``seed`` is accepted for Keras's signature: the draws come from the fit's stream,
so a seeded fit repeats exactly without it.
"""

import math
from numbers import Real

from . import _config
from ._base import Layer
from ._spatial import _channels_last

_FILL_MODES = ("reflect", "wrap", "constant", "nearest")
_INTERPOLATIONS = ("nearest", "bilinear")


def _factor_range(layer, factor, what, bounds=(-1.0, 1.0), single=lambda f: (-abs(f), abs(f)),
                  sort=True):
    """Keras's range for a factor: a number f gives single(f) (by default
    [-|f|, |f|]), a pair its two bounds (sorted, unless sort is False);
    every number given within `bounds`."""
    msg = (f"{type(layer).__name__}: {what} must be a number or a pair of numbers in "
           f"[{bounds[0]:g}, {bounds[1]:g}], got {factor!r}")
    if isinstance(factor, (tuple, list)):
        if len(factor) != 2 or not all(isinstance(f, Real) and not isinstance(f, bool) for f in factor):
            raise ValueError(msg)
        values = [float(f) for f in factor]
    elif isinstance(factor, Real) and not isinstance(factor, bool):
        values = [float(factor)]
    else:
        raise ValueError(msg)
    if not all(bounds[0] <= v <= bounds[1] for v in values):
        raise ValueError(msg)
    if len(values) == 1:
        return tuple(single(values[0]))
    return tuple(sorted(values)) if sort else tuple(values)


class _Augmentation(Layer):
    """What the augmentation layers share: the training-only contract."""

    def __init__(self, seed=None, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self.data_format = _channels_last(self, data_format)

    def _set_value_range(self, value_range):
        """value_range as given (Keras's config) and as two checked floats (_values)."""
        name = type(self).__name__
        try:
            low, high = (float(v) for v in value_range)
        except (TypeError, ValueError):
            raise ValueError(f"{name}: value_range must be a pair of numbers, got {value_range!r}") from None
        if not low < high:
            raise ValueError(f"{name}: value_range must be (low, high) with low < high, got {value_range!r}")
        self.value_range = tuple(value_range)
        self._values = (low, high)


class _Geometric(_Augmentation):
    def _set_fill(self, fill_mode, interpolation, fill_value):
        name = type(self).__name__
        if fill_mode not in _FILL_MODES:
            raise ValueError(f"{name}: fill_mode must be one of {_FILL_MODES}, got {fill_mode!r}")
        if interpolation not in _INTERPOLATIONS:
            raise ValueError(f"{name}: interpolation must be one of {_INTERPOLATIONS}, got {interpolation!r}")
        if not isinstance(fill_value, Real) or isinstance(fill_value, bool) or not math.isfinite(fill_value):
            raise ValueError(f"{name}: fill_value must be a finite number, got {fill_value!r}")
        self.fill_mode, self.interpolation, self.fill_value = fill_mode, interpolation, float(fill_value)

    def _fill_spec(self):
        return {"fill_mode": self.fill_mode, "interpolation": self.interpolation, "fill_value": self.fill_value}


class RandomFlip(_Augmentation):
    """Flips each image with probability 1/2 while training (Keras's RandomFlip).

    Parameters
    ----------
    mode : {'horizontal', 'vertical', 'horizontal_and_vertical'}, default='horizontal_and_vertical'
        Which axes a flipped image is reversed along (both at once for
        'horizontal_and_vertical', as Keras does).
    seed : int, optional
        Accepted for Keras's signature (the fit's stream draws).
    """

    _prefix = "random_flip"

    def __init__(self, mode="horizontal_and_vertical", seed=None, data_format=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        if mode not in ("horizontal", "vertical", "horizontal_and_vertical"):
            raise ValueError(f"RandomFlip: mode must be 'horizontal', 'vertical' or "
                             f"'horizontal_and_vertical', got {mode!r}")
        self.mode = mode

    def _core_specs(self):
        return [{"type": "random_flip", "mode": self.mode}]


class RandomRotation(_Geometric):
    """Rotates each image by a random angle while training (Keras's RandomRotation).

    Parameters
    ----------
    factor : float or (float, float)
        The angle's range as a fraction of 2 pi: f means [-f, f], (a, b) means
        [a, b] (positive: counter-clockwise); within [-1, 1].
    fill_mode : {'reflect', 'wrap', 'constant', 'nearest'}, default='reflect'
        How points outside the image are filled.
    interpolation : {'bilinear', 'nearest'}, default='bilinear'
    seed : int, optional
        Accepted for Keras's signature (the fit's stream draws).
    fill_value : float, default=0.0
        The value outside the image with fill_mode='constant'.
    """

    _prefix = "random_rotation"

    def __init__(self, factor, fill_mode="reflect", interpolation="bilinear", seed=None, fill_value=0.0,
                 data_format=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.factor = factor
        self._lower, self._upper = _factor_range(self, factor, "factor")
        self._set_fill(fill_mode, interpolation, fill_value)

    def _core_specs(self):
        return [{"type": "random_rotation", "angle_lower": self._lower * 2 * math.pi,
                 "angle_upper": self._upper * 2 * math.pi, **self._fill_spec()}]


class RandomTranslation(_Geometric):
    """Shifts each image by a random offset while training (Keras's RandomTranslation).

    Parameters
    ----------
    height_factor, width_factor : float or (float, float)
        The vertical and horizontal shift as a fraction of the height and width:
        f means [-f, f], (a, b) means [a, b] (positive: down, right); within [-1, 1].
    fill_mode : {'reflect', 'wrap', 'constant', 'nearest'}, default='reflect'
    interpolation : {'bilinear', 'nearest'}, default='bilinear'
    seed : int, optional
        Accepted for Keras's signature (the fit's stream draws).
    fill_value : float, default=0.0
    """

    _prefix = "random_translation"

    def __init__(self, height_factor, width_factor, fill_mode="reflect", interpolation="bilinear", seed=None,
                 fill_value=0.0, data_format=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.height_factor, self.width_factor = height_factor, width_factor
        self._height = _factor_range(self, height_factor, "height_factor")
        self._width = _factor_range(self, width_factor, "width_factor")
        self._set_fill(fill_mode, interpolation, fill_value)

    def _core_specs(self):
        return [{"type": "random_translation", "height_lower": self._height[0], "height_upper": self._height[1],
                 "width_lower": self._width[0], "width_upper": self._width[1], **self._fill_spec()}]


class RandomZoom(_Geometric):
    """Zooms each image in or out by a random amount while training (Keras's RandomZoom).

    Parameters
    ----------
    height_factor : float or (float, float)
        The vertical zoom as a fraction: f means [-f, f], (a, b) means [a, b];
        positive zooms out (the image shrinks), negative in; within [-1, 1].
    width_factor : float or (float, float), optional
        The horizontal zoom likewise; None keeps the aspect ratio (the
        vertical zoom for both axes).
    fill_mode : {'reflect', 'wrap', 'constant', 'nearest'}, default='reflect'
    interpolation : {'bilinear', 'nearest'}, default='bilinear'
    seed : int, optional
        Accepted for Keras's signature (the fit's stream draws).
    fill_value : float, default=0.0
    """

    _prefix = "random_zoom"

    def __init__(self, height_factor, width_factor=None, fill_mode="reflect", interpolation="bilinear",
                 seed=None, fill_value=0.0, data_format=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.height_factor, self.width_factor = height_factor, width_factor
        self._height = _factor_range(self, height_factor, "height_factor")
        self._width = None if width_factor is None else _factor_range(self, width_factor, "width_factor")
        self._set_fill(fill_mode, interpolation, fill_value)

    def _core_specs(self):
        spec = {"type": "random_zoom", "height_lower": self._height[0], "height_upper": self._height[1],
                "width_given": self._width is not None, **self._fill_spec()}
        if self._width is not None:
            spec.update(width_lower=self._width[0], width_upper=self._width[1])
        return [spec]


class RandomContrast(_Augmentation):
    """Scales each image's contrast by a random factor while training (Keras's RandomContrast).

    Each channel's pixels move away from (or toward) the channel's mean:
    ``(x - mean) * factor + mean``, clipped to value_range.

    Parameters
    ----------
    factor : float or (float, float)
        f means a factor in [1 - f, 1 + f]; (a, b) means [1 - a, 1 + b]; each in [0, 1].
    value_range : (float, float), default=(0, 255)
        The images' range, which the result is clipped to.
    seed : int, optional
        Accepted for Keras's signature (the fit's stream draws).
    """

    _prefix = "random_contrast"

    def __init__(self, factor, value_range=(0, 255), seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.factor = factor
        # (lower, upper) are the two sides' magnitudes: [1 - lower, 1 + upper]
        self._lower, self._upper = _factor_range(self, factor, "factor", (0.0, 1.0),
                                                 single=lambda f: (f, f), sort=False)
        self._set_value_range(value_range)

    def _core_specs(self):
        return [{"type": "random_contrast", "factor_lower": 1.0 - self._lower, "factor_upper": 1.0 + self._upper,
                 "value_low": self._values[0], "value_high": self._values[1]}]


class RandomBrightness(_Augmentation):
    """Adds a random brightness offset to each image while training (Keras's RandomBrightness).

    Parameters
    ----------
    factor : float or (float, float)
        The offset as a fraction of the value range's width: f means
        [-f, f], (a, b) means [a, b]; within [-1, 1].
    value_range : (float, float), default=(0, 255)
        The images' range: the offset is a fraction of its width, and the
        result is clipped to it.
    seed : int, optional
        Accepted for Keras's signature (the fit's stream draws).
    """

    _prefix = "random_brightness"

    def __init__(self, factor, value_range=(0, 255), seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.factor = factor
        self._lower, self._upper = _factor_range(self, factor, "factor")
        self._set_value_range(value_range)

    def _core_specs(self):
        width = self._values[1] - self._values[0]
        return [{"type": "random_brightness", "delta_lower": self._lower * width, "delta_upper": self._upper * width,
                 "value_low": self._values[0], "value_high": self._values[1]}]


_config.register_module(globals())
