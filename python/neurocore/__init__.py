"""neurocore: neural networks for scikit-learn users, trained entirely in C++.

``neurocore.MLPClassifier`` and ``neurocore.MLPRegressor`` take every parameter
of scikit-learn's classes of the same names, with the same defaults and meaning,
so swapping the import is the whole migration. Their forward and backward
passes, optimizer steps and the whole epoch loop run in a C++ core (OpenMP and
OpenBLAS) with the GIL released.
"""

import ctypes as _ctypes
import os as _os

import scipy_openblas32 as _openblas

# OpenMP threads that spin after a parallel loop steal the cores OpenBLAS needs
# for the GEMM that follows: measured on 2 cores, libgomp's default spinning made
# training 8x slower (19.6 s vs 1.6 s for a 100-512-512-1 net) and an L-BFGS fit
# 25x slower. libgomp reads the policy once, when it loads, so it is set here,
# before the extension loads it, unless the user chose one.
_os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

# Load OpenBLAS globally before the extension: an installed extension finds it
# through its RPATH, an editable or in-tree build through this preload.
_ctypes.CDLL(
    _os.path.join(_openblas.get_lib_dir(), _openblas.get_library(fullname=True)),
    mode=_ctypes.RTLD_GLOBAL,
)

from . import _core  # noqa: E402
from ._mlp import MLPClassifier, MLPRegressor  # noqa: E402
from ._neural_net import NeuralNetClassifier, NeuralNetRegressor  # noqa: E402

__version__ = "0.1.0"

__all__ = ["MLPClassifier", "MLPRegressor", "NeuralNetClassifier", "NeuralNetRegressor", "__version__"]
