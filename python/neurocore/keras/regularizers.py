"""Weight and activity regularizers (``neurocore.keras.regularizers``).

A regularizer adds ``l1 * sum|w| + l2 * sum w^2`` to the loss (Keras).
"""

import numpy as np

from . import _config


class Regularizer:
    """Base class."""

    l1 = 0.0
    l2 = 0.0

    def __call__(self, x):
        x = np.asarray(x)
        return self.l1 * np.abs(x).sum() + self.l2 * np.square(x).sum()

    def get_config(self):
        return _config.init_config(self)

    def __repr__(self):
        return f"{type(self).__name__}(l1={self.l1}, l2={self.l2})"


class L1L2(Regularizer):
    """Both penalties."""

    def __init__(self, l1=0.0, l2=0.0):
        self.l1, self.l2 = float(l1), float(l2)


class L1(Regularizer):
    """l1 * sum|w|: drives weights to exactly zero (sparsity)."""

    def __init__(self, l1=0.01, l=None):
        self.l1, self.l2 = float(l1 if l is None else l), 0.0


class L2(Regularizer):
    """l2 * sum w^2 (weight decay)."""

    def __init__(self, l2=0.01, l=None):
        self.l1, self.l2 = 0.0, float(l2 if l is None else l)


def l1(l1=0.01):
    """An L1 regularizer (Keras 2's function)."""
    return L1(l1)


def l2(l2=0.01):
    """An L2 regularizer (Keras 2's function)."""
    return L2(l2)


def l1_l2(l1=0.01, l2=0.01):
    """L1 and L2 together (Keras 2's function)."""
    return L1L2(l1, l2)


def get(identifier):
    """A regularizer from an instance, a name ('l1', 'l2', 'l1_l2') or None."""
    if identifier is None or isinstance(identifier, Regularizer):
        return identifier
    if isinstance(identifier, str) and identifier in ("l1", "l2", "l1_l2"):
        return {"l1": L1, "l2": L2, "l1_l2": lambda: L1L2(0.01, 0.01)}[identifier]()
    raise ValueError(f"Could not interpret regularizer {identifier!r}.")


_config.register_module(globals())
