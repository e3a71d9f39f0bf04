import os

# Keep tests deterministic and light on a shared machine.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


import pytest


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
