"""The Keras-style facade: every name trains, callbacks behave as Keras's, persistence."""

import csv
import os

import numpy as np
import pytest

from neurocore.keras import callbacks, initializers, layers, losses, optimizers, regularizers
from neurocore.keras import constraints as kconstraints
from neurocore.keras.layers import (
    ELU, Activation, BatchNormalization, Dense, Dropout, GaussianNoise, Input, LayerNormalization,
    LeakyReLU, ReLU, Softmax,
)
from neurocore.keras.models import Sequential, load_model
from neurocore.keras.optimizers import schedules
from neurocore.keras.utils import np_utils, set_random_seed, to_categorical


@pytest.fixture(scope="module")
def toy():
    """Text 1's task: class 1 when the 5 inputs sum to more than 2.5."""
    rng = np.random.RandomState(0)
    X = rng.rand(400, 5)
    y = (X.sum(axis=1) > 2.5).astype(int)
    return X, y


def _acc(model, X, y):
    return np.mean(model.predict(X).argmax(axis=1) == y)


def _classifier(*middle, optimizer="adam", loss="categorical_crossentropy", out="softmax"):
    model = Sequential([Dense(16, input_dim=5, activation="relu"), *middle, Dense(2, activation=out)])
    model.compile(optimizer, loss, metrics=["accuracy"])
    return model


LAYERS = {
    "Activation": lambda: [Dense(16), Activation("tanh")],
    "Dropout": lambda: [Dropout(0.3)],
    "BatchNormalization-after": lambda: [Dense(16, activation="relu"), BatchNormalization()],
    "BatchNormalization-before": lambda: [Dense(16), BatchNormalization(), Activation("relu")],
    "GaussianNoise": lambda: [GaussianNoise(0.05)],
    "LayerNormalization": lambda: [LayerNormalization()],
    "LeakyReLU-layer": lambda: [Dense(16), LeakyReLU(0.3)],
    "LeakyReLU-activation": lambda: [Dense(16, activation=LeakyReLU(0.3))],
    "ReLU": lambda: [Dense(16), ReLU(max_value=6.0, negative_slope=0.1)],
    "ELU": lambda: [Dense(16), ELU(alpha=0.5)],
    "Softmax": lambda: [Dense(16), Softmax()],
}


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_every_layer_trains(toy, name):
    X, y = toy
    np.random.seed(1)
    model = _classifier(*LAYERS[name]())
    model.fit(X, to_categorical(y), epochs=60, batch_size=32, verbose=0)
    assert _acc(model, X, y) > 0.85, name


@pytest.mark.parametrize("name", ["sgd", "rmsprop", "adagrad", "adadelta", "adam", "adamax", "nadam", "adamw"])
def test_every_optimizer_name_trains(toy, name):
    X, y = toy
    np.random.seed(2)
    lr = {"sgd": 0.1, "adagrad": 0.1, "adadelta": 1.0}.get(name, 0.01)
    opt = optimizers.get(name)
    opt.learning_rate = lr
    model = _classifier(optimizer=opt)
    model.fit(X, to_categorical(y), epochs=40, verbose=0)
    assert _acc(model, X, y) > 0.85, name
    model2 = _classifier(optimizer=name)  # also by name
    assert model2.optimizer.name == name


def test_keras2_optimizer_spellings_and_schedules(toy):
    X, y = toy
    opt = optimizers.SGD(lr=0.1, momentum=0.9, nesterov=True, decay=1e-3, clipnorm=1.0)
    assert opt.learning_rate == 0.1 and opt.lr == 0.1
    model = _classifier(optimizer=opt)
    model.fit(X, to_categorical(y), epochs=30, verbose=0)
    assert _acc(model, X, y) > 0.85
    for sched in (schedules.ExponentialDecay(0.05, 100, 0.9), schedules.InverseTimeDecay(0.05, 100, 0.5),
                  schedules.PiecewiseConstantDecay([200], [0.05, 0.01]), schedules.CosineDecay(0.05, 500),
                  schedules.StepDecay(0.05, 130, 0.5)):
        model = _classifier(optimizer=optimizers.Adam(learning_rate=sched))
        model.fit(X, to_categorical(y), epochs=30, verbose=0)
        assert _acc(model, X, y) > 0.85, sched
    with pytest.raises(ValueError, match="only one of"):
        optimizers.Adam(clipnorm=1.0, clipvalue=1.0)


