"""Every configuration the estimators accept saves and loads back.

One matrix over what changes the saved state (batch normalization before and
after the activation, dropout, per-layer activations, every solver, early
stopping, float64, class weights, l1, loss choices, NeuralNet layer lists, the
Keras facade's models): each round-trips through ``save`` / ``load`` and
through pickle with bit-identical predictions, and keeps training afterwards.
"""

import io
import os
import pickle
import zipfile

import numpy as np
import pytest
from sklearn.datasets import load_digits

import neurocore
from neurocore import (MLPClassifier, MLPRegressor, NeuralNetClassifier, NeuralNetRegressor,
                       _persist)
from neurocore.keras.callbacks import EarlyStopping
from neurocore.keras.layers import (Activation, BatchNormalization, Dense, Dropout, GaussianNoise,
                                    LayerNormalization, LeakyReLU)
from neurocore.keras.models import Sequential, load_model
from neurocore.keras.optimizers import SGD, Adam, RMSprop
from neurocore.keras.regularizers import l1_l2, l2

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

SOLVERS = ["sgd", "adam", "rmsprop", "adagrad", "adadelta", "adamax", "nadam", "adamw", "lbfgs"]

CONFIGS = {
    **{f"MLPClassifier-{s}": (MLPClassifier, dict(solver=s)) for s in SOLVERS},
    "MLPClassifier-batch_norm": (MLPClassifier, dict(batch_norm=True)),
    "MLPClassifier-batch_norm-before": (MLPClassifier, dict(batch_norm="before",
                                                            hidden_layer_sizes=(16, 8))),
    "MLPClassifier-batch_norm-after": (MLPClassifier, dict(batch_norm="after", solver="sgd",
                                                           momentum=0.9)),
    "MLPClassifier-dropout": (MLPClassifier, dict(dropout=[0.2, 0.1], hidden_layer_sizes=(16, 8))),
    "MLPClassifier-activations": (MLPClassifier, dict(activation=["selu", "tanh"],
                                                      hidden_layer_sizes=(16, 8))),
    "MLPClassifier-early_stopping": (MLPClassifier, dict(early_stopping=True,
                                                         n_iter_no_change=2)),
    "MLPClassifier-float64": (MLPClassifier, dict(dtype="float64", batch_norm=True)),
    "MLPClassifier-class_weight": (MLPClassifier, dict(class_weight="balanced")),
    "MLPClassifier-class_weight-dict": (MLPClassifier, dict(class_weight={0: 2.0, 3: 0.5})),
    "MLPClassifier-l1": (MLPClassifier, dict(l1=1e-3, alpha=1e-3)),
    "MLPClassifier-hinge": (MLPClassifier, dict(loss="categorical_hinge")),
    "MLPClassifier-everything": (MLPClassifier, dict(
        hidden_layer_sizes=(16, 8), activation=["relu", "elu"], solver="nadam", dropout=0.1,
        batch_norm="before", l1=1e-4, class_weight="balanced", early_stopping=True,
        dtype="float64")),
    "MLPRegressor": (MLPRegressor, dict()),
    "MLPRegressor-batch_norm": (MLPRegressor, dict(batch_norm="after", dropout=0.1)),
    "MLPRegressor-lbfgs-float64": (MLPRegressor, dict(solver="lbfgs", dtype="float64")),
    "MLPRegressor-huber": (MLPRegressor, dict(loss="huber", solver="rmsprop")),
    "MLPRegressor-early_stopping": (MLPRegressor, dict(early_stopping=True, batch_norm=True)),
    "NeuralNetClassifier-layers": (NeuralNetClassifier, dict(
        layers=[Dense(16, activation=LeakyReLU(0.3), kernel_regularizer=l2(1e-4)),
                BatchNormalization(), Dropout(0.2), Dense(8), LayerNormalization(),
                Activation("swish"), GaussianNoise(0.1)],
        optimizer=SGD(learning_rate=0.05, momentum=0.9, nesterov=True))),
    "NeuralNetClassifier-keras-extras": (NeuralNetClassifier, dict(
        layers=[Dense(12, activation="relu", kernel_regularizer=l1_l2(1e-4, 1e-4))],
        optimizer=RMSprop(), loss="categorical_hinge", metrics=["accuracy"],
        validation_split=0.2, callbacks=[EarlyStopping(patience=1)], dtype="float64")),
    "NeuralNetRegressor-layers": (NeuralNetRegressor, dict(
        layers=[Dense(16, activation="tanh"), BatchNormalization(), Dense(8, activation="elu")],
        optimizer=Adam(learning_rate=0.01), loss="huber")),
}


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:500] / 16.0, y[:500]


