"""Train out of core: a memory-mapped .npy file, many chunks long, streamed through partial_fit.

The script writes a synthetic 5-class problem (by default 400000 x 64 float32,
about 100 MiB) chunk by chunk into a .npy file with numpy's ``open_memmap``,
opens it again read-only with ``mmap_mode="r"`` and trains an MLPClassifier on
it with ``partial_fit``, one chunk at a time, in a different chunk order each
epoch. Only the chunk being trained on is ever read into memory: the script
prints the peak memory numpy allocated (tracemalloc) next to the file's size.
The last chunk of the file is held out as a test set.

    python examples/out_of_core.py [--rows 400000] [--chunk 20000] [--epochs 3]
"""

import argparse
import os
import tempfile
import time
import tracemalloc

import numpy as np

from neurocore import MLPClassifier

N_FEATURES, N_CLASSES = 64, 5


def write_dataset(folder, rows, chunk, seed=0):
    """X (rows, 64) float32 and y (rows,) int64 as .npy files, written a chunk at a time."""
    rng = np.random.RandomState(seed)
    W = rng.randn(N_FEATURES, N_CLASSES).astype(np.float32) / 4
    V = rng.randn(N_FEATURES, N_CLASSES).astype(np.float32) / 4
    x_path, y_path = os.path.join(folder, "X.npy"), os.path.join(folder, "y.npy")
    X = np.lib.format.open_memmap(x_path, mode="w+", dtype=np.float32, shape=(rows, N_FEATURES))
    y = np.lib.format.open_memmap(y_path, mode="w+", dtype=np.int64, shape=(rows,))
    for start in range(0, rows, chunk):
        block = rng.randn(min(chunk, rows - start), N_FEATURES).astype(np.float32)
        logits = block @ W + np.tanh(block @ V) + 0.3 * rng.randn(len(block), N_CLASSES)
        X[start:start + len(block)] = block
        y[start:start + len(block)] = logits.argmax(axis=1)
    X.flush()
    y.flush()
    del X, y
    return x_path, y_path


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=400_000)
    parser.add_argument("--chunk", type=int, default=20_000)
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args(argv)
    if args.rows < 2 * args.chunk:
        parser.error("--rows must hold at least two chunks (the last one is the test set)")

    with tempfile.TemporaryDirectory() as folder:
        x_path, y_path = write_dataset(folder, args.rows, args.chunk)
        X = np.load(x_path, mmap_mode="r")  # nothing is read yet
        y = np.load(y_path, mmap_mode="r")
        starts = list(range(0, args.rows, args.chunk))
        train, test = starts[:-1], starts[-1]
        classes = np.arange(N_CLASSES)
        file_mib = (os.path.getsize(x_path) + os.path.getsize(y_path)) / 2**20
        chunk_mib = args.chunk * (N_FEATURES * 4 + 8) / 2**20
        print(f"{x_path}: {args.rows} x {N_FEATURES} float32, {file_mib:.0f} MiB on disk, "
              f"{len(train)} training chunks of {args.chunk} rows ({chunk_mib:.1f} MiB each)")

        clf = MLPClassifier(hidden_layer_sizes=(64,), batch_size=256, random_state=0)
        order = np.random.RandomState(1)
        tracemalloc.start()
        t0 = time.perf_counter()
        for epoch in range(args.epochs):
            for start in order.permutation(train):
                stop = start + args.chunk
                clf.partial_fit(X[start:stop], y[start:stop], classes=classes)
            X_test, y_test = X[test:], y[test:]
            print(f"epoch {epoch + 1}: test accuracy {clf.score(X_test, y_test):.4f}")
        seconds = time.perf_counter() - t0
        peak_mib = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        n_seen = args.epochs * len(train) * args.chunk
        print(f"trained on {n_seen} rows in {seconds:.1f} s ({n_seen / seconds:,.0f} rows/s)")
        print(f"test accuracy: {clf.score(X[test:], y[test:]):.4f}")
        print(f"peak memory allocated while training: {peak_mib:.1f} MiB "
              f"(file {file_mib:.0f} MiB, one chunk {chunk_mib:.1f} MiB)")
        del X, y  # release the maps before the folder goes


if __name__ == "__main__":
    main()
