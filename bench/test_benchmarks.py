"""pytest-benchmark timings of neurocore and its peers on the fixed workloads.

Run with ``pytest bench`` (``pip install ".[bench]"``); compare runs with
``pytest bench --benchmark-compare``. These measure; the only assertions are
that each run trained what it was asked to (speed is reported, never asserted:
the machines are shared). bench/compare.py prints the ratios in one table.
"""

import numpy as np
import pytest
from sklearn import neural_network as sk
from threadpoolctl import threadpool_limits

import compare
import neurocore as nc

WORKLOADS = {w["name"].split(",")[0]: w for w in compare.workloads(full=False)}
THREADS = sorted({1, compare.N_CPUS})


@pytest.fixture(scope="module", params=list(WORKLOADS))
def workload(request):
    w = WORKLOADS[request.param]
    return w, w["data"]()


@pytest.mark.parametrize("threads", THREADS)
def test_fit_neurocore(benchmark, workload, threads):
    w, (X, X_te, y, y_te) = workload
    model = benchmark.pedantic(compare.fit_neurocore, args=(w, X, y, threads), rounds=w["repeats"])
    assert model.n_iter_ == w["epochs"]


@pytest.mark.parametrize("threads", THREADS)
def test_fit_scikit_learn(benchmark, workload, threads):
    w, (X, X_te, y, y_te) = workload
    if X.shape[0] > 15000:
        pytest.skip("scikit-learn on the large workloads: see bench/compare.py --full")
    model = benchmark.pedantic(compare.fit_sklearn, args=(w, X, y, threads), rounds=1)
    assert model.n_iter_ == w["epochs"]


@pytest.mark.parametrize("threads", THREADS)
def test_fit_pytorch(benchmark, workload, threads):
    pytest.importorskip("torch")
    w, (X, X_te, y, y_te) = workload
    model = benchmark.pedantic(compare.fit_torch, args=(w, X, y, threads), rounds=1)
    assert model.score(X_te, y_te) > 0


@pytest.fixture(scope="module")
def digits_models():
    X, X_te, y, y_te = compare.digits()
    w = WORKLOADS["digits 64-128-64-10"]
    return (compare.fit_neurocore(w, X, y, 1), compare.fit_sklearn(w, X, y, 1),
            np.ascontiguousarray(X_te[:1], dtype=np.float32),
            np.ascontiguousarray(np.resize(X_te, (10000, X_te.shape[1])), dtype=np.float32))


@pytest.mark.parametrize("library", ["neurocore", "scikit-learn"])
@pytest.mark.parametrize("rows", ["one row", "10000 rows"])
def test_predict(benchmark, digits_models, library, rows):
    ours, theirs, row, block = digits_models
    model = ours if library == "neurocore" else theirs
    X = row if rows == "one row" else block
    with threadpool_limits(1):
        out = benchmark(model.predict, X)
    assert out.shape == (X.shape[0],)


def test_compare_runs_and_reports(tmp_path):
    """The comparison command runs end to end on a small subset and writes its files."""
    results = compare.main(["--threads", "1", "--libraries", "neurocore", "--out", str(tmp_path)])
    assert {f["workload"] for f in results["fits"]} == set(w["name"] for w in compare.workloads(False))
    assert all(f["gflops"] > 0 and 0 < f["fraction_of_peak"] for f in results["fits"])
    assert (tmp_path / "results.json").exists() and (tmp_path / "results.md").exists()
