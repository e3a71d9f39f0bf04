"""neurocore: neural networks for scikit-learn users, trained entirely in C++.

``neurocore.MLPClassifier`` and ``neurocore.MLPRegressor`` take every parameter
of scikit-learn's classes of the same names, with the same defaults and meaning,
so swapping the import is the whole migration. Their forward and backward
passes, optimizer steps and the whole epoch loop run in a C++ core (OpenMP, with
register-tiled matrix kernels for AVX-512, AVX2 and portable CPUs) with the GIL
released.
"""

import os as _os

# One thread pool: every matrix product and loop of the core runs on its OpenMP
# threads. They spin briefly after each parallel region, so back-to-back
# products and loops find them awake, then sleep.
# Measured on 2 cores: libgomp's default 300,000-iteration spin made training
# 8x slower when OpenBLAS had its own pool (19.6 s vs 1.6 s); sleeping at once
# made every GEMM pay a wake-up (digits fit 103 ms vs 86 ms, a 50000 x 100
# regression 1.54 s vs 0.82 s). libgomp reads these once, when it loads, so
# they are set here, before the extension loads it, unless the user chose.
if "OMP_WAIT_POLICY" not in _os.environ:
    _os.environ.setdefault("GOMP_SPINCOUNT", "20000")

from . import _core  # noqa: E402
from ._autoencoder import NeuralNetAutoencoder  # noqa: E402
from ._device import DeviceUnavailableError  # noqa: E402
from ._mlp import MLPClassifier, MLPRegressor  # noqa: E402
from ._neural_net import NeuralNetClassifier, NeuralNetRegressor  # noqa: E402
from ._onnx import install_skl2onnx_hook as _install_skl2onnx_hook  # noqa: E402
from ._onnx import to_onnx  # noqa: E402
from ._persist import load  # noqa: E402
from ._rbm import BernoulliRBM  # noqa: E402
from ._system import show_config, system_info  # noqa: E402

__version__ = "0.1.0"

_install_skl2onnx_hook()  # skl2onnx, once imported, converts neurocore estimators in pipelines

__all__ = ["BernoulliRBM", "DeviceUnavailableError", "MLPClassifier", "MLPRegressor", "NeuralNetAutoencoder", "NeuralNetClassifier", "NeuralNetRegressor", "load",
           "show_config", "system_info", "to_onnx", "__version__"]
