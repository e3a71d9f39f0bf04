"""Streaming: partial_fit on every estimator, train_on_batch in the Keras facade,
memory bounded by the chunk, and thread counts that follow n_jobs and the
process's limits (OpenMP, threadpoolctl)."""

import os
import pickle
import subprocess
import sys
import tracemalloc

import numpy as np
import pytest
from sklearn.datasets import load_digits, make_regression
from threadpoolctl import threadpool_limits

import neurocore
from neurocore import (MLPClassifier, MLPRegressor, NeuralNetClassifier, NeuralNetRegressor,
                       _core, _engine)
from neurocore.keras.layers import Dense, Dropout
from neurocore.keras.models import Sequential


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X / 16.0, y


def _weights(est):
    return est._net.params.copy() if "_net" in est.__dict__ and hasattr(est._net, "params") \
        else est._params.copy()


@pytest.mark.parametrize("Est", [NeuralNetClassifier, NeuralNetRegressor])
def test_neural_net_partial_fit_epochs_are_fit_epochs(digits, Est):
    """k calls of partial_fit on the whole data are k epochs of fit, bit for
    bit: the optimizer state and the random stream (shuffles, dropout) carry
    over between calls."""
    X, y = digits
    target = y if Est is NeuralNetClassifier else y / 10.0
    params = dict(layers=[32, Dropout(0.2)], batch_size=64, random_state=3, n_jobs=1)
    full = Est(epochs=3, **params).fit(X, target)
    streamed = Est(**params)
    for _ in range(3):
        if Est is NeuralNetClassifier:
            streamed.partial_fit(X, target, classes=np.arange(10))
        else:
            streamed.partial_fit(X, target)
    np.testing.assert_array_equal(_weights(streamed), _weights(full))
    assert streamed.n_iter_ == 3
    assert streamed.history_["loss"] == full.history_["loss"]
    # and fit starts over
    again = Est(epochs=3, **params)
    again.partial_fit(X[:100], target[:100], **({"classes": np.arange(10)} if Est is NeuralNetClassifier else {}))
    again.fit(X, target)
    np.testing.assert_array_equal(_weights(again), _weights(full))


def test_neural_net_partial_fit_class_rules(digits):
    X, y = digits
    clf = NeuralNetClassifier([16], random_state=0)
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        clf.partial_fit(X[:50], y[:50])
    assert not hasattr(clf, "classes_")
    # a first chunk with three of the ten classes: the output still has ten
    few = np.isin(y, [0, 1, 2])
    clf.partial_fit(X[few][:60], y[few][:60], classes=np.arange(10))
    assert clf.predict_proba(X[:5]).shape == (5, 10)
    clf.partial_fit(X[:200], y[:200])  # classes may be left out after the first call
    clf.partial_fit(X[:200], y[:200], classes=np.arange(10))
    with pytest.raises(ValueError, match="not the same as on the first call"):
        clf.partial_fit(X[:200], y[:200], classes=np.arange(11))
    with pytest.raises(ValueError, match="classes not in"):
        clf.partial_fit(X[:10], np.full(10, 11))
    with pytest.raises(ValueError, match="balanced"):
        NeuralNetClassifier([16], class_weight="balanced").partial_fit(X[:50], y[:50], classes=np.arange(10))
    with pytest.raises(ValueError, match="validation_split"):
        NeuralNetClassifier([16], validation_split=0.2).partial_fit(X[:50], y[:50], classes=np.arange(10))
    # a dict of class weights applies per label, whichever labels a chunk holds
    weighted = NeuralNetClassifier([16], class_weight={0: 3.0}, random_state=0, n_jobs=1)
    weighted.partial_fit(X[few][:60], y[few][:60], classes=np.arange(10))
    plain = NeuralNetClassifier([16], random_state=0, n_jobs=1)
    sw = np.where(y[few][:60] == 0, 3.0, 1.0)
    plain.partial_fit(X[few][:60], y[few][:60], classes=np.arange(10), sample_weight=sw)
    np.testing.assert_array_equal(_weights(weighted), _weights(plain))


def test_neural_net_regressor_partial_fit_shape_rules():
    X, y = make_regression(n_samples=120, n_features=5, random_state=0)
    reg = NeuralNetRegressor([8], random_state=0).partial_fit(X, y / 100)
    with pytest.raises(ValueError, match="dimension"):
        reg.partial_fit(X, np.c_[y, y] / 100)
    with pytest.raises(ValueError, match="features"):
        reg.partial_fit(X[:, :4], y / 100)
    assert reg.predict(X).shape == (120,)