# loss -> (output activation, units, how to make targets from the class labels)
LOSS_CASES = {
    "categorical_crossentropy": ("softmax", 2, lambda y: to_categorical(y)),
    "sparse_categorical_crossentropy": ("softmax", 2, lambda y: y),
    "binary_crossentropy": ("sigmoid", 1, lambda y: y),
    "hinge": ("tanh", 1, lambda y: 2 * y - 1),
    "squared_hinge": ("tanh", 1, lambda y: 2 * y - 1),
    "categorical_hinge": ("linear", 2, lambda y: to_categorical(y)),
    "kullback_leibler_divergence": ("softmax", 2, lambda y: to_categorical(y)),
    "cosine_proximity": ("linear", 2, lambda y: to_categorical(y) * 2 - 1),
    "mean_squared_error": ("sigmoid", 1, lambda y: y),
    "mean_absolute_error": ("sigmoid", 1, lambda y: y),
    "mean_absolute_percentage_error": ("softplus", 1, lambda y: y + 1.0),
    "mean_squared_logarithmic_error": ("softplus", 1, lambda y: y * 3.0),
    "huber": ("linear", 1, lambda y: y),
    "log_cosh": ("linear", 1, lambda y: y),
    "poisson": ("exponential", 1, lambda y: y * 3.0),
}


@pytest.mark.parametrize("loss", sorted(LOSS_CASES))
def test_every_loss_name_trains(toy, loss):
    """Each loss name trains text 1's task (class 1 when 5 inputs in [0, 1) sum
    past 2.5; linearly separable, chance 0.5) with the same small network.

    The margin: over seeds 0-9 on each instruction-set path, every loss reached
    0.81-0.995 accuracy, except that a cosine-similarity run can stay at chance
    (about 1 in 10: the loss ignores the output's length, so outputs that start
    out collinear get no gradient apart). So five seeds each, and the median
    must reach 0.75: 3 standard errors (0.02 at 400 rows) below the worst
    successful run, 0.25 above chance; it fails only when most seeds fail to
    learn, which no correct loss did."""
    X, y = toy
    out, units, target = LOSS_CASES[loss]
    accuracies, decreased = [], []
    for seed in range(5):
        np.random.seed(seed)
        model = Sequential([Dense(16, input_dim=5, activation="relu"),
                            Dense(units, activation=out)])
        model.compile(optimizers.Adam(0.01), loss, metrics=["accuracy"])
        hist = model.fit(X, target(y), epochs=60, verbose=0)
        decreased.append(hist.history["loss"][-1] < hist.history["loss"][0])
        p = model.predict(X, verbose=0)
        if units == 2:
            pred = p.argmax(axis=1)
        else:
            p = p.ravel()
            threshold = {"hinge": 0.0, "squared_hinge": 0.0, "mean_absolute_percentage_error": 1.5,
                         "mean_squared_logarithmic_error": 1.5, "poisson": 1.5}.get(loss, 0.5)
            pred = (p > threshold).astype(int)
        accuracies.append(np.mean(pred == y))
    assert sum(decreased) >= 3, (loss, decreased)
    assert np.median(accuracies) >= 0.75, (loss, accuracies)


def test_loss_objects_and_functions(toy):
    X, y = toy
    for loss in (losses.CategoricalCrossentropy(), losses.categorical_crossentropy, losses.KLDivergence):
        model = _classifier(loss=loss, optimizer=optimizers.Adam(0.01))
        model.fit(X, to_categorical(y), epochs=30, verbose=0)
        assert _acc(model, X, y) > 0.85
    model = _classifier(loss=losses.CategoricalCrossentropy(from_logits=True), out="linear",
                        optimizer=optimizers.Adam(0.01))
    model.fit(X, to_categorical(y), epochs=30, verbose=0)
    assert _acc(model, X, y) > 0.85
    with pytest.raises(ValueError, match="Unknown loss"):
        _classifier(loss="crossentropy")


