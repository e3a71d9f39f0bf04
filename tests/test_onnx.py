"""ONNX export (neurocore.to_onnx, the skl2onnx converters): ONNX Runtime's
outputs against neurocore's own on every layer type, every head, and the
graph checked by onnx.checker."""

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

import neurocore
from neurocore import _onnx
from neurocore.keras import Input, Model, Sequential
from neurocore.keras import layers as L

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

TOL = dict(rtol=1e-5, atol=1e-5)


def session(proto):
    onnx.checker.check_model(proto, full_check=True)
    return ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])


def run(proto, X):
    s = session(proto)
    feed = X.astype(np.int64) if s.get_inputs()[0].type == "tensor(int64)" else X.astype(np.float32)
    return s.run(None, {s.get_inputs()[0].name: feed})


def perturbed(model, seed=0):
    """Every weight moved off its initial value (biases and moving statistics
    non-zero, moving variances positive)."""
    rng = np.random.RandomState(seed)
    model.set_weights([w * rng.uniform(0.6, 1.4, w.shape) + rng.normal(0, 0.1, w.shape)
                       for w in model.get_weights()])
    return model


def check_keras(layers, shape, X=None, seed=0, **kw):
    model = perturbed(Sequential([Input(shape=shape)] + layers), seed)
    if X is None:
        X = np.random.RandomState(seed + 1).normal(size=(7,) + tuple(shape)).astype(np.float32)
    proto = neurocore.to_onnx(model, X, **kw)
    out, = run(proto, X)
    np.testing.assert_allclose(out, model.predict(X), **TOL)
    return proto


ACTIVATIONS = ["linear", "sigmoid", "tanh", "relu", "softmax", "exponential", "hard_sigmoid", "softsign",
               "elu", "selu", "softplus", "gelu", "swish"]


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_dense_every_activation(activation):
    check_keras([L.Dense(5, activation=activation), L.Dense(3, activation=activation)], (6,))


@pytest.mark.parametrize("layer", [L.ReLU(max_value=0.8, negative_slope=0.1, threshold=0.2), L.LeakyReLU(0.3),
                                   L.ELU(0.7), L.Softmax(), L.Activation("gelu")], ids=lambda l: type(l).__name__)
def test_parametric_activations(layer):
    check_keras([L.Dense(8), layer], (4,))


def test_softplus_large_inputs():
    check_keras([L.Dense(6, activation="softplus")], (3,), X=np.array([[40.0, -40.0, 3.0]] * 2, np.float32))


def test_gelu_tanh_form():
    """gelu(approximate=True) against its formula (no facade layer asks for it yet)."""
    g = _onnx._Graph()
    y = _onnx._activation(g, "X", {"activation": "gelu", "approximate": True})
    g.output(y, "Y")
    proto = onnx.helper.make_model(g.graph_proto("gelu", [_onnx._value_info("X", 1, [None])],
                                                 [_onnx._value_info("Y", 1, [None])]),
                                   opset_imports=[onnx.helper.make_opsetid("", 17)])
    proto.ir_version = 8
    x = np.linspace(-5, 5, 41)
    out, = run(proto, x)
    ref = 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3)))
    np.testing.assert_allclose(out, ref, **TOL)


@pytest.mark.parametrize("layers", [
    [L.Dense(6), L.BatchNormalization(), L.Dense(2)],
    [L.Dense(6), L.BatchNormalization(center=False, scale=False, epsilon=0.01)],
    [L.Dense(6), L.LayerNormalization(), L.Dense(3)],
    [L.Dense(6), L.LayerNormalization(center=False, scale=False)],
    [L.Dense(6), L.Dropout(0.5), L.GaussianNoise(1.0), L.Dense(2)],
], ids=["batchnorm", "batchnorm-bare", "layernorm", "layernorm-bare", "dropout-noise"])
def test_normalization_and_inference_identities(layers):
    check_keras(layers, (5,))


@pytest.mark.parametrize("layers", [
    [L.Conv1D(4, 3), L.MaxPooling1D(), L.Flatten(), L.Dense(2)],
    [L.Conv1D(4, 3, padding="same", strides=2), L.AveragePooling1D(3, padding="same"), L.Flatten()],
    [L.Conv1D(4, 3, padding="causal", dilation_rate=2, activation="relu"), L.GlobalMaxPooling1D()],
    [L.Conv1D(4, 2, groups=2, use_bias=False), L.GlobalAveragePooling1D(keepdims=True)],
    [L.ZeroPadding1D((2, 1)), L.Cropping1D((1, 3)), L.UpSampling1D(3), L.Conv1D(3, 1), L.MaxPooling1D(2, 1, "same")],
], ids=["valid", "same-strided", "causal-dilated", "grouped", "pad-crop-up"])
def test_conv1d_family(layers):
    check_keras(layers, (11, 2))


