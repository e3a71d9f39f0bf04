"""Streaming throughput: dask-ml's Incremental on a LocalCluster against partial_fit in one process.

The same stream (by default 200000 x 64 float32 rows, 5 classes, in blocks of
20000) trains an MLPClassifier (64 hidden units, batch 256) for some passes:

- here, with ``partial_fit`` over in-memory numpy blocks, at 1 thread and at
  all cores;
- on a ``LocalCluster`` of worker processes (one thread each, loopback), with
  ``Incremental(...).partial_fit`` over a dask array whose blocks the workers
  generate themselves (no data goes through the client).

Incremental is sequential by design (one model, block after block): the
cluster cannot beat one process at this; what it buys is data that lives on
the workers. The figures are the price of that: rows per second, and the
overhead per block (scheduling, and shipping the model between workers).

    python bench/dask_incremental.py [--rows 200000] [--block 20000] [--passes 3] [--workers 2]

Prints a markdown table and writes bench/results/dask_incremental.json.
"""

import argparse
import json
import logging
import os
import pickle
import time
from pathlib import Path

import numpy as np

N_FEATURES, N_CLASSES = 64, 5


def _labels(block, seed=0):
    W = np.random.RandomState(seed).randn(N_FEATURES, N_CLASSES).astype(np.float32) / 4
    return (block @ W).argmax(axis=1).astype(np.int64)


def _model(n_jobs):
    from neurocore import MLPClassifier

    return MLPClassifier(hidden_layer_sizes=(64,), batch_size=256, random_state=0, n_jobs=n_jobs)


def run(rows, block, passes, workers):
    import dask.array as da
    from dask.distributed import Client, LocalCluster
    from dask_ml.wrappers import Incremental

    classes = np.arange(N_CLASSES)
    results = {"rows": rows, "block": block, "passes": passes, "workers": workers,
               "cores": os.cpu_count(), "runs": []}
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None, silence_logs=logging.ERROR) as cluster, \
            Client(cluster) as client:
        Xd = da.random.RandomState(0).standard_normal((rows, N_FEATURES), chunks=(block, N_FEATURES))
        Xd = Xd.astype(np.float32)
        yd = Xd.map_blocks(_labels, drop_axis=1, dtype=np.int64)
        Xd, yd = client.persist([Xd, yd])  # generated on the workers, kept there
        X, y = client.compute([Xd, yd], sync=True)  # the same stream, here

        n_blocks = Xd.numblocks[0]
        seen = rows * passes
        for threads in sorted({1, os.cpu_count() or 1}):
            est = _model(threads)
            t0 = time.perf_counter()
            for _ in range(passes):
                for s in range(0, rows, block):
                    est.partial_fit(X[s:s + block], y[s:s + block], classes=classes)
            seconds = time.perf_counter() - t0
            results["runs"].append({"how": f"partial_fit in one process, {threads} thread(s)",
                                    "seconds": seconds, "rows_per_second": seen / seconds,
                                    "accuracy": float(est.score(X[-block:], y[-block:]))})
        local_1 = results["runs"][0]["seconds"]

        inc = Incremental(_model(None), shuffle_blocks=False)
        inc.partial_fit(Xd[:block], yd[:block], classes=classes)  # warm the workers' imports
        inc = Incremental(_model(None), shuffle_blocks=False)
        t0 = time.perf_counter()
        for _ in range(passes):
            inc.partial_fit(Xd, yd, classes=classes)
        seconds = time.perf_counter() - t0
        results["runs"].append({
            "how": f"Incremental on {workers} worker processes (1 thread each)",
            "seconds": seconds, "rows_per_second": seen / seconds,
            "accuracy": float(inc.estimator_.score(X[-block:], y[-block:])),
            "overhead_per_block_ms": (seconds - local_1) / (n_blocks * passes) * 1e3})
        results["model_pickle_bytes"] = len(pickle.dumps(inc.estimator_))
    return results


def table(results):
    lines = [f"{results['rows']} rows x {N_FEATURES} float32 in blocks of {results['block']}, "
             f"{results['passes']} passes; model pickle {results['model_pickle_bytes'] / 1024:.0f} KiB",
             "", "| how | time | rows/s | vs one process, 1 thread | accuracy |", "|---|---:|---:|---:|---:|"]
    base = results["runs"][0]["rows_per_second"]
    for r in results["runs"]:
        extra = (f" (+{r['overhead_per_block_ms']:.0f} ms per block)"
                 if "overhead_per_block_ms" in r else "")
        lines.append(f"| {r['how']}{extra} | {r['seconds']:.2f} s | {r['rows_per_second']:,.0f} | "
                     f"{r['rows_per_second'] / base:.2f}x | {r['accuracy']:.3f} |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--block", type=int, default=20_000)
    parser.add_argument("--passes", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent / "results"))
    args = parser.parse_args(argv)
    results = run(args.rows, args.block, args.passes, args.workers)
    print(table(results))
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "dask_incremental.json"), "w") as f:
        json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
