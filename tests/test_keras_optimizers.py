"""Each Keras optimizer of the C++ core against a numpy transcription of its
update rule (Keras 3's update_step code), over six full-batch steps, with
gradient clipping, decoupled weight decay and Keras 2's `decay`."""

import numpy as np
import pytest

from neurocore import _core
from neurocore._activations import activation_spec

N_STEPS = 6


def _setup(seed=0):
    rng = np.random.RandomState(seed)
    X = rng.randn(30, 4)
    Y = (X @ rng.randn(4, 2)) + 0.1 * rng.randn(30, 2)
    layers = [
        {"type": "dense", "units": 5, **activation_spec("tanh")},
        {"type": "dense", "units": 2, **activation_spec("linear")},
    ]
    net = _core.Network(4, layers, "mean_squared_error", "float64")
    params = rng.uniform(-0.5, 0.5, net.n_params)
    return net, params, X, Y


def _grad(net, params, X, Y):
    g = np.empty_like(params)
    net.objective(params, X, Y, None, 0.0, 1.0, g, 1)
    return g


def _core_steps(net, params, X, Y, config, n_steps=N_STEPS):
    """Run n_steps optimizer steps through the C++ trainer; return params after each."""
    cfg = {
        "learning_rate_init": 0.01, "alpha": 0.0, "tol": 0.0, "n_iter_no_change": np.inf,
        "shuffle": False, "early_stopping": False, "incremental": True,
        "batch_size": len(X), "max_iter": 1, "n_threads": 1, "classifier": False,
        "report_scale": 1.0, **config,
    }
    slots = [np.zeros_like(params) for _ in range(_core.optimizer_slots(cfg))]
    if cfg["optimizer"] == "adagrad":
        slots[0][:] = 0.1
    state = _core.TrainState()
    state.lr = cfg["learning_rate_init"]
    state.rng_keys = np.zeros(624, dtype=np.uint32)
    p = params.copy()
    out = []
    idx = np.arange(len(X), dtype=np.int64)
    for _ in range(n_steps):
        net.fit(p, slots, None, X, Y, None, idx, np.empty(0, np.int64), cfg, state, None)
        out.append(p.copy())
    return out


def _clip(g, cfg, segments):
    g = g.copy()
    if cfg.get("clipvalue"):
        g = np.clip(g, -cfg["clipvalue"], cfg["clipvalue"])
    if cfg.get("clipnorm"):
        for off, n in segments:
            norm = np.linalg.norm(g[off:off + n])
            if norm > cfg["clipnorm"]:
                g[off:off + n] *= cfg["clipnorm"] / norm
    if cfg.get("global_clipnorm"):
        norm = np.linalg.norm(g)
        if norm > cfg["global_clipnorm"]:
            g *= cfg["global_clipnorm"] / norm
    return g


