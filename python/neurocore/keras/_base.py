"""The base of every layer description (``Layer``, re-exported by
``neurocore.keras.layers``) and what the layers with weights share."""

import itertools

from . import _config, _functional
from . import activations as _acts
from . import constraints as _constraints
from . import initializers as _inits
from . import regularizers as _regs

_counters = {}


def _auto_name(prefix):
    n = _counters.setdefault(prefix, itertools.count())
    i = next(n)
    return prefix if i == 0 else f"{prefix}_{i}"


def _declared_shape(input_dim, input_shape, batch_input_shape=None):
    """The per-sample input shape a layer's arguments declare, as a tuple, or None."""
    if input_dim is not None:
        return (int(input_dim),)
    shape = input_shape if input_shape is not None else (
        batch_input_shape[1:] if batch_input_shape is not None else None)
    if shape is None:
        return None
    if isinstance(shape, int):
        shape = (shape,)
    shape = tuple(shape)
    if not shape or any(d is None or int(d) != d or d < 1 for d in shape):
        raise ValueError(f"input_shape must be a tuple of positive integers, got {shape!r}")
    return tuple(int(d) for d in shape)


def _penalty_specs(spec, regularizers, constraints):
    """spec plus the core options of {which: regularizer} ("<which>_l1",
    "<which>_l2") and {which: constraint} ("<which>_constraint", ...)."""
    for which, reg in regularizers.items():
        if reg is not None:
            spec[f"{which}_l1"], spec[f"{which}_l2"] = reg.l1, reg.l2
    for which, c in constraints.items():
        if c is not None:
            core = c._core()
            spec[f"{which}_constraint"] = core["name"]
            if "max_value" in core:
                spec[f"{which}_constraint_max_value"] = core["max_value"]
    return spec


class Layer:
    """Base class of the layer descriptions."""

    _prefix = "layer"
    _saves_input_shape = True  # InputLayer's shape is its own argument

    def __init__(self, name=None, input_dim=None, input_shape=None, batch_input_shape=None,
                 trainable=True, dtype=None, **kwargs):
        if kwargs:
            raise TypeError(f"{type(self).__name__} got unexpected arguments {sorted(kwargs)}")
        self.name = name or _auto_name(self._prefix)
        self._input_shape = _declared_shape(input_dim, input_shape, batch_input_shape)
        if not trainable:
            raise ValueError("frozen (trainable=False) layers are not supported")

    def __call__(self, inputs):
        """Apply the layer to a symbolic tensor (the functional API): a new tensor.

        Parameters
        ----------
        inputs : KerasTensor
            The output of ``Input(shape)`` or of a layer called on it.

        Returns
        -------
        KerasTensor
        """
        return _functional.call_layer(self, inputs)

    def __getstate__(self):
        # which model holds this layer's newest weights is not part of the layer
        # (a copy, a pickle, an estimator's layer list start on their own)
        state = dict(self.__dict__)
        state.pop("_home", None)
        return state

    # what the C++ core builds from this layer
    def _core_specs(self):
        raise NotImplementedError

    # {variable name: initializer} for this layer's trainable variables
    def _initializers(self):
        return {}

    def get_config(self):
        config = _config.init_config(self)
        config["name"] = self.name
        if self._input_shape is not None and self._saves_input_shape:
            config["input_shape"] = list(self._input_shape)
        return config

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}>"


class _WeightsMixin:
    """What the layers with a kernel and a bias share (Dense, Conv1D, Conv2D):
    the activation, initializers, regularizers and constraints, and their core spec."""

    def _init_weights(self, activation, use_bias, kernel_initializer, bias_initializer,
                      kernel_regularizer, bias_regularizer, activity_regularizer,
                      kernel_constraint, bias_constraint):
        self.activation = activation
        self._act = _acts.get(activation)  # checked now, a clear error at the layer
        self.use_bias = bool(use_bias)
        self.kernel_initializer = _inits.get(kernel_initializer)
        self.bias_initializer = _inits.get(bias_initializer)
        self.kernel_regularizer = _regs.get(kernel_regularizer)
        self.bias_regularizer = _regs.get(bias_regularizer)
        self.activity_regularizer = _regs.get(activity_regularizer)
        self.kernel_constraint = _constraints.get(kernel_constraint)
        self.bias_constraint = _constraints.get(bias_constraint)

    def _weight_specs(self):
        spec = {"use_bias": self.use_bias, **self._act}
        return _penalty_specs(spec, {"kernel": self.kernel_regularizer, "bias": self.bias_regularizer,
                                     "activity": self.activity_regularizer},
                              {"kernel": self.kernel_constraint, "bias": self.bias_constraint})

    def _initializers(self):
        inits = {"kernel": self.kernel_initializer}
        if self.use_bias:
            inits["bias"] = self.bias_initializer
        return inits


_config.register_module(globals())
