"""Weight constraints (``neurocore.keras.constraints``), applied after every update.

Norms are taken over axis 0 of a Dense kernel: each unit's incoming weights.
"""

import numpy as np

from . import _config


class Constraint:
    """Base class: ``c(w)`` returns the constrained weights (numpy)."""

    _core_name = ""

    def _core(self):
        return {"name": self._core_name}

    def get_config(self):
        return _config.init_config(self)

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


def _check_axis(axis):
    if axis != 0:
        raise ValueError("neurocore's constraints act on axis 0 (each unit's incoming weights)")


class MaxNorm(Constraint):
    """Rescales each unit's incoming weights to norm at most max_value (the L-infinity idea)."""

    _core_name = "max_norm"

    def __init__(self, max_value=2.0, axis=0):
        _check_axis(axis)
        self.max_value, self.axis = float(max_value), axis

    def _core(self):
        return {"name": self._core_name, "max_value": self.max_value}

    def __call__(self, w):
        w = np.asarray(w, dtype=float)
        norms = np.sqrt(np.sum(w**2, axis=0, keepdims=True))
        return w * (np.clip(norms, 0, self.max_value) / (1e-7 + norms))


class NonNeg(Constraint):
    """Zeroes negative weights."""

    _core_name = "non_neg"

    def __call__(self, w):
        w = np.asarray(w, dtype=float)
        return w * (w >= 0)


class UnitNorm(Constraint):
    """Rescales each unit's incoming weights to norm 1."""

    _core_name = "unit_norm"

    def __init__(self, axis=0):
        _check_axis(axis)
        self.axis = axis

    def __call__(self, w):
        w = np.asarray(w, dtype=float)
        return w / (1e-7 + np.sqrt(np.sum(w**2, axis=0, keepdims=True)))


max_norm, non_neg, unit_norm = MaxNorm, NonNeg, UnitNorm


def get(identifier):
    """A constraint from an instance, a name or None."""
    if identifier is None or isinstance(identifier, Constraint):
        return identifier
    names = {"max_norm": MaxNorm, "maxnorm": MaxNorm, "non_neg": NonNeg, "nonneg": NonNeg,
             "unit_norm": UnitNorm, "unitnorm": UnitNorm}
    if isinstance(identifier, str) and identifier.lower() in names:
        return names[identifier.lower()]()
    raise ValueError(f"Could not interpret constraint {identifier!r}.")


_config.register_module(globals())
