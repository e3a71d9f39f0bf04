"""The shape-aware layer contract: per-sample shapes checked and inferred by
the core, the registry's errors, Flatten / Reshape, layers on the last axis of
N-d input (values against numpy, central-difference gradients), and N-d data
through the Keras facade."""

import numpy as np
import pytest
from conftest import check_objective_gradient

from neurocore import _core
from neurocore._activations import activation_spec
from neurocore.keras.layers import BatchNormalization, Dense, Dropout, Flatten, Input, LayerNormalization, Reshape
from neurocore.keras.models import Sequential, load_model


def dense(units, act="linear", **kw):
    return {"type": "dense", "units": units, **activation_spec(act), **kw}


def test_unknown_layer_and_option_are_named():
    with pytest.raises(ValueError, match="unknown layer type 'conv9d'"):
        _core.Network(4, [{"type": "conv9d"}], "mean_squared_error", "float64")
    with pytest.raises(ValueError, match="unknown option 'unitz' for layer 'dense'"):
        _core.Network(4, [{"type": "dense", "unitz": 3, "units": 2}], "mean_squared_error", "float64")
    with pytest.raises(ValueError, match="unknown option 'momentum' for layer 'layer_normalization'"):
        _core.Network(4, [{"type": "layer_normalization", "momentum": 0.9}, dense(1)],
                      "mean_squared_error", "float64")
    with pytest.raises(ValueError, match="option 'rate' of layer 'dropout' must be a number"):
        _core.Network(4, [{"type": "dropout", "rate": "half"}, dense(1)], "mean_squared_error", "float64")


def test_shapes_are_inferred_per_layer():
    net = _core.Network((4, 3, 2), [dense(5, "relu"), {"type": "layer_normalization"},
                                    {"type": "flatten"}, {"type": "reshape", "target_shape": [-1, 10]},
                                    dense(7), {"type": "flatten"}, dense(1)],
                        "mean_squared_error", "float64")
    assert net.input_shape == (4, 3, 2)
    assert net.layer_shapes() == [(4, 3, 5), (4, 3, 5), (60,), (6, 10), (6, 7), (42,), (1,)]
    # kernels first (layer order), then biases, then the normalization's gamma and beta
    names = [(v["layer"], v["name"], tuple(v["shape"])) for v in net.variables()]
    assert names == [(0, "kernel", (2, 5)), (4, "kernel", (10, 7)), (6, "kernel", (42, 1)),
                     (0, "bias", (5,)), (4, "bias", (7,)), (6, "bias", (1,)),
                     (1, "gamma", (5,)), (1, "beta", (5,))]
    offsets = [v["offset"] for v in net.variables()]
    assert offsets == sorted(offsets) and net.n_coefs == 10 + 70 + 42


def test_bad_shapes_fail_when_built():
    with pytest.raises(ValueError, match=r"cannot become \(5, 5\)"):
        _core.Network((4, 3), [{"type": "reshape", "target_shape": [5, 5]}, dense(1)], "mean_squared_error", "float64")
    with pytest.raises(ValueError, match="flat output"):
        _core.Network((4, 3), [dense(3, "softmax")], "categorical_crossentropy", "float64")
    with pytest.raises(ValueError, match="every dimension must be positive"):
        _core.Network((4, 0), [dense(1)], "mean_squared_error", "float64")


def _forward(net, params, X, state=None):
    return net.predict(params, np.ascontiguousarray(X.reshape(X.shape[0], -1)), 1, state)


def test_dense_acts_on_the_last_axis_as_keras():
    rng = np.random.RandomState(0)
    net = _core.Network((5, 3), [dense(4, "tanh"), {"type": "flatten"}, dense(2)], "mean_squared_error", "float64")
    p = rng.normal(size=net.n_params)
    v = {(x["layer"], x["name"]): x for x in net.variables()}
    W1 = p[v[0, "kernel"]["offset"]:][:12].reshape(3, 4)
    b1 = p[v[0, "bias"]["offset"]:][:4]
    W2 = p[v[2, "kernel"]["offset"]:][:40].reshape(20, 2)
    b2 = p[v[2, "bias"]["offset"]:][:2]
    X = rng.normal(size=(7, 5, 3))
    ref = np.tanh(X @ W1 + b1).reshape(7, -1) @ W2 + b2
    np.testing.assert_allclose(_forward(net, p, X), ref, rtol=1e-12, atol=1e-12)


