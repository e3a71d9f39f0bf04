"""NeuralNetAutoencoder: the transformer's contract (codes, reconstructions,
pipelines, persistence), its architectures (mirrored dense and
convolutional decoders, a given decoder, denoising) against numpy forward
passes, and its errors."""

import pickle

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline

import neurocore
from neurocore import NeuralNetAutoencoder
from neurocore.keras import layers as L

DIGITS = load_digits()
X = DIGITS.data / 16.0


def _forward_dense(weights, X, acts):
    """numpy's pass through Dense layers: weights [W1, b1, W2, b2, ...]."""
    h = X
    for (W, b), act in zip(zip(weights[::2], weights[1::2]), acts):
        h = h @ W + b
        h = {"relu": lambda z: np.maximum(z, 0), "linear": lambda z: z,
             "sigmoid": lambda z: 1 / (1 + np.exp(-z))}[act](h)
    return h


def test_codes_and_reconstructions_match_numpy():
    ae = NeuralNetAutoencoder([32, 8], epochs=5, random_state=0, dtype="float64").fit(X)
    w = [ae._net.get_weights(i) for i in range(len(ae._net.layers))]
    flat = [a for layer in w for a in layer]
    assert [type(layer).__name__ for layer in ae._net.layers] == ["Dense"] * 4
    assert [layer.units for layer in ae._net.layers] == [32, 8, 32, 64]  # the encoder mirrored
    codes = ae.transform(X)
    np.testing.assert_allclose(codes, _forward_dense(flat[:4], X, ["relu", "relu"]), rtol=1e-10, atol=1e-12)
    rec = _forward_dense(flat, X, ["relu", "relu", "relu", "linear"])
    np.testing.assert_allclose(ae.inverse_transform(codes), rec, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ae.reconstruct(X), rec, rtol=1e-10, atol=1e-12)
    assert ae.score(X) == pytest.approx(-np.mean((rec - X) ** 2), rel=1e-9)
    assert ae.code_shape_ == (8,) and codes.shape == (len(X), 8)
    assert list(ae.get_feature_names_out()) == [f"neuralnetautoencoder{i}" for i in range(8)]


def test_binary_crossentropy_gives_a_sigmoid_output_and_checks_its_range():
    ae = NeuralNetAutoencoder([16], loss="binary_crossentropy", epochs=2, random_state=0).fit(X)
    rec = ae.reconstruct(X)
    assert ae._net.layers[-1].activation == "sigmoid" and rec.min() > 0 and rec.max() < 1
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        NeuralNetAutoencoder([16], loss="binary_crossentropy").fit(X * 16)


def test_convolutional_encoder_is_mirrored():
    Xi = X.reshape(-1, 8, 8, 1)
    enc = [L.Conv2D(6, 3, padding="same", activation="relu"), L.MaxPooling2D(2),
           L.Conv2D(3, 3, padding="same", activation="relu")]
    ae = NeuralNetAutoencoder(enc, loss="binary_crossentropy", epochs=2, random_state=0).fit(Xi)
    kinds = [type(layer).__name__ for layer in ae._net.layers]
    assert kinds == ["Conv2D", "MaxPooling2D", "Conv2D", "Conv2D", "UpSampling2D", "Dense", "Flatten"]
    assert ae._net.layers[3].filters == 6  # back to the channels the last convolution took
    assert ae.code_shape_ == (4, 4, 3) and ae.transform(Xi).shape == (len(Xi), 48)
    rec = ae.inverse_transform(ae.transform(Xi))
    assert rec.shape == Xi.shape
    np.testing.assert_allclose(rec, ae.reconstruct(Xi), rtol=1e-5, atol=1e-6)


def test_a_given_decoder_and_its_shape_check():
    ae = NeuralNetAutoencoder([L.Dense(10, activation="tanh")], decoder=[L.Dense(20, activation="tanh")],
                              epochs=2, random_state=0).fit(X)
    assert [layer.units for layer in ae._net.layers] == [10, 20, 64]
    Xi = X.reshape(-1, 8, 8, 1)
    bad = NeuralNetAutoencoder([L.Conv2D(4, 3, padding="same"), L.MaxPooling2D(2)],
                               decoder=[L.Conv2D(4, 3, padding="same")])
    with pytest.raises(ValueError, match=r"decoder's output shape \(4, 4, 4\) does not match"):
        bad.fit(Xi)
    assert not hasattr(bad, "history_")  # refused before any training
    with pytest.raises(ValueError, match="cannot be mirrored"):
        NeuralNetAutoencoder([L.Conv2D(4, 3, padding="same"), L.Conv2D(4, 3, strides=2)]).fit(Xi)
    with pytest.raises(ValueError, match="give decoder"):
        NeuralNetAutoencoder([L.Conv2D(4, 3, strides=2)]).fit(Xi)
    with pytest.raises(ValueError, match="code's size"):
        ae.inverse_transform(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="NaN"):
        ae.fit(np.where(X > 0.5, np.nan, X))


def test_denoising_noise_only_while_training():
    dae = NeuralNetAutoencoder([24], noise=0.5, epochs=3, random_state=0).fit(X)
    assert type(dae._net.layers[0]).__name__ == "GaussianNoise"
    a, b = dae.transform(X[:50]), dae.transform(X[:50])
    np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(dae.inverse_transform(a), dae.reconstruct(X[:50]), rtol=1e-5, atol=1e-6)


def test_in_a_pipeline_and_grid_search_with_pandas_output():
    pd = pytest.importorskip("pandas")
    y = DIGITS.target
    pipe = Pipeline([("ae", NeuralNetAutoencoder([32, 16], epochs=5, random_state=0)),
                     ("clf", LogisticRegression(max_iter=200))])
    gs = GridSearchCV(pipe, {"ae__encoder": [(32, 8), (32, 16)]}, cv=2).fit(X, y)
    assert gs.best_params_["ae__encoder"] in [(32, 8), (32, 16)]
    ae = NeuralNetAutoencoder([16], epochs=2, random_state=0).set_output(transform="pandas")
    Z = ae.fit_transform(pd.DataFrame(X, columns=[f"px{i}" for i in range(64)]))
    assert isinstance(Z, pd.DataFrame) and list(Z.columns)[:2] == ["neuralnetautoencoder0", "neuralnetautoencoder1"]


def test_partial_fit_sparse_input_and_persistence(tmp_path):
    ae = NeuralNetAutoencoder([16], epochs=2, random_state=0)
    for chunk in np.array_split(X, 4):
        ae.partial_fit(chunk)
    assert ae.n_iter_ == 4 and len(ae.history_["loss"]) == 4
    dense = NeuralNetAutoencoder([16], epochs=2, random_state=0).fit(X)
    sparse = NeuralNetAutoencoder([16], epochs=2, random_state=0).fit(sp.csr_matrix(X))
    np.testing.assert_allclose(sparse.transform(sp.csr_matrix(X)), dense.transform(X), rtol=1e-5, atol=1e-6)
    ae.save(tmp_path / "ae.zip")
    back = neurocore.load(tmp_path / "ae.zip")
    np.testing.assert_array_equal(back.transform(X), ae.transform(X))
    np.testing.assert_array_equal(back.inverse_transform(ae.transform(X)), ae.inverse_transform(ae.transform(X)))
    again = pickle.loads(pickle.dumps(ae))
    np.testing.assert_array_equal(again.reconstruct(X), ae.reconstruct(X))
    # a loaded model keeps training where the saved one stopped
    back.partial_fit(X)
    ae.partial_fit(X)
    np.testing.assert_array_equal(back.transform(X), ae.transform(X))
