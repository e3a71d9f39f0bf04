"""ONNX export: every neurocore model as an ONNX graph that ONNX Runtime runs.

``to_onnx(model)`` writes the network the C++ core runs at inference, layer
by layer from the core's own layer descriptions and weights (so every model
type, estimator or Keras facade, shares one converter per layer type), then
the model's head: labels and probabilities for a classifier (skl2onnx's
conventions, ZipMap included), the predictions for a regressor, the code for
a transformer. Dropout, noise and augmentation are the identity at inference
and emit nothing; batch normalization uses its moving statistics. Recurrent
layers run as ONNX ``Scan`` loops over the core's cell equations, so every
activation, ``go_backwards``, ``Bidirectional`` and Keras masking (a masked
step keeps the state) export exactly.

The graph computes in float32 (opset 17 by default, the IR version the
opset needs). When skl2onnx is installed, importing it registers converters
for neurocore's estimators, so ``skl2onnx.to_onnx(pipeline, X)`` exports a
scikit-learn pipeline that holds them (``register_skl2onnx``).

This module imports nothing from the estimators: each model describes its
head through ``_onnx_export()`` (a dict: the engine Network and what the
model's predict returns).
"""

import importlib.abc
import importlib.metadata
import importlib.util
import sys
import warnings

import numpy as np
from . import _persist

_FLOAT = 1  # onnx.TensorProto.FLOAT, without importing onnx to say it
_INT64 = 7
_STRING = 8
_BOOL = 9
_DEFAULT_OPSET = 17


def _onnx():
    try:
        import onnx
    except ImportError:  # pragma: no cover - the extra is documented
        raise ImportError("ONNX export needs the onnx package: pip install 'neurocore[onnx]'") from None
    return onnx


# ---------------------------------------------------------------------------
# the graph under construction

class _Graph:
    """Nodes and initializers with unique names (``prefix`` + a counter), which
    become a standalone ModelProto or go into skl2onnx's container."""

    def __init__(self, prefix="", opset=_DEFAULT_OPSET):
        self.prefix, self.opset = prefix, opset
        self.nodes, self.inits, self._n = [], [], 0
        self.uses_ml = False

    def name(self, hint):
        self._n += 1
        return f"{self.prefix}{hint}_{self._n}"

    def const(self, value, hint="c", dtype=np.float32):
        a = np.asarray(value, dtype=dtype) if dtype is not None else np.asarray(value)
        n = self.name(hint)
        self.inits.append((n, a))
        return n

    def ints(self, values, hint="i"):
        return self.const(np.asarray(values, np.int64), hint, np.int64)

    def op(self, op_type, inputs, n_out=1, domain="", hint=None, out=None, **attrs):
        outs = [out] if out is not None else [self.name(hint or op_type.lower()) for _ in range(n_out)]
        self.nodes.append((op_type, list(inputs), outs, attrs, domain))
        if domain == "ai.onnx.ml":
            self.uses_ml = True
        return outs[0] if n_out == 1 else outs

    def output(self, name, new):
        """`name`'s value as the graph output `new`."""
        if name != new:
            self.nodes.append(("Identity", [name], [new], {}, ""))

    def reduce(self, op_type, x, axes, keepdims):
        """ReduceMax / ReduceMean / ReduceMin over axes (an attribute before
        opset 18, an input from it)."""
        if self.opset >= 18:
            return self.op(op_type, [x, self.ints(axes, "axes")], keepdims=keepdims)
        return self.op(op_type, [x], axes=list(axes), keepdims=keepdims)

    def graph_proto(self, name, inputs, outputs):
        """A GraphProto of the nodes (a Scan body: initializers inside, outer
        names readable)."""
        onnx = _onnx()
        nodes = [onnx.helper.make_node(t, i, o, domain=d or None, **a) for t, i, o, a, d in self.nodes]
        inits = [onnx.numpy_helper.from_array(a, n) for n, a in self.inits]
        return onnx.helper.make_graph(nodes, name, inputs, outputs, inits)


def _value_info(name, elem, shape):
    onnx = _onnx()
    return onnx.helper.make_tensor_value_info(name, elem, shape)


