"""Property-based tests: random shapes, dtypes and values thrown at fit, predict
and the C++ boundary; the only outcomes are a result or a clean Python exception."""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

from neurocore import _core

from test_robustness import ESTIMATORS, FACTORIES

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra import numpy as hnp  # noqa: E402

_DTYPES = st.sampled_from([np.float64, np.float32, np.float16, np.int64, np.int8, np.bool_,
                           np.uint8, np.complex64, object, "U3"])
_VALUES = st.sampled_from([0.0, 1.0, -1.0, 1e30, -1e30, 1e-30, np.nan, np.inf, -np.inf, 3.5])


@st.composite
def _arrays(draw):
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=6))
    dtype = draw(_DTYPES)
    values = draw(st.lists(_VALUES, min_size=1, max_size=8))
    flat = np.resize(np.array(values, dtype=np.float64), int(np.prod(shape)))
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return flat.reshape(shape).astype(dtype)


_CLEAN = (ValueError, TypeError, NotFittedError)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(X=_arrays(), y=_arrays(), name=st.sampled_from(ESTIMATORS))
def test_fit_and_predict_on_random_arrays(X, y, name):
    est = FACTORIES[name]()
    try:
        est.fit(X, y)
    except _CLEAN:
        return
    try:
        out = est.predict(X)
    except _CLEAN:
        return
    assert len(out) == len(X)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(X=_arrays(), P=_arrays(), threads=st.integers(-1, 3), dtype=st.sampled_from(["float32", "float64"]))
def test_core_boundary_on_random_arrays(X, P, threads, dtype):
    net = _core.Network(3, [{"type": "dense", "units": 4, "activation": "relu"},
                            {"type": "dense", "units": 2, "activation": "softmax"}],
                        "log_loss", dtype)
    try:
        out = net.predict(P, X, threads)
    except _CLEAN:
        return
    assert np.asarray(out).shape[0] == X.shape[0]


