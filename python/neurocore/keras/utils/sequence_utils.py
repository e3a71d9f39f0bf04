"""``pad_sequences`` (Keras's ``keras.utils.pad_sequences``, also at
``keras.preprocessing.sequence``): variable-length sequences to one array."""

import numpy as np


def pad_sequences(sequences, maxlen=None, dtype="int32", padding="pre", truncating="pre", value=0.0):
    """Pad (or truncate) sequences to a common length.

    Parameters
    ----------
    sequences : list of sequences
        Each a list or array of token ids (or of feature vectors).
    maxlen : int, optional
        The length of the result; the longest sequence's by default.
    dtype : str or dtype, default="int32"
        The result's type.
    padding : {"pre", "post"}, default="pre"
        Pad before or after each sequence.
    truncating : {"pre", "post"}, default="pre"
        Drop values from the start or the end of sequences longer than maxlen.
    value : float or str, default=0.0
        The padding value (0 is what ``Embedding(mask_zero=True)`` and
        ``Masking()`` treat as padding).

    Returns
    -------
    x : ndarray of shape (len(sequences), maxlen, ...)
    """
    if not hasattr(sequences, "__len__"):
        raise ValueError("`sequences` must be iterable.")
    lengths, sample_shape, flag = [], (), True
    for x in sequences:
        try:
            lengths.append(len(x))
            if flag and len(x):
                sample_shape = np.asarray(x).shape[1:]
                flag = False
        except TypeError as e:
            raise ValueError(f"`sequences` must be a list of iterables. Found non-iterable: {x!r}") from e
    if maxlen is None:
        maxlen = max(lengths) if lengths else 0
    maxlen = int(maxlen)
    if padding not in ("pre", "post"):
        raise ValueError(f'Padding type "{padding}" not understood')
    if truncating not in ("pre", "post"):
        raise ValueError(f'Truncating type "{truncating}" not understood')
    is_str = np.issubdtype(np.dtype(dtype), np.str_) or np.dtype(dtype) == object
    if isinstance(value, str) and not is_str:
        raise ValueError(f"`dtype` {dtype} is not compatible with `value`'s type: {type(value)}")
    out = np.full((len(sequences), maxlen) + tuple(sample_shape), value, dtype=dtype)
    for i, s in enumerate(sequences):
        if not len(s) or maxlen == 0:
            continue
        trunc = s[-maxlen:] if truncating == "pre" else s[:maxlen]
        trunc = np.asarray(trunc, dtype=dtype)
        if trunc.shape[1:] != tuple(sample_shape):
            raise ValueError(f"Shape of sample {trunc.shape[1:]} of sequence at position {i} is "
                             f"different from expected shape {tuple(sample_shape)}")
        if padding == "post":
            out[i, :len(trunc)] = trunc
        else:
            out[i, -len(trunc):] = trunc
    return out
