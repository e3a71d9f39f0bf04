"""Benchmark neurocore against scikit-learn and PyTorch on fixed workloads, in one process.

    python bench/compare.py            # quick: ~2 minutes, data bundled or generated
    python bench/compare.py --full     # the full workloads (MNIST-shaped at 60000 rows)

Every workload is trained by each library with the same architecture, batch
size, epochs and optimizer (Adam, lr 1e-3), at one thread and at all cores.
The script also measures the machine's float32 GEMM peak in the same run
(numpy ``a @ b``) and reports each fit's GFLOP/s as a fraction of it, and each
fit's peak memory above what the process held before it. It prints a markdown
table and writes JSON (and a PNG chart when matplotlib is installed).
"""

import argparse
import gc
import json
import os
import platform
import time
import warnings

# NEUROCORE_ISA=avx2 measures neurocore's AVX2 kernels; on an AVX-512 machine the
# peers are held to AVX2 too where they have a switch (numpy's and scikit-learn's
# OpenBLAS, PyTorch's own kernels and oneDNN), read when they load, so before
# numpy is imported. ONNX Runtime has none: it keeps what the CPU has.
PEER_ISA_CAPS = {"avx2": {"OPENBLAS_CORETYPE": "Haswell", "ATEN_CPU_CAPABILITY": "avx2",
                          "ONEDNN_MAX_CPU_ISA": "AVX2", "MKL_ENABLE_INSTRUCTIONS": "AVX2"}}
for _k, _v in PEER_ISA_CAPS.get(os.environ.get("NEUROCORE_ISA", ""), {}).items():
    os.environ.setdefault(_k, _v)

import numpy as np  # noqa: E402

import neurocore as nc  # first: it sets the OpenMP wait policy before libgomp loads
import convnets  # noqa: E402  (bench/convnets.py: the convolutional workloads)
import rbm  # noqa: E402  (bench/rbm.py: BernoulliRBM against scikit-learn's)
import recurrent  # noqa: E402  (bench/recurrent.py: the recurrent workloads)

from sklearn import neural_network as sk  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

try:  # an optional peer
    import torch
except ImportError:  # pragma: no cover
    torch = None

try:  # an optional predict peer (pip install ".[bench]")
    import onnx
    import onnxruntime
except ImportError:  # pragma: no cover
    onnx = onnxruntime = None

N_CPUS = os.cpu_count() or 1


# ---------------------------------------------------------------------------
# measurement helpers

def _rss_kib(field):
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def measure(fn, repeats=1, budget=1.0, max_repeats=200):
    """Best wall time of fn() over at least `repeats` runs, and the first run's
    peak memory above its starting RSS (MiB). Runs go on, up to max_repeats,
    until `budget` seconds are spent: every library gets the same time to show
    its best on a shared machine, where a slow window can cover all of a few
    millisecond runs. The first run starts after a garbage collection (so its
    memory reading is clean); the repeats follow back to back, as timeit does."""
    best, peak, result = float("inf"), None, None
    spent, i = 0.0, 0
    while i < repeats or (spent < budget and i < max_repeats):
        if i == 0:
            gc.collect()
            before = _rss_kib("VmRSS:")
            try:  # reset the kernel's high-water mark to the current RSS
                with open("/proc/self/clear_refs", "w") as f:
                    f.write("5")
            except OSError:
                pass
        start = time.perf_counter()
        result = fn()
        elapsed = time.perf_counter() - start
        if i == 0:
            hwm = _rss_kib("VmHWM:")
            if before is not None and hwm is not None:
                peak = (hwm - before) / 1024
        best = min(best, elapsed)
        spent += elapsed
        i += 1
    return best, peak, result


def gemm_peak(threads, n=2048, repeats=5):
    """The machine's float32 GEMM rate, numpy a @ b, in GFLOP/s."""
    a = np.random.RandomState(0).rand(n, n).astype(np.float32)
    b = np.random.RandomState(1).rand(n, n).astype(np.float32)
    with threadpool_limits(threads):
        a @ b
        best = min(_timeit(lambda: a @ b) for _ in range(repeats))
    return 2 * n**3 / best / 1e9


