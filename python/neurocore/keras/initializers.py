"""Weight initializers (``neurocore.keras.initializers``), Keras's definitions.

Every initializer draws from the numpy RandomState the fit derives from its
seed, so a fixed seed gives the same weights.
"""

import numpy as np

from . import _config


def _fans(shape):
    """Keras's (fan_in, fan_out): a convolution kernel (..., c_in, c_out) counts
    its receptive field, prod(shape[:-2]), in both."""
    if len(shape) == 1:
        return shape[0], shape[0]
    if len(shape) == 2:
        return shape[0], shape[1]
    field = int(np.prod(shape[:-2]))
    return shape[-2] * field, shape[-1] * field


class Initializer:
    """Base class: ``init(shape, rng)`` returns a float64 array of that shape."""

    def __call__(self, shape, rng=None, dtype=None):
        rng = np.random.mtrand._rand if rng is None else rng
        return self.sample(tuple(shape), rng)

    def get_config(self):
        return _config.init_config(self)

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class Zeros(Initializer):
    """All zeros."""

    def sample(self, shape, rng):
        return np.zeros(shape)


class Ones(Initializer):
    """All ones."""

    def sample(self, shape, rng):
        return np.ones(shape)


class Constant(Initializer):
    """All equal to ``value``."""

    def __init__(self, value=0.0):
        self.value = value

    def sample(self, shape, rng):
        return np.full(shape, float(self.value))


class RandomNormal(Initializer):
    """Normal with mean and stddev (Keras default 0.05)."""

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        self.mean, self.stddev, self.seed = mean, stddev, seed

    def sample(self, shape, rng):
        return rng.normal(self.mean, self.stddev, shape)


class RandomUniform(Initializer):
    """Uniform on [minval, maxval) (Keras default +-0.05)."""

    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        self.minval, self.maxval, self.seed = minval, maxval, seed

    def sample(self, shape, rng):
        return rng.uniform(self.minval, self.maxval, shape)


def _truncated_normal(rng, mean, stddev, shape):
    """Normal draws, redrawn where more than two standard deviations out."""
    out = rng.normal(0.0, 1.0, shape)
    bad = np.abs(out) > 2
    while bad.any():
        out[bad] = rng.normal(0.0, 1.0, bad.sum())
        bad = np.abs(out) > 2
    return mean + stddev * out


class TruncatedNormal(Initializer):
    """Normal with mean and stddev, truncated at two standard deviations."""

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        self.mean, self.stddev, self.seed = mean, stddev, seed

    def sample(self, shape, rng):
        return _truncated_normal(rng, self.mean, self.stddev, shape)


class VarianceScaling(Initializer):
    """Keras's VarianceScaling: variance scale / fan (fan_in, fan_out or fan_avg).

    'truncated_normal' divides the stddev by 0.87962566103423978 so that the
    truncated distribution has the intended variance; 'uniform' uses the
    limit sqrt(3 * scale / fan).
    """

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal", seed=None):
        if mode not in ("fan_in", "fan_out", "fan_avg"):
            raise ValueError(f"mode must be fan_in, fan_out or fan_avg, got {mode!r}")
        if distribution not in ("truncated_normal", "untruncated_normal", "uniform"):
            raise ValueError(f"unknown distribution {distribution!r}")
        self.scale, self.mode, self.distribution, self.seed = scale, mode, distribution, seed

    def sample(self, shape, rng):
        fan_in, fan_out = _fans(shape)
        fan = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[self.mode]
        scale = self.scale / max(1.0, fan)
        if self.distribution == "truncated_normal":
            return _truncated_normal(rng, 0.0, np.sqrt(scale) / 0.87962566103423978, shape)
        if self.distribution == "untruncated_normal":
            return rng.normal(0.0, np.sqrt(scale), shape)
        limit = np.sqrt(3.0 * scale)
        return rng.uniform(-limit, limit, shape)


class GlorotNormal(VarianceScaling):
    """Xavier normal: truncated normal, variance 2 / (fan_in + fan_out); suits sigmoid and tanh."""

    def __init__(self, seed=None):
        super().__init__(1.0, "fan_avg", "truncated_normal", seed)


class GlorotUniform(VarianceScaling):
    """Xavier uniform: limit sqrt(6 / (fan_in + fan_out)); Keras's default for kernels."""

    def __init__(self, seed=None):
        super().__init__(1.0, "fan_avg", "uniform", seed)


class HeNormal(VarianceScaling):
    """He normal: truncated normal, variance 2 / fan_in; suits ReLU."""

    def __init__(self, seed=None):
        super().__init__(2.0, "fan_in", "truncated_normal", seed)


class HeUniform(VarianceScaling):
    """He uniform: limit sqrt(6 / fan_in)."""

    def __init__(self, seed=None):
        super().__init__(2.0, "fan_in", "uniform", seed)


class LecunNormal(VarianceScaling):
    """LeCun normal: truncated normal, variance 1 / fan_in; suits SELU."""

    def __init__(self, seed=None):
        super().__init__(1.0, "fan_in", "truncated_normal", seed)


class LecunUniform(VarianceScaling):
    """LeCun uniform: limit sqrt(3 / fan_in)."""

    def __init__(self, seed=None):
        super().__init__(1.0, "fan_in", "uniform", seed)


class Orthogonal(Initializer):
    """A (semi-)orthogonal matrix times gain, from the QR decomposition of a normal draw."""

    def __init__(self, gain=1.0, seed=None):
        self.gain, self.seed = gain, seed

    def sample(self, shape, rng):
        if len(shape) < 2:
            raise ValueError("the orthogonal initializer needs a matrix shape")
        rows, cols = shape[0], int(np.prod(shape[1:]))
        a = rng.normal(0.0, 1.0, (max(rows, cols), min(rows, cols)))
        q, r = np.linalg.qr(a)
        q *= np.sign(np.diag(r))
        if rows < cols:
            q = q.T
        return self.gain * q[:rows, :cols].reshape(shape)


zeros, ones, constant = Zeros, Ones, Constant
random_normal, random_uniform, truncated_normal = RandomNormal, RandomUniform, TruncatedNormal
glorot_normal, glorot_uniform = GlorotNormal, GlorotUniform
he_normal, he_uniform = HeNormal, HeUniform
lecun_normal, lecun_uniform = LecunNormal, LecunUniform
orthogonal = Orthogonal
variance_scaling = VarianceScaling

_BY_NAME = {
    "zeros": Zeros, "ones": Ones, "constant": Constant, "random_normal": RandomNormal,
    "random_uniform": RandomUniform, "truncated_normal": TruncatedNormal,
    "uniform": RandomUniform, "normal": RandomNormal,  # Keras's aliases (Embedding's default)
    "glorot_normal": GlorotNormal, "glorot_uniform": GlorotUniform, "he_normal": HeNormal,
    "he_uniform": HeUniform, "lecun_normal": LecunNormal, "lecun_uniform": LecunUniform,
    "orthogonal": Orthogonal, "variance_scaling": VarianceScaling,
}


def get(identifier):
    """An initializer object from a name, a class or an instance."""
    if isinstance(identifier, Initializer):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, Initializer):
        return identifier()
    if isinstance(identifier, str) and identifier.lower() in _BY_NAME:
        return _BY_NAME[identifier.lower()]()
    if isinstance(identifier, str):
        # CamelCase class names
        for cls in _BY_NAME.values():
            if cls.__name__ == identifier:
                return cls()
    raise ValueError(f"Unknown initializer {identifier!r}; expected one of {sorted(_BY_NAME)}.")


_config.register_module(globals())
