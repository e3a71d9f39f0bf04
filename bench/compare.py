"""Compare neurocore with scikit-learn's MLP on data that ships with scikit-learn.

Each workload is trained by both libraries with the same hyperparameters in
this one process; the script prints a markdown table of fit times, speed-up
and held-out scores, and can write the figures as JSON.

    python bench/compare.py [--repeats N] [--json results.json]
"""

import argparse
import json
import os
import platform
import time
import warnings

import numpy as np
from sklearn import neural_network as sk
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

import neurocore as nc


def seed_example():
    """SEEDS.md text 1: 250 x 5 uniform samples, class = sum > 2.5, a 5-20-2 network."""
    rng = np.random.RandomState(0)
    X = rng.rand(450, 5)
    y = (X.sum(axis=1) > 2.5).astype(int)
    return X[:250], X[250:], y[:250], y[250:]


def split(loader, scale_y=1.0):
    X, y = loader(return_X_y=True)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y / scale_y, test_size=0.25, random_state=0)
    scaler = StandardScaler().fit(X_tr)
    return scaler.transform(X_tr), scaler.transform(X_te), y_tr, y_te


WORKLOADS = [
    # name, data, estimator name, parameters (identical for both libraries)
    (
        "seed example 5-20-2, 150 epochs, batch 32",
        seed_example,
        "MLPClassifier",
        dict(hidden_layer_sizes=(20,), batch_size=32, max_iter=150, n_iter_no_change=150),
    ),
    (
        "digits 64-100-10 (adam, defaults)",
        lambda: split(load_digits),
        "MLPClassifier",
        dict(hidden_layer_sizes=(100,), max_iter=200),
    ),
    (
        "digits 64-128-64-10, 50 epochs, batch 64",
        lambda: split(load_digits),
        "MLPClassifier",
        dict(hidden_layer_sizes=(128, 64), batch_size=64, max_iter=50, n_iter_no_change=50),
    ),
    (
        "breast_cancer 30-100-1 (adam, defaults)",
        lambda: split(load_breast_cancer),
        "MLPClassifier",
        dict(hidden_layer_sizes=(100,), max_iter=200),
    ),
    (
        "breast_cancer 30-100-1 (lbfgs)",
        lambda: split(load_breast_cancer),
        "MLPClassifier",
        dict(hidden_layer_sizes=(100,), solver="lbfgs", max_iter=200),
    ),
    (
        "diabetes 10-100-1 regression (adam)",
        lambda: split(load_diabetes, scale_y=100.0),
        "MLPRegressor",
        dict(hidden_layer_sizes=(100,), max_iter=500),
    ),
]


def time_fit(make, X, y, repeats):
    best, model = np.inf, None
    for _ in range(repeats):
        est = make()
        start = time.perf_counter()
        est.fit(X, y)
        best = min(best, time.perf_counter() - start)
        model = est
    return best, model


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="fits per library (best time kept)")
    parser.add_argument("--json", help="write the results to this JSON file")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore", ConvergenceWarning)

    rows = []
    for name, data, kind, params in WORKLOADS:
        X_tr, X_te, y_tr, y_te = data()
        params = dict(params, random_state=0)
        t_sk, m_sk = time_fit(lambda: getattr(sk, kind)(**params), X_tr, y_tr, args.repeats)
        t_nc, m_nc = time_fit(lambda: getattr(nc, kind)(**params), X_tr, y_tr, args.repeats)
        rows.append(
            dict(
                workload=name,
                sklearn_fit_s=t_sk,
                neurocore_fit_s=t_nc,
                speedup=t_sk / t_nc,
                sklearn_score=m_sk.score(X_te, y_te),
                neurocore_score=m_nc.score(X_te, y_te),
                epochs=int(m_nc.n_iter_),
                sklearn_epochs=int(m_sk.n_iter_),
            )
        )

    print(
        f"neurocore {nc.__version__} vs scikit-learn {__import__('sklearn').__version__}"
        f"; {os.cpu_count()} cores, {platform.processor() or platform.machine()};"
        f" best of {args.repeats} fits; score = accuracy or R^2 on a 25% held-out split\n"
    )
    print(
        "| workload | iterations | scikit-learn fit | neurocore fit | speed-up"
        " | scikit-learn score | neurocore score |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['workload']} | {r['sklearn_epochs']} / {r['epochs']}"
            f" | {r['sklearn_fit_s'] * 1e3:.1f} ms | {r['neurocore_fit_s'] * 1e3:.1f} ms"
            f" | {r['speedup']:.1f}x | {r['sklearn_score']:.3f} | {r['neurocore_score']:.3f} |"
        )
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"cores": os.cpu_count(), "results": rows}, f, indent=2)
    return rows


if __name__ == "__main__":
    main()
