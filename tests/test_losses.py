"""Every Keras loss: values against numpy transcriptions of Keras's definitions,
and gradients (through the output activation) against central differences."""

import numpy as np
import pytest
from scipy.special import expit, log_softmax, softmax

from neurocore import _core
from neurocore._activations import activation_spec

EPS = 1e-7


def keras_loss(name, y, p, from_logits=False, delta=1.0):
    """Per-sample Keras losses, in numpy (Keras 2 / tf.keras definitions)."""
    if name == "mean_squared_error":
        return np.mean((p - y) ** 2, axis=-1)
    if name == "mean_absolute_error":
        return np.mean(np.abs(p - y), axis=-1)
    if name == "mean_absolute_percentage_error":
        return 100 * np.mean(np.abs((y - p) / np.maximum(np.abs(y), EPS)), axis=-1)
    if name == "mean_squared_logarithmic_error":
        a = np.log(np.maximum(p, EPS) + 1)
        b = np.log(np.maximum(y, EPS) + 1)
        return np.mean((a - b) ** 2, axis=-1)
    if name == "huber":
        e = np.abs(p - y)
        return np.mean(np.where(e <= delta, 0.5 * e**2, 0.5 * delta**2 + delta * (e - delta)), axis=-1)
    if name == "log_cosh":
        return np.mean(np.log(np.cosh(p - y)), axis=-1)
    if name == "keras_poisson":
        return np.mean(p - y * np.log(p + EPS), axis=-1)
    if name == "categorical_crossentropy":
        if from_logits:
            return -np.sum(y * log_softmax(p, axis=-1), axis=-1)
        q = np.clip(p / p.sum(axis=-1, keepdims=True), EPS, 1 - EPS)
        return -np.sum(y * np.log(q), axis=-1)
    if name == "binary_crossentropy":
        if from_logits:
            return np.mean(np.logaddexp(0, p) - y * p, axis=-1)
        q = np.clip(p, EPS, 1 - EPS)
        return -np.mean(y * np.log(q + EPS) + (1 - y) * np.log(1 - q + EPS), axis=-1)
    if name in ("hinge", "squared_hinge"):
        t = 2 * y - 1 if np.isin(y, [0, 1]).all() else y
        m = np.maximum(1 - t * p, 0)
        return np.mean(m if name == "hinge" else m**2, axis=-1)
    if name == "categorical_hinge":
        pos = np.sum(y * p, axis=-1)
        neg = np.max((1 - y) * p, axis=-1)
        return np.maximum(neg - pos + 1, 0)
    if name == "kl_divergence":
        t = np.clip(y, EPS, 1)
        q = np.clip(p, EPS, 1)
        return np.sum(t * np.log(t / q), axis=-1)
    if name == "cosine_similarity":
        tn = y / np.sqrt(np.maximum(np.sum(y**2, axis=-1, keepdims=True), 1e-12))
        pn = p / np.sqrt(np.maximum(np.sum(p**2, axis=-1, keepdims=True), 1e-12))
        return -np.sum(tn * pn, axis=-1)
    raise AssertionError(name)


def _targets(kind, rng, n, k):
    if kind == "onehot":
        return np.eye(k)[rng.randint(0, k, n)]
    if kind == "binary":
        return (rng.rand(n, k) > 0.5).astype(float)
    if kind == "pm1":
        return np.where(rng.rand(n, k) > 0.5, 1.0, -1.0)
    if kind == "positive":
        return rng.uniform(0.5, 3.0, (n, k))
    if kind == "counts":
        return rng.poisson(2.0, (n, k)).astype(float)
    if kind == "dist":
        return softmax(rng.randn(n, k), axis=1)
    return rng.randn(n, k) * 2