@pytest.mark.parametrize("how", ["save", "pickle"])
def test_neural_net_partial_fit_resumes_after_save_and_pickle(digits, tmp_path, how):
    """The optimizer state and the random stream are saved: a reloaded model's
    next partial_fit is the original's, bit for bit."""
    X, y = digits
    clf = NeuralNetClassifier([32, Dropout(0.1)], optimizer="adam", random_state=0, n_jobs=1)
    clf.partial_fit(X[:600], y[:600], classes=np.arange(10))
    if how == "save":
        clf.save(tmp_path / "m.zip")
        copy = neurocore.load(tmp_path / "m.zip")
    else:
        copy = pickle.loads(pickle.dumps(clf))
    clf.partial_fit(X[600:1200], y[600:1200])
    copy.partial_fit(X[600:1200], y[600:1200])
    np.testing.assert_array_equal(_weights(copy), _weights(clf))
    assert copy.n_iter_ == clf.n_iter_ == 2


def test_damaged_optimizer_state_is_refused(digits, tmp_path):
    X, y = digits
    clf = NeuralNetClassifier([8], random_state=0).partial_fit(X[:100], y[:100], classes=np.arange(10))
    clf._optimizer_state["slots"] = [s[:-1] for s in clf._optimizer_state["slots"]]
    clf.save(tmp_path / "bad.zip")
    with pytest.raises(ValueError, match="optimizer state"):
        neurocore.load(tmp_path / "bad.zip")


@pytest.mark.parametrize("Est", [MLPClassifier, MLPRegressor, NeuralNetClassifier, NeuralNetRegressor])
def test_streaming_memory_is_bounded_by_the_chunk(tmp_path, Est):
    """Streaming a 24 MiB memory-mapped file through partial_fit in 2000-row
    chunks allocates at most about one chunk: nothing of the stream is kept."""
    rows, cols, chunk = 48_000, 64, 2_000
    X = np.lib.format.open_memmap(tmp_path / "X.npy", mode="w+", dtype=np.float64, shape=(rows, cols))
    rng = np.random.RandomState(0)
    for s in range(0, rows, chunk):
        X[s:s + chunk] = rng.randn(chunk, cols)
    y = (X[:, 0] > 0).astype(int) if Est in (MLPClassifier, NeuralNetClassifier) else np.asarray(X[:, 0])
    X.flush()
    del X
    X = np.load(tmp_path / "X.npy", mmap_mode="r")
    est = Est(**({"hidden_layer_sizes": (32,)} if Est in (MLPClassifier, MLPRegressor) else {"layers": [32]}),
              random_state=0)
    kw = {"classes": np.array([0, 1])} if Est in (MLPClassifier, NeuralNetClassifier) else {}
    est.partial_fit(X[:chunk], y[:chunk], **kw)  # the first call builds the model
    tracemalloc.start()
    for s in range(chunk, rows, chunk):
        est.partial_fit(X[s:s + chunk], y[s:s + chunk], **kw)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    chunk_bytes = chunk * cols * 8
    assert peak < 1.5 * chunk_bytes, (peak, chunk_bytes)  # the stream is 24x that
    assert est.score(X[:4000], y[:4000]) > 0.5


# ---------------------------------------------------------------------------
# the Keras facade


def _twins(dropout=False):
    def model():
        layers = [Dense(16, input_dim=5, activation="relu")]
        if dropout:
            layers.append(Dropout(0.3))
        m = Sequential(layers + [Dense(3, activation="softmax")])
        m.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
        return m

    a, b = model(), model()
    b.set_weights(a.get_weights())
    return a, b


def test_train_on_batch_is_one_step_of_fit():
    rng = np.random.RandomState(0)
    X, y = rng.rand(40, 5), rng.randint(0, 3, 40)
    a, b = _twins()
    before = a.evaluate(X, y, return_dict=True)
    first = a.train_on_batch(X, y)
    second = a.train_on_batch(X, y, return_dict=True)
    b.fit(X, y, batch_size=40, epochs=2, shuffle=False, verbose=0)
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(wa, wb)  # the optimizer state carried over
    # the loss and metrics of the step's forward pass, before its update
    assert isinstance(first, list) and len(first) == 2
    np.testing.assert_allclose(first[0], before["loss"], rtol=1e-6)
    assert first[1] == before["accuracy"]
    np.testing.assert_allclose(second["loss"], b.history.history["loss"][1], rtol=1e-12)
    assert a.test_on_batch(X, y) == a.evaluate(X, y)
    np.testing.assert_array_equal(a.predict_on_batch(X), a.predict(X))


