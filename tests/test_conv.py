"""The spatial layers in the C++ core: Conv1D/Conv2D, pooling, global pooling,
zero padding, cropping and upsampling, against direct numpy loops (and
PyTorch when installed), with central-difference gradient checks in float64."""

import numpy as np
import pytest
from conftest import check_objective_gradient

from neurocore import _core
from neurocore._activations import activation_spec


def _same(n, k, s, d=1):
    out = -(-n // s)
    total = max((out - 1) * s + (k - 1) * d + 1 - n, 0)
    return total // 2, total - total // 2


def _pads(padding, n, k, s, d=1):
    if padding == "valid":
        return 0, 0
    if padding == "causal":
        return (k - 1) * d, 0
    return _same(n, k, s, d)


def conv_reference(x, kernel, bias, strides, padding, dilation, groups):
    """x (n, h, w, c), kernel (kh, kw, c / groups, f): Keras's convolution, as loops."""
    n, h, w, c = x.shape
    kh, kw, cg, f = kernel.shape
    (t, b), (l, r) = _pads(padding, h, kh, strides[0], dilation[0]), _pads(padding, w, kw, strides[1], dilation[1])
    xp = np.pad(x, ((0, 0), (t, b), (l, r), (0, 0)))
    oh = (h + t + b - (kh - 1) * dilation[0] - 1) // strides[0] + 1
    ow = (w + l + r - (kw - 1) * dilation[1] - 1) // strides[1] + 1
    fg = f // groups
    out = np.zeros((n, oh, ow, f))
    for i in range(oh):
        for j in range(ow):
            for di in range(kh):
                for dj in range(kw):
                    pix = xp[:, i * strides[0] + di * dilation[0], j * strides[1] + dj * dilation[1], :]
                    for g in range(groups):
                        out[:, i, j, g * fg:(g + 1) * fg] += (
                            pix[:, g * cg:(g + 1) * cg] @ kernel[di, dj, :, g * fg:(g + 1) * fg])
    return out + (0 if bias is None else bias)


def pool_reference(x, pool, strides, padding, kind):
    n, h, w, c = x.shape
    (t, b), (l, r) = _pads(padding, h, pool[0], strides[0]), _pads(padding, w, pool[1], strides[1])
    fill = -np.inf if kind == "max" else np.nan
    xp = np.pad(x, ((0, 0), (t, b), (l, r), (0, 0)), constant_values=fill)
    oh = (h + t + b - pool[0]) // strides[0] + 1
    ow = (w + l + r - pool[1]) // strides[1] + 1
    out = np.zeros((n, oh, ow, c))
    for i in range(oh):
        for j in range(ow):
            win = xp[:, i * strides[0]:i * strides[0] + pool[0], j * strides[1]:j * strides[1] + pool[1], :]
            out[:, i, j] = win.max(axis=(1, 2)) if kind == "max" else np.nanmean(win, axis=(1, 2))
    return out


def _net(shape, specs, dtype="float64", loss="mean_squared_error"):
    return _core.Network(shape, specs, loss, dtype)


def _predict(net, params, X, dtype=np.float64, threads=1):
    X = np.ascontiguousarray(X.reshape(X.shape[0], -1), dtype=dtype)
    return net.predict(np.asarray(params, dtype=dtype), X, threads, None)


CONV2D = [  # (input shape, options)
    ((7, 6, 3), {"kernel_size": [3, 3]}),
    ((7, 6, 3), {"kernel_size": [3, 2], "strides": [2, 1], "padding": "same"}),
    ((8, 8, 2), {"kernel_size": [3, 3], "strides": [2, 2], "padding": "same"}),
    ((6, 7, 2), {"kernel_size": [2, 3], "padding": "same"}),  # even kernel: the extra pixel at the end
    ((9, 9, 2), {"kernel_size": [3, 3], "dilation_rate": [2, 2]}),
    ((7, 7, 4), {"kernel_size": [3, 3], "groups": 2, "padding": "same"}),
    ((5, 5, 3), {"kernel_size": [1, 1]}),  # pointwise: the GEMM on the input itself
    ((5, 5, 3), {"kernel_size": [1, 1], "strides": [2, 2]}),
]


@pytest.mark.parametrize("shape, opts", CONV2D, ids=str)
@pytest.mark.parametrize("dtype, tol", [("float64", 1e-12), ("float32", 1e-5)])
def test_conv2d_forward_matches_the_loops(shape, opts, dtype, tol):
    rng = np.random.RandomState(0)
    f = 6
    net = _net(shape, [{"type": "conv2d", "filters": f, **opts}], dtype)
    kvar = net.variables()[0]
    params = rng.normal(size=net.n_params)
    kernel = params[kvar["offset"]:kvar["offset"] + np.prod(kvar["shape"])].reshape(kvar["shape"])
    bias = params[net.variables()[1]["offset"]:][:f]
    X = rng.normal(size=(5, *shape))
    want = conv_reference(X, kernel, bias, opts.get("strides", [1, 1]), opts.get("padding", "valid"),
                          opts.get("dilation_rate", [1, 1]), opts.get("groups", 1))
    got = _predict(net, params, X, np.dtype(dtype)).reshape(want.shape)
    assert tuple(net.layer_shapes()[0]) == want.shape[1:]
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol * 10)


