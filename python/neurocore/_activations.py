"""Activation names and their parameters, as the C++ core takes them.

Names follow scikit-learn ('identity', 'logistic', 'tanh', 'relu') and Keras
('linear', 'sigmoid', 'hard_sigmoid', 'softsign', 'leaky_relu', 'elu', 'selu',
'softplus', 'softmax', 'gelu', 'swish'/'silu', 'exponential', 'relu6').
'hard_sigmoid' is the Keras 2 definition the texts use, clip(0.2 x + 0.5, 0, 1).
"""

import math

# name -> (core name, default parameters)
_ACTIVATIONS = {
    "identity": ("linear", {}),
    "linear": ("linear", {}),
    "logistic": ("sigmoid", {}),
    "sigmoid": ("sigmoid", {}),
    "tanh": ("tanh", {}),
    "relu": ("relu", {}),
    "relu6": ("relu", {"max_value": 6.0}),
    "leaky_relu": ("relu", {"alpha": 0.2}),  # keras.activations.leaky_relu's default slope
    "elu": ("elu", {"alpha": 1.0}),
    "selu": ("selu", {}),
    "softplus": ("softplus", {}),
    "softsign": ("softsign", {}),
    "hard_sigmoid": ("hard_sigmoid", {}),
    "softmax": ("softmax", {}),
    "gelu": ("gelu", {"approximate": False}),
    "swish": ("swish", {}),
    "silu": ("swish", {}),
    "exponential": ("exponential", {}),
    "exp": ("exponential", {}),
}

ACTIVATION_NAMES = frozenset(_ACTIVATIONS) - {"exp"}


def activation_spec(name, **params):
    """The core's description of activation `name`, with `params` overriding defaults.

    Parameters
    ----------
    name : str
        An activation name (see the module docstring).
    **params
        ``alpha`` (negative slope of relu / leaky_relu, scale of elu's negative
        part), ``max_value`` and ``threshold`` (relu), ``approximate`` (gelu).

    Returns
    -------
    spec : dict
        ``{"activation": core_name, "alpha": ..., "max_value": ..., "threshold": ...,
        "approximate": ...}``.
    """
    if name not in _ACTIVATIONS:
        raise ValueError(
            f"Unknown activation {name!r}; expected one of {sorted(ACTIVATION_NAMES)}."
        )
    core, defaults = _ACTIVATIONS[name]
    merged = {"alpha": 0.0, "max_value": None, "threshold": 0.0, "approximate": False}
    merged.update(defaults)
    merged.update({k: v for k, v in params.items() if v is not None or k == "max_value"})
    if merged["max_value"] is not None and not math.isfinite(merged["max_value"]):
        merged["max_value"] = None
    return {"activation": core, **merged}
