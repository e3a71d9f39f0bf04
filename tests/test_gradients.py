"""Gradient checks in float64 with central differences.

Every hidden activation, every output loss, the Dense layer (with dense and
sparse input) and whole networks are checked through the C++ objective on the
packed parameter vector, whose gradient the core computes by backpropagation.
"""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.neural_network._base import LOSS_FUNCTIONS

from conftest import make_network
from neurocore import _core

# every activation, with the parameters that change its shape
HIDDEN = [
    ("identity", {}),
    ("logistic", {}),
    ("tanh", {}),
    ("relu", {}),
    ("relu", {"alpha": 0.1, "max_value": 1.2, "threshold": 0.15}),
    ("relu6", {}),
    ("leaky_relu", {}),
    ("elu", {}),
    ("elu", {"alpha": 0.5}),
    ("selu", {}),
    ("softplus", {}),
    ("softsign", {}),
    ("hard_sigmoid", {}),
    ("softmax", {}),
    ("gelu", {}),
    ("gelu", {"approximate": True}),
    ("swish", {}),
    ("exponential", {}),
]


def _keras_reference(name, x, alpha=None, max_value=None, threshold=0.0, approximate=False):
    """The activations' published definitions, in numpy."""
    from scipy.special import erf, expit

    if name in ("identity", "linear"):
        return x
    if name in ("logistic", "sigmoid"):
        return expit(x)
    if name == "tanh":
        return np.tanh(x)
    if name in ("relu", "relu6", "leaky_relu"):
        alpha = {"relu": 0.0, "relu6": 0.0, "leaky_relu": 0.2}[name] if alpha is None else alpha
        max_value = 6.0 if name == "relu6" and max_value is None else max_value
        out = np.where(x > threshold, x, alpha * (x - threshold))
        return out if max_value is None else np.where(x > threshold, np.minimum(out, max_value), out)
    if name == "elu":
        alpha = 1.0 if alpha is None else alpha
        return np.where(x > 0, x, alpha * (np.exp(x) - 1))
    if name == "selu":
        return 1.0507009873554805 * np.where(x > 0, x, 1.6732632423543772 * (np.exp(x) - 1))
    if name == "softplus":
        return np.log1p(np.exp(x))
    if name == "softsign":
        return x / (1 + np.abs(x))
    if name == "hard_sigmoid":
        return np.clip(0.2 * x + 0.5, 0, 1)
    if name == "softmax":
        e = np.exp(x - x.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)
    if name == "gelu":
        if approximate:
            return 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3)))
        return 0.5 * x * (1 + erf(x / np.sqrt(2)))
    if name in ("swish", "silu"):
        return x * expit(x)
    if name == "exponential":
        return np.exp(x)
    raise AssertionError(name)


@pytest.mark.parametrize("name, params", HIDDEN, ids=lambda v: str(v))
def test_activation_values_match_their_definitions(name, params):
    """Identity weights make the network output the hidden activation itself."""
    x = np.linspace(-4, 4, 41).reshape(-1, 1) * np.array([[1.0, 0.5, -0.3]])
    net = make_network(3, [3, 3], name, "squared_error", "float64", **params)
    params_vec = np.zeros(net.n_params)
    params_vec[:9] = np.eye(3).ravel()
    params_vec[9:18] = np.eye(3).ravel()
    out = net.predict(params_vec, x, 1)
    np.testing.assert_allclose(out, _keras_reference(name, x, **params), rtol=1e-12, atol=1e-12)
LOSSES = ["squared_error", "log_loss", "binary_log_loss", "poisson"]


def _targets(loss, rng, n, k):
    if loss == "log_loss":
        return np.eye(k)[rng.randint(0, k, n)]
    if loss == "binary_log_loss":
        return (rng.rand(n, k) > 0.5).astype(float)
    if loss == "poisson":
        return rng.poisson(2.0, size=(n, k)).astype(float)
    return rng.randn(n, k)


def _objective(net, params, X, Y, sw, alpha):
    grad = np.empty_like(params)
    obj, _ = net.objective(params, X, Y, sw, alpha, 1.0, grad, 1)
    return obj, grad