def _timeit(fn):
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def training_flops(units, n_samples, epochs):
    """Multiply-adds x 2 of forward, weight gradients and input gradients (not the first layer's)."""
    pairs = list(zip(units[:-1], units[1:]))
    per_sample = sum(a * b for a, b in pairs) * 2 + sum(a * b for a, b in pairs[1:])
    return 2.0 * per_sample * n_samples * epochs


# ---------------------------------------------------------------------------
# workloads

def keras_tutorial():
    """The first network of the Keras beginner tutorial "Keras from nothing"
    (examples/text1_keras_from_nothing.py): 250 x 5 uniform samples, class =
    sum > 2.5 (balanced; 200 more rows to test on)."""
    rng = np.random.RandomState(0)
    X = rng.rand(450, 5)
    y = (X.sum(axis=1) > 2.5).astype(int)
    return X[:250], X[250:], y[:250], y[250:]


def digits():
    X, y = load_digits(return_X_y=True)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.25, random_state=0)
    scaler = StandardScaler().fit(X_tr)
    return scaler.transform(X_tr), scaler.transform(X_te), y_tr, y_te


def mnist_shaped(n):
    """MNIST-shaped synthetic data: n x 784 float32 in [0, 1), 10 balanced
    classes from a random linear teacher on the centred pixels (chance: 0.10;
    the uncentred teacher put 36% of the rows in one class, so a model that
    learned nothing scored 0.36)."""
    rng = np.random.default_rng(0)  # generates float32 directly: no float64 copy
    X = rng.random((n + 2000, 784), dtype=np.float32)
    W = rng.standard_normal((784, 10), dtype=np.float32)
    y = ((X - 0.5) @ W).argmax(axis=1)
    return X[:n], X[n:], y[:n], y[n:]


def regression(n):
    rng = np.random.default_rng(1)
    X = rng.standard_normal((n + 2000, 100), dtype=np.float32)
    w = rng.standard_normal(100, dtype=np.float32)
    y = np.tanh(X @ w / 10) + 0.1 * np.sin(X[:, 0])
    return X[:n], X[n:], y[:n].astype(np.float32), y[n:].astype(np.float32)


def workloads(full):
    n_mnist = 60000 if full else 10000
    return [
        dict(name="Keras tutorial 5-20-2, 150 epochs, batch 32", data=keras_tutorial, kind="classifier",
             hidden=(20,), epochs=150, batch=32, repeats=15),
        dict(name="digits 64-128-64-10, 50 epochs, batch 64", data=digits, kind="classifier",
             hidden=(128, 64), epochs=50, batch=64, repeats=5),
        dict(name=f"MNIST-shaped {n_mnist}x784-1024-1024-10, 2 epochs, batch 256",
             data=lambda: mnist_shaped(n_mnist), kind="classifier", hidden=(1024, 1024), epochs=2,
             batch=256, repeats=1),
        dict(name=f"regression {50000 if full else 20000}x100-256-256-1, 5 epochs, batch 256",
             data=lambda: regression(50000 if full else 20000), kind="regressor", hidden=(256, 256),
             epochs=5, batch=256, repeats=1),
    ]


# ---------------------------------------------------------------------------
# the three libraries on one workload

def fit_neurocore(w, X, y, threads):
    Est = nc.MLPClassifier if w["kind"] == "classifier" else nc.MLPRegressor
    est = Est(hidden_layer_sizes=w["hidden"], batch_size=w["batch"], max_iter=w["epochs"],
              n_iter_no_change=10**6, tol=0, random_state=0, n_jobs=threads)
    return est.fit(X, y)


def fit_sklearn(w, X, y, threads):
    Est = sk.MLPClassifier if w["kind"] == "classifier" else sk.MLPRegressor
    est = Est(hidden_layer_sizes=w["hidden"], batch_size=w["batch"], max_iter=w["epochs"],
              n_iter_no_change=10**6, tol=0, random_state=0)
    with threadpool_limits(threads):
        return est.fit(X, y)