# ---------------------------------------------------------------------------
# activations (the core's act_forward, kernels/activations.hpp)

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def _activation(g, x, spec):
    kind = spec.get("activation", "linear")
    alpha = float(spec.get("alpha") or 0.0)
    if kind in ("linear", "identity"):
        return x
    if kind in ("logistic", "sigmoid"):
        return g.op("Sigmoid", [x])
    if kind == "tanh":
        return g.op("Tanh", [x])
    if kind == "relu":
        threshold = float(spec.get("threshold", 0.0))
        max_value = np.inf if spec.get("max_value") is None else float(spec["max_value"])
        if alpha == 0.0 and threshold == 0.0 and np.isinf(max_value):
            return g.op("Relu", [x])
        # x > threshold: min(x, max_value); else alpha * (x - threshold)
        t = g.const(threshold, "threshold")
        above = g.op("Min", [x, g.const(max_value, "max_value")]) if np.isfinite(max_value) else x
        below = g.op("Mul", [g.op("Sub", [x, t]), g.const(alpha, "alpha")])
        return g.op("Where", [g.op("Greater", [x, t]), above, below])
    if kind == "softmax":
        return g.op("Softmax", [x], axis=-1)
    if kind in ("exp", "exponential"):
        return g.op("Exp", [x])
    if kind == "hard_sigmoid":
        return g.op("HardSigmoid", [x], alpha=0.2, beta=0.5)
    if kind == "softsign":
        return g.op("Softsign", [x])
    if kind == "elu":
        return g.op("Elu", [x], alpha=alpha)
    if kind == "selu":
        return g.op("Selu", [x], alpha=_SELU_ALPHA, gamma=_SELU_SCALE)
    if kind == "softplus":
        # max(x, 0) + log1p(exp(-|x|)): no overflow for large x (ONNX's
        # Softplus is log(exp(x) + 1))
        e = g.op("Exp", [g.op("Neg", [g.op("Abs", [x])])])
        return g.op("Add", [g.op("Relu", [x]), g.op("Log", [g.op("Add", [e, g.const(1.0, "one")])])])
    if kind == "gelu":
        half = g.const(0.5, "half")
        one = g.const(1.0, "one")
        if spec.get("approximate", False):
            cube = g.op("Mul", [g.op("Mul", [x, x]), x])
            inner = g.op("Add", [x, g.op("Mul", [cube, g.const(0.044715, "gelu_cubic")])])
            u = g.op("Mul", [inner, g.const(0.7978845608028654, "sqrt_2_over_pi")])
            t = g.op("Tanh", [u])
        else:
            t = g.op("Erf", [g.op("Mul", [x, g.const(0.7071067811865476, "inv_sqrt2")])])
        return g.op("Mul", [g.op("Mul", [x, half]), g.op("Add", [t, one])])
    if kind in ("swish", "silu"):
        return g.op("Mul", [x, g.op("Sigmoid", [x])])
    raise ValueError(f"activation {kind!r} cannot be exported to ONNX")


# ---------------------------------------------------------------------------
# layers: one converter per core layer type

def _to_channels_first(g, x, rank):
    return g.op("Transpose", [x], perm=[0, 2, 1] if rank == 1 else [0, 3, 1, 2])


def _to_channels_last(g, x, rank):
    return g.op("Transpose", [x], perm=[0, 2, 1] if rank == 1 else [0, 2, 3, 1])


def _spatial(shape):
    """(rank, spatial dims) of a channels-last per-sample shape."""
    return len(shape) - 1, tuple(shape[:-1])


def _per_axis(value, rank, fallback):
    if value is None:
        return [fallback] * rank
    v = [int(value)] if np.isscalar(value) else [int(d) for d in value]
    return v * rank if len(v) == 1 else v


def _window_pads(spec, in_dims, out_dims, kernel, strides, dilations):
    """ONNX pads (begins, then ends) of the core's padding rule (layers/conv.hpp)."""
    padding = spec.get("padding", "valid")
    begins, ends = [], []
    for n, o, k, s, d in zip(in_dims, out_dims, kernel, strides, dilations):
        span = d * (k - 1) + 1
        if padding == "valid":
            before = 0
        elif padding == "same":
            before = max(0, (o - 1) * s + span - n) // 2
        else:  # causal
            before = span - 1
        after = max(0, (o - 1) * s + span - n - before)
        begins.append(before)
        ends.append(after)
    return begins + ends


def _dense(g, spec, x, w, shapes):
    if len(shapes[0]) == 1 and "bias" in w:  # rows of features: one Gemm
        y = g.op("Gemm", [x, g.const(w["kernel"], "kernel"), g.const(w["bias"], "bias")])
        return _activation(g, y, spec)
    y = g.op("MatMul", [x, g.const(w["kernel"], "kernel")])  # per step of a sequence too
    if "bias" in w:
        y = g.op("Add", [y, g.const(w["bias"], "bias")])
    return _activation(g, y, spec)