def _check_gradient(net, X, Y, sw=None, alpha=0.0, seed=0, eps=1e-6, rtol=1e-6):
    rng = np.random.RandomState(seed)
    params = rng.uniform(-0.5, 0.5, net.n_params)
    _, grad = _objective(net, params, X, Y, sw, alpha)
    numeric = np.empty_like(params)
    for i in range(params.size):
        p = params.copy()
        p[i] += eps
        up, _ = _objective(net, p, X, Y, sw, alpha)
        p[i] -= 2 * eps
        down, _ = _objective(net, p, X, Y, sw, alpha)
        numeric[i] = (up - down) / (2 * eps)
    scale = max(1.0, np.abs(numeric).max())
    np.testing.assert_allclose(grad, numeric, rtol=rtol, atol=rtol * scale)
    # the check must be able to fail: a perturbed gradient is caught
    assert not np.allclose(grad * 1.01, numeric, rtol=rtol, atol=rtol * scale)


@pytest.mark.parametrize("name, params", HIDDEN, ids=lambda v: str(v))
def test_hidden_activation_gradient(name, params):
    rng = np.random.RandomState(1)
    X = rng.randn(7, 4)
    Y = rng.randn(7, 2)
    net = make_network(4, [5, 2], name, "squared_error", "float64", **params)
    _check_gradient(net, X, Y)


def test_one_activation_per_layer_gradient():
    rng = np.random.RandomState(9)
    X = rng.randn(8, 3)
    Y = np.eye(3)[rng.randint(0, 3, 8)]
    net = make_network(3, [6, 5, 4, 3], ["selu", "gelu", "softsign"], "log_loss", "float64")
    _check_gradient(net, X, Y)


@pytest.mark.parametrize(
    "loss, k",
    [(loss, k) for loss in LOSSES for k in (1, 3) if not (loss == "log_loss" and k == 1)],
)
def test_output_loss_gradient(loss, k):
    rng = np.random.RandomState(2)
    X = rng.randn(9, 3)
    Y = _targets(loss, rng, 9, k)
    net = make_network(3, [4, k], "tanh", loss, "float64")
    _check_gradient(net, X, Y)


@pytest.mark.parametrize("loss", LOSSES)
def test_loss_value_matches_scikit_learn(loss):
    """The fused stable losses equal scikit-learn's definitions."""
    rng = np.random.RandomState(3)
    k = 3
    X = rng.randn(11, 3)
    Y = _targets(loss, rng, 11, k)
    sw = rng.uniform(0.5, 2.0, 11)
    net = make_network(3, [k], "relu", loss, "float64")  # a single Dense layer
    params = rng.uniform(-1, 1, net.n_params)
    out = net.predict(params, X, 1)
    grad = np.empty_like(params)
    _, reported = net.objective(params, X, Y, sw, 0.0, 1.0, grad, 1)
    expected = LOSS_FUNCTIONS[loss](Y, out, sw)
    if loss == "squared_error":
        expected *= k  # scikit-learn reports the mean over outputs; we sum them
    np.testing.assert_allclose(reported, expected, rtol=1e-10)


def test_dense_layer_alone_with_weights_and_l2():
    rng = np.random.RandomState(4)
    X = rng.randn(8, 5)
    Y = rng.randn(8, 2)
    sw = rng.uniform(0.1, 3.0, 8)
    net = make_network(5, [2], "relu", "squared_error", "float64")
    _check_gradient(net, X, Y, sw=sw, alpha=0.3)


def test_deep_network_gradient():
    rng = np.random.RandomState(5)
    X = rng.randn(10, 4)
    Y = np.eye(3)[rng.randint(0, 3, 10)]
    net = make_network(4, [6, 5, 4, 3], "tanh", "log_loss", "float64")
    _check_gradient(net, X, Y, sw=rng.uniform(0.5, 1.5, 10), alpha=0.1)