def _fit(name, X, y):
    cls, params = CONFIGS[name]
    if cls in (MLPClassifier, MLPRegressor):
        params = {"hidden_layer_sizes": (12,), "max_iter": 4, **params}
    else:
        params = {"epochs": 3, **params}
    est = cls(random_state=0, **params)
    return est.fit(X, y.astype(float) if "Regressor" in name else y)


def _outputs(est, X):
    out = [est.predict(X)]
    if hasattr(est, "predict_proba"):
        out.append(est.predict_proba(X))
    return out


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_every_configuration_round_trips(name, digits, tmp_path):
    X, y = digits
    est = _fit(name, X, y)
    want = _outputs(est, X)
    path = tmp_path / "model.neurocore"
    est.save(path)
    loaded = neurocore.load(path)
    pickled = pickle.loads(pickle.dumps(est))
    for other in (loaded, pickled):
        assert type(other) is type(est)
        for a, b in zip(_outputs(other, X), want):
            assert np.array_equal(a, b)
    # and both keep training, to the same weights: the optimizer state came back
    target = y.astype(float) if "Regressor" in name else y
    if hasattr(est, "partial_fit") and not getattr(est, "early_stopping", False):
        kw = {"classes": np.unique(y)} if "Classifier" in name else {}
        try:
            a = _outputs(loaded.partial_fit(X, target, **kw), X)
        except ValueError as e:  # partial_fit refuses some settings (lbfgs, validation_split)
            assert "partial_fit" in str(e) or "lbfgs" in str(e) or "validation" in str(e)
            return
        b = _outputs(pickled.partial_fit(X, target, **kw), X)
        for u, v in zip(a, b):
            assert np.array_equal(u, v)


@pytest.mark.parametrize("build", ["dense", "batch_norm", "regression"])
def test_keras_models_round_trip(build, digits, tmp_path):
    X, y = digits
    if build == "dense":
        model = Sequential([Dense(16, input_dim=64, activation="relu"), Dropout(0.2),
                            Dense(10, activation="softmax")])
        model.compile("rmsprop", "sparse_categorical_crossentropy", metrics=["accuracy"])
        target = y
    elif build == "batch_norm":
        model = Sequential([Dense(16, input_dim=64), BatchNormalization(), Activation("relu"),
                            LayerNormalization(), Dense(10, activation="softmax")])
        model.compile(Adam(learning_rate=0.01), "categorical_crossentropy")
        target = np.eye(10)[y]
    else:
        model = Sequential([Dense(8, input_dim=64, activation="tanh"), GaussianNoise(0.1),
                            Dense(1)])
        model.compile("sgd", "mse")
        target = y.astype(float)
    model.fit(X, target, epochs=2, batch_size=32, verbose=0)
    want = model.predict(X, verbose=0)
    path = os.fspath(tmp_path / "model.keras")
    model.save(path)
    again = load_model(path)
    assert np.array_equal(again.predict(X, verbose=0), want)
    assert np.array_equal(pickle.loads(pickle.dumps(model)).predict(X, verbose=0), want)


def _rewrite(path, name, data):
    """The archive at path with entry `name` replaced by `data`."""
    with zipfile.ZipFile(path) as z:
        entries = {n: z.read(n) for n in z.namelist()}
    entries[name] = data
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for n, d in entries.items():
            z.writestr(n, d)


def test_an_entry_past_the_cap_is_refused_before_it_is_read(digits, tmp_path, monkeypatch):
    """A file whose entries (or the arrays inside arrays.npz) declare more bytes
    than MAX_ENTRY_BYTES is refused with a ValueError naming the entry, before
    it is inflated: a small crafted file cannot exhaust memory."""
    X, y = digits
    est = MLPClassifier(hidden_layer_sizes=(12,), max_iter=2, random_state=0).fit(X, y)
    path = tmp_path / "m.neurocore"
    est.save(path)
    # an inner array of 64 MiB of zeros compresses to ~64 KiB
    big = io.BytesIO()
    with zipfile.ZipFile(big, "w", zipfile.ZIP_DEFLATED) as inner:
        inner.writestr("a0.npy", b"\0" * (64 << 20))
    _rewrite(path, "arrays.npz", big.getvalue())
    assert os.path.getsize(path) < 1 << 20
    monkeypatch.setattr(_persist, "MAX_ENTRY_BYTES", 32 << 20)
    with pytest.raises(ValueError, match="entry 'a0.npy' holds 67108864 bytes, more than"):
        neurocore.load(path)
    # the outer entries are checked the same way
    monkeypatch.setattr(_persist, "MAX_ENTRY_BYTES", 1 << 10)
    with pytest.raises(ValueError, match="entry '(metadata.json|arrays.npz)' holds"):
        neurocore.load(path)
    # and the cap as shipped admits real models
    monkeypatch.undo()
    est.save(path)
    assert np.array_equal(neurocore.load(path).predict(X), est.predict(X))
