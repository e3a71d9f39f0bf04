"""Input and parameter validation at a small fit's cost.

scikit-learn's checks cost ~0.5 ms per fit (signature introspection, constraint
objects rebuilt per call, dataframe probing of plain arrays): a tenth of the
seed example's whole fit. These helpers give the same results and the same
errors for the common case, and defer to scikit-learn for everything else.
"""

import numpy as np
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
        params = self.get_params(deep=False)
        for name, value in params.items():
            cons = compiled.get(name)
            if cons is not None and not any(c.is_satisfied_by(value) for c in cons):
                # scikit-learn's own check, for its exact error
                validate_parameter_constraints(
                    self._parameter_constraints, params, caller_name=cls.__name__
                )


def _plain_float_array(X, ndim):
    return type(X) is np.ndarray and X.ndim == ndim and X.dtype.kind == "f" and X.size > 0


def validate_xy(estimator, X, y, dtype, classifier):
    """validate_data(estimator, X, y, reset=True, order="C", multi_output=True)
    for a fresh fit, with a fast path for a float ndarray X and a 1-d numeric
    ndarray y (integer labels for a classifier). Returns X, y."""
    y_ok = type(y) is np.ndarray and y.ndim == 1 and (
        y.dtype.kind in "iub" if classifier else y.dtype.kind in "fiu"
    )
    if not (_plain_float_array(X, 2) and y_ok and X.shape[1] > 0):
        return validate_data(
            estimator, X, y, accept_sparse=["csr", "csc"], multi_output=True, dtype=dtype,
            order="C", reset=True,
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

