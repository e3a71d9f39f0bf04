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