def _conv(g, spec, x, w, shapes):
    rank, in_dims = _spatial(shapes[0])
    _, out_dims = _spatial(shapes[1])
    kernel = np.asarray(w["kernel"])  # (k..., c_in / groups, filters)
    k = list(kernel.shape[:rank])
    strides = _per_axis(spec.get("strides"), rank, 1)
    dilations = _per_axis(spec.get("dilation_rate"), rank, 1)
    pads = _window_pads(spec, in_dims, out_dims, k, strides, dilations)
    weight = np.transpose(kernel, (rank + 1, rank) + tuple(range(rank)))  # (filters, c_in / g, k...)
    inputs = [_to_channels_first(g, x, rank), g.const(weight, "kernel")]
    if "bias" in w:
        inputs.append(g.const(w["bias"], "bias"))
    y = g.op("Conv", inputs, kernel_shape=k, strides=strides, dilations=dilations, pads=pads,
             group=int(spec.get("groups", 1)))
    return _activation(g, _to_channels_last(g, y, rank), spec)


def _pooling(g, spec, x, w, shapes, is_max):
    rank, in_dims = _spatial(shapes[0])
    _, out_dims = _spatial(shapes[1])
    k = _per_axis(spec.get("pool_size"), rank, 2)
    strides = [s or kk for s, kk in zip(_per_axis(spec.get("strides"), rank, 0), k)]
    pads = _window_pads(spec, in_dims, out_dims, k, strides, [1] * rank)
    xc = _to_channels_first(g, x, rank)
    if is_max:
        y = g.op("MaxPool", [xc], kernel_shape=k, strides=strides, pads=pads)
    else:  # the padded taps are not counted (Keras's 'same' average)
        y = g.op("AveragePool", [xc], kernel_shape=k, strides=strides, pads=pads, count_include_pad=0)
    return _to_channels_last(g, y, rank)


def _global_pooling(g, spec, x, w, shapes, is_max):
    rank, _ = _spatial(shapes[0])
    axes = list(range(1, rank + 1))
    return g.reduce("ReduceMax" if is_max else "ReduceMean", x, axes, int(bool(spec.get("keepdims", False))))


def _pixel_map(g, spec, x, w, shapes, kind):
    rank, _ = _spatial(shapes[0])
    if kind == "up":
        size = _per_axis(spec.get("size"), rank, 2)
        scales = g.const([1.0] + [float(s) for s in size] + [1.0], "scales")
        return g.op("Resize", [x, "", scales], mode="nearest", coordinate_transformation_mode="asymmetric",
                    nearest_mode="floor")
    amounts = [int(a) for a in spec.get("padding" if kind == "pad" else "cropping")]
    befores, afters = amounts[0::2], amounts[1::2]  # (before, after) per spatial axis
    if kind == "pad":
        pads = g.ints([0] + befores + [0] + [0] + afters + [0], "pads")
        return g.op("Pad", [x, pads], mode="constant")
    dims = shapes[0][:-1]
    ends = [n - a for n, a in zip(dims, afters)]
    return g.op("Slice", [x, g.ints(befores, "starts"), g.ints(ends, "ends"),
                          g.ints(list(range(1, rank + 1)), "axes")])


def _batch_norm(g, spec, x, w, shapes):
    mean = np.asarray(w["moving_mean"], np.float64)
    var = np.asarray(w["moving_variance"], np.float64)
    gamma = np.asarray(w.get("gamma", np.ones_like(mean)), np.float64)
    beta = np.asarray(w.get("beta", np.zeros_like(mean)), np.float64)
    scale = gamma / np.sqrt(var + float(spec.get("epsilon", 1e-3)))
    y = g.op("Mul", [g.op("Sub", [x, g.const(mean, "moving_mean")]), g.const(scale, "scale")])
    return g.op("Add", [y, g.const(beta, "beta")])


def _layer_norm(g, spec, x, w, shapes):
    width = shapes[0][-1]
    gamma = w.get("gamma", np.ones(width))
    beta = w.get("beta", np.zeros(width))
    return g.op("LayerNormalization", [x, g.const(gamma, "gamma"), g.const(beta, "beta")], axis=-1,
                epsilon=float(spec.get("epsilon", 1e-3)))


def _reshape(g, spec, x, w, shapes):
    return g.op("Reshape", [x, g.ints([-1] + list(shapes[1]), "shape")])


def _embedding(g, spec, x, w, shapes, state):
    ids = g.op("Cast", [x], to=_INT64)
    if spec.get("mask_zero", False):
        state["mask"] = g.op("Unsqueeze", [g.op("Not", [g.op("Equal", [ids, g.ints(0, "zero")])]),
                                           g.ints([-1], "axis")])
    return g.op("Gather", [g.const(w["embeddings"], "embeddings"), ids], axis=0)