def test_large_network_gradient_uses_packed_path():
    """Big enough that the GEMMs pack their operands (float64 panels), checked on a
    sample of coordinates."""
    rng = np.random.RandomState(6)
    X = rng.randn(64, 40)
    Y = np.eye(4)[rng.randint(0, 4, 64)]
    net = make_network(40, [48, 4], "logistic", "log_loss", "float64")
    params = rng.uniform(-0.2, 0.2, net.n_params)
    _, grad = _objective(net, params, X, Y, None, 0.01)
    for i in rng.choice(params.size, 60, replace=False):
        p = params.copy()
        p[i] += 1e-6
        up, _ = _objective(net, p, X, Y, None, 0.01)
        p[i] -= 2e-6
        down, _ = _objective(net, p, X, Y, None, 0.01)
        assert abs((up - down) / 2e-6 - grad[i]) < 1e-7 + 1e-5 * abs(grad[i])


def test_sparse_input_gradient_equals_dense():
    rng = np.random.RandomState(7)
    X = rng.randn(12, 6)
    X[rng.rand(12, 6) < 0.6] = 0.0
    Y = rng.randn(12, 2)
    net = make_network(6, [5, 2], "relu", "squared_error", "float64")
    Xs = sp.csr_matrix(X)
    csr = (Xs.data, Xs.indices.astype(np.int64), Xs.indptr.astype(np.int64), 12, 6)
    params = rng.uniform(-0.5, 0.5, net.n_params)
    obj_d, g_d = _objective(net, params, X, Y, None, 0.0)
    obj_s, g_s = _objective(net, params, csr, Y, None, 0.0)
    np.testing.assert_allclose(obj_s, obj_d, rtol=1e-12)
    np.testing.assert_allclose(g_s, g_d, rtol=1e-10, atol=1e-12)
    _check_gradient(net, csr, Y)


def test_float32_gradient_close_to_float64():
    rng = np.random.RandomState(8)
    X = rng.randn(30, 5)
    Y = np.eye(3)[rng.randint(0, 3, 30)]
    n64 = make_network(5, [7, 3], "relu", "log_loss", "float64")
    n32 = make_network(5, [7, 3], "relu", "log_loss", "float32")
    params = rng.uniform(-0.5, 0.5, n64.n_params)
    g64 = np.empty_like(params)
    g32 = np.empty(params.size, dtype=np.float32)
    o64, _ = n64.objective(params, X, Y, None, 0.0, 1.0, g64, 1)
    o32, _ = n32.objective(
        params.astype(np.float32), X.astype(np.float32), Y.astype(np.float32), None,
        0.0, 1.0, g32, 1,
    )
    np.testing.assert_allclose(o32, o64, rtol=1e-5)
    np.testing.assert_allclose(g32, g64, rtol=1e-3, atol=1e-5)


def _objectives_32_and_64(rng, X, layers, activation, spread, threads):
    """Squared-error objective and gradient of one network in float32 (on
    `threads`) and float64 (one thread), at the same parameters and targets."""
    Y = rng.randn(X.shape[0], layers[-1])
    n64 = make_network(X.shape[1], layers, activation, "squared_error", "float64")
    n32 = make_network(X.shape[1], layers, activation, "squared_error", "float32")
    params = rng.uniform(-spread, spread, n64.n_params)
    g64 = np.empty_like(params)
    g32 = np.empty(params.size, dtype=np.float32)
    o64, _ = n64.objective(params, X, Y, None, 0.0, 1.0, g64, 1)
    o32, _ = n32.objective(params.astype(np.float32), X.astype(np.float32), Y.astype(np.float32),
                           None, 0.0, 1.0, g32, threads)
    return n32, n64, params, (o32, g32), (o64, g64)


@pytest.mark.parametrize("rows", [1, 5, 7, 13, 64])
@pytest.mark.parametrize("n_in, n_hidden", [(1, 7), (5, 20), (17, 33), (64, 70), (40, 128), (300, 260)])
@pytest.mark.parametrize("threads", [1, 2])
def test_float32_products_agree_with_float64(rows, n_in, n_hidden, threads):
    """Every GEMM form (forward a @ W, weight gradient a^T @ d, input gradient
    d @ W^T) through each float32 path (tiled kernel with its row and column
    remainders and its blocks over k and n beyond 256, in place and packed),
    on one and two threads, against float64."""
    rng = np.random.RandomState(rows * 1000 + n_in)
    X = rng.randn(rows, n_in)
    n32, n64, params, (o32, g32), (o64, g64) = _objectives_32_and_64(
        rng, X, [n_hidden, 3], "identity", 0.5, threads)
    np.testing.assert_allclose(o32, o64, rtol=1e-4)
    scale = np.abs(g64).max()
    np.testing.assert_allclose(g32, g64, rtol=1e-3, atol=1e-5 * scale)
    p32 = n32.predict(params.astype(np.float32), X.astype(np.float32), threads)
    p64 = n64.predict(params, X, 1)
    np.testing.assert_allclose(p32, p64, rtol=1e-4, atol=1e-5 * np.abs(p64).max())


