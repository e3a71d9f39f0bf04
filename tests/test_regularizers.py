"""Kernel, bias and activity penalties (l1, l2, l1_l2) and weight constraints."""

import numpy as np
import pytest

from neurocore import _core
from neurocore._activations import activation_spec


def _net(first, loss="mean_squared_error"):
    layers = [
        {"type": "dense", "units": 5, **activation_spec("tanh"), **first},
        {"type": "dense", "units": 2, **activation_spec("linear")},
    ]
    return _core.Network(4, layers, loss, "float64")


def _obj(net, p, X, Y):
    g = np.empty_like(p)
    o, _ = net.objective(p, X, Y, None, 0.0, 1.0, g, 1)
    return o, g


PENALTIES = [
    {"kernel_l1": 0.05},
    {"kernel_l2": 0.1},
    {"kernel_l1": 0.02, "kernel_l2": 0.03},
    {"bias_l1": 0.05, "bias_l2": 0.05},
    {"activity_l1": 0.01},
    {"activity_l2": 0.02},
]


@pytest.mark.parametrize("penalty", PENALTIES, ids=lambda p: ",".join(p))
def test_penalty_value_and_gradient(penalty):
    rng = np.random.RandomState(0)
    X, Y = rng.randn(12, 4), rng.randn(12, 2)
    net, plain = _net(penalty), _net({})
    p = rng.uniform(-0.8, 0.8, net.n_params)
    W, b = p[:20], p[30:35]
    hidden = np.tanh(X @ W.reshape(4, 5) + b)
    expected = (
        penalty.get("kernel_l1", 0) * np.abs(W).sum() + penalty.get("kernel_l2", 0) * (W**2).sum()
        + penalty.get("bias_l1", 0) * np.abs(b).sum() + penalty.get("bias_l2", 0) * (b**2).sum()
        + penalty.get("activity_l1", 0) * np.abs(hidden).sum()
        + penalty.get("activity_l2", 0) * (hidden**2).sum()
    )
    assert expected > 0
    np.testing.assert_allclose(_obj(net, p, X, Y)[0] - _obj(plain, p, X, Y)[0], expected, rtol=1e-10)
    _, g = _obj(net, p, X, Y)
    num = np.array([
        (_obj(net, p + d, X, Y)[0] - _obj(net, p - d, X, Y)[0]) / 2e-6
        for d in np.eye(p.size) * 1e-6
    ])
    np.testing.assert_allclose(g, num, rtol=1e-5, atol=1e-8)


def _train(net, p, X, Y, steps=30, lr=0.1):
    cfg = {"optimizer": "sgd", "learning_rate_init": lr, "alpha": 0.0, "tol": 0.0,
           "n_iter_no_change": np.inf, "shuffle": False, "early_stopping": False,
           "incremental": True, "batch_size": len(X), "max_iter": 1, "n_threads": 1,
           "classifier": False, "report_scale": 1.0}
    ts = _core.TrainState()
    ts.lr = lr
    ts.rng_keys = np.zeros(624, dtype=np.uint32)
    slots = [np.zeros_like(p)]
    for _ in range(steps):
        net.fit(p, slots, None, X, Y, None, np.arange(len(X), dtype=np.int64),
                np.empty(0, np.int64), cfg, ts, None)
    return p


@pytest.mark.parametrize(
    "constraint, check",
    [
        ({"kernel_constraint": "max_norm", "kernel_constraint_max_value": 0.5},
         lambda W: np.linalg.norm(W, axis=0).max() <= 0.5 + 1e-9),
        ({"kernel_constraint": "non_neg"}, lambda W: W.min() >= 0),
        ({"kernel_constraint": "unit_norm"}, lambda W: np.allclose(np.linalg.norm(W, axis=0), 1, atol=1e-6)),
    ],
)
def test_constraints_hold_after_every_step(constraint, check):
    rng = np.random.RandomState(1)
    X, Y = rng.randn(40, 4) * 3, rng.randn(40, 2) * 5
    net = _net(constraint)
    p = rng.uniform(-2, 2, net.n_params)
    assert not check(p[:20].reshape(4, 5))  # violated before training
    p = _train(net, p, X, Y, steps=5, lr=0.5)
    assert check(p[:20].reshape(4, 5))


def test_l1_drives_irrelevant_weights_to_zero():
    rng = np.random.RandomState(2)
    X = rng.randn(200, 4)
    Y = np.c_[X[:, 0] * 2, -X[:, 0]]  # only feature 0 matters
    layers = [{"type": "dense", "units": 2, **activation_spec("linear"), "kernel_l1": 0.05}]
    net = _core.Network(4, layers, "mean_squared_error", "float64")
    p = _train(net, rng.uniform(-1, 1, net.n_params), X, Y, steps=400, lr=0.02)
    W = p[:8].reshape(4, 2)
    assert np.abs(W[1:]).max() < 2e-3  # irrelevant inputs: driven to (about) zero
    assert np.abs(W[0]).min() > 0.5  # the relevant one survives
    free = _train(_core.Network(4, [{"type": "dense", "units": 2, **activation_spec("linear")}],
                                "mean_squared_error", "float64"),
                  rng.uniform(-1, 1, 10), X + 0.3 * rng.randn(200, 4), Y, steps=400, lr=0.02)
    assert np.abs(free[:8].reshape(4, 2)[1:]).max() > 5e-3  # without L1 they stay


def test_unknown_constraint_is_refused():
    with pytest.raises(ValueError, match="unknown constraint"):
        _net({"kernel_constraint": "max_norms"})
