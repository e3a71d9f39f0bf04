"""A grid search over neurocore MLPs on a Dask cluster: GridSearchCV under joblib's dask backend.

The script starts a ``LocalCluster`` of worker processes on the loopback
interface (swap in ``Client("tcp://scheduler:8786")`` for a real cluster),
runs scikit-learn's GridSearchCV over MLPClassifier settings on the digits
data with ``joblib.parallel_backend("dask")``, so each (parameters, fold) fit
is a task on a worker, and then streams a dask array through dask-ml's
``Incremental`` wrapper (``partial_fit`` block by block on the workers) and
predicts it in parallel with ``ParallelPostFit``.

Each worker runs its fits on one thread: Dask sets ``OMP_NUM_THREADS=1`` in
its workers and neurocore's default ``n_jobs=None`` follows it, so the
cluster is never oversubscribed.

    python examples/grid_search_dask.py [--workers 2]
"""

import argparse
import logging
import time

import dask.array as da
import joblib
import numpy as np
from dask.distributed import Client, LocalCluster, get_task_stream
from dask_ml.wrappers import Incremental, ParallelPostFit
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV, train_test_split

import neurocore
from neurocore import MLPClassifier


def _quiet():
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    warnings.simplefilter("ignore", ConvergenceWarning)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    _quiet()

    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X / 16.0, y, test_size=0.25, random_state=0)
    grid = {"hidden_layer_sizes": [(32,), (64,), (64, 32)], "alpha": [1e-4, 1e-2],
            "activation": ["relu", "tanh"]}

    with LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                      host="127.0.0.1", dashboard_address=None, silence_logs=logging.ERROR) as cluster, \
            Client(cluster) as client:
        threads = client.run(lambda: neurocore._engine.n_threads(None))
        print(f"{len(threads)} worker processes; neurocore threads per worker: "
              f"{sorted(set(threads.values()))}")

        client.run(_quiet)  # max_iter caps these fits: no ConvergenceWarning from the workers
        search = GridSearchCV(MLPClassifier(max_iter=100, random_state=0), grid, cv=3)
        t0 = time.perf_counter()
        with get_task_stream(client) as tasks, joblib.parallel_backend("dask"):
            search.fit(X_train, y_train)
        seconds = time.perf_counter() - t0
        on = {t["worker"] for t in tasks.data}
        n_fits = len(search.cv_results_["params"]) * 3
        print(f"grid search: {n_fits} fits in {seconds:.1f} s on {len(on)} workers")
        print(f"best parameters: {search.best_params_}")
        print(f"best cross-validation accuracy: {search.best_score_:.4f}")
        print(f"test accuracy of the refitted best model: {search.score(X_test, y_test):.4f}")

        # streaming: a dask array in blocks of 300 rows, partial_fit on the workers
        Xd = da.from_array(X_train, chunks=(300, X_train.shape[1]))
        yd = da.from_array(y_train, chunks=300)
        inc = Incremental(MLPClassifier(**search.best_params_, random_state=0), shuffle_blocks=True,
                          random_state=0)
        for _ in range(20):  # passes over the blocks
            inc.partial_fit(Xd, yd, classes=np.arange(10))
        print(f"Incremental, 20 passes over {Xd.numblocks[0]} blocks: "
              f"test accuracy {inc.score(X_test, y_test):.4f}")

        # 100 copies of the test set as one dask array (the graph holds the rows once)
        big = da.concatenate([da.from_array(X_test, chunks=X_test.shape)] * 100).rechunk(5000)
        labels = ParallelPostFit(search.best_estimator_).predict(big)
        print(f"ParallelPostFit: predicted {labels.compute().shape[0]} rows in "
              f"{big.numblocks[0]} blocks on the workers")


if __name__ == "__main__":
    main()
