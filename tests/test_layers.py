"""The non-Dense layers: gradient checks (Dropout with a fixed mask,
BatchNormalization in training mode), values against numpy, and their
training/inference behaviour."""

import numpy as np
import pytest

from neurocore import _core
from neurocore._activations import activation_spec


def dense(units, act="linear", **kw):
    return {"type": "dense", "units": units, **activation_spec(act), **kw}


def _net(middle, n_in=4, k=3, loss="mean_squared_error", out="linear"):
    layers = [dense(6, "tanh"), *middle, dense(k, out)]
    return _core.Network(n_in, layers, loss, "float64")


def _objective(net, params, X, Y, seed=7):
    g = np.empty_like(params)
    obj, _ = net.objective(params, X, Y, None, 0.0, 1.0, g, 1, seed)
    return obj, g


def _initial_params(net, rng):
    p = rng.uniform(-0.6, 0.6, net.n_params)
    for v in net.variables():  # gammas near 1 make a realistic check
        if v["name"] == "gamma":
            p[v["offset"]:v["offset"] + v["shape"][0]] += 1.0
    return p


def _check(net, X, Y, seed=7):
    rng = np.random.RandomState(0)
    params = _initial_params(net, rng)
    _, grad = _objective(net, params, X, Y, seed)
    num = np.empty_like(params)
    for i in range(params.size):
        d = np.zeros_like(params)
        d[i] = 1e-6
        num[i] = (_objective(net, params + d, X, Y, seed)[0] - _objective(net, params - d, X, Y, seed)[0]) / 2e-6
    np.testing.assert_allclose(grad, num, rtol=1e-5, atol=1e-8)
    return grad


MIDDLES = {
    "activation": [{"type": "activation", **activation_spec("selu")}],
    "activation_softmax": [{"type": "activation", **activation_spec("softmax")}],
    "dropout": [{"type": "dropout", "rate": 0.4}],
    "gaussian_noise": [{"type": "gaussian_noise", "stddev": 0.3}],
    "batch_normalization": [{"type": "batch_normalization"}],
    "batch_normalization_no_affine": [{"type": "batch_normalization", "center": False, "scale": False}],
    "layer_normalization": [{"type": "layer_normalization"}],
    "bn_before_activation": [{"type": "batch_normalization"}, {"type": "activation", **activation_spec("relu")}],
}


@pytest.mark.parametrize("name", sorted(MIDDLES))
def test_layer_gradients(name):
    rng = np.random.RandomState(1)
    X = rng.randn(10, 4)
    Y = rng.randn(10, 3)
    _check(_net(MIDDLES[name]), X, Y)


def test_dropout_gradient_depends_on_the_mask():
    """A different seed is a different mask: the check really uses one mask."""
    rng = np.random.RandomState(1)
    X, Y = rng.randn(10, 4), rng.randn(10, 3)
    net = _net(MIDDLES["dropout"])
    params = _initial_params(net, np.random.RandomState(0))
    assert not np.allclose(_objective(net, params, X, Y, 1)[1], _objective(net, params, X, Y, 2)[1])


def test_trailing_activation_layer_is_fused_with_its_loss():
    rng = np.random.RandomState(2)
    X = rng.randn(12, 4)
    Y = np.eye(3)[rng.randint(0, 3, 12)]
    layers = [dense(5, "relu"), dense(3), {"type": "activation", **activation_spec("softmax")}]
    net = _core.Network(4, layers, "categorical_crossentropy", "float64")
    grad = _check(net, X, Y)
    p = net.predict(np.random.RandomState(0).uniform(-0.6, 0.6, net.n_params), X, 1)
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    assert np.abs(grad).max() > 1e-3


def _identity_net(middle, n=3):
    layers = [dense(n), *middle]
    net = _core.Network(n, layers, "mean_squared_error", "float64")
    params = np.zeros(net.n_params)
    params[: n * n] = np.eye(n).ravel()
    for v in net.variables():
        if v["name"] == "gamma":
            params[v["offset"]:v["offset"] + n] = [1.0, 2.0, 0.5]
        if v["name"] == "beta":
            params[v["offset"]:v["offset"] + n] = [0.0, -1.0, 3.0]
    return net, params


