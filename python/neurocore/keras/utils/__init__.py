"""Utilities (``neurocore.keras.utils``)."""

import numpy as np

from . import np_utils  # noqa: F401  (keras.utils.np_utils, as Keras 2 spelled it)
from .np_utils import normalize, to_categorical  # noqa: F401
from .sequence_utils import pad_sequences  # noqa: F401


def set_random_seed(seed):
    """Seed numpy's global generator, from which models draw their seeds."""
    np.random.seed(seed)


__all__ = ["to_categorical", "normalize", "pad_sequences", "set_random_seed", "np_utils"]