class _TorchModel:
    def __init__(self, w, n_in, n_out, threads):
        torch.manual_seed(0)
        dims = [n_in, *w["hidden"]]
        layers = []
        for a, b in zip(dims[:-1], dims[1:]):
            layers += [torch.nn.Linear(a, b), torch.nn.ReLU()]
        layers.append(torch.nn.Linear(dims[-1], n_out))
        self.net = torch.nn.Sequential(*layers)
        self.kind, self.w, self.threads = w["kind"], w, threads

    def fit(self, X, y):
        torch.set_num_threads(self.threads)
        opt = torch.optim.Adam(self.net.parameters(), lr=1e-3)
        Xt = torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32))
        yt = torch.from_numpy(y.astype(np.int64 if self.kind == "classifier" else np.float32))
        loss_fn = torch.nn.functional.cross_entropy if self.kind == "classifier" else (
            lambda out, t: torch.nn.functional.mse_loss(out.squeeze(1), t))
        g = torch.Generator().manual_seed(0)
        n, bs = Xt.shape[0], self.w["batch"]
        for _ in range(self.w["epochs"]):
            perm = torch.randperm(n, generator=g)
            for i in range(0, n, bs):
                idx = perm[i:i + bs]
                opt.zero_grad()
                loss_fn(self.net(Xt[idx]), yt[idx]).backward()
                opt.step()
        return self

    def predict(self, X):
        torch.set_num_threads(self.threads)
        with torch.no_grad():
            out = self.net(torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32)))
        return out.argmax(1).numpy() if self.kind == "classifier" else out.squeeze(1).numpy()

    def score(self, X, y):
        p = self.predict(X)
        if self.kind == "classifier":
            return float(np.mean(p == y))
        return float(1 - np.sum((y - p) ** 2) / np.sum((y - y.mean()) ** 2))


def fit_torch(w, X, y, threads):
    n_out = int(np.max(y)) + 1 if w["kind"] == "classifier" else 1
    return _TorchModel(w, X.shape[1], n_out, threads).fit(X, y)


LIBRARIES = [("neurocore", fit_neurocore), ("scikit-learn", fit_sklearn)]
if torch is not None:
    LIBRARIES.append(("pytorch", fit_torch))


def onnx_session(model, threads):
    """ONNX Runtime running the fitted neurocore model as ``neurocore.to_onnx``
    exports it (labels, as ``predict`` returns), on `threads` intra-op threads."""
    proto = nc.to_onnx(model, zipmap=False)
    opts = onnxruntime.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    sess = onnxruntime.InferenceSession(proto.SerializeToString(), opts,
                                        providers=["CPUExecutionProvider"])
    return lambda X: sess.run(["label"], {"X": X})[0]


def latency(fn, calls):
    fn()
    best = float("inf")
    for _ in range(5):
        t = time.perf_counter()
        for _ in range(calls):
            fn()
        best = min(best, (time.perf_counter() - t) / calls)
    return best


# ---------------------------------------------------------------------------

