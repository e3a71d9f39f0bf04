"""TrainingCurveDisplay: scikit-learn's Display conventions over the curves a
fit records (MLP loss_curve_ / validation_scores_, history_, Keras History)."""

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

import neurocore
from neurocore.keras.layers import Dense, Input
from neurocore.keras.models import Sequential

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from neurocore.plot import TrainingCurveDisplay  # noqa: E402


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def data(n=80):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(n, 4))
    return X, (X[:, 0] + 0.3 * rng.normal(size=n) > 0).astype(int)


def test_from_mlp_estimator_draws_loss_and_validation_scores():
    X, y = data()
    clf = neurocore.MLPClassifier((6,), max_iter=8, early_stopping=True, n_iter_no_change=100,
                                  random_state=0).fit(X, y)
    d = TrainingCurveDisplay.from_estimator(clf)
    assert set(d.lines_) == {"loss", "val_accuracy"}
    np.testing.assert_array_equal(d.lines_["loss"].get_ydata(), clf.loss_curve_)
    np.testing.assert_array_equal(d.lines_["loss"].get_xdata(), np.arange(1, len(clf.loss_curve_) + 1))
    np.testing.assert_array_equal(d.lines_["val_accuracy"].get_ydata(), clf.validation_scores_)
    assert d.axes_.shape == (2,) and d.ax_ is d.axes_[0]
    assert d.figure_ is d.ax_.figure and d.ax_.get_title() == "MLPClassifier"
    assert d.ax_.get_xlabel() == "epoch"


def test_from_layer_list_estimator_history():
    X, y = data()
    clf = neurocore.NeuralNetClassifier([6], epochs=4, validation_split=0.25, metrics=["accuracy"], random_state=0).fit(X, y)
    d = TrainingCurveDisplay.from_estimator(clf, name="digits")
    assert sorted(d.lines_) == ["accuracy", "loss", "val_accuracy", "val_loss"]
    for k, line in d.lines_.items():
        np.testing.assert_allclose(line.get_ydata(), clf.history_[k])
    # losses on the first axes, metrics on the second; validation dashed
    assert d.lines_["val_loss"].axes is d.ax_ and d.lines_["accuracy"].axes is d.axes_[1]
    assert d.lines_["val_loss"].get_linestyle() == "--" and d.lines_["loss"].get_linestyle() == "-"
    assert d.ax_.get_title() == "digits"


def test_from_history_and_keras_model_on_given_axes():
    X, y = data()
    model = Sequential([Input(shape=(4,)), Dense(1, activation="sigmoid")])
    model.compile("adam", "binary_crossentropy", metrics=["accuracy"])
    history = model.fit(X, y.astype(np.float32), epochs=3, verbose=0)
    fig, ax = plt.subplots()
    d = TrainingCurveDisplay.from_history(history, ax=ax)
    assert d.ax_ is ax and d.figure_ is fig
    assert d.lines_["accuracy"].axes is not ax  # metrics on a twin y axis of the one Axes
    np.testing.assert_allclose(d.lines_["loss"].get_ydata(), history.history["loss"])
    same = TrainingCurveDisplay.from_estimator(model)
    np.testing.assert_allclose(same.lines_["loss"].get_ydata(), history.history["loss"])
    only_loss = TrainingCurveDisplay.from_history({"loss": [3, 2, 1]})
    assert only_loss.axes_.shape == (1,)


def test_constructor_then_plot():
    d = TrainingCurveDisplay({"loss": [1.0, 0.5], "val_loss": [1.2, 0.8]}, estimator_name="m")
    assert d.plot() is d and d.ax_.get_title() == "m"
    fig, axes = plt.subplots(1, 2)
    TrainingCurveDisplay({"loss": [1.0], "mse": [2.0]}).plot(ax=axes)
    with pytest.raises(ValueError, match="two"):
        d.plot(ax=[axes[0]])


def test_errors():
    with pytest.raises(NotFittedError):
        TrainingCurveDisplay.from_estimator(neurocore.NeuralNetClassifier([3]))
    with pytest.raises(ValueError, match="non-empty"):
        TrainingCurveDisplay({})
    with pytest.raises(ValueError, match="records no training curves"):
        TrainingCurveDisplay.from_estimator(object())
