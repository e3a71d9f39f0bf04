"""The BernoulliRBM workload of ``bench/compare.py``: neurocore.BernoulliRBM
against scikit-learn's BernoulliRBM, same data, parameters and seed (and so,
in float64, the same random draws and the same fitted model).

Digits scaled to [0, 1] (1797 x 64, bundled with scikit-learn), the default
parameters (256 hidden units, batch 10, learning rate 0.1, 10 passes): 1800
steps of persistent contrastive divergence on small products, where
scikit-learn's time is numpy's per-call cost. The score is the mean
pseudo-likelihood of the held-out digits (the same corruption for both).
"""

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.neural_network import BernoulliRBM as SkRBM
from threadpoolctl import threadpool_limits

import neurocore


def digits01():
    X, y = load_digits(return_X_y=True)
    return train_test_split(X / 16.0, y, test_size=0.25, random_state=0)


def workloads(full):
    return [dict(name=f"BernoulliRBM digits 64-256, {20 if full else 10} passes, batch 10", data=digits01,
                 params=dict(n_components=256, batch_size=10, learning_rate=0.1, n_iter=20 if full else 10))]


def training_flops(w, n_samples):
    """Multiply-adds x 2 of a pass's products (the two hidden means, the chain's
    visible means, the two gradient halves), over every pass."""
    p = w["params"]
    return 2 * 5 * p["n_components"] * 64 * n_samples * p["n_iter"]


class _Fit:
    def __init__(self, w, threads):
        self.w, self.threads = w, threads

    def score(self, X, y):
        return float(self.model.score_samples(X).mean())


class NeurocoreFit(_Fit):
    def fit(self, X, y):
        self.model = neurocore.BernoulliRBM(random_state=0, n_jobs=self.threads, **self.w["params"]).fit(X)
        return self


class SklearnFit(_Fit):
    def fit(self, X, y):
        with threadpool_limits(self.threads):
            self.model = SkRBM(random_state=0, **self.w["params"]).fit(X)
        return self


def libraries():
    return [("neurocore", NeurocoreFit), ("scikit-learn", SklearnFit)]
