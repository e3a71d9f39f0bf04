"""Keras metrics in the core: evaluate, running training metrics, validation figures."""

import numpy as np
import pytest
from scipy.special import softmax

from neurocore import _core
from neurocore._activations import activation_spec

METRICS = [
    {"kind": "categorical_accuracy"},
    {"kind": "loss", "loss": "mean_squared_error"},
    {"kind": "loss", "loss": "mean_absolute_error"},
    {"kind": "loss", "loss": "categorical_crossentropy"},
]


def _data(n=60, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.randn(n, 5)
    Y = np.eye(3)[rng.randint(0, 3, n)]
    sw = rng.uniform(0.5, 2.0, n)
    return X, Y, sw


def _net(extra=()):
    layers = [{"type": "dense", "units": 8, **activation_spec("relu")}, *extra,
              {"type": "dense", "units": 3, **activation_spec("softmax")}]
    return _core.Network(5, layers, "categorical_crossentropy", "float64")


def test_evaluate_matches_numpy():
    X, Y, sw = _data()
    net = _net([{"type": "dropout", "rate": 0.5}])  # inference: dropout off
    params = np.random.RandomState(1).uniform(-0.5, 0.5, net.n_params)
    loss, (acc, mse, mae, cce) = net.evaluate(params, None, X, Y, sw, METRICS, True, 1)
    p = net.predict(params, X, 1)
    per_sample = -np.sum(Y * np.log(p), axis=1)
    np.testing.assert_allclose(loss, np.sum(sw * per_sample) / len(X), rtol=1e-10)  # Keras: / n
    np.testing.assert_allclose(acc, np.average(p.argmax(1) == Y.argmax(1), weights=sw))
    np.testing.assert_allclose(mse, np.average(np.mean((p - Y) ** 2, axis=1), weights=sw))
    np.testing.assert_allclose(mae, np.average(np.mean(np.abs(p - Y), axis=1), weights=sw))
    np.testing.assert_allclose(cce, np.average(per_sample, weights=sw), rtol=1e-6)
    loss_sk, _ = net.evaluate(params, None, X, Y, sw, [], False, 1)
    np.testing.assert_allclose(loss_sk, np.average(per_sample, weights=sw), rtol=1e-10)


def test_binary_accuracy_threshold():
    rng = np.random.RandomState(2)
    X = rng.randn(50, 5)
    Y = (rng.rand(50, 2) > 0.5).astype(float)
    layers = [{"type": "dense", "units": 2, **activation_spec("sigmoid")}]
    net = _core.Network(5, layers, "binary_crossentropy", "float64")
    params = rng.uniform(-1, 1, net.n_params)
    p = net.predict(params, X, 1)
    for thr in (0.5, 0.7):
        _, (acc,) = net.evaluate(params, None, X, Y, None, [{"kind": "binary_accuracy", "threshold": thr}], True, 1)
        np.testing.assert_allclose(acc, np.mean(Y == (p > thr)))


def test_running_metrics_and_validation_figures():
    X, Y, _ = _data(80)
    net = _net()
    params = np.random.RandomState(3).uniform(-0.5, 0.5, net.n_params)
    frozen = params.copy()
    cfg = {"optimizer": "sgd", "learning_rate_init": 1e-300, "alpha": 0.0, "tol": 0.0,
           "n_iter_no_change": np.inf, "shuffle": True, "early_stopping": False,
           "incremental": False, "batch_size": 16, "max_iter": 2, "n_threads": 1,
           "classifier": True, "report_scale": 1.0, "keras_weighting": True,
           "metrics": METRICS, "validate": True}
    ts = _core.TrainState()
    ts.rng_keys = np.random.RandomState(0).get_state()[1]
    reports = []
    train, val = np.arange(60, dtype=np.int64), np.arange(60, 80, dtype=np.int64)
    net.fit(params, [np.zeros_like(params)], None, X, Y, None, train, val, cfg, ts,
            lambda *r: reports.append(r) or False)
    # the weights did not move, so running metrics equal full-data metrics
    loss_tr, m_tr = net.evaluate(frozen, None, X[:60], Y[:60], None, METRICS, True, 1)
    loss_va, m_va = net.evaluate(frozen, None, X[60:], Y[60:], None, METRICS, True, 1)
    assert len(reports) == 2
    for n_iter, loss, _, _, _, metrics, val_loss, val_metrics in reports:
        np.testing.assert_allclose(loss, loss_tr, rtol=1e-10)
        np.testing.assert_allclose(metrics, m_tr, rtol=1e-10)
        np.testing.assert_allclose(val_loss, loss_va, rtol=1e-10)
        np.testing.assert_allclose(val_metrics, m_va, rtol=1e-10)


def test_unknown_metric_is_refused():
    X, Y, _ = _data()
    net = _net()
    params = np.zeros(net.n_params)
    with pytest.raises(ValueError, match="metric kind"):
        net.evaluate(params, None, X, Y, None, [{"kind": "f1"}], True, 1)