def run(full=False, threads_list=None, libraries=None):
    warnings.simplefilter("ignore", ConvergenceWarning)
    threads_list = threads_list or sorted({1, N_CPUS})
    libs = [(n, f) for n, f in LIBRARIES if libraries is None or n in libraries]
    results = {"machine": {"cores": N_CPUS, "processor": platform.processor() or platform.machine(),
                           "python": platform.python_version(), "neurocore": nc.__version__,
                           "scikit-learn": __import__("sklearn").__version__,
                           "pytorch": getattr(torch, "__version__", None),
                           "onnxruntime": getattr(onnxruntime, "__version__", None),
                           "openblas_coretype": os.environ.get("OPENBLAS_CORETYPE"),
                           "peer_caps": {k: os.environ[k] for k in ("ATEN_CPU_CAPABILITY",
                                                                    "ONEDNN_MAX_CPU_ISA",
                                                                    "MKL_ENABLE_INSTRUCTIONS")
                                         if k in os.environ},
                           "config": nc.system_info()},
               "gemm_peak_gflops": {}, "fits": [], "predict": []}
    for t in threads_list:
        results["gemm_peak_gflops"][t] = gemm_peak(t)
    for w in workloads(full):
        X_tr, X_te, y_tr, y_te = w["data"]()
        units = [X_tr.shape[1], *w["hidden"], (len(np.unique(y_tr)) if w["kind"] == "classifier" else 1)]
        if w["kind"] == "classifier" and units[-1] == 2:
            units[-1] = 1  # scikit-learn's binary output is one logistic unit
        flops = training_flops(units, X_tr.shape[0], w["epochs"])
        for t in threads_list:
            for name, fit in libs:
                seconds, mem, model = measure(lambda: fit(w, X_tr, y_tr, t), w["repeats"])
                gflops = flops / seconds / 1e9
                results["fits"].append(dict(
                    workload=w["name"], library=name, threads=t, seconds=seconds,
                    gflops=gflops, fraction_of_peak=gflops / results["gemm_peak_gflops"][t],
                    peak_memory_mib=mem, dataset_mib=X_tr.nbytes / 2**20,
                    score=float(model.score(X_te, y_te))))
                if w["name"].startswith("digits"):
                    row = np.ascontiguousarray(X_te[:1], dtype=np.float32)
                    block = np.ascontiguousarray(np.resize(X_te, (10000, X_te.shape[1])), dtype=np.float32)
                    if name == "scikit-learn":
                        ctx = threadpool_limits(t)
                        ctx.__enter__()
                    one = latency(lambda: model.predict(row), 2000 if name != "scikit-learn" else 300)
                    many = latency(lambda: model.predict(block), 10)
                    if name == "scikit-learn":
                        ctx.__exit__(None, None, None)
                    results["predict"].append(dict(library=name, threads=t, one_row_us=one * 1e6,
                                                   rows_per_second=10000 / many))
                    if name == "neurocore" and onnxruntime is not None:
                        run_onnx = onnx_session(model, t)
                        assert (run_onnx(block) == model.predict(block)).mean() > 0.99
                        one = latency(lambda: run_onnx(row), 2000)
                        many = latency(lambda: run_onnx(block), 10)
                        results["predict"].append(dict(library="onnxruntime", threads=t,
                                                       one_row_us=one * 1e6,
                                                       rows_per_second=10000 / many))
                del model
                gc.collect()
    for suite, w in [(m, w) for m in (convnets, recurrent, rbm) for w in m.workloads(full)]:
        X_tr, X_te, y_tr, y_te = w["data"]()
        flops = suite.training_flops(w, X_tr.shape[0])
        for t in threads_list:
            for name, Fit in suite.libraries():
                if libraries is not None and name not in libraries:
                    continue
                seconds, mem, model = measure(lambda: Fit(w, t).fit(X_tr, y_tr), 1)
                gflops = flops / seconds / 1e9
                results["fits"].append(dict(
                    workload=w["name"], library=name, threads=t, seconds=seconds,
                    gflops=gflops, fraction_of_peak=gflops / results["gemm_peak_gflops"][t],
                    peak_memory_mib=mem, dataset_mib=X_tr.nbytes / 2**20,
                    score=model.score(X_te, y_te)))
                del model
                gc.collect()
    # the machine is shared: measure the peak again after the workloads, keep the
    # higher reading, and express every fit against it
    for t in threads_list:
        results["gemm_peak_gflops"][t] = max(results["gemm_peak_gflops"][t], gemm_peak(t))
    for f in results["fits"]:
        f["fraction_of_peak"] = f["gflops"] / results["gemm_peak_gflops"][f["threads"]]
    return results