def _reference_steps(net, params, X, Y, cfg, n_steps=N_STEPS):
    """The same steps in numpy, transcribed from Keras's optimizers."""
    name = cfg["optimizer"]
    lr0, eps = cfg["learning_rate_init"], cfg.get("epsilon", 1e-7)
    b1, b2 = cfg.get("beta_1", 0.9), cfg.get("beta_2", 0.999)
    rho, mom = cfg.get("rho", 0.9), cfg.get("momentum", 0.0)
    # kernels then biases: the segments Keras clips one by one
    segments = [(0, 20), (20, 10), (30, 5), (35, 2)]
    p = params.copy()
    s = [np.zeros_like(p) for _ in range(3)]
    if name == "adagrad":
        s[0][:] = 0.1
    u_product, out = 1.0, []
    for it in range(n_steps):
        t = it + 1
        lr = lr0 / (1 + cfg.get("decay", 0.0) * it)
        g = _clip(_grad(net, p, X, Y), cfg, segments)
        if cfg.get("weight_decay"):
            p = p - p * cfg["weight_decay"] * lr
        if name == "sgd":
            s[0] = mom * s[0] - lr * g
            p = p + (mom * s[0] - lr * g if cfg.get("nesterov") else s[0])
        elif name in ("adam", "adamw"):
            s[0] = b1 * s[0] + (1 - b1) * g
            s[1] = b2 * s[1] + (1 - b2) * g**2
            v = s[1]
            if cfg.get("amsgrad"):
                s[2] = np.maximum(s[2], s[1])
                v = s[2]
            alpha = lr * np.sqrt(1 - b2**t) / (1 - b1**t)
            p = p - alpha * s[0] / (np.sqrt(v) + eps)
        elif name == "rmsprop":
            s[0] = rho * s[0] + (1 - rho) * g**2
            denom = s[0] + eps
            if cfg.get("centered"):
                s[2] = rho * s[2] + (1 - rho) * g
                denom = s[0] - s[2] ** 2 + eps
            inc = lr * g / np.sqrt(denom)
            if mom > 0:
                s[1] = mom * s[1] + inc
                p = p - s[1]
            else:
                p = p - inc
        elif name == "adagrad":
            s[0] = s[0] + g**2
            p = p - lr * g / np.sqrt(s[0] + eps)
        elif name == "adadelta":
            s[0] = rho * s[0] + (1 - rho) * g**2
            d = -np.sqrt(s[1] + eps) / np.sqrt(s[0] + eps) * g
            s[1] = rho * s[1] + (1 - rho) * d**2
            p = p + lr * d
        elif name == "adamax":
            s[0] = s[0] + (g - s[0]) * (1 - b1)
            s[1] = np.maximum(b2 * s[1], np.abs(g))
            p = p - lr * s[0] / ((1 - b1**t) * (s[1] + eps))
        elif name == "nadam":
            u_t = b1 * (1 - 0.5 * 0.96**t)
            u_t1 = b1 * (1 - 0.5 * 0.96 ** (t + 1))
            u_product = u_product * u_t
            s[0] = s[0] + (g - s[0]) * (1 - b1)
            s[1] = s[1] + (g**2 - s[1]) * (1 - b2)
            m_hat = u_t1 * s[0] / (1 - u_product * u_t1) + (1 - u_t) * g / (1 - u_product)
            v_hat = s[1] / (1 - b2**t)
            p = p - lr * m_hat / (np.sqrt(v_hat) + eps)
        out.append(p.copy())
    return out


CONFIGS = [
    {"optimizer": "sgd", "momentum": 0.9, "nesterov": True},
    {"optimizer": "sgd", "momentum": 0.5},
    {"optimizer": "rmsprop", "rho": 0.9},
    {"optimizer": "rmsprop", "rho": 0.99, "momentum": 0.9},
    {"optimizer": "rmsprop", "rho": 0.9, "momentum": 0.5, "centered": True},
    {"optimizer": "adagrad", "learning_rate_init": 0.1},
    {"optimizer": "adadelta", "learning_rate_init": 1.0, "rho": 0.95},
    {"optimizer": "adam", "epsilon": 1e-7},
    {"optimizer": "adam", "amsgrad": True},
    {"optimizer": "adamax", "learning_rate_init": 0.02},
    {"optimizer": "nadam", "learning_rate_init": 0.02},
    {"optimizer": "adamw", "weight_decay": 0.004, "learning_rate_init": 0.05},
    {"optimizer": "adam", "clipnorm": 0.05},
    {"optimizer": "sgd", "clipvalue": 0.02},
    {"optimizer": "rmsprop", "global_clipnorm": 0.1},
    {"optimizer": "sgd", "momentum": 0.9, "decay": 0.5, "learning_rate_init": 0.1},
]


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: "-".join(f"{k}={v}" for k, v in c.items()))
def test_optimizer_matches_numpy_transcription(config):
    net, params, X, Y = _setup()
    cfg = {"learning_rate_init": 0.01, **config}
    got = _core_steps(net, params, X, Y, cfg)
    want = _reference_steps(net, params, X, Y, cfg)
    for k, (a, b) in enumerate(zip(got, want)):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12, err_msg=f"step {k + 1}")
    assert np.abs(got[-1] - params).max() > 1e-4  # the optimizer moved the weights


def test_clipping_is_active_in_these_checks():
    """clipnorm/clipvalue above really bind: without them the steps differ."""
    net, params, X, Y = _setup()
    clipped = _core_steps(net, params, X, Y, {"optimizer": "sgd", "clipvalue": 0.02}, 1)[0]
    free = _core_steps(net, params, X, Y, {"optimizer": "sgd"}, 1)[0]
    assert not np.allclose(clipped, free)


def test_unknown_optimizer_is_refused():
    with pytest.raises(ValueError, match="unknown optimizer"):
        _core.optimizer_slots({"optimizer": "sgdd"})