def _masking(g, spec, x, w, shapes, state):
    same = g.op("Equal", [x, g.const(float(spec.get("mask_value", 0.0)), "mask_value")])
    kept = g.op("Not", [g.op("Cast", [g.reduce("ReduceMin", g.op("Cast", [same], to=_FLOAT), [-1], 1)],
                                 to=_BOOL)])
    state["mask"] = kept  # (n, steps, 1): some feature differs from mask_value
    return g.op("Mul", [x, g.op("Cast", [kept], to=_FLOAT)])


def _recurrent_options(spec):
    cell = spec["type"] if spec["type"] != "bidirectional" else spec["layer"]
    return cell, {"activation": spec.get("activation", "tanh")}, {
        "activation": spec.get("recurrent_activation", "sigmoid")}


def _cell_pass(g, spec, x, w, prefix, go_backwards, mask):
    """One direction of a recurrent layer over x (n, steps, features): a Scan
    over the steps of the core's cell (layers/rnn_core.hpp). Returns (the
    outputs in processing order (n, steps, units), the last state (n, units))."""
    onnx = _onnx()
    cell, act, ract = _recurrent_options(spec)
    units = int(spec["units"])
    kernel = np.asarray(w[prefix + "kernel"])
    rec = np.asarray(w[prefix + "recurrent_kernel"])
    bias = w.get(prefix + "bias")
    reset_after = cell == "gru" and bool(spec.get("reset_after", True))
    gates = {"lstm": 4, "gru": 3, "simple_rnn": 1}[cell]
    gu = gates * units
    b_in = b_rec = None
    if bias is not None:
        bias = np.asarray(bias)
        b_in, b_rec = (bias[0], bias[1]) if reset_after else (bias, None)
    z = g.op("MatMul", [x, g.const(kernel, "kernel")])
    if b_in is not None:
        z = g.op("Add", [z, g.const(b_in, "bias")])

    # the zero initial state (n, units)
    n = g.op("Slice", [g.op("Shape", [x]), g.ints([0], "s0"), g.ints([1], "s1")])
    state_shape = g.op("Concat", [n, g.ints([units], "units")], axis=0)
    zero = onnx.helper.make_tensor("zero", _FLOAT, [1], [0.0])
    h0 = g.op("ConstantOfShape", [state_shape], value=zero)

    b = _Graph(prefix=g.name("body") + "_", opset=g.opset)
    h, zt = b.name("h"), b.name("z_t")
    c = b.name("c") if cell == "lstm" else None
    mt = b.name("m_t") if mask is not None else None
    R = g.const(rec, "recurrent_kernel")  # read from the outer scope
    if cell == "lstm":
        zz = b.op("Add", [zt, b.op("MatMul", [h, R])])
        i, f, cc, o = b.op("Split", [zz, b.ints([units] * 4, "split")], n_out=4, axis=1)
        c_new = b.op("Add", [b.op("Mul", [_activation(b, f, ract), c]),
                             b.op("Mul", [_activation(b, i, ract), _activation(b, cc, act)])])
        h_new = b.op("Mul", [_activation(b, o, ract), _activation(b, c_new, act)])
    elif cell == "gru":
        xz, xr, xh = b.op("Split", [zt, b.ints([units] * 3, "split")], n_out=3, axis=1)
        if reset_after:
            hr_all = b.op("MatMul", [h, R])
            if b_rec is not None:
                hr_all = b.op("Add", [hr_all, g.const(b_rec, "recurrent_bias")])
            hz, hr, hh = b.op("Split", [hr_all, b.ints([units] * 3, "split")], n_out=3, axis=1)
            zg = _activation(b, b.op("Add", [xz, hz]), ract)
            r = _activation(b, b.op("Add", [xr, hr]), ract)
            cand = _activation(b, b.op("Add", [xh, b.op("Mul", [r, hh])]), act)
        else:
            hzr = b.op("MatMul", [h, g.const(rec[:, :2 * units], "recurrent_kernel_zr")])
            hz, hr = b.op("Split", [hzr, b.ints([units] * 2, "split")], n_out=2, axis=1)
            zg = _activation(b, b.op("Add", [xz, hz]), ract)
            r = _activation(b, b.op("Add", [xr, hr]), ract)
            rh = b.op("MatMul", [b.op("Mul", [r, h]), g.const(rec[:, 2 * units:], "recurrent_kernel_h")])
            cand = _activation(b, b.op("Add", [xh, rh]), act)
        # h = z h_prev + (1 - z) candidate
        h_new = b.op("Add", [b.op("Mul", [zg, h]),
                             b.op("Mul", [b.op("Sub", [b.const(1.0, "one"), zg]), cand])])
        c_new = None
    else:
        h_new = _activation(b, b.op("Add", [zt, b.op("MatMul", [h, R])]), act)
        c_new = None
    if mt is not None:  # a masked step keeps the state
        h_new = b.op("Where", [mt, h_new, h])
        if c_new is not None:
            c_new = b.op("Where", [mt, c_new, c])
    h_out = b.op("Identity", [h_new], hint="h_out")
    y_out = b.op("Identity", [h_new], hint="y_t")
    state_in = [_value_info(h, _FLOAT, [None, units])]
    state_out = [_value_info(h_out, _FLOAT, [None, units])]
    if c is not None:
        c_out = b.op("Identity", [c_new], hint="c_out")
        state_in.append(_value_info(c, _FLOAT, [None, units]))
        state_out.append(_value_info(c_out, _FLOAT, [None, units]))
    scan_in = [_value_info(zt, _FLOAT, [None, gu])]
    if mt is not None:
        scan_in.append(_value_info(mt, _BOOL, [None, 1]))
    body = b.graph_proto(g.name("cell"), state_in + scan_in,
                         state_out + [_value_info(y_out, _FLOAT, [None, units])])
    inputs = [h0] + ([h0] if c is not None else []) + [z] + ([mask] if mt is not None else [])
    n_scan = 1 + (mt is not None)
    outs = g.op("Scan", inputs, n_out=len(state_out) + 1, body=body, num_scan_inputs=n_scan,
                scan_input_axes=[1] * n_scan, scan_input_directions=[int(go_backwards)] * n_scan,
                scan_output_axes=[1], scan_output_directions=[0])
    return outs[-1], outs[0]