def test_batch_normalization_inference_uses_the_moving_statistics():
    net, params = _identity_net([{"type": "batch_normalization", "epsilon": 1e-3}])
    state = net.initial_state()
    np.testing.assert_array_equal(state, [0, 0, 0, 1, 1, 1])
    state[:] = [1.0, 2.0, 3.0, 4.0, 0.25, 9.0]
    X = np.random.RandomState(0).randn(5, 3)
    out = net.predict(params, X, 1, state)
    want = (X - state[:3]) / np.sqrt(state[3:] + 1e-3) * [1, 2, 0.5] + [0, -1, 3]
    np.testing.assert_allclose(out, want, rtol=1e-12)


def test_batch_normalization_training_updates_the_moving_statistics():
    net, params = _identity_net([{"type": "batch_normalization", "momentum": 0.9}])
    rng = np.random.RandomState(0)
    X = rng.randn(40, 3) * [1, 2, 3] + [5, -1, 0]
    state = net.initial_state()
    cfg = {"optimizer": "sgd", "learning_rate_init": 1e-12, "alpha": 0.0, "tol": 0.0,
           "n_iter_no_change": np.inf, "shuffle": False, "early_stopping": False,
           "incremental": True, "batch_size": 40, "max_iter": 1, "n_threads": 1,
           "classifier": False, "report_scale": 1.0}
    ts = _core.TrainState()
    ts.rng_keys = np.zeros(624, dtype=np.uint32)
    net.fit(params, [np.zeros_like(params)], None, X, np.zeros((40, 3)), None,
            np.arange(40, dtype=np.int64), np.empty(0, np.int64), cfg, ts, None, state)
    np.testing.assert_allclose(state[:3], 0.1 * X.mean(axis=0), rtol=1e-9)
    np.testing.assert_allclose(state[3:], 0.9 + 0.1 * X.var(axis=0), rtol=1e-9)
    with pytest.raises(ValueError, match="state"):
        net.fit(params, [np.zeros_like(params)], None, X, np.zeros((40, 3)), None,
                np.arange(40, dtype=np.int64), np.empty(0, np.int64), cfg, ts, None)


def test_layer_normalization_values():
    net, params = _identity_net([{"type": "layer_normalization", "epsilon": 1e-3}])
    X = np.random.RandomState(0).randn(6, 3) * 4
    out = net.predict(params, X, 1)
    mu, var = X.mean(axis=1, keepdims=True), X.var(axis=1, keepdims=True)
    np.testing.assert_allclose(out, (X - mu) / np.sqrt(var + 1e-3) * [1, 2, 0.5] + [0, -1, 3], rtol=1e-12)


def test_dropout_and_noise_only_while_training():
    net, params = _identity_net([{"type": "dropout", "rate": 0.5}, {"type": "gaussian_noise", "stddev": 1.0}])
    X = np.random.RandomState(0).randn(8, 3)
    np.testing.assert_array_equal(net.predict(params, X, 1), X)  # inference: identity


def test_dropout_masks_are_inverted_and_have_the_right_rate():
    """Inverted dropout: about `rate` of the units are zeroed, the rest scaled by 1/(1-rate)."""
    net = _core.Network(1, [dense(1), {"type": "dropout", "rate": 0.3}], "mean_squared_error", "float64")
    params = np.array([1.0, 0.0])  # y = x
    X = np.ones((20000, 1))
    grad = np.empty(2)
    obj, _ = net.objective(params, X, np.zeros((20000, 1)), None, 0.0, 1.0, grad, 1, 3)
    # loss = mean(mask^2); mask is 0 w.p. 0.3 and 1/0.7 w.p. 0.7: E = 0.7 / 0.49
    assert obj == pytest.approx(0.7 / 0.49, rel=0.02)


def test_bad_layer_configs_are_refused():
    with pytest.raises(ValueError, match="dropout rate"):
        _net([{"type": "dropout", "rate": 1.0}])
    with pytest.raises(ValueError, match="momentum"):
        _net([{"type": "batch_normalization", "momentum": 1.5}])
    with pytest.raises(ValueError, match="epsilon"):
        _net([{"type": "layer_normalization", "epsilon": 0.0}])