ACTIVATIONS = ["linear", "sigmoid", "hard_sigmoid", "tanh", "softsign", "relu", "leaky_relu", "elu",
               "selu", "softplus", "softmax", "gelu", "swish", "silu", "exponential", "relu6"]


@pytest.mark.parametrize("act", ACTIVATIONS)
def test_every_activation_name_trains(toy, act):
    X, y = toy
    np.random.seed(4)
    model = Sequential([Dense(16, input_dim=5, activation=act, kernel_initializer="glorot_normal"),
                        Dense(2, activation="softmax")])
    model.compile(optimizers.Adam(0.01), "categorical_crossentropy")
    model.fit(X, to_categorical(y), epochs=60, verbose=0)
    assert _acc(model, X, y) > 0.8, act


INITIALIZERS = ["zeros", "ones", "glorot_normal", "glorot_uniform", "he_normal", "he_uniform",
                "lecun_normal", "lecun_uniform", "orthogonal", "random_normal", "random_uniform",
                "truncated_normal", initializers.Constant(0.1), initializers.glorot_normal()]


@pytest.mark.parametrize("init", INITIALIZERS, ids=str)
def test_initializers_are_accepted_and_shape_the_weights(init):
    np.random.seed(5)
    model = Sequential([Dense(30, input_dim=40, kernel_initializer=init, bias_initializer="zeros")])
    model.compile("sgd", "mse")
    W, b = model.get_weights()
    assert W.shape == (40, 30) and not b.any()
    name = init if isinstance(init, str) else type(init).__name__.lower()
    if name == "zeros":
        assert not W.any()
    elif name == "ones":
        assert (W == 1).all()
    elif name in ("glorot_uniform", "glorotuniform"):
        assert np.abs(W).max() <= np.sqrt(6 / 70) and W.std() == pytest.approx(np.sqrt(2 / 70), rel=0.15)
    elif name in ("he_normal",):
        assert W.std() == pytest.approx(np.sqrt(2 / 40), rel=0.15)
    elif name == "orthogonal":
        np.testing.assert_allclose(W.T @ W, np.eye(30), atol=1e-5)


def test_regularizers_and_constraints_are_applied(toy):
    X, y = toy
    np.random.seed(6)
    model = Sequential([Dense(16, input_dim=5, activation="relu", kernel_regularizer=regularizers.l2(0.1),
                              bias_regularizer=regularizers.l1(0.01), activity_regularizer=regularizers.l1_l2(1e-4, 1e-4),
                              kernel_constraint=kconstraints.max_norm(1.0)),
                        Dense(2, activation="softmax", kernel_constraint="non_neg")])
    model.compile("adam", "categorical_crossentropy", metrics=["accuracy"])
    model.fit(X, to_categorical(y), epochs=40, verbose=0)
    W1, _, W2, _ = model.get_weights()
    assert np.linalg.norm(W1, axis=0).max() <= 1.0 + 1e-5
    assert W2.min() >= 0
    assert _acc(model, X, y) > 0.8


def test_early_stopping_stops_and_restores_the_best_weights(toy):
    X, y = toy
    np.random.seed(7)
    model = _classifier(optimizer=optimizers.SGD(0.5))
    seen = {}
    record = callbacks.LambdaCallback(on_epoch_end=lambda e, logs: seen.__setitem__(e, (logs["val_loss"], model.get_weights())))
    stop = callbacks.EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True)
    hist = model.fit(X, to_categorical(y), epochs=500, validation_split=0.3, callbacks=[record, stop], verbose=0)
    n = len(hist.history["loss"])
    assert n < 500 and stop.stopped_epoch == n - 1
    best = min(seen, key=lambda e: seen[e][0])
    assert stop.best_epoch == best and n - 1 - best >= 2
    for a, b in zip(model.get_weights(), seen[best][1]):
        np.testing.assert_array_equal(a, b)


