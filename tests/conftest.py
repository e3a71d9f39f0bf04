import os
import signal
import threading
import time

# Keep tests deterministic and light on a shared machine.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


import pytest


@pytest.fixture
def sigint_reaches_python():
    """A test that sends itself SIGINT needs Python's handler installed. A
    process started with SIGINT ignored (a background job of a shell: `pytest
    &`) keeps it ignored, and the signal would be dropped while the fit runs on:
    there the default handler is installed for the test and restored after,
    and where that cannot be done (not the main thread) the test is skipped."""
    previous = signal.getsignal(signal.SIGINT)
    if previous is signal.default_int_handler:
        yield
        return
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("SIGINT is ignored in this process and only the main thread can "
                    "install a handler, so a Ctrl-C test would wait for a signal that never comes")
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


class Deadline:
    """A Keras-style callback that stops a fit once `seconds` have passed: a test
    waiting for a Ctrl-C that does not come ends instead of training on."""

    def __new__(cls, seconds):
        from neurocore.keras.callbacks import Callback

        class _Deadline(Callback):
            def __init__(self):
                super().__init__()
                self.end = time.monotonic() + seconds

            def on_epoch_end(self, epoch, logs=None):
                if time.monotonic() > self.end:
                    self.model.stop_training = True

        return _Deadline()


@pytest.fixture
def global_random_seed():
    """scikit-learn's fixture of that name (its default seed), for its test-suite."""
    return 42


_OUTPUT_FOR_LOSS = {
    "squared_error": "linear",
    "log_loss": "softmax",
    "binary_log_loss": "sigmoid",
    "poisson": "exponential",
}


def make_network(n_in, units, hidden, loss, dtype="float64", **act_params):
    """A C++ network of Dense layers: `units` = hidden sizes + outputs."""
    from neurocore import _core
    from neurocore._activations import activation_spec

    hidden = [hidden] * (len(units) - 1) if isinstance(hidden, str) else list(hidden)
    names = hidden + [_OUTPUT_FOR_LOSS[loss]]
    layers = [
        {"type": "dense", "units": u, **activation_spec(n, **(act_params if i < len(hidden) else {}))}
        for i, (u, n) in enumerate(zip(units, names))
    ]
    return _core.Network(n_in, layers, loss, dtype)


def check_objective_gradient(net, p, X, Y, seed=3):
    """The C++ objective's gradient at p equals central differences (float64)."""
    import numpy as np

    def obj(q):
        g = np.empty_like(q)
        return net.objective(q, X, Y, None, 0.0, 1.0, g, 1, seed)[0], g

    _, grad = obj(p)
    num = np.empty_like(p)
    for i in range(p.size):
        d = np.zeros_like(p)
        d[i] = 1e-6
        num[i] = (obj(p + d)[0] - obj(p - d)[0]) / 2e-6
    np.testing.assert_allclose(grad, num, rtol=1e-5, atol=1e-8)