@pytest.mark.parametrize("layers", [
    [L.Conv2D(3, 3, activation="relu"), L.MaxPooling2D(), L.Flatten(), L.Dense(4, activation="softmax")],
    [L.Conv2D(4, (3, 2), padding="same", strides=(2, 1)), L.AveragePooling2D(padding="same"), L.Flatten()],
    [L.Conv2D(4, 3, dilation_rate=2, groups=2), L.GlobalMaxPooling2D()],
    [L.Conv2D(2, 1), L.GlobalAveragePooling2D(keepdims=True), L.Reshape((2,))],
    [L.ZeroPadding2D(((1, 2), (0, 1))), L.Cropping2D(((2, 0), (1, 1))), L.UpSampling2D((2, 3)),
     L.MaxPooling2D((3, 3), strides=2, padding="same")],
    [L.RandomFlip(), L.RandomRotation(0.2), L.RandomTranslation(0.1, 0.1), L.RandomZoom(0.2),
     L.RandomContrast(0.3), L.RandomBrightness(0.2, value_range=(0, 1)), L.Conv2D(2, 3), L.Flatten()],
], ids=["valid", "same-strided", "dilated-grouped", "pointwise-global", "pad-crop-up", "augmentation"])
def test_conv2d_family(layers):
    check_keras(layers, (9, 8, 2))


RECURRENT = [
    lambda: L.SimpleRNN(5),
    lambda: L.SimpleRNN(4, activation="relu", return_sequences=True, go_backwards=True),
    lambda: L.LSTM(5),
    lambda: L.LSTM(3, return_sequences=True, use_bias=False, recurrent_activation="hard_sigmoid"),
    lambda: L.LSTM(4, go_backwards=True),
    lambda: L.GRU(5),
    lambda: L.GRU(4, reset_after=False, return_sequences=True),
    lambda: L.GRU(3, go_backwards=True, use_bias=False),
    lambda: L.Bidirectional(L.LSTM(3, return_sequences=True)),
    lambda: L.Bidirectional(L.GRU(3), merge_mode="sum"),
    lambda: L.Bidirectional(L.SimpleRNN(3, return_sequences=True), merge_mode="mul"),
    lambda: L.Bidirectional(L.LSTM(2), merge_mode="ave"),
]


@pytest.mark.parametrize("make", RECURRENT, ids=range(len(RECURRENT)))
def test_recurrent(make):
    check_keras([make()], (6, 3))


def test_stacked_recurrent_then_dense_per_step():
    check_keras([L.LSTM(4, return_sequences=True), L.Dense(3), L.GRU(2)], (5, 3))


@pytest.mark.parametrize("rnn", [lambda: L.LSTM(4), lambda: L.GRU(3, return_sequences=True),
                                 lambda: L.Bidirectional(L.SimpleRNN(3, return_sequences=True)),
                                 lambda: L.Bidirectional(L.LSTM(3))], ids=range(4))
def test_masked_sequences(rnn):
    rng = np.random.RandomState(0)
    tokens = rng.randint(1, 20, size=(6, 8))
    for i, pad in enumerate([0, 2, 5, 1, 7, 3]):  # pre-padding (pad_sequences) and holes
        tokens[i, :pad] = 0
    tokens[3, 5] = 0
    proto = check_keras([L.Embedding(20, 4, mask_zero=True), rnn(), L.Dense(2)], (8,), X=tokens)
    assert proto.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.INT64
    X = rng.normal(size=(6, 7, 3)).astype(np.float32)
    X[1, :3] = 0.5
    X[4, 4:] = 0.5
    check_keras([L.Masking(0.5), rnn(), L.Dense(2)], (7, 3), X=X)


def test_functional_model_and_shared_encoder():
    inp = Input(shape=(6,))
    code = L.Dense(3, activation="relu")(inp)
    out = L.Dense(6, activation="sigmoid")(code)
    auto = Model(inp, out)
    perturbed(auto)
    encoder = Model(inp, code)
    X = np.random.RandomState(0).normal(size=(5, 6)).astype(np.float32)
    for m in (auto, encoder):
        o, = run(neurocore.to_onnx(m), X)
        np.testing.assert_allclose(o, m.predict(X), **TOL)


def test_unbuilt_keras_model_is_not_fitted():
    with pytest.raises(NotFittedError):
        neurocore.to_onnx(Sequential([L.Dense(2)]))


# ---------------------------------------------------------------------------
# estimators

def data(n=60, d=5, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, d))
    return X, rng


