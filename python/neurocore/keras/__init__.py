"""``neurocore.keras``: the Keras API of the texts, trained in neurocore's C++ core.

Module paths follow Keras (``models``, ``layers``, ``optimizers``, ``losses``,
``callbacks``, ``regularizers``, ``initializers``, ``activations``,
``constraints``, ``utils``), so Keras code runs with its imports changed::

    from neurocore.keras.models import Sequential
    from neurocore.keras.layers import Dense
    from neurocore.keras.utils import np_utils
"""

from . import (  # noqa: F401
    activations,
    callbacks,
    constraints,
    initializers,
    layers,
    losses,
    metrics,
    models,
    optimizers,
    preprocessing,
    regularizers,
    utils,
)
from .layers import Input  # noqa: F401
from .models import Model, Sequential, load_model  # noqa: F401

__all__ = [
    "activations", "callbacks", "constraints", "initializers", "layers", "losses", "metrics", "models",
    "optimizers", "preprocessing", "regularizers", "utils", "Input", "Model", "Sequential", "load_model",
]
