"""neurocore.BernoulliRBM against scikit-learn's BernoulliRBM (the reference).

scikit-learn's own suite runs against it in test_sklearn_rbm_suite.py; these
tests check the stronger claims: a float64 fit follows scikit-learn's random
draws in order (the same samples, parameters equal to rounding), through fit,
partial_fit, gibbs and score_samples, on dense and sparse data, at any n_jobs,
and a saved model loads back.
"""

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.special import expit
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.neural_network import BernoulliRBM as SkRBM
from sklearn.pipeline import Pipeline

import neurocore
from neurocore import BernoulliRBM

X_DIGITS = load_digits().data / 16.0


def _assert_same_fit(ours, ref, rtol=1e-10):
    np.testing.assert_allclose(ours.components_, ref.components_, rtol=rtol, atol=1e-12)
    np.testing.assert_allclose(ours.intercept_hidden_, ref.intercept_hidden_, rtol=rtol, atol=1e-12)
    np.testing.assert_allclose(ours.intercept_visible_, ref.intercept_visible_, rtol=rtol, atol=1e-12)
    np.testing.assert_array_equal(ours.h_samples_, ref.h_samples_)


@pytest.mark.parametrize("params", [
    dict(n_components=32, batch_size=10, n_iter=4, learning_rate=0.1),
    dict(n_components=20, batch_size=37, n_iter=3, learning_rate=0.05),  # a short last batch
    dict(n_components=300, batch_size=7, n_iter=1, learning_rate=0.2),  # more units than features
])
def test_fit_follows_scikit_learn_in_float64(params):
    X = X_DIGITS[:400]
    ref = SkRBM(random_state=3, **params).fit(X)
    ours = BernoulliRBM(random_state=3, **params).fit(X)
    _assert_same_fit(ours, ref)
    np.testing.assert_allclose(ours.transform(X), ref.transform(X), rtol=1e-10, atol=1e-14)
    # the pseudo-likelihood draws the same corruption
    np.testing.assert_allclose(ours.score_samples(X), ref.score_samples(X), rtol=1e-9)


def test_shared_random_state_instance_advances_as_scikit_learn():
    X = X_DIGITS[:200]
    rs_ref, rs_ours = np.random.RandomState(5), np.random.RandomState(5)
    ref = SkRBM(n_components=16, batch_size=20, n_iter=3, random_state=rs_ref).fit(X)
    ours = BernoulliRBM(n_components=16, batch_size=20, n_iter=3, random_state=rs_ours).fit(X)
    _assert_same_fit(ours, ref)
    # the generator the user passed is where scikit-learn leaves it
    assert rs_ours.randint(1 << 30) == rs_ref.randint(1 << 30)
    # gibbs draws from it too, a chain of steps in the same order
    for _ in range(3):
        np.testing.assert_array_equal(ours.gibbs(X[:50]), ref.gibbs(X[:50]))
    assert ours.gibbs(X[:5]).dtype == bool


def test_partial_fit_follows_scikit_learn():
    X = X_DIGITS[:300]
    ref = SkRBM(n_components=24, batch_size=15, random_state=1)
    ours = BernoulliRBM(n_components=24, batch_size=15, random_state=1)
    for chunk in np.array_split(X, 7):
        ref.partial_fit(chunk)
        ours.partial_fit(chunk)
    _assert_same_fit(ours, ref)
    np.testing.assert_array_equal(ours.gibbs(X[:20]), ref.gibbs(X[:20]))


