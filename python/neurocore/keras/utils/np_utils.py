"""``keras.utils.np_utils`` as Keras 2 spelled it: to_categorical, normalize."""

import numpy as np


def to_categorical(y, num_classes=None, dtype="float32"):
    """One-hot encode integer class labels 0..K-1 into an N x K indicator matrix.

    Parameters
    ----------
    y : array-like of int
        Class labels.
    num_classes : int, optional
        K; by default max(y) + 1.
    dtype : str, default='float32'

    Returns
    -------
    Y : ndarray of shape (n_samples, num_classes)
    """
    y = np.asarray(y)
    if y.ndim > 1 and y.shape[-1] == 1:
        y = y.reshape(y.shape[:-1])
    if y.size and (np.any(y != np.round(y)) or y.min() < 0):
        raise ValueError("to_categorical needs non-negative integer labels")
    y = y.astype(np.int64)
    if num_classes is None:
        num_classes = int(y.max()) + 1 if y.size else 0
    if y.size and y.max() >= num_classes:
        raise ValueError(f"label {y.max()} is out of range for num_classes={num_classes}")
    out = np.zeros((y.size, num_classes), dtype=dtype)
    out[np.arange(y.size), y.ravel()] = 1
    return out.reshape(y.shape + (num_classes,))


def normalize(x, axis=-1, order=2):
    """Scale x to unit L-order norm along axis."""
    x = np.asarray(x, dtype=float)
    n = np.linalg.norm(x, ord=order, axis=axis, keepdims=True)
    return x / np.where(n == 0, 1, n)
