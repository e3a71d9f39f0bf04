"""The fixed set of fits whose weights ``test_pinned_weights.py`` pins.

Run as a script to (re)write the fixture for the active instruction set:
``python tests/pinned_fits.py`` (CI checks each ``NEUROCORE_ISA`` against its
own file, since the portable kernels round differently from the FMA ones).
Rewriting it is a statement that the weights changed on purpose: say why in
the commit.
"""

import os
import sys
import warnings

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def _data():
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X = X[:600] / 16.0
    y = y[:600]
    yr = (X[:, :8].sum(axis=1) - X[:, 8:16].sum(axis=1)).reshape(-1)
    return X, y, yr


def fits():
    """{name: list of weight arrays} for every pinned fit."""
    from sklearn.exceptions import ConvergenceWarning

    from neurocore import MLPClassifier, MLPRegressor, NeuralNetClassifier
    from neurocore.keras.layers import BatchNormalization, Dense, Dropout
    from neurocore.keras.models import Sequential

    X, y, yr = _data()
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for solver in ("adam", "sgd", "lbfgs"):
            m = MLPClassifier(hidden_layer_sizes=(24, 12), solver=solver, max_iter=6,
                              random_state=0, dtype="float64").fit(X, y)
            out[f"mlp64_{solver}"] = m.coefs_ + m.intercepts_
        m = MLPRegressor(hidden_layer_sizes=(16,), max_iter=6, random_state=1,
                         early_stopping=True, dtype=np.float64).fit(X, yr)
        out["mlp64_regressor_early"] = m.coefs_ + m.intercepts_
        m = MLPClassifier(hidden_layer_sizes=(32,), max_iter=6, random_state=0,
                          dtype=np.float32).fit(X, y)
        out["mlp32_adam"] = m.coefs_ + m.intercepts_
        m = MLPClassifier(hidden_layer_sizes=(20,), max_iter=4, batch_norm=True, dropout=0.2,
                          random_state=0, dtype="float64").fit(X, y)
        out["mlp64_bn_dropout"] = m.coefs_ + m.intercepts_
        nn = NeuralNetClassifier([Dense(30, activation="relu"), BatchNormalization(), Dropout(0.3),
                                  Dense(16, activation="tanh")],
                                 epochs=3, batch_size=64, random_state=0, dtype="float64").fit(X, y)
        out["neuralnet_bn_dropout"] = nn._net.get_weights()
    np.random.seed(0)  # the facade draws its stream from numpy's global one, as Keras
    model = Sequential([Dense(20, activation="relu", input_shape=(64,)), Dropout(0.25),
                        Dense(10, activation="softmax")])
    model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(X, y, epochs=3, batch_size=50, verbose=0, shuffle=True)
    out["keras_sequential"] = model.get_weights()
    return {k: [np.asarray(w) for w in v] for k, v in out.items()}


def fixture_path(isa):
    return os.path.join(HERE, "data", f"pinned_weights_{isa}.npz")


def main():
    from neurocore import _core

    isa = _core.isa_info()["isa"]
    arrays = {f"{name}/{i}": w for name, ws in fits().items() for i, w in enumerate(ws)}
    np.savez_compressed(fixture_path(isa), **arrays)
    print(f"wrote {fixture_path(isa)}: {len(arrays)} arrays", file=sys.stderr)


if __name__ == "__main__":
    main()