def _recurrent(g, spec, x, w, shapes, state):
    seq, last = _cell_pass(g, spec, x, w, "", bool(spec.get("go_backwards", False)), state.get("mask"))
    if not spec.get("return_sequences", False):
        state.pop("mask", None)  # consumed (a sequence output passes it on)
        return last
    return seq


def _reverse_steps(g, x):
    return g.op("Slice", [x, g.ints([-1], "start"), g.ints([-(2 ** 62)], "end"), g.ints([1], "axis"),
                          g.ints([-1], "step")])


def _bidirectional(g, spec, x, w, shapes, state):
    backwards = bool(spec.get("go_backwards", False))
    mask = state.get("mask")
    f_seq, f_last = _cell_pass(g, spec, x, w, "forward_", backwards, mask)
    b_seq, b_last = _cell_pass(g, spec, x, w, "backward_", not backwards, mask)
    sequences = bool(spec.get("return_sequences", False))
    if sequences:
        a, bb = f_seq, _reverse_steps(g, b_seq)  # the backward steps back in the input's order
    else:
        a, bb = f_last, b_last
        state.pop("mask", None)
    mode = spec.get("merge_mode", "concat")
    if mode == "concat":
        return g.op("Concat", [a, bb], axis=-1)
    if mode == "sum":
        return g.op("Add", [a, bb])
    if mode == "mul":
        return g.op("Mul", [a, bb])
    if mode == "ave":
        return g.op("Mul", [g.op("Add", [a, bb]), g.const(0.5, "half")])
    raise ValueError(f"Bidirectional merge_mode {mode!r} cannot be exported to ONNX")


def _identity(g, spec, x, w, shapes):
    return x


_IDENTITY_AT_INFERENCE = {"dropout", "gaussian_noise", "random_flip", "random_rotation", "random_translation",
                          "random_zoom", "random_contrast", "random_brightness"}

_CONVERTERS = {
    "dense": _dense,
    "activation": lambda g, s, x, w, sh: _activation(g, x, s),
    "batch_normalization": _batch_norm,
    "layer_normalization": _layer_norm,
    "flatten": _reshape,
    "reshape": _reshape,
    "conv1d": _conv,
    "conv2d": _conv,
    "max_pooling1d": lambda *a: _pooling(*a, True),
    "max_pooling2d": lambda *a: _pooling(*a, True),
    "average_pooling1d": lambda *a: _pooling(*a, False),
    "average_pooling2d": lambda *a: _pooling(*a, False),
    "global_max_pooling1d": lambda *a: _global_pooling(*a, True),
    "global_max_pooling2d": lambda *a: _global_pooling(*a, True),
    "global_average_pooling1d": lambda *a: _global_pooling(*a, False),
    "global_average_pooling2d": lambda *a: _global_pooling(*a, False),
    "zero_padding1d": lambda *a: _pixel_map(*a, "pad"),
    "zero_padding2d": lambda *a: _pixel_map(*a, "pad"),
    "cropping1d": lambda *a: _pixel_map(*a, "crop"),
    "cropping2d": lambda *a: _pixel_map(*a, "crop"),
    "up_sampling1d": lambda *a: _pixel_map(*a, "up"),
    "up_sampling2d": lambda *a: _pixel_map(*a, "up"),
    **{t: _identity for t in _IDENTITY_AT_INFERENCE},
}
# the layers that make, read or consume Keras's mask
_MASK_CONVERTERS = {"embedding": _embedding, "masking": _masking, "simple_rnn": _recurrent,
                    "lstm": _recurrent, "gru": _recurrent, "bidirectional": _bidirectional}
