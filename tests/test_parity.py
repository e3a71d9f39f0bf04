"""Parity with scikit-learn's MLP on the same data and hyperparameters.

In float64 neurocore follows scikit-learn's arithmetic and random stream, so
the weights agree to rounding; in the default float32 the scores agree within
two points on scikit-learn's bundled datasets.
"""

import numpy as np
import pytest
from sklearn import neural_network as sk
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits
from sklearn.model_selection import GridSearchCV, cross_val_score, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import neurocore as nc

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _digits():
    X, y = load_digits(return_X_y=True)
    return X / 16.0, y


def _cancer():
    X, y = load_breast_cancer(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def _diabetes():
    X, y = load_diabetes(return_X_y=True)
    return StandardScaler().fit_transform(X), y / 100.0


def _assert_same_model(a, b, rtol=1e-9, atol=1e-12):
    assert a.n_iter_ == b.n_iter_
    assert a.t_ == b.t_ if hasattr(a, "t_") else True
    for ca, cb in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_):
        np.testing.assert_allclose(cb, ca, rtol=rtol, atol=atol)
    np.testing.assert_allclose(b.loss_, a.loss_, rtol=max(rtol, 1e-9))
    if hasattr(a, "loss_curve_"):
        np.testing.assert_allclose(b.loss_curve_, a.loss_curve_, rtol=1e-9)
    if getattr(a, "validation_scores_", None) is not None:
        np.testing.assert_allclose(b.validation_scores_, a.validation_scores_)
        assert b.best_validation_score_ == pytest.approx(a.best_validation_score_)


CLASSIFIER_CASES = [
    ("digits", {}),
    ("digits", {"solver": "sgd", "activation": "tanh"}),
    ("digits", {"solver": "sgd", "nesterovs_momentum": False, "learning_rate": "adaptive"}),
    ("digits", {"solver": "sgd", "learning_rate": "invscaling", "learning_rate_init": 0.1}),
    ("digits", {"activation": "logistic", "batch_size": 64, "alpha": 0.01}),
    ("digits", {"shuffle": False, "hidden_layer_sizes": (30, 20)}),
    ("cancer", {"early_stopping": True}),
    ("cancer", {"solver": "lbfgs"}),
    ("cancer", {"activation": "identity", "solver": "sgd"}),
]


@pytest.mark.parametrize("data, params", CLASSIFIER_CASES)
def test_classifier_float64_reproduces_scikit_learn(data, params):
    X, y = _digits() if data == "digits" else _cancer()
    params = {"random_state": 0, "max_iter": 25, **params}
    a = sk.MLPClassifier(**params).fit(X, y)
    b = nc.MLPClassifier(dtype="float64", **params).fit(X, y)
    _assert_same_model(a, b, rtol=1e-6 if params.get("solver") == "lbfgs" else 1e-9)
    np.testing.assert_array_equal(b.predict(X), a.predict(X))
    np.testing.assert_allclose(b.predict_proba(X), a.predict_proba(X), atol=1e-9)


REGRESSOR_CASES = [
    {},
    {"solver": "sgd", "learning_rate_init": 0.01},
    {"loss": "poisson", "solver": "sgd", "learning_rate_init": 1e-3},
    {"early_stopping": True, "solver": "sgd", "learning_rate_init": 0.01},
    # L-BFGS's line search amplifies rounding differences (summation order):
    # 1e-13 after 20 iterations, 1e-9 after 40, 4e-5 after 100 on this data
    {"solver": "lbfgs", "max_iter": 40},
]


@pytest.mark.parametrize("params", REGRESSOR_CASES)
def test_regressor_float64_reproduces_scikit_learn(params):
    X, y = _diabetes()
    params = {"random_state": 1, "max_iter": 30, **params}
    a = sk.MLPRegressor(**params).fit(X, y)
    b = nc.MLPRegressor(dtype="float64", **params).fit(X, y)
    lbfgs = params.get("solver") == "lbfgs"
    _assert_same_model(a, b, rtol=1e-6 if lbfgs else 1e-9, atol=1e-8 if lbfgs else 1e-12)
    np.testing.assert_allclose(b.predict(X), a.predict(X), rtol=1e-7, atol=1e-9)


def test_multioutput_and_multilabel_reproduce_scikit_learn():
    rng = np.random.RandomState(0)
    X = rng.randn(300, 8)
    Y = np.c_[X[:, 0] + X[:, 1], X[:, 2] * X[:, 3], np.sin(X[:, 4])]
    a = sk.MLPRegressor(random_state=0, max_iter=20).fit(X, Y)
    b = nc.MLPRegressor(random_state=0, max_iter=20, dtype="float64").fit(X, Y)
    _assert_same_model(a, b)
    L = (Y > 0).astype(int)
    a = sk.MLPClassifier(random_state=0, max_iter=20).fit(X, L)
    b = nc.MLPClassifier(random_state=0, max_iter=20, dtype="float64").fit(X, L)
    _assert_same_model(a, b)
    np.testing.assert_array_equal(b.predict(X), a.predict(X))


@pytest.mark.parametrize(
    "name, make, Sk, Nc",
    [
        ("digits", _digits, sk.MLPClassifier, nc.MLPClassifier),
        ("breast_cancer", _cancer, sk.MLPClassifier, nc.MLPClassifier),
        ("diabetes", _diabetes, sk.MLPRegressor, nc.MLPRegressor),
    ],
)
def test_default_float32_scores_within_two_points(name, make, Sk, Nc):
    X, y = make()
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.25, random_state=0)
    params = {"hidden_layer_sizes": (64,), "max_iter": 300, "random_state": 0}
    ref = Sk(**params).fit(X_tr, y_tr).score(X_te, y_te)
    ours = Nc(**params).fit(X_tr, y_tr)
    assert ours.coefs_[0].dtype == np.float32
    assert abs(ours.score(X_te, y_te) - ref) <= 0.02, (name, ours.score(X_te, y_te), ref)


def test_pipeline_gridsearch_cross_val_score_same_results():
    """Swapping the import is the whole migration: the same search finds the same model."""
    X, y = _cancer()
    grid = {"mlpclassifier__alpha": [1e-4, 1e-2], "mlpclassifier__hidden_layer_sizes": [(8,), (16,)]}

    def search(MLP, **extra):
        pipe = make_pipeline(StandardScaler(), MLP(max_iter=40, random_state=0, **extra))
        return GridSearchCV(pipe, grid, cv=3).fit(X, y)

    a = search(sk.MLPClassifier)
    b = search(nc.MLPClassifier, dtype="float64")
    assert a.best_params_ == b.best_params_
    np.testing.assert_allclose(
        b.cv_results_["mean_test_score"], a.cv_results_["mean_test_score"], atol=1e-12
    )
    sa = cross_val_score(sk.MLPClassifier(max_iter=30, random_state=0), X, y, cv=4)
    sb = cross_val_score(
        nc.MLPClassifier(max_iter=30, random_state=0, dtype="float64"), X, y, cv=4
    )
    np.testing.assert_allclose(sb, sa, atol=1e-12)
    s32 = cross_val_score(nc.MLPClassifier(max_iter=30, random_state=0), X, y, cv=4)
    assert abs(s32.mean() - sa.mean()) <= 0.02
