"""Input and parameter validation at a small fit's cost.

scikit-learn's checks cost ~0.5 ms per fit (signature introspection, constraint
objects rebuilt per call, dataframe probing of plain arrays): a tenth of the
seed example's whole fit. These helpers give the same results and the same
errors for the common case, and defer to scikit-learn for everything else.
"""

import functools
import numbers
import threading

import numpy as np
from numpy.random.bit_generator import ISeedSequence
from sklearn.utils import check_random_state as _sk_check_random_state
from sklearn.utils._param_validation import make_constraint, validate_parameter_constraints
from sklearn.utils.validation import _assert_all_finite, check_consistent_length, validate_data

_PARAM_NAMES = {}
_CONSTRAINTS = {}


class FastValidationMixin:
    """Cached parameter names and compiled parameter constraints, per class."""

    @classmethod
    def _get_param_names(cls):
        names = _PARAM_NAMES.get(cls)
        if names is None:
            names = _PARAM_NAMES[cls] = super()._get_param_names()
        return names

    def _validate_params(self):
        cls = type(self)
        compiled = _CONSTRAINTS.get(cls)
        if compiled is None:
            compiled = _CONSTRAINTS[cls] = {
                name: None if cons == "no_validation" else [make_constraint(c) for c in cons]
                for name, cons in self._parameter_constraints.items()
            }
        valid = _VALID.setdefault(cls, set())
        params = self.get_params(deep=False)
        for name, value in params.items():
            cons = compiled.get(name)
            if cons is None:
                continue
            key = (name, type(value), value) if _cacheable(value) else None
            if key is not None and key in valid:
                continue
            if any(c.is_satisfied_by(value) for c in cons):
                if key is not None and len(valid) < 10000:
                    valid.add(key)
            else:  # scikit-learn's own check, for its exact error
                validate_parameter_constraints(
                    self._parameter_constraints, params, caller_name=cls.__name__
                )


# Plain values whose validity depends on their type and value alone: once a
# value passed a parameter's constraints, it is not checked again (40 us of
# each fit otherwise).
_VALID = {}
_SCALARS = (int, float, str, bool, type(None))


def _cacheable(value):
    t = type(value)
    return t in _SCALARS or (t is tuple and all(type(v) is int for v in value))


class _NoSeed(ISeedSequence):
    """A seed sequence whose words are all zero, as a list: MT19937's constructor
    then costs 2 us instead of the 70 us its SeedSequence hashing costs (a
    fortieth of the seed example's fit). The state is replaced at once by the
    legacy seeding, so these words are never used."""

    def generate_state(self, n_words, dtype=np.uint32):
        return [0] * n_words


_NO_SEED = _NoSeed()


def check_random_state(seed):
    """scikit-learn's check_random_state, with an int seed's RandomState built
    without its SeedSequence: ``RandomState(seed)`` seeds MT19937 with the legacy
    algorithm, and so does ``RandomState.seed(seed)`` on any MT19937."""
    if isinstance(seed, numbers.Integral) and not isinstance(seed, bool):
        try:
            rs = np.random.RandomState(np.random.MT19937(_NO_SEED))
        except Exception:  # a numpy that wants more of a seed sequence
            return np.random.RandomState(seed)
        rs.seed(seed)  # ValueError outside [0, 2**32), as RandomState(seed)
        return rs
    return _sk_check_random_state(seed)


def validate_xy(estimator, X, y, dtype, reset, y_numeric):
    """validate_data(estimator, X, y, reset=reset, y_numeric=y_numeric,
    accept_sparse=["csr", "csc"], multi_output=True, order="C"), with a fast
    path for a fresh fit on a float ndarray X and a 1-d ndarray y: numeric for a
    regressor (y_numeric), integer or boolean labels for a classifier."""
    fast = (
        reset
        and type(X) is np.ndarray and X.ndim == 2 and X.dtype.kind == "f" and X.size > 0
        and type(y) is np.ndarray and y.ndim == 1 and y.dtype.kind in ("fiu" if y_numeric else "iub")
    )
    if not fast:
        return validate_data(
            estimator, X, y, accept_sparse=["csr", "csc"], multi_output=True, y_numeric=y_numeric,
            dtype=dtype, order="C", reset=reset,
        )
    dtypes = dtype if isinstance(dtype, (list, tuple)) else (dtype,)
    target = X.dtype if X.dtype in dtypes else dtypes[0]
    X = np.ascontiguousarray(X, dtype=target)
    name = type(estimator).__name__
    _assert_all_finite(X, input_name="X", estimator_name=name)
    check_consistent_length(X, y)
    if y.dtype.kind == "f":
        _assert_all_finite(y, input_name="y", estimator_name=name)
    estimator.n_features_in_ = X.shape[1]
    if hasattr(estimator, "feature_names_in_"):
        del estimator.feature_names_in_
    return X, y


_busy = {}  # id(model) -> the thread fitting it
_busy_lock = threading.Lock()


def exclusive_fit(method):
    """Refuse a second, concurrent fit of one model from another thread.

    Two fits of one instance would write the same weight buffer at once; the
    second caller gets a RuntimeError at once and the first is unaffected. A
    fit that re-enters from its own thread (a callback) is allowed.
    """

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        key, me = id(self), threading.get_ident()
        with _busy_lock:
            owner = _busy.get(key)
            if owner is not None and owner != me:
                raise RuntimeError(
                    f"{type(self).__name__}.{method.__name__}: this model is already being "
                    "fitted in another thread; fit one instance from one thread at a time "
                    "(clone it to train copies in parallel)"
                )
            _busy[key] = me
        try:
            return method(self, *args, **kwargs)
        finally:
            if owner is None:
                with _busy_lock:
                    _busy.pop(key, None)

    return wrapper
