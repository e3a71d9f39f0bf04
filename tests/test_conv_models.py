"""Convolutional networks through the Keras facade and the estimators: Keras's
weight layout, initializer fans, summary, persistence, model selection,
partial_fit and determinism."""

import pickle

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV

import neurocore
from neurocore import NeuralNetClassifier, NeuralNetRegressor
from neurocore.keras.layers import (
    AveragePooling1D, BatchNormalization, Conv1D, Conv2D, Cropping2D, Dense, Dropout, Flatten,
    GlobalAveragePooling1D, GlobalMaxPooling2D, MaxPooling2D, UpSampling2D, ZeroPadding2D,
)
from neurocore.keras.models import Sequential, load_model
from test_conv import conv_reference


@pytest.fixture(scope="module")
def images():
    X, y = load_digits(return_X_y=True)
    return (X[:600] / 16.0).reshape(-1, 8, 8, 1), y[:600]


def test_keras_layout_weights_give_keras_outputs():
    rng = np.random.RandomState(0)
    model = Sequential([Conv2D(5, (3, 2), strides=(2, 1), padding="same", input_shape=(7, 6, 3)),
                        Conv2D(4, 3, groups=1, dilation_rate=(1, 2), activation="relu")])
    kernel1, bias1, kernel2, bias2 = model.get_weights()
    assert kernel1.shape == (3, 2, 3, 5) and bias1.shape == (5,) and kernel2.shape == (3, 3, 5, 4)
    weights = [rng.normal(size=w.shape) for w in model.get_weights()]
    model.set_weights(weights)
    X = rng.normal(size=(4, 7, 6, 3))
    h = conv_reference(X, weights[0], weights[1], (2, 1), "same", (1, 1), 1)
    want = np.maximum(conv_reference(h, weights[2], weights[3], (1, 1), "valid", (1, 2), 1), 0)
    np.testing.assert_allclose(model.predict(X, verbose=0), want, rtol=1e-4, atol=1e-4)


def test_glorot_fans_count_the_receptive_field():
    model = Sequential([Conv2D(16, 3, input_shape=(9, 9, 4))])
    kernel = model.get_weights()[0]
    limit = np.sqrt(6 / (3 * 3 * 4 + 3 * 3 * 16))
    assert np.abs(kernel).max() <= limit and np.abs(kernel).max() > 0.9 * limit


def test_summary_save_and_load(tmp_path, images):
    X, y = images
    model = Sequential([Conv2D(4, 3, padding="same", activation="relu", input_shape=(8, 8, 1)),
                        ZeroPadding2D(1), MaxPooling2D(), Cropping2D(((1, 0), (0, 1))), UpSampling2D(),
                        BatchNormalization(), GlobalMaxPooling2D(), Dense(10, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    lines = []
    model.summary(print_fn=lines.append)
    text = "\n".join(lines)
    for shape in ["(None, 8, 8, 4)", "(None, 10, 10, 4)", "(None, 5, 5, 4)", "(None, 4, 4, 4)",
                  "(None, 8, 8, 4)", "(None, 4)", "(None, 10)"]:
        assert shape in text
    assert "40" in text  # the convolution's 3 * 3 * 1 * 4 + 4 weights
    model.fit(X, y, epochs=2, batch_size=64, verbose=0)
    path = tmp_path / "conv.keras"
    model.save(path)
    np.testing.assert_array_equal(load_model(path).predict(X, verbose=0), model.predict(X, verbose=0))


def test_channels_first_and_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="channels last"):
        Conv2D(4, 3, data_format="channels_first")
    with pytest.raises(ValueError, match="kernel_size must be"):
        Conv2D(4, (3, 3, 3))
    with pytest.raises(ValueError, match="strides must be >= 1"):
        Conv1D(4, 3, strides=0)
    with pytest.raises(ValueError, match="padding must be"):
        Conv2D(4, 3, padding="causal")
    with pytest.raises(ValueError, match="multiple of groups"):
        Conv2D(5, 3, groups=2)
    with pytest.raises(ValueError, match=r"layer 'late' \(Conv2D\) on input \(3, 3, 8\).*larger than the input"):
        Sequential([Conv2D(8, 3, input_shape=(5, 5, 1)), Conv2D(2, 4, name="late")]).build()


def test_classifier_on_images_in_grid_search_partial_fit_and_persistence(tmp_path, images):
    X, y = images
    layers = [Conv2D(6, 3, activation="relu"), MaxPooling2D(), Flatten(), Dropout(0.2)]
    clf = NeuralNetClassifier(layers, epochs=3, random_state=0)
    grid = GridSearchCV(clf, {"batch_size": [32, 64]}, cv=2).fit(X, y)
    assert grid.best_estimator_._net.input_shape == (8, 8, 1)
    fitted = NeuralNetClassifier(layers, epochs=3, random_state=0).fit(X, y)
    proba = fitted.predict_proba(X)
    assert proba.shape == (600, 10) and np.allclose(proba.sum(axis=1), 1)
    path = tmp_path / "clf.nc"
    fitted.save(path)
    np.testing.assert_array_equal(neurocore.load(path).predict_proba(X), proba)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(fitted)).predict_proba(X), proba)
    before = fitted._net.params.copy()
    fitted.partial_fit(X[:100], y[:100])
    assert not np.array_equal(before, fitted._net.params)
    with pytest.raises(ValueError, match=r"per-sample shape \(8, 8\)"):
        fitted.predict(X[..., 0])


def test_same_seed_same_weights_at_any_thread_count(images):
    X, y = images
    fits = [NeuralNetClassifier([Conv2D(4, 3, activation="relu"), MaxPooling2D(), Flatten()], epochs=2,
                                random_state=3, n_jobs=n).fit(X, y) for n in (1, 2, 2)]
    for other in fits[1:]:
        for a, b in zip(fits[0]._net.get_weights(), other._net.get_weights()):
            np.testing.assert_array_equal(a, b)


def test_regressor_on_sequences():
    rng = np.random.RandomState(1)
    X = rng.normal(size=(300, 20, 2))
    t = X[:, 5:9, 0].sum(axis=1) - X[:, 12:14, 1].sum(axis=1)
    est = NeuralNetRegressor([Conv1D(8, 5, padding="causal", activation="tanh"), AveragePooling1D(2),
                              Conv1D(8, 3, activation="tanh"), GlobalAveragePooling1D()],
                             epochs=40, random_state=0)
    est.fit(X[:240], t[:240])
    baseline = np.mean((t[240:] - t[:240].mean()) ** 2)
    assert np.mean((est.predict(X[240:]) - t[240:]) ** 2) < baseline  # it learned something
    assert est.predict(X[:3]).shape == (3,)
