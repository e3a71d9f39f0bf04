"""Learning-rate schedules: the documented rates, step by step, and their effect."""

import math

import numpy as np
import pytest

from neurocore import _core
from neurocore._activations import activation_spec


def keras_schedule(kind, step, initial=0.1, decay_steps=3.0, decay_rate=0.5, staircase=False,
                   alpha=0.0, boundaries=(), values=()):
    p = step / decay_steps
    if staircase:
        p = math.floor(p)
    if kind == "exponential":
        return initial * decay_rate**p  # A exp(-k t) with k = -ln(rate) / decay_steps
    if kind == "inverse_time":
        return initial / (1 + decay_rate * p)  # A / (1 + k t)
    if kind == "step":
        return initial * decay_rate ** math.floor(step / decay_steps)  # e.g. halve every N
    if kind == "cosine":
        s = min(step, decay_steps) / decay_steps
        return initial * ((1 - alpha) * 0.5 * (1 + math.cos(math.pi * s)) + alpha)
    if kind == "piecewise_constant":
        for b, v in zip(boundaries, values):
            if step <= b:
                return v
        return values[-1]
    raise AssertionError(kind)


def _fit_epochs(schedule, n_epochs=10, on_epoch=None, decay=0.0):
    rng = np.random.RandomState(0)
    X, Y = rng.randn(16, 3), rng.randn(16, 1)
    net = _core.Network(3, [{"type": "dense", "units": 1, **activation_spec("linear")}],
                        "mean_squared_error", "float64")
    p = rng.uniform(-1, 1, net.n_params)
    cfg = {"optimizer": "sgd", "learning_rate_init": 0.1, "alpha": 0.0, "tol": 0.0,
           "n_iter_no_change": np.inf, "shuffle": False, "early_stopping": False,
           "incremental": False, "batch_size": 16, "max_iter": n_epochs, "n_threads": 1,
           "classifier": False, "report_scale": 1.0, "schedule": schedule, "decay": decay}
    ts = _core.TrainState()
    ts.lr = 0.1
    ts.rng_keys = np.zeros(624, dtype=np.uint32)
    lrs = []

    def record(n_iter, loss, val, lr, msg, *_):
        lrs.append(lr)
        return on_epoch(n_iter, lr) if on_epoch else False

    net.fit(p, [np.zeros_like(p)], None, X, Y, None, np.arange(16, dtype=np.int64),
            np.empty(0, np.int64), cfg, ts, record)
    return lrs


SCHEDULES = [
    {"kind": "exponential", "initial_learning_rate": 0.1, "decay_steps": 3.0, "decay_rate": 0.5},
    {"kind": "exponential", "initial_learning_rate": 0.1, "decay_steps": 3.0, "decay_rate": 0.5, "staircase": True},
    {"kind": "inverse_time", "initial_learning_rate": 0.1, "decay_steps": 3.0, "decay_rate": 0.5},
    {"kind": "step", "initial_learning_rate": 0.1, "decay_steps": 3.0, "decay_rate": 0.5},
    {"kind": "cosine", "initial_learning_rate": 0.1, "decay_steps": 7.0, "alpha": 0.1},
    {"kind": "piecewise_constant", "boundaries": [2, 5], "values": [0.1, 0.05, 0.01]},
]


@pytest.mark.parametrize("schedule", SCHEDULES, ids=lambda s: s["kind"] + ("-stair" if s.get("staircase") else ""))
def test_schedules_give_the_documented_rates(schedule):
    lrs = _fit_epochs(schedule)
    params = {k: v for k, v in schedule.items() if k not in ("kind", "initial_learning_rate")}
    params["initial"] = schedule.get("initial_learning_rate", 0.1)
    # one step per epoch: after epoch e the next step is number e
    want = [keras_schedule(schedule["kind"], e, **params) for e in range(1, 11)]
    np.testing.assert_allclose(lrs, want, rtol=1e-12)
    assert len(set(np.round(lrs, 12))) > 1


def test_keras2_decay_argument():
    lrs = _fit_epochs(None, decay=0.25)
    np.testing.assert_allclose(lrs, [0.1 / (1 + 0.25 * e) for e in range(1, 11)], rtol=1e-12)


def test_callback_sets_the_learning_rate():
    lrs = _fit_epochs(None, on_epoch=lambda n, lr: (False, 0.01 if n >= 3 else None))
    np.testing.assert_allclose(lrs, [0.1, 0.1, 0.1] + [0.01] * 7)


def test_schedule_drives_the_update():
    """With plain SGD each step moves by -lr(step) * gradient."""
    rng = np.random.RandomState(0)
    X, Y = rng.randn(16, 3), rng.randn(16, 1)
    net = _core.Network(3, [{"type": "dense", "units": 1, **activation_spec("linear")}],
                        "mean_squared_error", "float64")
    p0 = rng.uniform(-1, 1, net.n_params)
    sched = {"kind": "piecewise_constant", "boundaries": [0], "values": [0.3, 0.05]}
    cfg = {"optimizer": "sgd", "learning_rate_init": 0.1, "alpha": 0.0, "tol": 0.0,
           "n_iter_no_change": np.inf, "shuffle": False, "early_stopping": False,
           "incremental": True, "batch_size": 16, "max_iter": 1, "n_threads": 1,
           "classifier": False, "report_scale": 1.0, "schedule": sched}
    ts = _core.TrainState()
    ts.rng_keys = np.zeros(624, dtype=np.uint32)
    p = p0.copy()
    expected = p0.copy()
    for lr in (0.3, 0.05, 0.05):
        g = np.empty_like(expected)
        net.objective(expected, X, Y, None, 0.0, 1.0, g, 1)
        expected = expected - lr * g
        net.fit(p, [np.zeros_like(p)], None, X, Y, None, np.arange(16, dtype=np.int64),
                np.empty(0, np.int64), cfg, ts, None)
        np.testing.assert_allclose(p, expected, rtol=1e-12)


def test_bad_schedules_are_refused():
    with pytest.raises(ValueError, match="schedule"):
        _fit_epochs({"kind": "linear"})
    with pytest.raises(ValueError, match="one more value"):
        _fit_epochs({"kind": "piecewise_constant", "boundaries": [1, 2], "values": [1.0]})