# (loss, output activation, targets, from_logits)
CASES = [
    ("mean_squared_error", "linear", "real", False),
    ("mean_squared_error", "tanh", "real", False),
    ("mean_absolute_error", "linear", "real", False),
    ("mean_absolute_percentage_error", "linear", "positive", False),
    ("mean_squared_logarithmic_error", "softplus", "positive", False),
    ("huber", "linear", "real", False),
    ("log_cosh", "linear", "real", False),
    ("keras_poisson", "exponential", "counts", False),
    ("keras_poisson", "softplus", "counts", False),
    ("categorical_crossentropy", "softmax", "onehot", False),  # fused
    ("categorical_crossentropy", "sigmoid", "onehot", False),  # generic on probabilities
    ("categorical_crossentropy", "linear", "dist", True),
    ("binary_crossentropy", "sigmoid", "binary", False),  # fused
    ("binary_crossentropy", "softmax", "binary", False),  # generic on probabilities
    ("binary_crossentropy", "linear", "binary", True),
    ("hinge", "tanh", "pm1", False),
    ("hinge", "linear", "binary", False),  # 0/1 targets read as -1/+1
    ("squared_hinge", "tanh", "pm1", False),
    ("categorical_hinge", "linear", "onehot", False),
    ("kl_divergence", "softmax", "dist", False),
    ("cosine_similarity", "linear", "real", False),
]


def _net(loss, out_act, from_logits, n_in=4, hidden=6, k=3):
    layers = [
        {"type": "dense", "units": hidden, **activation_spec("tanh")},
        {"type": "dense", "units": k, **activation_spec(out_act)},
    ]
    return _core.Network(n_in, layers, loss, "float64", from_logits=from_logits)


def _objective(net, params, X, Y):
    grad = np.empty_like(params)
    obj, _ = net.objective(params, X, Y, None, 0.0, 1.0, grad, 1)
    return obj, grad


@pytest.mark.parametrize("loss, out_act, targets, from_logits", CASES)
def test_loss_value_matches_keras(loss, out_act, targets, from_logits):
    rng = np.random.RandomState(0)
    X = rng.randn(20, 4)
    Y = _targets(targets, rng, 20, 3)
    net = _net(loss, out_act, from_logits)
    params = rng.uniform(-0.7, 0.7, net.n_params)
    p = net.predict(params, X, 1)
    obj, _ = _objective(net, params, X, Y)
    # fused pairs use the exact logits form, as TensorFlow's Keras does; the
    # probability form clips and adds epsilon (1e-7) inside its logarithms
    fused = (loss, out_act) in {("categorical_crossentropy", "softmax"), ("binary_crossentropy", "sigmoid")}
    np.testing.assert_allclose(
        obj, keras_loss(loss, Y, p, from_logits).mean(), rtol=1e-6 if fused else 1e-9
    )


@pytest.mark.parametrize("loss, out_act, targets, from_logits", CASES)
def test_loss_gradient(loss, out_act, targets, from_logits):
    rng = np.random.RandomState(1)
    X = rng.randn(9, 4)
    Y = _targets(targets, rng, 9, 3)
    net = _net(loss, out_act, from_logits)
    params = rng.uniform(-0.7, 0.7, net.n_params)
    _, grad = _objective(net, params, X, Y)
    num = np.empty_like(params)
    for i in range(params.size):
        d = np.zeros_like(params)
        d[i] = 1e-6
        num[i] = (_objective(net, params + d, X, Y)[0] - _objective(net, params - d, X, Y)[0]) / 2e-6
    np.testing.assert_allclose(grad, num, rtol=1e-5, atol=1e-7)
    assert np.abs(grad).max() > 1e-4  # a gradient that could be wrong


def test_huber_delta_and_logits_flags_are_used():
    rng = np.random.RandomState(2)
    X = rng.randn(15, 4)
    Y = rng.randn(15, 3) * 3
    layers = [{"type": "dense", "units": 3, **activation_spec("linear")}]
    params = rng.uniform(-1, 1, 15)
    for delta in (0.5, 2.0):
        net = _core.Network(4, layers, "huber", "float64", delta=delta)
        p = net.predict(params, X, 1)
        obj, _ = _objective(net, params, X, Y)
        np.testing.assert_allclose(obj, keras_loss("huber", Y, p, delta=delta).mean(), rtol=1e-10)


def test_scikit_learn_losses_refuse_a_non_canonical_output():
    layers = [{"type": "dense", "units": 3, **activation_spec("tanh")}]
    with pytest.raises(ValueError, match="does not match the loss"):
        _core.Network(4, layers, "log_loss", "float64")
    with pytest.raises(ValueError, match="unknown loss"):
        _core.Network(4, layers, "hingee", "float64")
