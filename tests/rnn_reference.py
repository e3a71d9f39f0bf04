"""Keras's recurrent layers as plain numpy step loops: the references of the
recurrent tests (Keras 3's definitions: keras/src/layers/rnn/*.py and the
numpy backend's rnn loop, masking included)."""

import numpy as np
from scipy.special import expit


def _act(name):
    return {"tanh": np.tanh, "sigmoid": expit, "linear": lambda v: v, "relu": lambda v: np.maximum(v, 0),
            "hard_sigmoid": lambda v: np.clip(0.2 * v + 0.5, 0, 1)}[name]


def rnn(cell, x, kernel, recurrent, bias, units, activation="tanh", recurrent_activation="sigmoid",
        reset_after=True, return_sequences=False, go_backwards=False, mask=None):
    """The layer's output for x (n, t, f); mask (n, t) of 0/1 or None."""
    act, ract = _act(activation), _act(recurrent_activation)
    n, steps, _ = x.shape
    u = units
    h = np.zeros((n, u))
    c = np.zeros((n, u))
    outs = []
    order = range(steps - 1, -1, -1) if go_backwards else range(steps)
    for t in order:
        xt = x[:, t]
        if cell == "simple_rnn":
            z = xt @ kernel + h @ recurrent + (bias if bias is not None else 0)
            h_new, c_new = act(z), c
        elif cell == "lstm":
            z = xt @ kernel + h @ recurrent + (bias if bias is not None else 0)
            i, f_, g, o = (z[:, k * u:(k + 1) * u] for k in range(4))
            c_new = ract(f_) * c + ract(i) * act(g)
            h_new = ract(o) * act(c_new)
        else:  # gru
            if bias is None:
                b_in, b_rec = np.zeros(3 * u), np.zeros(3 * u)
            elif reset_after:
                b_in, b_rec = bias[0], bias[1]
            else:
                b_in, b_rec = bias, np.zeros(3 * u)
            mx = xt @ kernel + b_in
            if reset_after:
                mi = h @ recurrent + b_rec
                zg = ract(mx[:, :u] + mi[:, :u])
                rg = ract(mx[:, u:2 * u] + mi[:, u:2 * u])
                hh = act(mx[:, 2 * u:] + rg * mi[:, 2 * u:])
            else:
                mi = h @ recurrent[:, :2 * u]
                zg = ract(mx[:, :u] + mi[:, :u])
                rg = ract(mx[:, u:2 * u] + mi[:, u:])
                hh = act(mx[:, 2 * u:] + (rg * h) @ recurrent[:, 2 * u:])
            h_new, c_new = zg * h + (1 - zg) * hh, c
        if mask is not None:
            keep = mask[:, t:t + 1].astype(bool)
            h_new = np.where(keep, h_new, h)
            c_new = np.where(keep, c_new, c)
        h, c = h_new, c_new
        outs.append(h)
    return np.stack(outs, axis=1) if return_sequences else h


def bidirectional(cell, x, fw, bw, units, merge_mode="concat", return_sequences=False, mask=None, **kw):
    """fw, bw: (kernel, recurrent, bias) of each direction."""
    a = rnn(cell, x, *fw, units, return_sequences=return_sequences, mask=mask, **kw)
    b = rnn(cell, x, *bw, units, return_sequences=return_sequences, go_backwards=True, mask=mask, **kw)
    if return_sequences:
        b = b[:, ::-1]
    return {"concat": lambda: np.concatenate([a, b], axis=-1), "sum": lambda: a + b,
            "mul": lambda: a * b, "ave": lambda: (a + b) / 2}[merge_mode]()