# the layers a mask passes through (the core's passes_mask); any other drops it
_PASSES_MASK = {"activation", "dropout", "gaussian_noise", "batch_normalization", "layer_normalization"}


def _layer_weights(net):
    """Per core layer: {variable name: float64 array}, parameters and state."""
    out = {}
    for buf, variables in ((net.params, net.variables), (net.state, net.core.state_variables())):
        for v in variables:
            n = int(np.prod(v["shape"]))
            out.setdefault(v["layer"], {})[v["name"]] = np.asarray(
                buf[v["offset"]:v["offset"] + n], np.float64).reshape(tuple(v["shape"]))
    return out


def _network(g, net, x):
    """The network's inference pass from x (n, *input_shape): its output's name."""
    weights = _layer_weights(net)
    shapes = [tuple(net.input_shape)] + [tuple(s) for s in net.core.layer_shapes()]
    state = {}
    for j, spec in enumerate(net.core_specs):
        kind = spec["type"]
        io = (shapes[j], shapes[j + 1])
        w = weights.get(j, {})
        if kind in _MASK_CONVERTERS:
            x = _MASK_CONVERTERS[kind](g, spec, x, w, io, state)
            continue
        if kind not in _CONVERTERS:
            raise ValueError(f"layer {kind!r} cannot be exported to ONNX")
        x = _CONVERTERS[kind](g, spec, x, w, io)
        if kind not in _PASSES_MASK and not (kind == "dense" and len(io[0]) >= 2):
            state.pop("mask", None)
    return x


# ---------------------------------------------------------------------------
# heads

def _class_labels(classes):
    """classes_ as ONNX labels: (int64 or string array, elem type)."""
    classes = np.asarray(classes)
    if classes.dtype == np.bool_ or np.issubdtype(classes.dtype, np.integer):
        return classes.astype(np.int64), _INT64
    if np.issubdtype(classes.dtype, np.floating):
        if not np.all(classes == np.round(classes)):
            raise ValueError("class labels that are not integers cannot be exported to ONNX "
                             "(use integer or string labels)")
        return classes.astype(np.int64), _INT64
    return np.array([str(c) for c in classes], dtype=object), _STRING


def _classifier_head(g, head, out):
    """(label, probabilities) names of a classifier's outputs (skl2onnx's:
    labels as classes_, probabilities (n, n_classes) ordered as classes_)."""
    classes, _ = _class_labels(head["classes"])
    y_type, threshold = head["y_type"], float(head.get("threshold", 0.5))
    if y_type == "multiclass":
        idx = g.op("ArgMax", [out], axis=1, keepdims=0)
        label = g.op("Gather", [g.const(classes, "classes", None), idx], axis=0)
        return label, out
    if y_type == "binary":
        p = g.op("Reshape", [out, g.ints([-1, 1], "shape")])
        idx = g.op("Cast", [g.op("Greater", [g.op("Reshape", [out, g.ints([-1], "flat")]),
                                             g.const(threshold, "threshold")])], to=_INT64)
        label = g.op("Gather", [g.const(classes, "classes", None), idx], axis=0)
        if head.get("scores", False):  # margins, not probabilities (hinge losses)
            return label, p
        return label, g.op("Concat", [g.op("Sub", [g.const(1.0, "one"), p]), p], axis=1)
    # multilabel: an indicator per label
    label = g.op("Cast", [g.op("Greater", [out, g.const(threshold, "threshold")])], to=_INT64)
    return label, out


def _head(model):
    """The model's description of what to export (its ``_onnx_export()``)."""
    if not hasattr(type(model), "_onnx_export"):
        raise TypeError(f"{type(model).__name__} is not a neurocore model")
    return model._onnx_export()


def _input_elem(X):
    """The input's element type: int64 for an integer sample X, else float32."""
    elem = _FLOAT
    if X is not None:
        X = np.asarray(X)
        if np.issubdtype(X.dtype, np.integer):
            elem = _INT64
    return elem