@pytest.mark.parametrize("labels", ["binary", "multiclass", "strings", "multilabel"])
@pytest.mark.parametrize("cls", [neurocore.MLPClassifier, neurocore.NeuralNetClassifier])
def test_classifiers(cls, labels):
    X, rng = data()
    y = {"binary": (X[:, 0] > 0).astype(int) * 3 + 1, "multiclass": rng.randint(0, 4, len(X)),
         "strings": np.array(["cat", "dog", "emu"])[rng.randint(0, 3, len(X))],
         "multilabel": (X[:, :3] > 0).astype(int)}[labels]
    kw = dict(hidden_layer_sizes=(7,), max_iter=30) if cls is neurocore.MLPClassifier else dict(
        layers=[7, L.BatchNormalization()], epochs=5)
    m = cls(random_state=0, **kw).fit(X, y)
    label, proba = run(neurocore.to_onnx(m, zipmap=False), X)
    np.testing.assert_allclose(proba, m.predict_proba(X), **TOL)
    np.testing.assert_array_equal(label, m.predict(X))
    if labels != "multilabel":
        zl, zp = run(neurocore.to_onnx(m), X)
        np.testing.assert_array_equal(zl, m.predict(X))
        assert list(zp[0]) == list(m.classes_)
        np.testing.assert_allclose([[row[c] for c in m.classes_] for row in zp], m.predict_proba(X), **TOL)


@pytest.mark.parametrize("loss", ["hinge", "categorical_hinge"])
def test_hinge_classifier_outputs_margins(loss):
    X, rng = data()
    y = (X[:, 0] > 0).astype(int) if loss == "hinge" else rng.randint(0, 3, len(X))
    m = neurocore.NeuralNetClassifier([6], loss=loss, epochs=5, random_state=0).fit(X, y)
    label, scores = run(neurocore.to_onnx(m), X)
    np.testing.assert_array_equal(label, m.predict(X))
    np.testing.assert_allclose(scores.reshape(len(X), -1), m.decision_function(X).reshape(len(X), -1), **TOL)


@pytest.mark.parametrize("outputs", [1, 2])
def test_regressors(outputs):
    X, rng = data()
    y = X[:, :outputs] @ rng.normal(size=(outputs, outputs))
    y = y.ravel() if outputs == 1 else y
    for m in (neurocore.MLPRegressor(hidden_layer_sizes=(6,), max_iter=30, random_state=0).fit(X, y),
              neurocore.NeuralNetRegressor([6, L.LayerNormalization()], epochs=5, random_state=0).fit(X, y)):
        v, = run(neurocore.to_onnx(m), X)
        assert v.shape == (len(X), outputs)
        np.testing.assert_allclose(v, m.predict(X).reshape(len(X), outputs), **TOL)


def test_image_classifier_estimator():
    rng = np.random.RandomState(0)
    X = rng.uniform(size=(20, 8, 8, 1))
    y = rng.randint(0, 3, 20)
    m = neurocore.NeuralNetClassifier([L.Conv2D(3, 3, activation="relu"), L.MaxPooling2D(), L.Flatten(), 8],
                                      epochs=3, random_state=0).fit(X, y)
    proto = neurocore.to_onnx(m, zipmap=False)
    assert [d.dim_value for d in proto.graph.input[0].type.tensor_type.shape.dim[1:]] == [8, 8, 1]
    label, proba = run(proto, X)
    np.testing.assert_allclose(proba, m.predict_proba(X), **TOL)
    np.testing.assert_array_equal(label, m.predict(X))


def test_transformers():
    X, rng = data(d=8)
    ae = neurocore.NeuralNetAutoencoder([5, 3], epochs=5, random_state=0).fit(X)
    z, = run(neurocore.to_onnx(ae), X)
    np.testing.assert_allclose(z, ae.transform(X), **TOL)
    X01 = rng.uniform(size=(30, 8))
    rbm = neurocore.BernoulliRBM(n_components=4, n_iter=3, random_state=0).fit(X01)
    h, = run(neurocore.to_onnx(rbm), X01)
    np.testing.assert_allclose(h, rbm.transform(X01), **TOL)