def test_sparse_input_trains_as_dense():
    X = (X_DIGITS[:300] > 0.5).astype(float)
    dense = BernoulliRBM(n_components=16, batch_size=13, n_iter=3, random_state=0).fit(X)
    for fmt in (sp.csr_matrix, sp.csc_matrix):
        sparse = BernoulliRBM(n_components=16, batch_size=13, n_iter=3, random_state=0).fit(fmt(X))
        np.testing.assert_array_equal(sparse.components_, dense.components_)
        np.testing.assert_array_equal(sparse.h_samples_, dense.h_samples_)
        np.testing.assert_array_equal(sparse.transform(fmt(X)), dense.transform(X))
        np.testing.assert_allclose(sparse.score_samples(fmt(X)), dense.score_samples(X), rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_same_result_at_any_n_jobs(dtype):
    # 300 features x 256 units at batch 20: products large enough to be shared
    rng = np.random.RandomState(0)
    X = (rng.rand(200, 300) < 0.3).astype(dtype)
    fits = [BernoulliRBM(batch_size=20, n_iter=2, random_state=0, n_jobs=j).fit(X) for j in (1, 2)]
    np.testing.assert_array_equal(fits[0].components_, fits[1].components_)
    np.testing.assert_array_equal(fits[0].intercept_visible_, fits[1].intercept_visible_)
    np.testing.assert_array_equal(fits[0].h_samples_, fits[1].h_samples_)
    assert fits[0].components_.dtype == dtype
    # a row's code does not depend on the rows it comes with
    full = fits[0].transform(X)
    np.testing.assert_array_equal(np.vstack([fits[0].transform(X[i:i + 7]) for i in range(0, 200, 7)]), full)


@pytest.mark.parametrize("dtype, rtol", [(np.float64, 4e-16), (np.float32, 3e-7)])
def test_logistic_units_are_exact_to_rounding(dtype, rtol):
    # components chosen so the hidden pre-activations run from -750 to 750
    rbm = BernoulliRBM(n_components=3001).fit(np.zeros((2, 1), dtype=dtype))
    rbm.components_ = np.linspace(-750, 750, 3001, dtype=dtype)[:, None]
    rbm.intercept_hidden_ = np.zeros(3001, dtype=dtype)
    z = rbm.components_[:, 0].astype(np.float64)
    got = rbm.transform(np.ones((1, 1), dtype=dtype))[0]
    want = expit(z)
    if dtype == np.float32:
        z = z[np.abs(z) < 80]  # beyond, float32 saturates to 0 or 1
        got, want = got[np.abs(rbm.components_[:, 0]) < 80], expit(z)
    tiny = np.finfo(dtype).tiny
    np.testing.assert_allclose(got, want, rtol=rtol, atol=tiny)
    assert np.all(np.isfinite(got))


def test_save_and_load_continue_the_same_model(tmp_path):
    X = X_DIGITS[:200]
    rbm = BernoulliRBM(n_components=16, batch_size=10, random_state=2)
    rbm.partial_fit(X[:100])
    rbm.save(tmp_path / "rbm.zip")
    back = neurocore.load(tmp_path / "rbm.zip")
    np.testing.assert_array_equal(back.transform(X), rbm.transform(X))
    # the saved random stream carries on where it stopped
    rbm.partial_fit(X[100:])
    back.partial_fit(X[100:])
    np.testing.assert_array_equal(back.components_, rbm.components_)
    np.testing.assert_array_equal(back.gibbs(X[:10]), rbm.gibbs(X[:10]))


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="NaN"):
        BernoulliRBM(n_components=4).fit(np.array([[0.0, np.nan], [1.0, 0.0]]))
    rbm = BernoulliRBM(n_components=4, n_iter=1).fit(X_DIGITS[:50])
    with pytest.raises(ValueError, match="64 features"):
        rbm.transform(np.zeros((3, 10)))
    with pytest.raises(ValueError, match="features"):
        rbm.gibbs(np.zeros((3, 10)))
    with pytest.raises(ValueError, match="n_components"):
        BernoulliRBM(n_components=0).fit(X_DIGITS[:50])


def test_in_a_pipeline_and_grid_search():
    # scikit-learn's RBM example: features from the RBM, then a logistic regression
    X, y = X_DIGITS[:600], load_digits().target[:600]
    pipe = Pipeline([("rbm", BernoulliRBM(n_components=32, n_iter=5, learning_rate=0.06, random_state=0)),
                     ("logistic", LogisticRegression(max_iter=300))])
    gs = GridSearchCV(pipe, {"rbm__n_components": [16, 32]}, cv=2).fit(X, y)
    assert gs.best_params_["rbm__n_components"] in (16, 32)
    # the same pipeline with scikit-learn's RBM scores the same (the same features)
    ref = Pipeline([("rbm", SkRBM(n_components=32, n_iter=5, learning_rate=0.06, random_state=0)),
                    ("logistic", LogisticRegression(max_iter=300))])
    np.testing.assert_allclose(pipe.fit(X, y).predict_proba(X), ref.fit(X, y).predict_proba(X), rtol=1e-6, atol=1e-8)
    assert list(pipe[:-1].get_feature_names_out()) == [f"bernoullirbm{i}" for i in range(32)]