def to_onnx(model, X=None, *, path=None, target_opset=None, zipmap=True, name=None):
    """The fitted model as an ONNX model (ONNX Runtime runs it).

    Parameters
    ----------
    model : neurocore estimator or ``neurocore.keras`` model
        Fitted (a Keras model: built). Every layer type of the core exports;
        dropout, noise and augmentation are the identity, as at inference.
    X : array-like, optional
        A sample of the input: only its dtype is read (integers give an int64
        input, as token ids for an ``Embedding``; otherwise float32).
    path : str or path-like, optional
        Also write the model to this file.
    target_opset : int, default=17
        The ONNX opset (17 or newer); the file gets the lowest IR version
        that opset needs.
    zipmap : bool, default=True
        Classifiers: True outputs ``output_label`` and ``output_probability``
        as a sequence of maps {class: probability} (skl2onnx's default);
        False outputs ``label`` and ``probabilities`` tensors. Ignored for a
        multilabel classifier (an indicator tensor per label).
    name : str, optional
        The graph's name (default: the model's class name).

    Returns
    -------
    onnx.ModelProto
        Input ``X`` of shape ``(None, *sample_shape)``. Outputs: classifiers
        as above (labels as ``classes_``: int64 or strings; probabilities in
        ``classes_``'s order, or margins for hinge losses); regressors and
        transformers ``variable`` (n, n_outputs); Keras models ``output_0``,
        the network's output.

    Raises
    ------
    sklearn.exceptions.NotFittedError
        The model is not fitted.
    ValueError
        A layer or option ONNX cannot express, named.
    """
    onnx = _onnx()
    opset = _DEFAULT_OPSET if target_opset is None else int(target_opset)
    if opset < _DEFAULT_OPSET:
        raise ValueError(f"target_opset must be >= {_DEFAULT_OPSET}, got {opset}")
    if zipmap not in (True, False):
        raise ValueError(f"zipmap must be True or False, got {zipmap!r}")
    head = _head(model)
    elem = _input_elem(X)
    g = _Graph(opset=opset)
    x = "X"
    inputs = [_value_info(x, elem, [None] + list(head["input_shape"]))]
    if elem != _FLOAT and not head.get("int_input", False):
        x = g.op("Cast", [x], to=_FLOAT)
    outputs = _emit_head(g, head, x, zipmap)
    graph_outputs = []
    for out_name, node_name, elem_type, shape in outputs:
        g.output(node_name, out_name)
        if elem_type == "zipmap":
            key = _INT64 if shape == _INT64 else _STRING
            vi = onnx.helper.make_value_info(out_name, onnx.helper.make_sequence_type_proto(
                onnx.helper.make_map_type_proto(key, onnx.helper.make_tensor_type_proto(_FLOAT, []))))
            graph_outputs.append(vi)
        else:
            graph_outputs.append(_value_info(out_name, elem_type, shape))
    graph = g.graph_proto(name or type(model).__name__, inputs, graph_outputs)
    opsets = [onnx.helper.make_opsetid("", opset)]
    if g.uses_ml:
        opsets.append(onnx.helper.make_opsetid("ai.onnx.ml", 3))
    proto = onnx.helper.make_model(graph, opset_imports=opsets, producer_name="neurocore",
                                   producer_version=_version())
    proto.ir_version = onnx.helper.find_min_ir_version_for(opsets)
    onnx.checker.check_model(proto)
    if path is not None:
        onnx.save(proto, path)
    return proto


def _version():
    try:
        return importlib.metadata.version("neurocore")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - run from a source tree
        return ""


def _emit_head(g, head, x, zipmap):
    """The nodes from x to the model's outputs: [(output name, node output,
    elem type or 'zipmap', shape)]."""
    kind = head["kind"]
    if kind == "rbm":
        z = g.op("Add", [g.op("MatMul", [x, g.const(head["components"].T, "components")]),
                         g.const(head["intercept_hidden"], "intercept_hidden")])
        return [("variable", g.op("Sigmoid", [z]), _FLOAT, [None, head["components"].shape[0]])]
    out = _network(g, head["net"], x)
    out_shape = [None] + [int(d) for d in head["net"].output_shape]
    if kind == "keras":
        return [("output_0", out, _FLOAT, out_shape)]
    if kind in ("regressor", "transformer"):
        width = int(np.prod(out_shape[1:]))
        flat = g.op("Reshape", [out, g.ints([-1, width], "shape")])
        return [("variable", flat, _FLOAT, [None, width])]
    label, proba = _classifier_head(g, head, out)
    classes, label_elem = _class_labels(head["classes"])
    n_cols = len(classes) if head["y_type"] == "binary" and not head.get("scores", False) else out_shape[1]
    label_shape = [None] if head["y_type"] != "multilabel-indicator" else [None, out_shape[1]]
    if head["y_type"] == "multilabel-indicator":
        label_elem = _INT64
    if not zipmap or head["y_type"] == "multilabel-indicator" or head.get("scores", False):
        return [("label", label, label_elem, label_shape), ("probabilities", proba, _FLOAT, [None, n_cols])]
    keys = {"classlabels_int64s": [int(c) for c in classes]} if label_elem == _INT64 else {
        "classlabels_strings": [str(c) for c in classes]}
    zm = g.op("ZipMap", [proba], domain="ai.onnx.ml", out="output_probability", **keys)  # Identity takes no map
    return [("output_label", label, label_elem, label_shape), ("output_probability", zm, "zipmap", label_elem)]