def test_early_stopping_min_delta_baseline_start_from_epoch(toy):
    X, y = toy
    model = _classifier()
    stop = callbacks.EarlyStopping(monitor="loss", min_delta=10.0, patience=3, start_from_epoch=4)
    hist = model.fit(X, to_categorical(y), epochs=50, callbacks=[stop], verbose=0)
    # nothing improves by 10: counting starts at epoch 4 (first value sets best)
    assert len(hist.history["loss"]) == 4 + 1 + 3
    model = _classifier()
    stop = callbacks.EarlyStopping(monitor="accuracy", patience=2, baseline=1.01)
    hist = model.fit(X, to_categorical(y), epochs=50, callbacks=[stop], verbose=0)
    assert len(hist.history["loss"]) == 3  # the baseline is never beaten


def test_reduce_lr_on_plateau_and_learning_rate_scheduler(toy):
    X, y = toy
    model = _classifier(optimizer=optimizers.Adam(0.01))
    lrs = []
    cbs = [callbacks.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=1, min_delta=10.0, min_lr=0.002),
           callbacks.LambdaCallback(on_epoch_end=lambda e, logs: lrs.append(logs["learning_rate"]))]
    model.fit(X, to_categorical(y), epochs=6, callbacks=cbs, verbose=0)
    # the rate in force during each epoch (Keras logs it before reducing)
    assert lrs == pytest.approx([0.01, 0.01, 0.005, 0.0025, 0.002, 0.002])
    model = _classifier(optimizer=optimizers.SGD(0.1))
    got = []
    sched = callbacks.LearningRateScheduler(lambda epoch, lr: 0.1 * 0.5 ** (epoch // 2))
    spy = callbacks.LambdaCallback(on_epoch_begin=lambda e, logs: got.append(float(model.optimizer.learning_rate)))
    model.fit(X, to_categorical(y), epochs=6, callbacks=[sched, spy], verbose=0)
    assert got == pytest.approx([0.1, 0.1, 0.05, 0.05, 0.025, 0.025])


def test_checkpoint_csvlogger_terminate_on_nan(toy, tmp_path):
    X, y = toy
    set_random_seed(0)
    model = _classifier(optimizer=optimizers.Adam(0.02))
    ckpt = callbacks.ModelCheckpoint(str(tmp_path / "m-{epoch:02d}.keras"), monitor="val_loss", save_best_only=True)
    wckpt = callbacks.ModelCheckpoint(str(tmp_path / "w.weights.npz"), save_weights_only=True)
    log = callbacks.CSVLogger(str(tmp_path / "log.csv"))
    model.fit(X, to_categorical(y), epochs=5, validation_split=0.2, callbacks=[ckpt, wckpt, log], verbose=0)
    saved = sorted(os.listdir(tmp_path))
    assert "m-01.keras" in saved and "w.weights.npz" in saved and "log.csv" in saved
    rows = list(csv.DictReader(open(tmp_path / "log.csv")))
    assert len(rows) == 5 and set(rows[0]) == {"epoch", "loss", "accuracy", "val_loss", "val_accuracy"}
    best = load_model(str(tmp_path / sorted(s for s in saved if s.startswith("m-"))[-1]))
    assert best.evaluate(X, to_categorical(y), verbose=0)[1] > 0.5

    model = Sequential([Dense(1, input_dim=5)])
    model.compile(optimizers.SGD(1e3), "mse")
    stopper = callbacks.TerminateOnNaN()
    with pytest.raises(ValueError, match="non-finite .* diverged in epoch"):
        model.fit(X * 1e3, y * 1e3, epochs=50, callbacks=[stopper], verbose=0)
    # the diverging epoch is not recorded; the weights are the last finite ones
    losses_seen = model.history.history.get("loss", [])
    assert len(losses_seen) < 50 and np.isfinite(losses_seen).all()
    assert all(np.isfinite(w).all() for w in model.get_weights())
    assert np.isfinite(model.predict(X[:3], verbose=0)).all()


def test_per_batch_lambda_callbacks_are_refused():
    with pytest.raises(ValueError, match="per-batch"):
        callbacks.LambdaCallback(on_batch_end=lambda b, logs: None)


def test_fit_options(toy, capsys):
    X, y = toy
    Y = to_categorical(y)
    model = _classifier()
    hist = model.fit(X, Y, epochs=3, validation_data=(X[:50], Y[:50]), verbose=1)
    out = capsys.readouterr().out
    assert "Epoch 1/3" in out and "Epoch 3/3" in out and "val_loss:" in out
    assert set(hist.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert hist.epoch == [0, 1, 2]
    hist = model.fit(X, Y, epochs=5, initial_epoch=3, verbose=0)
    assert hist.epoch == [3, 4]
    loss, acc = model.evaluate(X, Y, verbose=0)
    assert acc == pytest.approx(np.mean(model.predict(X).argmax(1) == y))
    assert model.evaluate(X, Y, return_dict=True)["accuracy"] == acc


def test_class_weight_equals_the_matching_sample_weight(toy):
    X, y = toy
    Y = to_categorical(y)
    cw = {0: 1.0, 1: 3.0}
    a, b = _classifier(optimizer="sgd"), _classifier(optimizer="sgd")
    b.set_weights(a.get_weights())
    a._random_state = np.random.RandomState(0)
    b._random_state = np.random.RandomState(0)
    a.fit(X, Y, epochs=3, class_weight=cw, verbose=0)
    b.fit(X, Y, epochs=3, sample_weight=np.where(y == 1, 3.0, 1.0), verbose=0)
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_allclose(wa, wb, rtol=1e-6)
    c = _classifier(optimizer="sgd")
    c.set_weights(a.get_weights())
    c.fit(X, Y, epochs=3, verbose=0)
    assert not np.allclose(c.get_weights()[0], a.get_weights()[0])


def test_weights_and_model_persistence(toy, tmp_path):
    X, y = toy
    model = Sequential([Input(shape=(5,)), Dense(8, activation=LeakyReLU(0.3), kernel_regularizer=regularizers.l2(0.01)),
                        BatchNormalization(), Dropout(0.2), Dense(2, activation="softmax")])
    model.compile(optimizers.RMSprop(0.01), "categorical_crossentropy", metrics=["accuracy"])
    model.fit(X, to_categorical(y), epochs=5, verbose=0)
    assert [w.shape for w in model.get_weights()] == [(5, 8), (8,), (8,), (8,), (8,), (8,), (8, 2), (2,)]
    model.save_weights(str(tmp_path / "w.npz"))
    model.save(str(tmp_path / "model.keras"))
    other = load_model(str(tmp_path / "model.keras"))
    np.testing.assert_array_equal(other.predict(X), model.predict(X))
    assert other.evaluate(X, to_categorical(y), verbose=0) == pytest.approx(model.evaluate(X, to_categorical(y), verbose=0))
    clone = Sequential([Input(shape=(5,)), Dense(8, activation=LeakyReLU(0.3)), BatchNormalization(), Dropout(0.2),
                        Dense(2, activation="softmax")])
    clone.load_weights(str(tmp_path / "w.npz"))
    np.testing.assert_array_equal(clone.predict(X), model.predict(X))
    (tmp_path / "bad.keras").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="not a neurocore model"):
        load_model(str(tmp_path / "bad.keras"))
    with pytest.raises(ValueError, match="expected 8 weight arrays"):
        model.set_weights(model.get_weights()[:3])


def test_errors_are_clear(toy):
    X, y = toy
    model = Sequential([Dense(2, input_dim=5, activation="softmax")])
    with pytest.raises(RuntimeError, match="compile"):
        model.fit(X, to_categorical(y))
    model.compile("adam", "categorical_crossentropy")
    with pytest.raises(ValueError, match="features"):
        model.fit(X[:, :3], to_categorical(y))
    with pytest.raises(ValueError, match="output has 2 units"):
        model.fit(X, y)
    with pytest.raises(ValueError, match="NaN"):
        model.fit(np.full((4, 5), np.nan), np.eye(2)[[0, 1, 0, 1]])
    with pytest.raises(ValueError, match="activation"):
        Dense(3, activation="swishy")
    with pytest.raises(ValueError, match="Unknown optimizer"):
        model.compile("adamm", "mse")


def test_to_categorical():
    np.testing.assert_array_equal(to_categorical([0, 2, 1]), np.eye(3)[[0, 2, 1]])
    np.testing.assert_array_equal(np_utils.to_categorical([1, 0], num_classes=3), [[0, 1, 0], [1, 0, 0]])
    with pytest.raises(ValueError):
        to_categorical([0, 3], num_classes=2)