def test_train_on_batch_returns_a_scalar_without_metrics():
    m = Sequential([Dense(4, input_dim=3, activation="relu"), Dense(1)])
    m.compile("sgd", "mse")
    X, y = np.random.RandomState(1).rand(8, 3), np.arange(8.0)
    loss = m.train_on_batch(X, y, sample_weight=np.linspace(0.5, 2, 8))
    assert isinstance(loss, float) and np.isfinite(loss)
    with pytest.raises(RuntimeError, match="compile"):
        Sequential([Dense(1, input_dim=3)]).train_on_batch(X, y)


# ---------------------------------------------------------------------------
# threads


def test_default_threads_follow_openmp_and_threadpoolctl_limits():
    cpus = _engine.n_threads(-1)
    assert _engine.n_threads(None) == min(cpus, _core.max_threads())
    assert _engine.n_threads(1) == 1 and _engine.n_threads(3) == 3
    with threadpool_limits(limits=1):
        assert _engine.n_threads(None) == 1
        assert _engine.n_threads(2) == 2  # an explicit n_jobs is obeyed
        X = np.random.RandomState(0).rand(600, 300).astype(np.float32)
        MLPRegressor(hidden_layer_sizes=(512,), max_iter=1, random_state=0).fit(X, X[:, 0])
        assert _core.max_threads() == 1
    assert _engine.n_threads(None) == min(cpus, _core.max_threads())


def test_omp_num_threads_is_the_default():
    code = "from neurocore import _engine; print(_engine.n_threads(None), _engine.n_threads(-1))"
    env = dict(os.environ, OMP_NUM_THREADS="1")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True, timeout=120).stdout.split()
    assert out[0] == "1" and int(out[1]) == _engine.n_threads(-1)


_BUSY_THREADS = r"""
import os, sys
import numpy as np
from neurocore import MLPClassifier

def cpu_ticks():
    out = {}
    for tid in os.listdir("/proc/self/task"):
        with open(f"/proc/self/task/{tid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        out[tid] = int(fields[11]) + int(fields[12])  # utime + stime
    return out

rng = np.random.RandomState(0)
X = rng.rand(6000, 784).astype(np.float32)
y = rng.randint(0, 10, 6000)
n_jobs = None if sys.argv[1] == "None" else int(sys.argv[1])
MLPClassifier(hidden_layer_sizes=(64,), max_iter=1, random_state=0, n_jobs=n_jobs).fit(X[:600], y[:600])
before = cpu_ticks()
MLPClassifier(hidden_layer_sizes=(1024, 512), max_iter=2, random_state=0, n_jobs=n_jobs).fit(X, y)
after = cpu_ticks()
spent = sorted((after[t] - before.get(t, 0) for t in after), reverse=True)
print(" ".join(map(str, spent)))
"""


@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="reads per-thread CPU time from /proc")
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("n_jobs", [1, None])
def test_n_jobs_sets_how_many_threads_work(n_jobs):
    """CPU time per OS thread during a fit (in a fresh process): with n_jobs=1
    one thread does all the work (every loop and product stays serial); with the
    default every core's thread takes a real share."""
    cores = _engine.n_threads(-1)
    if n_jobs is None and cores < 2:
        pytest.skip("one core")
    # a clean environment: starting a Dask LocalCluster leaves OMP_NUM_THREADS=1
    # in this process's os.environ (its workers' setting), which children inherit
    env = {k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS")}
    out = subprocess.run([sys.executable, "-c", _BUSY_THREADS, str(n_jobs)], capture_output=True,
                         text=True, check=True, env=dict(env, OMP_WAIT_POLICY="PASSIVE"),
                         timeout=300)
    spent = [int(v) for v in out.stdout.split()]
    total = sum(spent)
    assert total > 20, spent  # the fit took a measurable share of CPU (clock ticks)
    if n_jobs == 1:
        assert spent[0] >= 0.97 * total, spent
    else:
        working = [t for t in spent if t >= 0.2 * total]
        assert len(working) >= min(cores, 2), spent