def test_file_opset_and_ir_version(tmp_path):
    X, _ = data()
    m = neurocore.MLPRegressor(hidden_layer_sizes=(4,), max_iter=5, random_state=0).fit(X, X[:, 0])
    path = tmp_path / "m.onnx"
    proto = neurocore.to_onnx(m, path=path)
    loaded = onnx.load(path)
    assert loaded.opset_import[0].version == 17
    assert loaded.ir_version == onnx.helper.find_min_ir_version_for(list(proto.opset_import)) == 8
    v18 = neurocore.to_onnx(perturbed(Sequential([Input(shape=(5, 2)), L.GlobalMaxPooling1D()])),
                            target_opset=18)
    assert v18.opset_import[0].version == 18
    out, = run(v18, X[:, :10].reshape(-1, 5, 2))
    np.testing.assert_allclose(out, X[:, :10].reshape(-1, 5, 2).max(axis=1), **TOL)
    with pytest.raises(ValueError, match="target_opset"):
        neurocore.to_onnx(m, target_opset=13)


@pytest.mark.parametrize("cls", [neurocore.MLPClassifier, neurocore.MLPRegressor, neurocore.NeuralNetClassifier,
                                 neurocore.NeuralNetAutoencoder, neurocore.BernoulliRBM])
def test_unfitted_raises_not_fitted(cls):
    with pytest.raises(NotFittedError):
        neurocore.to_onnx(cls())


def test_layer_without_converter_is_named(monkeypatch):
    X, _ = data()
    m = neurocore.MLPRegressor(hidden_layer_sizes=(4,), max_iter=5, random_state=0).fit(X, X[:, 0])
    monkeypatch.delitem(_onnx._CONVERTERS, "dense")
    with pytest.raises(ValueError, match="'dense' cannot be exported"):
        neurocore.to_onnx(m)


def test_not_a_model():
    with pytest.raises(TypeError, match="not a neurocore model"):
        neurocore.to_onnx(object())


# ---------------------------------------------------------------------------
# skl2onnx

def test_skl2onnx_pipeline():
    skl2onnx = pytest.importorskip("skl2onnx")
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    X, rng = data()
    y = rng.randint(0, 3, len(X))
    pipe = make_pipeline(StandardScaler(), neurocore.MLPClassifier(hidden_layer_sizes=(6,), max_iter=30,
                                                                   random_state=0)).fit(X, y)
    proto = skl2onnx.to_onnx(pipe, X[:1].astype(np.float32), options={"zipmap": False})
    label, proba = run(proto, X)
    np.testing.assert_allclose(proba, pipe.predict_proba(X), **TOL)
    np.testing.assert_array_equal(label, pipe.predict(X))
    label, zm = run(skl2onnx.to_onnx(pipe, X[:1].astype(np.float32)), X)  # the default: ZipMap
    np.testing.assert_allclose([[r[c] for c in range(3)] for r in zm], pipe.predict_proba(X), **TOL)

    reg = make_pipeline(StandardScaler(), neurocore.NeuralNetRegressor([5], epochs=5, random_state=0)).fit(
        X, X[:, 0])
    v, = run(skl2onnx.to_onnx(reg, X[:1].astype(np.float32)), X)
    np.testing.assert_allclose(v.ravel(), reg.predict(X), **TOL)
    rbm = make_pipeline(neurocore.BernoulliRBM(n_components=3, n_iter=2, random_state=0)).fit(
        rng.uniform(size=(20, 5)))
    U = rng.uniform(size=(4, 5))
    h, = run(skl2onnx.to_onnx(rbm, U[:1].astype(np.float32)), U)
    np.testing.assert_allclose(h, rbm.transform(U), **TOL)


def test_skl2onnx_registration_is_lazy_and_on_import():
    """Importing neurocore imports no skl2onnx; importing skl2onnx afterwards
    registers every estimator's converter (a fresh interpreter, so no earlier
    import hides the hook)."""
    pytest.importorskip("skl2onnx")
    import subprocess
    import sys
    code = ("import sys, neurocore; assert 'skl2onnx' not in sys.modules; "
            "from skl2onnx._supported_operators import sklearn_operator_name_map as m; "
            "names = sorted(v for k, v in m.items() if k.__module__.startswith('neurocore')); print(names)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "NeurocoreMLPClassifier" in out.stdout and "NeurocoreBernoulliRBM" in out.stdout
    assert out.stdout.count("Neurocore") == 6


def test_keras_export_writes_onnx(tmp_path, capsys):
    model = perturbed(Sequential([Input(shape=(5,)), L.Dense(3, activation="tanh")]))
    proto = model.export(tmp_path / "m.onnx")
    assert "Saved an ONNX model to" in capsys.readouterr().out
    X = np.random.RandomState(0).normal(size=(4, 5)).astype(np.float32)
    out, = run(onnx.load(tmp_path / "m.onnx"), X)
    np.testing.assert_allclose(out, model.predict(X, verbose=0), **TOL)
    assert proto.graph.output[0].name == "output_0"
    with pytest.raises(ValueError, match="format must be 'onnx'"):
        model.export(tmp_path / "m", format="tf_saved_model")
