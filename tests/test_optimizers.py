"""Optimizer steps of the C++ core against a numpy transcription of each rule.

A partial_fit with shuffle=False and batch_size >= n_samples is exactly one
optimizer step on the full-batch gradient, which the core's objective gives us.
"""

import numpy as np
import pytest
from sklearn.neural_network import MLPRegressor as SkMLPRegressor

from neurocore import MLPRegressor


def _data():
    rng = np.random.RandomState(0)
    X = rng.randn(40, 6)
    y = X @ rng.randn(6) + 0.1 * rng.randn(40)
    return X, y


def _gradient(est, X, y):
    net = est._network().core  # the C++ network
    grad = np.empty_like(est._params)
    net.objective(
        est._params, np.ascontiguousarray(X), y.reshape(-1, 1).copy(), None,
        est.alpha, 1.0, grad, 1,
    )
    return grad


def sgd_reference(p, v, g, lr, mu, nesterov):
    v = mu * v - lr * g
    if nesterov:
        return p + mu * v - lr * g, v
    return p + v, v


def adam_reference(p, m, v, g, t, lr, b1, b2, eps):
    t += 1
    m = b1 * m + (1 - b1) * g
    v = b2 * v + (1 - b2) * g**2
    lr_t = lr * np.sqrt(1 - b2**t) / (1 - b1**t)
    return p - lr_t * m / (np.sqrt(v) + eps), m, v, t


N_STEPS = 6


@pytest.mark.parametrize("nesterov", [True, False])
@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_sgd_steps_match_numpy(nesterov, momentum):
    X, y = _data()
    est = MLPRegressor(
        hidden_layer_sizes=(5,), solver="sgd", learning_rate_init=0.05,
        momentum=momentum, nesterovs_momentum=nesterov, alpha=1e-3,
        batch_size=len(X), shuffle=False, dtype="float64", random_state=0,
    )
    est.partial_fit(X, y)
    p = est._params.copy()
    v = est._optimizer.slots[0].copy()
    for _ in range(N_STEPS):
        g = _gradient(est, X, y)
        p, v = sgd_reference(p, v, g, 0.05, momentum, nesterov)
        est.partial_fit(X, y)
        np.testing.assert_allclose(est._params, p, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(est._optimizer.slots[0], v, rtol=1e-12, atol=1e-14)
    assert not np.allclose(p, est._params + 1e-6)


@pytest.mark.parametrize("betas", [(0.9, 0.999), (0.5, 0.9)])
def test_adam_steps_match_numpy(betas):
    X, y = _data()
    b1, b2 = betas
    est = MLPRegressor(
        hidden_layer_sizes=(5,), solver="adam", learning_rate_init=0.01, beta_1=b1,
        beta_2=b2, epsilon=1e-7, alpha=1e-3, batch_size=len(X), shuffle=False,
        dtype="float64", random_state=0,
    )
    est.partial_fit(X, y)
    p = est._params.copy()
    m, v, t = est._optimizer.slots[0].copy(), est._optimizer.slots[1].copy(), est._optimizer.t
    assert t == 1
    for _ in range(N_STEPS):
        g = _gradient(est, X, y)
        p, m, v, t = adam_reference(p, m, v, g, t, 0.01, b1, b2, 1e-7)
        est.partial_fit(X, y)
        assert est._optimizer.t == t
        np.testing.assert_allclose(est._params, p, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(est._optimizer.slots[0], m, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(est._optimizer.slots[1], v, rtol=1e-12, atol=1e-18)


def test_invscaling_and_adaptive_learning_rates():
    """invscaling: lr = lr0 / (t + 1)^power_t after each epoch; adaptive: lr / 5 on a plateau."""
    X, y = _data()
    est = MLPRegressor(
        hidden_layer_sizes=(5,), solver="sgd", learning_rate="invscaling",
        learning_rate_init=0.1, power_t=0.25, batch_size=10, dtype="float64",
        random_state=0,
    )
    for k in range(1, 4):
        est.partial_fit(X, y)
        assert est.t_ == k * len(X)
        assert est._optimizer.lr == pytest.approx(0.1 / (est.t_ + 1) ** 0.25, rel=1e-12)

    # a learning rate so small nothing improves: every n_iter_no_change + 1
    # epochs the adaptive schedule divides it by 5, until it drops below 1e-6
    params = dict(
        hidden_layer_sizes=(5,), solver="sgd", learning_rate="adaptive",
        learning_rate_init=1e-5, n_iter_no_change=2, tol=10.0, max_iter=50,
        random_state=0,
    )
    est = MLPRegressor(dtype="float64", **params).fit(X, y)
    assert est._optimizer.lr == pytest.approx(1e-5 / 25, rel=1e-12)
    # epoch 1 sets best_loss_; then 3 epochs at 1e-5, 3 at 2e-6, 3 at 4e-7 (< 1e-6: stop)
    assert est.n_iter_ == 10
    reference = SkMLPRegressor(**params).fit(X, y)
    assert reference.n_iter_ == est.n_iter_
    assert reference._optimizer.learning_rate == pytest.approx(est._optimizer.lr)
