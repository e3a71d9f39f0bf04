"""scikit-learn's own MLP test-suite, run against neurocore.

The test module that ships with the installed scikit-learn
(``sklearn/neural_network/tests/test_mlp.py``) is loaded with its import of
MLPClassifier / MLPRegressor pointed at neurocore, so every one of its tests
exercises our estimators. They run with ``dtype=None`` (the precision follows X, scikit-learn's rule),
where neurocore reproduces scikit-learn's arithmetic.
"""

import inspect
import re
from pathlib import Path

import pytest

import neurocore

sk_tests = pytest.importorskip("sklearn.neural_network.tests.test_mlp")


def _sklearn_dtype_default(cls):
    """cls with dtype=None, scikit-learn's rule (a real subclass: clone and get_params work)."""
    base_init = cls.__init__

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("dtype", None)
        base_init(self, *args, **kwargs)

    sig = inspect.signature(base_init)
    __init__.__signature__ = sig.replace(
        parameters=[
            p.replace(default=None) if p.name == "dtype" else p
            for p in sig.parameters.values()
        ]
    )
    return type(cls.__name__, (cls,), {"__init__": __init__, "__module__": __name__})


MLPClassifier = _sklearn_dtype_default(neurocore.MLPClassifier)
MLPRegressor = _sklearn_dtype_default(neurocore.MLPRegressor)

_source = Path(sk_tests.__file__).read_text()
_source, _n = re.subn(
    r"^from sklearn\.neural_network import MLPClassifier, MLPRegressor$",
    "from test_sklearn_mlp_suite import MLPClassifier, MLPRegressor",
    _source,
    flags=re.MULTILINE,
)
assert _n == 1, "scikit-learn's test module no longer imports the MLPs the way we expect"
exec(compile(_source, sk_tests.__file__, "exec"), globals())