@pytest.mark.parametrize("rows", [101, 256])
@pytest.mark.parametrize("threads", [1, 2])
def test_float32_packed_products_agree_with_float64(rows, threads):
    """The packed GEMM path: op(B) over several 256 x 512 blocks with a masked
    right edge (530 = 512 + 18 columns), op(A) over several 96-row blocks with a
    partial tile, and every product form (a transposed B in dX = d @ W^T of the
    530-270 layer, a transposed A in dW = a^T @ d), against float64."""
    rng = np.random.RandomState(rows)
    X = rng.randn(rows, 600)
    _, _, _, (o32, g32), (o64, g64) = _objectives_32_and_64(
        rng, X, [530, 270, 3], "tanh", 0.05, threads)
    np.testing.assert_allclose(o32, o64, rtol=1e-4)
    np.testing.assert_allclose(g32, g64, rtol=1e-3, atol=1e-4 * np.abs(g64).max())



@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("with_grad", [False, True])
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("spread", [1.0, 40.0])
@pytest.mark.parametrize("k", [1, 3, 10, 32, 33])
def test_float32_fused_log_losses_agree_with_float64(weighted, with_grad, threads, spread, k):
    """The float32 log-losses on the output pre-activation (vector loops with
    their own exponential: the binary log-loss of one logistic output, k = 1;
    the softmax cross-entropy 16 rows at a time for k <= 32, row by row above)
    against float64, on logits of a few units and on logits from about -150 to
    150 (past float32's exp underflow at -87 and its subnormals to -104), with
    and without sample weights and gradient, with targets that are not one-hot
    (rows summing to anything), on a row count no vector width divides."""
    rng = np.random.RandomState(k)
    n = 1037
    X = rng.randn(n, 4)
    Y = rng.randint(0, 2, (n, 1)).astype(np.float64) if k == 1 else rng.uniform(0, 1, (n, k))
    sw = rng.uniform(0.5, 2.0, n) if weighted else None
    loss = "binary_log_loss" if k == 1 else "log_loss"
    n64 = make_network(4, [k], [], loss, "float64")
    n32 = make_network(4, [k], [], loss, "float32")
    params = rng.uniform(-spread, spread, n64.n_params)
    if spread > 1 and k == 1:  # the logits reached both ends
        proba = n64.predict(params, X, 1)
        assert (proba < 1e-38).any() and (proba > 1 - 1e-7).any()
    f32 = [a.astype(np.float32) for a in (params, X, Y)] + [None if sw is None else sw.astype(np.float32)]
    if with_grad:
        g64 = np.empty_like(params)
        g32 = np.empty(params.size, dtype=np.float32)
        o64 = n64.objective(params, X, Y, sw, 0.0, 1.0, g64, 1)
        o32 = n32.objective(*f32, 0.0, 1.0, g32, threads)
        np.testing.assert_allclose(g32, g64, rtol=2e-6, atol=1e-6 * np.abs(g64).max())
    else:  # evaluation: the loss without a gradient buffer
        o64 = n64.evaluate(params, None, X, Y, sw, [], False, 1)[0]
        p32, x32, y32, w32 = f32
        o32 = n32.evaluate(p32, None, x32, y32, w32, [], False, threads)[0]
    np.testing.assert_allclose(o32, o64, rtol=1e-6)
    # predictions (the activation's path): float32 logits of ~100 carry ~1e-5 of error
    p32 = n32.predict(f32[0], f32[1], threads)
    np.testing.assert_allclose(p32, n64.predict(params, X, 1), rtol=1e-5 * spread, atol=1e-7)
