"""The recurrent workloads of ``bench/compare.py``: neurocore's Keras facade
against PyTorch CPU, same architecture, data, batch size, epochs and optimizer.

- a small bidirectional GRU trained by many small steps (40-step
  single-feature sequences of ten classes, Bidirectional(GRU(6,
  return_sequences=True)) -> Flatten -> Dense 10, Adam 1e-2, batch 100):
  PyTorch's time here is almost all per-step overhead;
- an LSTM text classifier (80 tokens from a 20000-word vocabulary ->
  Embedding 128 -> LSTM 128 -> Dense 1 sigmoid, Adam 1e-3, batch 32, 5000
  sequences): the recurrent products dominate (oneDNN's LSTM in PyTorch).

Both data sets are generated here: no downloads.
"""

import numpy as np

import neurocore.keras as nk
from neurocore.keras import layers as L

import convnets
from convnets import sequences

try:  # the peer
    import torch
except ImportError:  # pragma: no cover
    torch = None

VOCAB, TEXT_STEPS = 20000, 80


def texts(n_train=5000, n_test=1000, seed=0):
    """Token sequences of 80 ids from 20000; label 1 when the sequence holds
    more of the "positive" ids (1-99) than of the "negative" ones (100-199),
    which are sprinkled over otherwise random words."""
    rng = np.random.RandomState(seed)
    n = n_train + n_test
    X = rng.randint(200, VOCAB, (n, TEXT_STEPS))
    pos = rng.binomial(6, 0.5, n)
    neg = rng.binomial(6, 0.5, n)
    for i in range(n):
        at = rng.choice(TEXT_STEPS, pos[i] + neg[i], replace=False)
        X[i, at[:pos[i]]] = rng.randint(1, 100, pos[i])
        X[i, at[pos[i]:]] = rng.randint(100, 200, neg[i])
    y = (pos > neg).astype(np.int64)
    return X[:n_train], X[n_train:], y[:n_train], y[n_train:]


def workloads(full):
    return [
        dict(name=f"BiGRU 40x1 gru6-seq-flatten-10, {150 if full else 5} epochs, batch 100",
             data=sequences, model="bigru", epochs=150 if full else 5, batch=100, lr=1e-2),
        dict(name=f"LSTM text 80 tokens emb128-lstm128-1, {3 if full else 1} epoch{'s' if full else ''}, batch 32",
             data=texts, model="lstm", epochs=3 if full else 1, batch=32, lr=1e-3),
    ]


def neurocore_model(kind, lr):
    if kind == "bigru":
        layers = [L.Input(shape=(40, 1)), L.Bidirectional(L.GRU(6, return_sequences=True)), L.Flatten(),
                  L.Dense(10, activation="softmax")]
        loss = "sparse_categorical_crossentropy"
    else:
        layers = [L.Input(shape=(TEXT_STEPS,)), L.Embedding(VOCAB, 128), L.LSTM(128),
                  L.Dense(1, activation="sigmoid")]
        loss = "binary_crossentropy"
    model = nk.Sequential(layers)
    model.compile(nk.optimizers.Adam(lr), loss, metrics=["accuracy"])
    return model


class NeurocoreFit(convnets.NeurocoreFit):
    build = staticmethod(neurocore_model)

    def score(self, X, y):
        p = self.model.predict(X, verbose=0)
        pred = p.argmax(axis=1) if p.shape[1] > 1 else (p[:, 0] > 0.5).astype(int)
        return float(np.mean(pred == y))


class TorchFit:
    def __init__(self, w, threads):
        self.w, self.threads = w, threads

    class _BiGRU(torch.nn.Module if torch is not None else object):
        def __init__(self):
            super().__init__()
            self.gru = torch.nn.GRU(1, 6, batch_first=True, bidirectional=True)
            self.out = torch.nn.Linear(40 * 12, 10)

        def forward(self, x):
            return self.out(self.gru(x)[0].flatten(1))

    class _TextLSTM(torch.nn.Module if torch is not None else object):
        def __init__(self):
            super().__init__()
            self.emb = torch.nn.Embedding(VOCAB, 128)
            self.lstm = torch.nn.LSTM(128, 128, batch_first=True)
            self.out = torch.nn.Linear(128, 1)

        def forward(self, x):
            return self.out(self.lstm(self.emb(x))[0][:, -1]).squeeze(1)

    def fit(self, X, y):
        torch.set_num_threads(self.threads)
        torch.manual_seed(0)
        text = self.w["model"] == "lstm"
        self.net = self._TextLSTM() if text else self._BiGRU()
        opt = torch.optim.Adam(self.net.parameters(), lr=self.w["lr"])
        Xt = torch.from_numpy(X.astype(np.int64) if text else X)
        yt = torch.from_numpy(y.astype(np.float32) if text else y.astype(np.int64))
        lossf = torch.nn.functional.binary_cross_entropy_with_logits if text else torch.nn.functional.cross_entropy
        g = torch.Generator().manual_seed(0)
        n, bs = Xt.shape[0], self.w["batch"]
        self.net.train()
        for _ in range(self.w["epochs"]):
            perm = torch.randperm(n, generator=g)
            for i in range(0, n, bs):
                idx = perm[i:i + bs]
                opt.zero_grad()
                lossf(self.net(Xt[idx]), yt[idx]).backward()
                opt.step()
        return self

    def score(self, X, y):
        self.net.eval()
        text = self.w["model"] == "lstm"
        with torch.no_grad():
            out = self.net(torch.from_numpy(X.astype(np.int64) if text else X)).numpy()
        pred = (out > 0).astype(int) if text else out.argmax(1)
        return float(np.mean(pred == y))


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
