"""neurocore on a Dask cluster: dask-ml's Incremental and ParallelPostFit over
dask arrays, and scikit-learn's searches under joblib's dask backend, on a
LocalCluster of two worker processes (loopback only). The results must be
those of the same work done in this process."""

import logging
import pickle

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")
dask_ml_wrappers = pytest.importorskip("dask_ml.wrappers")

import joblib  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.model_selection import GridSearchCV, RandomizedSearchCV  # noqa: E402
from sklearn.neural_network import MLPClassifier as SkMLPClassifier  # noqa: E402

import neurocore  # noqa: E402
from neurocore import MLPClassifier, MLPRegressor, NeuralNetClassifier, NeuralNetRegressor  # noqa: E402

Incremental, ParallelPostFit = dask_ml_wrappers.Incremental, dask_ml_wrappers.ParallelPostFit

# a cluster that stops answering fails the test instead of hanging it
pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       host="127.0.0.1", dashboard_address=None,
                                       silence_logs=logging.ERROR, timeout=120)
    with cluster, distributed.Client(cluster) as c:
        yield c


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:1200] / 16.0, y[:1200]


def _make(Est):
    if Est in (MLPClassifier, MLPRegressor):
        return Est(hidden_layer_sizes=(32,), batch_size=64, random_state=0, n_jobs=1)
    return Est([32], batch_size=64, random_state=0, n_jobs=1)


def _params(est):
    return est._net.params if isinstance(est, (NeuralNetClassifier, NeuralNetRegressor)) else est._params


def test_workers_are_separate_processes_on_one_thread(client):
    import os

    info = client.run(lambda: (os.getpid(), neurocore._engine.n_threads(None)))
    pids = {pid for pid, _ in info.values()}
    assert len(info) == 2 and len(pids) == 2 and os.getpid() not in pids
    # Dask sets OMP_NUM_THREADS=1 in its workers; the default n_jobs follows it
    assert {threads for _, threads in info.values()} == {1}


@pytest.mark.parametrize("Est", [MLPClassifier, MLPRegressor, NeuralNetClassifier, NeuralNetRegressor])
def test_incremental_on_the_cluster_is_local_partial_fit(client, digits, Est):
    """dask-ml's Incremental ships the model from block to block across the
    workers' processes; the result is partial_fit over the same blocks here,
    bit for bit."""
    X, y = digits
    target = y if Est in (MLPClassifier, NeuralNetClassifier) else y / 10.0
    kw = {"classes": np.arange(10)} if Est in (MLPClassifier, NeuralNetClassifier) else {}
    Xd = da.from_array(X, chunks=(300, X.shape[1]))
    yd = da.from_array(target, chunks=300)
    inc = Incremental(_make(Est), shuffle_blocks=False)
    for _ in range(2):
        inc.partial_fit(Xd, yd, **kw)
    local = _make(Est)
    for _ in range(2):
        for s in range(0, len(X), 300):
            local.partial_fit(X[s:s + 300], target[s:s + 300], **kw)
    np.testing.assert_array_equal(_params(inc.estimator_), _params(local))
    # the wrapper's predictions are dask arrays computed on the workers
    pred = inc.predict(Xd)
    assert isinstance(pred, da.Array)
    np.testing.assert_array_equal(pred.compute(), local.predict(X))


@pytest.mark.parametrize("Est", [MLPClassifier, NeuralNetRegressor])
def test_parallel_post_fit_predicts_blocks_on_the_workers(client, digits, Est):
    X, y = digits
    target = y if Est is MLPClassifier else y / 10.0
    est = _make(Est).fit(X, target)
    wrapped = ParallelPostFit(est)
    Xd = da.from_array(np.vstack([X] * 5), chunks=(1000, X.shape[1]))
    pred = wrapped.predict(Xd)
    with distributed.get_task_stream(client) as tasks:
        out = pred.compute()
    np.testing.assert_array_equal(out, est.predict(np.vstack([X] * 5)))
    assert len({t["worker"] for t in tasks.data}) >= 1 and len(tasks.data) >= Xd.numblocks[0]
    if Est is MLPClassifier:
        np.testing.assert_array_equal(wrapped.predict_proba(Xd).compute(),
                                      est.predict_proba(np.vstack([X] * 5)))


def test_grid_search_under_the_dask_backend_is_the_local_search(client, digits):
    X, y = digits
    grid = {"hidden_layer_sizes": [(16,), (32,)], "alpha": [1e-4, 1e-1]}
    est = MLPClassifier(max_iter=30, random_state=0)
    local = GridSearchCV(est, grid, cv=3).fit(X, y)
    with distributed.get_task_stream(client) as tasks, joblib.parallel_backend("dask"):
        remote = GridSearchCV(est, grid, cv=3).fit(X, y)
    np.testing.assert_array_equal(remote.cv_results_["mean_test_score"],
                                  local.cv_results_["mean_test_score"])
    assert remote.best_params_ == local.best_params_
    # the 12 fits ran as tasks (joblib batches some together) on the cluster's workers
    workers = set(client.scheduler_info()["workers"])
    assert len(tasks.data) >= 2 and {t["worker"] for t in tasks.data} <= workers


def test_randomized_search_under_the_dask_backend(client, digits):
    X, y = digits
    est = NeuralNetClassifier([16], epochs=5, random_state=0)
    search_kw = dict(n_iter=4, cv=2, random_state=0)
    dist = {"batch_size": [32, 64, 128], "optimizer": ["adam", "rmsprop"],
            "layers": [[16], [32], [16, 16]]}
    local = RandomizedSearchCV(est, dist, **search_kw).fit(X, y)
    with joblib.parallel_backend("dask"):
        remote = RandomizedSearchCV(est, dist, **search_kw).fit(X, y)
    np.testing.assert_array_equal(remote.cv_results_["mean_test_score"],
                                  local.cv_results_["mean_test_score"])
    assert remote.best_estimator_.score(X, y) == local.best_estimator_.score(X, y)


def test_estimators_pickle_small(digits):
    """What a cluster ships: an unfitted estimator is its parameters (under a
    kilobyte); a fitted one is its float32 weights and optimizer state, less
    than scikit-learn's float64 MLP of the same shape."""
    X, y = digits
    for Est in (MLPClassifier, MLPRegressor, NeuralNetClassifier, NeuralNetRegressor):
        assert len(pickle.dumps(_make(Est))) < 1024
    ours = MLPClassifier(hidden_layer_sizes=(64,), max_iter=5, random_state=0).fit(X, y)
    theirs = SkMLPClassifier(hidden_layer_sizes=(64,), max_iter=5, random_state=0).fit(X, y)
    n_weights = ours._params.size
    size = len(pickle.dumps(ours))
    assert size < 3 * 4 * n_weights + 16_000  # weights + Adam's two moments, float32
    assert size < len(pickle.dumps(theirs))