# ---------------------------------------------------------------------------
# skl2onnx: converters for neurocore's estimators inside scikit-learn pipelines

def _skl2onnx_convert(scope, operator, container):
    model = operator.raw_operator
    head = _head(model)
    g = _Graph(prefix=scope.get_unique_variable_name("neurocore") + "_", opset=container.target_opset)
    x = operator.inputs[0].full_name
    if operator.inputs[0].type.__class__.__name__ != "FloatTensorType":
        x = g.op("Cast", [x], to=_FLOAT)
    outs = _emit_head(g, head, x, zipmap=False)
    for (_, node_name, _, _), var in zip(outs, operator.outputs):
        g.output(node_name, var.full_name)
    for n, a in g.inits:
        if a.dtype == object:
            container.add_initializer(n, _STRING, list(a.shape), [s.encode("utf-8") for s in a.ravel()])
        else:
            elem = {np.dtype(np.float32): _FLOAT, np.dtype(np.int64): _INT64}[a.dtype]
            container.add_initializer(n, elem, list(a.shape), a.ravel().tolist())
    for op_type, inputs, outputs, attrs, domain in g.nodes:
        container.add_node(op_type, inputs, outputs, op_domain=domain, name=scope.get_unique_operator_name(op_type),
                           **attrs)


def _skl2onnx_shapes(operator):
    from skl2onnx.common.data_types import FloatTensorType, Int64TensorType, StringTensorType
    model = operator.raw_operator
    head = _head(model)
    n = operator.inputs[0].get_first_dimension()
    if head["kind"] == "classifier":
        _, label_elem = _class_labels(head["classes"])
        width = int(np.prod(head["net"].output_shape))
        if head["y_type"] == "multilabel-indicator":
            operator.outputs[0].type = Int64TensorType([n, width])
        else:
            operator.outputs[0].type = (Int64TensorType if label_elem == _INT64 else StringTensorType)([n])
        cols = len(head["classes"]) if head["y_type"] == "binary" and not head.get("scores") else width
        operator.outputs[1].type = FloatTensorType([n, cols])
    else:
        width = (head["components"].shape[0] if head["kind"] == "rbm"
                 else int(np.prod(head["net"].output_shape)))
        operator.outputs[0].type = FloatTensorType([n, width])


_REGISTERED = []


def register_skl2onnx(classes=None):
    """Register neurocore's converters with skl2onnx (done when skl2onnx is
    imported after neurocore, or at neurocore's import when it already is).

    Parameters
    ----------
    classes : list of classes, optional
        The estimator classes; default: every neurocore estimator.
    """
    from skl2onnx import update_registered_converter
    if classes is None:  # every registered estimator that describes its export
        classes = [c for c in _persist._ESTIMATORS.values() if hasattr(c, "_onnx_export")]
    from sklearn.base import is_classifier
    for cls in classes:
        options = {"zipmap": [True, False, "columns"], "nocl": [True, False]} if is_classifier(cls()) else None
        update_registered_converter(cls, f"Neurocore{cls.__name__}", _skl2onnx_shapes, _skl2onnx_convert,
                                    options=options)
        _REGISTERED.append(cls)


class _RegisterOnImport(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Registers the converters right after skl2onnx is imported (importing
    neurocore does not import skl2onnx)."""

    def find_spec(self, fullname, path, target=None):
        if fullname != "skl2onnx" or self._busy:
            return None
        self._busy = True
        try:
            spec = importlib.util.find_spec(fullname)
        finally:
            self._busy = False
        if spec is None or spec.loader is None:
            return None
        self._loader = spec.loader
        spec.loader = self
        return spec

    _busy = False

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        self._loader.exec_module(module)
        if self in sys.meta_path:
            sys.meta_path.remove(self)
        try:  # never break the user's import of skl2onnx
            register_skl2onnx()
        except Exception as e:  # noqa: BLE001 - a skl2onnx release with another API
            warnings.warn(f"neurocore could not register its skl2onnx converters: {e!r}; "
                          "call neurocore._onnx.register_skl2onnx() to see why", RuntimeWarning, stacklevel=2)


def install_skl2onnx_hook():
    """Register now if skl2onnx is imported, else as soon as it is."""
    if "skl2onnx" in sys.modules:
        register_skl2onnx()
    elif importlib.util.find_spec("skl2onnx") is not None:
        sys.meta_path.insert(0, _RegisterOnImport())