def test_flatten_and_reshape_change_nothing_but_the_shape():
    rng = np.random.RandomState(1)
    layers = [dense(3, "relu"), dense(2)]
    flat = _core.Network(12, layers, "mean_squared_error", "float64")
    shaped = _core.Network((4, 3), [{"type": "reshape", "target_shape": [2, 6]}, {"type": "flatten"},
                                    *layers], "mean_squared_error", "float64")
    assert flat.n_params == shaped.n_params
    p = rng.normal(size=flat.n_params)
    X = rng.normal(size=(9, 12))
    np.testing.assert_array_equal(_forward(flat, p, X), _forward(shaped, p, X.reshape(9, 4, 3)))
    Y = rng.normal(size=(9, 2))
    g1, g2 = np.empty_like(p), np.empty_like(p)
    o1 = flat.objective(p, X, Y, None, 0.0, 1.0, g1, 1, 0)
    o2 = shaped.objective(p, X, Y, None, 0.0, 1.0, g2, 1, 0)
    assert o1 == o2
    np.testing.assert_array_equal(g1, g2)


SEQUENCE_MIDDLES = {
    "dense": [dense(4, "tanh")],
    "batch_normalization": [dense(4, "tanh"), {"type": "batch_normalization"}],
    "layer_normalization": [dense(4), {"type": "layer_normalization"}],
    "activation_softmax": [dense(4), {"type": "activation", **activation_spec("softmax")}],
    "dropout": [dense(4, "relu"), {"type": "dropout", "rate": 0.3}],
    "reshape": [{"type": "reshape", "target_shape": [3, 5]}, dense(2, "swish")],
}


@pytest.mark.parametrize("name", sorted(SEQUENCE_MIDDLES))
def test_gradients_on_sequence_shaped_input(name):
    rng = np.random.RandomState(2)
    net = _core.Network((5, 3), [*SEQUENCE_MIDDLES[name], {"type": "flatten"}, dense(2)],
                        "mean_squared_error", "float64")
    X = rng.normal(size=(6, 15))
    Y = rng.normal(size=(6, 2))
    p = rng.uniform(-0.6, 0.6, net.n_params)
    for v in net.variables():
        if v["name"] == "gamma":
            p[v["offset"]:v["offset"] + v["shape"][0]] += 1.0

    check_objective_gradient(net, p, X, Y)


def test_batch_normalization_is_per_channel_on_nd_input():
    rng = np.random.RandomState(3)
    net = _core.Network((4, 3), [{"type": "batch_normalization", "center": False, "scale": False},
                                 {"type": "flatten"}, dense(1)], "mean_squared_error", "float64")
    assert [(v["name"], tuple(v["shape"])) for v in net.state_variables()] == [
        ("moving_mean", (3,)), ("moving_variance", (3,))]
    state = np.concatenate([[1.0, 2.0, 3.0], [4.0, 1.0, 0.25]])
    p = rng.normal(size=net.n_params)
    X = rng.normal(size=(5, 4, 3))
    xhat = (X - state[:3]) / np.sqrt(state[3:] + 1e-3)
    W, b = p[:12], p[12]
    np.testing.assert_allclose(_forward(net, p, X, state), xhat.reshape(5, -1) @ W[:, None] + b, rtol=1e-12)


