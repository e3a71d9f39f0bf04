"""What synchronous data-parallel training across Dask workers would pay per step.

Measures, on this machine, for a network of about a million parameters
(784-1024-256-10: 1,068,810 float32 parameters, a 4.1 MiB flat gradient):

1. compute: one training step (forward, backward, Adam) of that network on one
   core, at several batch sizes, timed by neurocore itself (many steps of a
   fit, divided);
2. exchange through Dask: two worker processes each hold a gradient buffer;
   a task on worker 0 receives worker 1's buffer (Dask's worker-to-worker
   transfer), averages the two, and a task on worker 1 fetches the average
   back: one all-reduce of two workers as Dask's scheduler runs it;
3. the wire alone: the same 4.1 MiB sent one way and back between two
   processes over a loopback TCP socket, with no scheduler.

docs/data_parallel.md turns these into the plan. Prints a table and writes
bench/results/gradient_exchange.json.

    python bench/gradient_exchange.py [--repeats 30]
"""

import argparse
import json
import logging
import multiprocessing as mp
import os
import socket
import statistics
import time
from pathlib import Path

import numpy as np

UNITS = (784, 1024, 256, 10)
N_PARAMS = sum((a + 1) * b for a, b in zip(UNITS[:-1], UNITS[1:]))


def step_seconds(batch, steps=30):
    """Seconds per Adam step of the UNITS network at `batch` rows, one thread."""
    from neurocore import MLPClassifier

    rng = np.random.RandomState(0)
    X = rng.rand(batch * steps, UNITS[0]).astype(np.float32)
    y = rng.randint(0, UNITS[-1], batch * steps)
    est = MLPClassifier(hidden_layer_sizes=UNITS[1:-1], batch_size=batch, max_iter=1,
                        shuffle=False, random_state=0, n_jobs=1)
    est.partial_fit(X[:batch], y[:batch], classes=np.arange(UNITS[-1]))  # build, warm up
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        est.partial_fit(X, y)
        best = min(best, time.perf_counter() - t0)
    return best / steps


def _gradient(seed):
    return np.random.RandomState(seed).standard_normal(N_PARAMS).astype(np.float32)


def _average(a, b):
    return (a + b) * np.float32(0.5)


def _receive(avg):
    return float(avg[0])  # touching it: the worker holds the averaged buffer


def dask_allreduce_ms(repeats):
    from dask.distributed import Client, LocalCluster, wait

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None, silence_logs=logging.ERROR) as cluster, \
            Client(cluster) as client:
        w0, w1 = sorted(client.scheduler_info()["workers"])
        times = []
        for i in range(repeats + 3):
            g0 = client.submit(_gradient, 2 * i, workers=[w0], pure=False)
            g1 = client.submit(_gradient, 2 * i + 1, workers=[w1], pure=False)
            wait([g0, g1])  # each worker has computed its shard's gradient
            t0 = time.perf_counter()
            avg = client.submit(_average, g0, g1, workers=[w0], pure=False)
            done = client.submit(_receive, avg, workers=[w1], pure=False)
            done.result()
            if i >= 3:
                times.append(time.perf_counter() - t0)
            del g0, g1, avg, done
        return statistics.median(times) * 1e3, min(times) * 1e3


def _echo(port, n_bytes, repeats):
    with socket.create_connection(("127.0.0.1", port)) as s:
        buf = bytearray(n_bytes)
        for _ in range(repeats):
            view, got = memoryview(buf), 0
            while got < n_bytes:
                got += s.recv_into(view[got:])
            s.sendall(buf)


def tcp_round_trip_ms(repeats):
    n_bytes = N_PARAMS * 4
    payload = _gradient(0).tobytes()
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        peer = mp.get_context("spawn").Process(target=_echo,
                                               args=(server.getsockname()[1], n_bytes, repeats + 3))
        peer.start()
        conn, _ = server.accept()
        times = []
        with conn:
            back = bytearray(n_bytes)
            for i in range(repeats + 3):
                t0 = time.perf_counter()
                conn.sendall(payload)
                view, got = memoryview(back), 0
                while got < n_bytes:
                    got += conn.recv_into(view[got:])
                if i >= 3:
                    times.append(time.perf_counter() - t0)
        peer.join()
    return statistics.median(times) * 1e3, min(times) * 1e3


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent / "results"))
    args = parser.parse_args(argv)

    steps = {b: step_seconds(b) * 1e3 for b in (64, 256, 1024)}
    dask_med, dask_min = dask_allreduce_ms(args.repeats)
    tcp_med, tcp_min = tcp_round_trip_ms(args.repeats)
    mib = N_PARAMS * 4 / 2**20
    print(f"network {'-'.join(map(str, UNITS))}: {N_PARAMS:,} parameters, gradient {mib:.2f} MiB float32\n")
    print("| measured | median | best |\n|---|---:|---:|")
    for b, ms in steps.items():
        print(f"| one Adam step, batch {b}, 1 thread | {ms:.2f} ms | |")
    print(f"| all-reduce of two workers through Dask (send, average, send back) | {dask_med:.1f} ms | {dask_min:.1f} ms |")
    print(f"| the same bytes both ways over loopback TCP, no scheduler | {tcp_med:.2f} ms | {tcp_min:.2f} ms |")
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "gradient_exchange.json"), "w") as f:
        json.dump({"units": UNITS, "n_params": N_PARAMS, "step_ms": steps,
                   "dask_allreduce_ms": {"median": dask_med, "best": dask_min},
                   "tcp_round_trip_ms": {"median": tcp_med, "best": tcp_min},
                   "cores": os.cpu_count()}, f, indent=1)


if __name__ == "__main__":
    main()
