"""The weights of a fixed set of fits, pinned bit for bit across redesigns.

``pinned_fits.py`` holds the fits (MLP float64 adam / sgd / lbfgs, an early
stopping regressor, MLP float32, MLP and NeuralNet with batch norm and
dropout, a Keras facade model) and wrote one fixture per instruction set
before the layer contract changed; refactors must leave every weight equal.
"""

import os

import numpy as np
import pytest

from neurocore import _core

import pinned_fits


@pytest.fixture(scope="module")
def pinned():
    path = pinned_fits.fixture_path(_core.isa_info()["isa"])
    if not os.path.exists(path):
        pytest.skip(f"no pinned fixture for {_core.isa_info()['isa']}")
    with np.load(path) as f:
        return {k: f[k] for k in f.files}


@pytest.fixture(scope="module")
def current():
    return pinned_fits.fits()


def test_same_fits_are_pinned(pinned, current):
    names = {k.split("/")[0] for k in pinned}
    assert names == set(current)


@pytest.mark.parametrize("name", ["mlp64_adam", "mlp64_sgd", "mlp64_lbfgs", "mlp64_regressor_early",
                                  "mlp32_adam", "mlp64_bn_dropout", "neuralnet_bn_dropout",
                                  "keras_sequential"])
def test_weights_bit_identical(pinned, current, name):
    ws = current[name]
    assert len(ws) == sum(1 for k in pinned if k.split("/")[0] == name)
    for i, w in enumerate(ws):
        ref = pinned[f"{name}/{i}"]
        assert w.dtype == ref.dtype and w.shape == ref.shape
        np.testing.assert_array_equal(w, ref, err_msg=f"{name} weight {i}")