def table(results):
    lines = []
    m = results["machine"]
    peaks = ", ".join(f"{t} thread{'s' if int(t) > 1 else ''}: {p:.0f}" for t, p in results["gemm_peak_gflops"].items())
    peers = [f"scikit-learn {m['scikit-learn']}"]
    peers.append(f"PyTorch {m['pytorch']}" if m.get("pytorch") else "PyTorch not installed")
    peers.append(f"ONNX Runtime {m['onnxruntime']}" if m.get("onnxruntime") else "ONNX Runtime not installed")
    cfg = m.get("config") or {}
    lines.append(f"neurocore {m['neurocore']}, {', '.join(peers)}; {cfg.get('cpu', m['processor'])}, "
                 f"{m['cores']} cores.")
    if cfg:
        blas = cfg.get("numpy_blas") or {}
        lines.append(f"neurocore's kernels: {cfg['isa']} (the CPU has {cfg['isa_detected']}; NEUROCORE_ISA "
                     f"cap: {cfg['isa_cap'] or 'none'}), float32 tiles {cfg['tile_float32']}. numpy's BLAS: "
                     f"{blas.get('name')} {blas.get('version')}, core type {blas.get('core_type')}.")
    lines.append(f"float32 GEMM peak (numpy a @ b, GFLOP/s): {peaks}.")
    if m.get("openblas_coretype"):
        lines.append(f"OPENBLAS_CORETYPE={m['openblas_coretype']} pins numpy's OpenBLAS to those kernels; "
                     "neurocore's own kernels are not pinned, so its fits can exceed that peak.")
    if m.get("peer_caps"):
        lines.append("PyTorch held to the same instruction set: "
                     + ", ".join(f"{k}={v}" for k, v in m["peer_caps"].items())
                     + "; ONNX Runtime has no such switch and uses what the CPU has.")
    lines.append("")
    lines.append("| workload | threads | library | fit | vs scikit-learn | vs PyTorch | GFLOP/s | of peak | peak memory | score |")
    lines.append("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    fits = results["fits"]
    for f in fits:
        ref = {g["library"]: g["seconds"] for g in fits if g["workload"] == f["workload"] and g["threads"] == f["threads"]}
        vs_sk = f"{ref['scikit-learn'] / f['seconds']:.1f}x" if "scikit-learn" in ref else "-"
        vs_pt = f"{ref['pytorch'] / f['seconds']:.2f}x" if "pytorch" in ref else "-"
        mem = "-" if f["peak_memory_mib"] is None else f"{f['peak_memory_mib']:.0f} MiB"
        lines.append(
            f"| {f['workload']} | {f['threads']} | {f['library']} | {_fmt_time(f['seconds'])} | "
            f"{vs_sk} | {vs_pt} | {f['gflops']:.1f} | {f['fraction_of_peak'] * 100:.0f}% | {mem} | {f['score']:.3f} |")
    if results["predict"]:
        lines.append("\n| predict (digits model) | threads | one row | 10000 rows |")
        lines.append("|---|---:|---:|---:|")
        for p in results["predict"]:
            lines.append(f"| {p['library']} | {p['threads']} | {p['one_row_us']:.1f} us | "
                         f"{p['rows_per_second'] / 1e6:.2f} M rows/s |")
    return "\n".join(lines)


def _fmt_time(s):
    return f"{s * 1e3:.1f} ms" if s < 1 else f"{s:.2f} s"


def chart(results, path):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    fits = [f for f in results["fits"] if f["threads"] == max(int(t) for t in results["gemm_peak_gflops"])]
    names = list(dict.fromkeys(f["workload"] for f in fits))
    libs = list(dict.fromkeys(f["library"] for f in fits))
    fig, ax = plt.subplots(figsize=(10, 4.5))
    width = 0.8 / len(libs)
    for i, lib in enumerate(libs):
        vals = [next((f["seconds"] for f in fits if f["workload"] == n and f["library"] == lib), np.nan) for n in names]
        ax.bar(np.arange(len(names)) + i * width, vals, width, label=lib)
    ax.set_yscale("log")
    ax.set_ylabel("fit time (s, log scale)")
    ax.set_xticks(np.arange(len(names)) + width * (len(libs) - 1) / 2)
    ax.set_xticklabels([n.split(",")[0] for n in names], rotation=12, ha="right", fontsize=8)
    ax.legend()
    ax.set_title("Fit time at all cores (lower is better)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    return True


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="the full workloads (MNIST-shaped at 60000 rows)")
    parser.add_argument("--threads", type=int, nargs="*", help="thread counts (default: 1 and all cores)")
    parser.add_argument("--libraries", nargs="*", help="subset of: neurocore scikit-learn pytorch")
    parser.add_argument("--out", default="bench/results", help="folder for results.json and results.png")
    args = parser.parse_args(argv)
    results = run(args.full, args.threads, args.libraries)
    text = table(results)
    print(text)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "results.json"), "w") as f:
        json.dump(results, f, indent=2)
    with open(os.path.join(args.out, "results.md"), "w") as f:
        f.write(text + "\n")
    written = [os.path.join(args.out, name) for name in ("results.json", "results.md")]
    if chart(results, os.path.join(args.out, "results.png")):
        written.append(os.path.join(args.out, "results.png"))
        note = ""
    else:
        note = " (no chart: matplotlib is not installed; pip install matplotlib, or \".[plot]\")"
    print(f"\nwrote {', '.join(written)}{note}")
    return results


if __name__ == "__main__":
    main()
