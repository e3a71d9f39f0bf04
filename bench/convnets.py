"""The convolutional workloads of ``bench/compare.py``: neurocore's Keras facade
against PyTorch CPU, same architecture, data, batch size, epochs and optimizer.

- a small 1-D CNN trained by many small steps (40-step single-channel
  sequences, three strided Conv1D of 25 filters with padding 1, Dense 10):
  PyTorch's time here is almost all per-step overhead;
- Keras's "simple MNIST convnet" (Conv2D 32 -> MaxPooling -> Conv2D 64 ->
  MaxPooling -> Flatten -> Dropout 0.5 -> Dense 10) on 28 x 28 x 1 images:
  scikit-learn's digits upscaled, shifted and noised into 10000 training images.

Both are generated here: no downloads.
"""

import numpy as np
from threadpoolctl import threadpool_limits

import neurocore.keras as nk
from neurocore.keras import layers as L

try:  # the peer
    import torch
except ImportError:  # pragma: no cover
    torch = None


def sequences(n_train=4000, n_test=1000, steps=40, seed=0):
    """Ten classes of noisy waves: class k is a sine of k + 1 periods over the
    sequence, random phase and amplitude, plus noise; (n, steps, 1) float32."""
    rng = np.random.RandomState(seed)
    n = n_train + n_test
    y = rng.randint(0, 10, n)
    t = np.arange(steps) / steps
    phase = rng.uniform(0, 2 * np.pi, (n, 1))
    amp = rng.uniform(0.5, 1.5, (n, 1))
    X = amp * np.sin(2 * np.pi * (y[:, None] + 1) * t / 2 + phase) + 0.3 * rng.normal(size=(n, steps))
    X = X[..., None].astype(np.float32)
    return X[:n_train], X[n_train:], y[:n_train], y[n_train:]


def digit_images(n_train=10000, seed=0):
    """scikit-learn's digits as 28 x 28 x 1 images (each pixel 3 x 3, a 2-pixel
    border): the first 1400 digits, shifted by up to 2 pixels and noised, make
    n_train training images; the other 397, unshifted, the test set."""
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    img = np.pad((X / 16.0).reshape(-1, 8, 8).repeat(3, axis=1).repeat(3, axis=2), ((0, 0), (2, 2), (2, 2)))
    rng = np.random.RandomState(seed)
    pick = rng.randint(0, 1400, n_train)
    shifts = rng.randint(-2, 3, (n_train, 2))
    train = np.stack([np.roll(img[i], tuple(s), axis=(0, 1)) for i, s in zip(pick, shifts)])
    train = np.clip(train + 0.1 * rng.normal(size=train.shape), 0, 1)
    return (train[..., None].astype(np.float32), img[1400:, ..., None].astype(np.float32),
            y[pick], y[1400:])


def workloads(full):
    return [
        dict(name=f"1-D CNN 40x1 conv25k5s2-conv25k3s2-conv25k3s2-10, {150 if full else 30} epochs, batch 100",
             data=sequences, model="cnn1d", epochs=150 if full else 30, batch=100, lr=1e-2),
        dict(name=f"MNIST convnet 28x28x1, 10000 images, {3 if full else 1} epoch{'s' if full else ''}, batch 128",
             data=digit_images, model="mnist", epochs=3 if full else 1, batch=128, lr=1e-3),
    ]


def neurocore_model(kind, lr):
    if kind == "cnn1d":
        layers = [L.ZeroPadding1D(1, input_shape=(40, 1)), L.Conv1D(25, 5, strides=2, activation="relu"),
                  L.ZeroPadding1D(1), L.Conv1D(25, 3, strides=2, activation="relu"),
                  L.ZeroPadding1D(1), L.Conv1D(25, 3, strides=2, activation="relu"),
                  L.Flatten(), L.Dense(10, activation="softmax")]
    else:
        layers = [L.Input(shape=(28, 28, 1)), L.Conv2D(32, (3, 3), activation="relu"),
                  L.MaxPooling2D(pool_size=(2, 2)), L.Conv2D(64, (3, 3), activation="relu"),
                  L.MaxPooling2D(pool_size=(2, 2)), L.Flatten(), L.Dropout(0.5),
                  L.Dense(10, activation="softmax")]
    model = nk.Sequential(layers)
    model.compile(nk.optimizers.Adam(lr), "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


class NeurocoreFit:
    build = staticmethod(neurocore_model)  # the workload's model (bench/recurrent.py has its own)

    def __init__(self, w, threads):
        self.w, self.threads = w, threads

    def fit(self, X, y):
        np.random.seed(0)
        self.model = self.build(self.w["model"], self.w["lr"])
        # the facade trains on every usable core; threads caps them as n_jobs would
        with threadpool_limits(self.threads, user_api="openmp"):
            self.model.fit(X, y, epochs=self.w["epochs"], batch_size=self.w["batch"], verbose=0)
        return self

    def score(self, X, y):
        return float(np.mean(self.model.predict(X, verbose=0).argmax(axis=1) == y))


class TorchFit:
    def __init__(self, w, threads):
        self.w, self.threads = w, threads

    def _net(self):
        nn = torch.nn
        if self.w["model"] == "cnn1d":
            return nn.Sequential(nn.Conv1d(1, 25, 5, 2, 1), nn.ReLU(), nn.Conv1d(25, 25, 3, 2, 1), nn.ReLU(),
                                 nn.Conv1d(25, 25, 3, 2, 1), nn.ReLU(), nn.Flatten(), nn.Linear(125, 10))
        return nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3), nn.ReLU(),
                             nn.MaxPool2d(2), nn.Flatten(), nn.Dropout(0.5), nn.Linear(1600, 10))

    @staticmethod
    def _channels_first(X):
        return torch.from_numpy(np.ascontiguousarray(np.moveaxis(X, -1, 1)))

    def fit(self, X, y):
        torch.set_num_threads(self.threads)
        torch.manual_seed(0)
        self.net = self._net()
        opt = torch.optim.Adam(self.net.parameters(), lr=self.w["lr"])
        Xt, yt = self._channels_first(X), torch.from_numpy(y.astype(np.int64))
        g = torch.Generator().manual_seed(0)
        n, bs = Xt.shape[0], self.w["batch"]
        self.net.train()
        for _ in range(self.w["epochs"]):
            perm = torch.randperm(n, generator=g)
            for i in range(0, n, bs):
                idx = perm[i:i + bs]
                opt.zero_grad()
                torch.nn.functional.cross_entropy(self.net(Xt[idx]), yt[idx]).backward()
                opt.step()
        return self

    def score(self, X, y):
        self.net.eval()
        with torch.no_grad():
            return float(np.mean(self.net(self._channels_first(X)).argmax(1).numpy() == y))


def training_flops(w, n_samples):
    """Multiply-adds x 2 of forward and backward (twice forward) over the fit."""
    model = neurocore_model(w["model"], w["lr"])
    model.build()
    return 3 * model._net.core.flops_per_sample() * n_samples * w["epochs"]


def libraries():
    libs = [("neurocore", NeurocoreFit)]
    if torch is not None:
        libs.append(("pytorch", TorchFit))
    return libs
