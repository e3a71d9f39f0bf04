"""Activations by name (``neurocore.keras.activations``).

Each function computes the activation on a numpy array (for inspection and
tests) and names the C++ kernel the network uses; ``get`` resolves what a
layer's ``activation=`` may be: a name, one of these functions, an
activation layer object such as ``LeakyReLU(0.3)``, or None (linear).
"""

import numpy as np
from scipy.special import erf, expit

from .._activations import activation_spec
from . import _config


def _named(name, fn):
    fn.__name__ = name
    fn._core_name = name
    return fn


def linear(x):
    """Identity, f(x) = x."""
    return np.asarray(x)


def sigmoid(x):
    """Logistic sigmoid, 1 / (1 + exp(-x))."""
    return expit(x)


def hard_sigmoid(x):
    """Keras 2's piecewise-linear sigmoid: clip(0.2 x + 0.5, 0, 1)."""
    return np.clip(0.2 * np.asarray(x) + 0.5, 0.0, 1.0)


def tanh(x):
    """Hyperbolic tangent."""
    return np.tanh(x)


def softsign(x):
    """x / (1 + |x|)."""
    x = np.asarray(x)
    return x / (1.0 + np.abs(x))


def relu(x, negative_slope=0.0, max_value=None, threshold=0.0, alpha=None):
    """Rectified linear unit, Keras's definition.

    x for x > threshold (capped at max_value), negative_slope * (x - threshold)
    otherwise. ``alpha`` is Keras 2's name for ``negative_slope``.
    """
    slope = negative_slope if alpha is None else alpha
    x = np.asarray(x, dtype=float)
    out = np.where(x > threshold, x, slope * (x - threshold))
    if max_value is not None:
        out = np.where(x > threshold, np.minimum(out, max_value), out)
    return out


def leaky_relu(x, negative_slope=0.2):
    """relu with a slope for negative inputs (Keras's function default 0.2)."""
    return relu(x, negative_slope=negative_slope)


def relu6(x):
    """relu capped at 6."""
    return relu(x, max_value=6.0)


def elu(x, alpha=1.0):
    """x for x > 0, alpha * (exp(x) - 1) otherwise."""
    x = np.asarray(x, dtype=float)
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0)))


def selu(x):
    """Scaled ELU with the self-normalising constants."""
    return 1.0507009873554805 * elu(x, 1.6732632423543772)


def softplus(x):
    """log(1 + exp(x))."""
    return np.logaddexp(0.0, x)


def softmax(x, axis=-1):
    """exp(x) normalised to sum 1 along the last axis."""
    x = np.asarray(x, dtype=float)
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def gelu(x, approximate=False):
    """Gaussian error linear unit (exact, or the tanh approximation)."""
    x = np.asarray(x, dtype=float)
    if approximate:
        return 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3)))
    return 0.5 * x * (1 + erf(x / np.sqrt(2)))


def swish(x):
    """x * sigmoid(x) (also called silu)."""
    return np.asarray(x) * expit(x)


silu = swish


def exponential(x):
    """exp(x)."""
    return np.exp(x)


_FUNCTIONS = {
    f.__name__: f
    for f in (linear, sigmoid, hard_sigmoid, tanh, softsign, relu, leaky_relu, relu6, elu,
              selu, softplus, softmax, gelu, swish, exponential)
}
_FUNCTIONS["silu"] = swish


def serialize(activation):
    """The name of an activation function."""
    return getattr(activation, "__name__", str(activation))


def get(identifier):
    """Resolve an activation to the core's spec (a dict).

    Parameters
    ----------
    identifier : str, callable, activation layer or None
        A name ('relu', 'sigmoid', ...), one of this module's functions, an
        activation layer (``LeakyReLU(0.3)``, ``ReLU(max_value=6)``,
        ``ELU(alpha)``, ``Activation('tanh')``), or None for linear.

    Returns
    -------
    spec : dict
    """
    if identifier is None:
        return activation_spec("linear")
    if isinstance(identifier, str):
        return activation_spec(identifier)
    spec = getattr(identifier, "_activation_spec", None)
    if callable(spec):  # an activation layer object
        return spec()
    name = getattr(identifier, "__name__", None)
    if name in _FUNCTIONS and _FUNCTIONS[name] is identifier:
        return activation_spec(name)
    raise ValueError(
        f"Could not interpret activation {identifier!r}: give a name such as 'relu', a "
        "function of neurocore.keras.activations, or an activation layer."
    )


_config.register_module(globals(), classes=False, functions=True)