def test_facade_infers_nd_input_and_round_trips(tmp_path):
    rng = np.random.RandomState(0)
    X = rng.rand(120, 6, 2)
    y = (X[:, :3].sum(axis=(1, 2)) > X[:, 3:].sum(axis=(1, 2))).astype(int)
    np.random.seed(0)
    model = Sequential([Dense(8, activation="relu"), LayerNormalization(), Flatten(), Dropout(0.1),
                        Dense(2, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(X, y, epochs=2, verbose=0)
    assert model._net.input_shape == (6, 2)
    lines = []
    model.summary(print_fn=lines.append)
    assert any("(None, 6, 8)" in line and line.rstrip().endswith(" 24") for line in lines)
    assert any("(None, 48)" in line for line in lines if "Flatten" in line)
    path = tmp_path / "m.keras"
    model.save(path)
    np.testing.assert_array_equal(load_model(path).predict(X), model.predict(X))
    with pytest.raises(ValueError, match=r"per-sample shape \(6, 3\)"):
        model.predict(rng.rand(4, 6, 3))


def test_facade_input_shape_and_nd_outputs():
    rng = np.random.RandomState(1)
    X = rng.rand(50, 4, 3)
    model = Sequential([Input(shape=(4, 3)), Dense(2), BatchNormalization()])
    model.compile("sgd", "mse")
    model.fit(X, X[:, :, :2], epochs=2, verbose=0)
    out = model.predict(X[:5])
    assert out.shape == (5, 4, 2)
    W, b, gamma, beta, mean, var = model.get_weights()
    ref = (X[:5] @ W + b - mean) / np.sqrt(var + 1e-3) * gamma + beta
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-6)
    seq = Sequential([Reshape((12,), input_shape=(4, 3)), Dense(1)])
    seq.compile("adam", "mse")
    assert seq.predict(X[:3]).shape == (3, 1)


def _digit_images():
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return (X[:400] / 16.0).reshape(-1, 8, 8), y[:400]


def test_estimators_take_nd_input_as_their_flat_twin():
    from neurocore import NeuralNetClassifier

    X, y = _digit_images()
    img = NeuralNetClassifier([Flatten(), Dense(16, activation="relu")], epochs=3, random_state=0).fit(X, y)
    flat = NeuralNetClassifier([Dense(16, activation="relu")], epochs=3, random_state=0).fit(X.reshape(-1, 64), y)
    assert img.n_features_in_ == 8  # scikit-learn's count: X.shape[1]
    for a, b in zip(img._net.get_weights(), flat._net.get_weights()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(img.predict_proba(X), flat.predict_proba(X.reshape(-1, 64)))
    with pytest.raises(ValueError, match=r"per-sample shape \(8, 4, 2\)"):
        img.predict(X.reshape(-1, 8, 4, 2))
    with pytest.raises(ValueError, match="features"):
        img.predict(X.reshape(-1, 64))


def test_estimators_with_nd_input_in_model_selection_and_persistence(tmp_path):
    import pickle

    from sklearn.model_selection import GridSearchCV, cross_val_score

    import neurocore
    from neurocore import NeuralNetRegressor

    X, _ = _digit_images()
    t = X[:, 2:6, 2:6].mean(axis=(1, 2))
    est = NeuralNetRegressor([Dense(6, activation="tanh"), Flatten(), Dense(8, activation="relu")],
                             epochs=2, random_state=0)
    scores = cross_val_score(est, X, t, cv=2)
    assert scores.shape == (2,) and np.isfinite(scores).all()
    grid = GridSearchCV(est, {"batch_size": [32, 64]}, cv=2).fit(X, t)
    assert grid.best_estimator_._net.input_shape == (8, 8)
    fitted = est.fit(X, t)
    path = tmp_path / "r.nc"
    fitted.save(path)
    np.testing.assert_array_equal(neurocore.load(path).predict(X), fitted.predict(X))
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(fitted)).predict(X), fitted.predict(X))
    fitted.partial_fit(X[:50], t[:50])
    assert fitted.predict(X[:3]).shape == (3,)


def test_flops_hook_counts_each_dense_product_on_its_leading_axes():
    from neurocore import _core

    specs = [{"type": "dense", "units": 3}, {"type": "flatten"}, {"type": "dense", "units": 2},
             {"type": "batch_normalization"}]
    net = _core.Network((5, 7), specs, "mean_squared_error", "float64")
    # Dense(3) on (5, 7): five rows of a 7x3 product; Dense(2) on the flat 15
    assert net.flops_per_sample() == 2 * 5 * 7 * 3 + 2 * 15 * 2


def test_summary_columns_fit_long_names():
    model = Sequential([Dense(32, input_shape=(64,), name="a_really_long_dense_layer_name_here"),
                        BatchNormalization(), Dense(10)])
    lines = []
    model.summary(print_fn=lines.append)
    rows = [line for line in lines if line.endswith(("2,080", "128", "330"))]
    assert len(rows) == 3
    starts = {line.index("(None,") for line in rows}
    assert len(starts) == 1 and starts.pop() > len("a_really_long_dense_layer_name_here (Dense)")
    assert len({len(line) for line in rows}) == 1  # the counts right-aligned in one column


def test_estimators_with_nd_input_in_a_pipeline():
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    from neurocore import NeuralNetClassifier

    X, y = _digit_images()
    scale = FunctionTransformer(lambda Z: Z * 2.0 - 1.0)  # any rank passes through
    pipe = make_pipeline(scale, NeuralNetClassifier([Flatten(), 16], epochs=3, random_state=0)).fit(X, y)
    alone = NeuralNetClassifier([Flatten(), 16], epochs=3, random_state=0).fit(X * 2.0 - 1.0, y)
    np.testing.assert_array_equal(pipe.predict_proba(X), alone.predict_proba(X * 2.0 - 1.0))