@pytest.mark.parametrize("opts", [
    {"kernel_size": [3]}, {"kernel_size": [5], "strides": [2], "padding": "same"},
    {"kernel_size": [3], "padding": "causal", "dilation_rate": [2]}, {"kernel_size": [2], "groups": 2},
], ids=str)
def test_conv1d_is_conv2d_of_height_one(opts):
    rng = np.random.RandomState(1)
    net = _net((11, 4), [{"type": "conv1d", "filters": 4, **opts}])
    kvar = net.variables()[0]
    params = rng.normal(size=net.n_params)
    kernel = params[:np.prod(kvar["shape"])].reshape(kvar["shape"])
    X = rng.normal(size=(3, 11, 4))
    one = lambda key, v: [1] + opts.get(key, [v])  # noqa: E731
    want = conv_reference(X[:, None], kernel[None], params[-4:], one("strides", 1),
                          opts.get("padding", "valid"), one("dilation_rate", 1), opts.get("groups", 1))[:, 0]
    np.testing.assert_allclose(_predict(net, params, X).reshape(want.shape), want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kind", ["max", "average"])
@pytest.mark.parametrize("opts", [
    {"pool_size": [2, 2]}, {"pool_size": [3, 3], "strides": [2, 2]},
    {"pool_size": [3, 2], "strides": [2, 2], "padding": "same"}, {"pool_size": [2, 2], "strides": [1, 1]},
], ids=str)
def test_pooling_matches_the_loops(kind, opts):
    rng = np.random.RandomState(2)
    net = _net((7, 6, 3), [{"type": f"{kind}_pooling2d", **opts}])
    X = rng.normal(size=(4, 7, 6, 3))
    pool = opts["pool_size"]
    want = pool_reference(X, pool, opts.get("strides", pool), opts.get("padding", "valid"),
                          "max" if kind == "max" else "avg")
    np.testing.assert_allclose(_predict(net, [], X).reshape(want.shape), want, rtol=1e-12)


def test_global_pooling_padding_cropping_and_upsampling_match_numpy():
    rng = np.random.RandomState(3)
    X = rng.normal(size=(3, 5, 4, 2))
    cases = {
        "global_max_pooling2d": (X.max(axis=(1, 2)), {}),
        "global_average_pooling2d": (X.mean(axis=(1, 2)), {}),
        "zero_padding2d": (np.pad(X, ((0, 0), (1, 2), (0, 3), (0, 0))), {"padding": [1, 2, 0, 3]}),
        "cropping2d": (X[:, 1:4, 2:3], {"cropping": [1, 1, 2, 1]}),
        "up_sampling2d": (X.repeat(2, axis=1).repeat(3, axis=2), {"size": [2, 3]}),
    }
    for name, (want, opts) in cases.items():
        net = _net((5, 4, 2), [{"type": name, **opts}])
        np.testing.assert_array_equal(_predict(net, [], X).reshape(want.shape), want, err_msg=name)
    keep = _net((5, 4, 2), [{"type": "global_average_pooling2d", "keepdims": True}])
    assert tuple(keep.layer_shapes()[0]) == (1, 1, 2)
    S = rng.normal(size=(3, 6, 2))
    for name, want, opts in [("global_max_pooling1d", S.max(axis=1), {}),
                             ("zero_padding1d", np.pad(S, ((0, 0), (2, 1), (0, 0))), {"padding": [2, 1]}),
                             ("cropping1d", S[:, 1:5], {"cropping": [1, 1]}),
                             ("up_sampling1d", S.repeat(2, axis=1), {"size": [2]}),
                             ("max_pooling1d", S.reshape(3, 3, 2, 2).max(axis=2), {"pool_size": [2]})]:
        net = _net((6, 2), [{"type": name, **opts}])
        np.testing.assert_array_equal(_predict(net, [], S).reshape(want.shape), want, err_msg=name)


def dense(units, act="tanh"):
    return {"type": "dense", "units": units, **activation_spec(act)}


# each layer between a Dense on the channels (so its input gradient is checked
# too) and a Flatten + Dense head
GRADIENT_CASES = {
    "conv2d valid": ((6, 5, 2), {"type": "conv2d", "filters": 3, "kernel_size": [3, 2], **activation_spec("tanh")}),
    "conv2d same strided": ((6, 5, 2), {"type": "conv2d", "filters": 3, "kernel_size": [3, 3],
                                        "strides": [2, 2], "padding": "same", **activation_spec("swish")}),
    "conv2d dilated": ((7, 7, 2), {"type": "conv2d", "filters": 2, "kernel_size": [2, 2],
                                   "dilation_rate": [2, 3]}),
    "conv2d groups": ((5, 5, 4), {"type": "conv2d", "filters": 4, "kernel_size": [3, 3], "groups": 2,
                                  "padding": "same", **activation_spec("relu")}),
    "conv2d pointwise no bias": ((4, 4, 3), {"type": "conv2d", "filters": 2, "kernel_size": [1, 1],
                                             "use_bias": False, **activation_spec("elu")}),
    "conv2d penalties": ((5, 5, 2), {"type": "conv2d", "filters": 2, "kernel_size": [2, 2],
                                     "kernel_l2": 0.01, "bias_l1": 0.01, "activity_l2": 0.01}),
    "conv1d causal": ((9, 2), {"type": "conv1d", "filters": 3, "kernel_size": [3], "padding": "causal",
                               "dilation_rate": [2], **activation_spec("tanh")}),
    "conv1d strided same": ((9, 2), {"type": "conv1d", "filters": 3, "kernel_size": [4], "strides": [3],
                                     "padding": "same"}),
    "max_pooling2d": ((6, 6, 2), {"type": "max_pooling2d", "pool_size": [2, 2]}),
    "max_pooling2d same overlapping": ((5, 5, 2), {"type": "max_pooling2d", "pool_size": [3, 3],
                                                   "strides": [2, 2], "padding": "same"}),
    "average_pooling2d same": ((5, 6, 2), {"type": "average_pooling2d", "pool_size": [3, 3],
                                           "strides": [2, 2], "padding": "same"}),
    "max_pooling1d": ((8, 2), {"type": "max_pooling1d", "pool_size": [3], "strides": [2]}),
    "average_pooling1d": ((8, 2), {"type": "average_pooling1d", "pool_size": [2]}),
    "global_max_pooling2d": ((4, 3, 2), {"type": "global_max_pooling2d"}),
    "global_average_pooling1d": ((5, 2), {"type": "global_average_pooling1d", "keepdims": True}),
    "zero_padding2d": ((3, 4, 2), {"type": "zero_padding2d", "padding": [1, 0, 2, 1]}),
    "cropping1d": ((6, 2), {"type": "cropping1d", "cropping": [2, 1]}),
    "up_sampling2d": ((3, 2, 2), {"type": "up_sampling2d", "size": [2, 2]}),
}


@pytest.mark.parametrize("name", sorted(GRADIENT_CASES))
def test_gradients(name):
    shape, layer = GRADIENT_CASES[name]
    rng = np.random.RandomState(4)
    net = _net(shape, [dense(shape[-1]), layer, {"type": "flatten"}, dense(2, "linear")])
    X = rng.normal(size=(4, int(np.prod(shape))))
    Y = rng.normal(size=(4, 2))
    p = rng.uniform(-0.7, 0.7, net.n_params)

    check_objective_gradient(net, p, X, Y)


FUSED = {  # the network's fusions (layers/layer.hpp): zero padding into the conv above it,
    # a conv's relu derivative into the max pooling above it (tiled and overlapping windows)
    "pad2d-conv-relu-pool": ((6, 7, 2), [
        {"type": "zero_padding2d", "padding": [1, 2, 0, 1]},
        {"type": "conv2d", "filters": 3, "kernel_size": [3, 3], **activation_spec("relu")},
        {"type": "max_pooling2d", "pool_size": [2, 2]}]),
    "conv-relu-pool overlapping": ((7, 7, 2), [
        {"type": "conv2d", "filters": 3, "kernel_size": [2, 2], "padding": "same", **activation_spec("relu")},
        {"type": "max_pooling2d", "pool_size": [3, 3], "strides": [2, 2], "padding": "same"}]),
    "pad1d-conv strided": ((9, 1), [
        {"type": "zero_padding1d", "padding": [1, 1]},
        {"type": "conv1d", "filters": 4, "kernel_size": [5], "strides": [2], **activation_spec("relu")},
        {"type": "zero_padding1d", "padding": [2, 0]},
        {"type": "conv1d", "filters": 2, "kernel_size": [3], "strides": [2], "padding": "same"}]),
}


def _unfused(specs):
    # an identity activation between every pair of layers blocks each fusion
    out = []
    for spec in specs:
        out += [spec, {"type": "activation", **activation_spec("linear")}]
    return out


@pytest.mark.parametrize("name", sorted(FUSED))
def test_fusions_change_no_bit_and_pass_the_gradient_check(name):
    shape, specs = FUSED[name]
    rng = np.random.RandomState(6)
    tail = [{"type": "flatten"}, dense(2, "linear")]
    fused, plain = _net(shape, specs + tail), _net(shape, _unfused(specs) + tail)
    assert fused.n_params == plain.n_params
    assert [tuple(s) for s in fused.layer_shapes()] == [tuple(s) for s in plain.layer_shapes()][::2][:len(specs)] + \
        [tuple(s) for s in plain.layer_shapes()][-2:]
    X = rng.normal(size=(5, int(np.prod(shape))))
    Y = rng.normal(size=(5, 2))
    p = rng.uniform(-0.7, 0.7, fused.n_params)
    g1, g2 = np.empty_like(p), np.empty_like(p)
    l1 = fused.objective(p, X, Y, None, 0.0, 1.0, g1, 1, 3)[0]
    l2 = plain.objective(p, X, Y, None, 0.0, 1.0, g2, 1, 3)[0]
    assert l1 == l2
    np.testing.assert_array_equal(g1, g2)
    np.testing.assert_array_equal(_predict(fused, p, X), _predict(plain, p, X))
    check_objective_gradient(fused, p, X, Y)
    # enough rows for several of the convolutions' chunks of samples: a conv
    # hosting the pooling above takes fewer samples a chunk, so its weight
    # gradient sums the chunks in other groups (equal to rounding)
    big = rng.normal(size=(1500, X.shape[1]))
    yb = rng.normal(size=(1500, 2))
    assert fused.objective(p, big, yb, None, 0.0, 1.0, g1, 2, 3)[0] == \
        plain.objective(p, big, yb, None, 0.0, 1.0, g2, 2, 3)[0]
    np.testing.assert_allclose(g1, g2, rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(_predict(fused, p, big, threads=2), _predict(plain, p, big))


@pytest.mark.parametrize("shape, layer, message", [
    ((5, 5, 1), {"type": "conv2d", "filters": 2, "kernel_size": [7, 3]}, "larger than the input"),
    ((5, 5, 1), {"type": "conv2d", "filters": 2, "kernel_size": [3, 3], "strides": [0, 1]}, "strides must be >= 1"),
    ((5, 5, 1), {"type": "conv2d", "filters": 2, "kernel_size": [3, 3], "dilation_rate": [0, 1]},
     "dilation_rate must be >= 1"),
    ((5, 5, 3), {"type": "conv2d", "filters": 4, "kernel_size": [3, 3], "groups": 2}, "must divide the input channels"),
    ((25,), {"type": "conv2d", "filters": 2, "kernel_size": [3, 3]}, r"Conv2D expects input of rank 3.*got \(25,\)"),
    ((5, 5, 1), {"type": "conv1d", "filters": 2, "kernel_size": [3]}, "Conv1D expects input of rank 2"),
    ((5, 5, 1), {"type": "conv2d", "filters": 2, "kernel_size": [3, 3], "padding": "causal"}, "Conv1D only"),
    ((5, 5, 1), {"type": "conv2d", "filters": 2, "kernel_size": [3, 3], "padding": "full"}, "padding must be"),
    ((3, 3, 1), {"type": "max_pooling2d", "pool_size": [4, 4]}, "larger than the input"),
    ((3, 3, 1), {"type": "cropping2d", "cropping": [2, 1, 0, 0]}, "leaves nothing"),
    ((3, 3, 1), {"type": "up_sampling2d", "size": [2, 2], "interpolation": "bilinear"}, "not supported"),
])
def test_bad_shapes_fail_when_built_naming_the_layer(shape, layer, message):
    with pytest.raises(ValueError, match=message):
        _net(shape, [layer, {"type": "flatten"}, dense(1)])


def test_predictions_do_not_depend_on_rows_per_call_or_threads():
    rng = np.random.RandomState(5)
    specs = [{"type": "conv2d", "filters": 8, "kernel_size": [3, 3], "padding": "same", **activation_spec("relu")},
             {"type": "max_pooling2d", "pool_size": [2, 2]},
             {"type": "conv2d", "filters": 16, "kernel_size": [3, 3], **activation_spec("relu")},
             {"type": "global_average_pooling2d"}, dense(10, "softmax")]
    net = _net((12, 12, 3), specs, "float32", "categorical_crossentropy")
    params = rng.normal(scale=0.3, size=net.n_params).astype(np.float32)
    X = rng.normal(size=(700, 12 * 12 * 3)).astype(np.float32)
    whole = net.predict(params, X, 2, None)
    assert np.allclose(whole.sum(axis=1), 1, atol=1e-5)
    np.testing.assert_array_equal(net.predict(params, X, 1, None), whole)
    for i in (0, 3, 511, 699):
        np.testing.assert_array_equal(net.predict(params, X[i:i + 1], 1, None)[0], whole[i])


def test_flops_count_the_convolution():
    net = _net((8, 8, 4), [{"type": "conv2d", "filters": 6, "kernel_size": [3, 3], "groups": 2}])
    assert net.flops_per_sample() == 2 * 6 * 6 * (3 * 3 * 2) * 6


def test_conv_and_pooling_match_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.RandomState(6)
    X = rng.normal(size=(3, 9, 8, 4)).astype(np.float32)
    net = _net((9, 8, 4), [{"type": "conv2d", "filters": 6, "kernel_size": [3, 3], "strides": [2, 1],
                            "dilation_rate": [1, 1], "groups": 2}], "float32")
    params = rng.normal(size=net.n_params).astype(np.float32)
    kernel = params[:3 * 3 * 2 * 6].reshape(3, 3, 2, 6)
    ours = _predict(net, params, X, np.float32).reshape(3, 4, 6, 6)
    theirs = torch.nn.functional.conv2d(
        torch.from_numpy(X.transpose(0, 3, 1, 2)), torch.from_numpy(kernel.transpose(3, 2, 0, 1).copy()),
        torch.from_numpy(params[-6:]), stride=(2, 1), groups=2).numpy().transpose(0, 2, 3, 1)
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-5)
    pool = _net((9, 8, 4), [{"type": "max_pooling2d", "pool_size": [3, 2], "strides": [2, 2]}], "float32")
    theirs = torch.nn.functional.max_pool2d(torch.from_numpy(X.transpose(0, 3, 1, 2)), (3, 2), (2, 2))
    np.testing.assert_allclose(_predict(pool, [], X, np.float32).reshape(3, 4, 4, 4),
                               theirs.numpy().transpose(0, 2, 3, 1), rtol=1e-6)
    seq = rng.normal(size=(2, 10, 3)).astype(np.float32)
    c1 = _net((10, 3), [{"type": "conv1d", "filters": 4, "kernel_size": [3], "dilation_rate": [2]}], "float32")
    p1 = rng.normal(size=c1.n_params).astype(np.float32)
    k1 = p1[:3 * 3 * 4].reshape(3, 3, 4)
    theirs = torch.nn.functional.conv1d(torch.from_numpy(seq.transpose(0, 2, 1)),
                                        torch.from_numpy(k1.transpose(2, 1, 0).copy()),
                                        torch.from_numpy(p1[-4:]), dilation=2).numpy().transpose(0, 2, 1)
    np.testing.assert_allclose(_predict(c1, p1, seq, np.float32).reshape(theirs.shape), theirs,
                               rtol=1e-5, atol=1e-5)
