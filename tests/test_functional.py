"""The Keras facade's functional API for chains: Input, layers called on
tensors, Model(inputs, outputs), and layers (and weights) shared between
models, as the classic Keras autoencoder tutorial uses them."""

import numpy as np
import pytest
from sklearn.datasets import load_digits

import neurocore.keras as nk
from neurocore import NeuralNetRegressor
from neurocore.keras import Input, Model
from neurocore.keras import layers as L

X = (load_digits().data / 16.0).astype(np.float32)


def _relu(z):
    return np.maximum(z, 0)


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


def test_the_keras_autoencoder_tutorial_with_its_imports_changed():
    np.random.seed(0)
    encoding_dim = 12
    input_img = Input(shape=(64,))
    encoded = L.Dense(encoding_dim, activation="relu")(input_img)
    decoded = L.Dense(64, activation="sigmoid")(encoded)
    autoencoder = Model(input_img, decoded)
    encoder = Model(input_img, encoded)
    encoded_input = Input(shape=(encoding_dim,))
    decoder_layer = autoencoder.layers[-1]
    decoder = Model(encoded_input, decoder_layer(encoded_input))
    autoencoder.compile(optimizer="adam", loss="binary_crossentropy")
    before = encoder.predict(X[:5])
    autoencoder.fit(X, X, epochs=5, batch_size=64, shuffle=True, verbose=0)
    W1, b1, W2, b2 = autoencoder.get_weights()
    # the encoder predicts with the trained first layer, the decoder with the trained last
    codes = encoder.predict(X)
    np.testing.assert_allclose(codes, _relu(X @ W1 + b1), rtol=1e-4, atol=1e-5)
    assert not np.allclose(before, codes[:5])
    np.testing.assert_allclose(decoder.predict(codes), _sigmoid(codes @ W2 + b2), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(decoder.predict(codes), autoencoder.predict(X), rtol=1e-5, atol=1e-6)
    assert encoded.shape == (None, encoding_dim) and decoded.shape == (None, 64)
    assert isinstance(autoencoder.layers[0], L.InputLayer)


def test_weights_follow_the_model_that_trained_last():
    x = Input(shape=(64,))
    code = L.Dense(6, activation="tanh")(x)
    whole = Model(x, L.Dense(64)(code))
    part = Model(x, code)
    whole.compile("adam", "mse")
    part.compile("adam", "mse")
    whole.fit(X, X, epochs=1, verbose=0)
    part.fit(X, np.zeros((len(X), 6), np.float32), epochs=2, verbose=0)  # trains the shared layer
    W1, b1 = part.get_weights()
    np.testing.assert_array_equal(whole.get_weights()[0], W1)
    np.testing.assert_allclose(whole.predict(X[:4]), np.tanh(X[:4] @ W1 + b1) @ whole.get_weights()[2]
                               + whole.get_weights()[3], rtol=1e-4, atol=1e-5)
    # a model rebuilt for another input (a new buffer) copies the shared weights again
    other = nk.Sequential([whole.layers[1]])
    other.build((None, 64))
    np.testing.assert_array_equal(other.get_weights()[0], W1)
    other.build((None, 64))  # unchanged shape: the same buffer
    np.testing.assert_array_equal(other.get_weights()[0], W1)
    # set_weights on one model reaches the other
    whole.set_weights([np.zeros_like(w) for w in whole.get_weights()])
    np.testing.assert_array_equal(part.predict(X[:3]), np.zeros((3, 6), np.float32))


def test_a_model_equals_the_sequential_of_its_layers(tmp_path):
    x = Input(shape=(64,))
    y = L.Dense(3, activation="softmax")(L.Dropout(0.1)(L.Dense(16, activation="relu")(x)))
    model = Model(x, y, name="chain")
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    labels = load_digits().target % 3
    model.fit(X, labels, epochs=2, verbose=0)
    seq = nk.Sequential([Input(shape=(64,)), L.Dense(16, activation="relu"), L.Dropout(0.1),
                         L.Dense(3, activation="softmax")])
    seq.build()
    seq.set_weights(model.get_weights())
    np.testing.assert_array_equal(seq.predict(X), model.predict(X))
    lines = []
    model.summary(print_fn=lines.append)
    assert lines[0] == 'Model: "chain"' and any("InputLayer" in line for line in lines)
    model.save(tmp_path / "m.keras")
    back = nk.load_model(tmp_path / "m.keras")
    assert isinstance(back, Model)
    np.testing.assert_array_equal(back.predict(X), model.predict(X))
    assert back.evaluate(X, labels)[1] == pytest.approx(model.evaluate(X, labels)[1])


def test_graphs_that_are_not_chains_are_refused():
    a, b = Input(shape=(4,)), Input(shape=(4,))
    h = L.Dense(3)(a)
    with pytest.raises(ValueError, match="chains"):
        L.Dense(2)([h, L.Dense(3)(a)])
    with pytest.raises(ValueError, match="do not connect to its inputs"):
        Model(b, L.Dense(2)(h))
    with pytest.raises(ValueError, match="chains"):
        Model(a, [h, L.Dense(2)(h)])
    with pytest.raises(ValueError, match="Input"):
        Model(h, L.Dense(2)(h))
    with pytest.raises(TypeError, match="tensor of an Input"):
        L.Dense(2)(np.zeros((3, 4)))
    for merge in (L.Add(), L.Concatenate(axis=-1), L.Subtract(), L.Multiply(), L.Average()):
        with pytest.raises(ValueError, match=f"{type(merge).__name__} merges several tensors: .*chains"):
            merge([h, L.Dense(3)(a)])
    with pytest.raises(ValueError, match="Add merges"):
        nk.Sequential([Input(shape=(4,)), L.Add()]).build()
    dense = L.Dense(4)
    with pytest.raises(ValueError, match="twice"):
        Model(a, dense(dense(a)))
    with pytest.raises(ValueError, match="not a layer's output"):
        nk.Sequential([h])


def test_input_tensors_start_sequential_models_and_estimator_layer_lists():
    rng = np.random.RandomState(0)
    Xr = rng.normal(size=(100, 4))
    y = Xr @ np.arange(1, 5.0)
    reg = NeuralNetRegressor([Input(shape=(4,)), 8], epochs=3, random_state=0).fit(Xr, y)
    ref = NeuralNetRegressor([8], epochs=3, random_state=0).fit(Xr, y)
    np.testing.assert_array_equal(reg.predict(Xr), ref.predict(Xr))
    seq = nk.Sequential([Input(shape=(4,)), L.Dense(1)])
    seq.compile("sgd", "mse")
    assert seq.predict(Xr).shape == (100, 1)
