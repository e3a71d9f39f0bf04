"""``neurocore.keras.preprocessing``: Keras 2's module path of ``sequence.pad_sequences``."""

from . import sequence  # noqa: F401

__all__ = ["sequence"]
