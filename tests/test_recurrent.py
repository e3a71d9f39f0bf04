"""Recurrent layers (SimpleRNN, LSTM, GRU, Bidirectional), Embedding, Masking:
forward against a numpy step loop (tests/rnn_reference.py) and PyTorch when it
is installed, gradients through time against central differences (float64),
masking on padded batches, dropout, Keras's weight layouts, the facade and
the estimators, bad input."""

import numpy as np
import pytest

from conftest import check_objective_gradient
from rnn_reference import bidirectional, rnn

import neurocore
import neurocore.keras as nk
from neurocore import NeuralNetClassifier, NeuralNetRegressor, _core
from neurocore.keras import layers as L
from neurocore.keras.preprocessing.sequence import pad_sequences

CELLS = [("simple_rnn", {}), ("lstm", {}), ("gru", {"reset_after": True}), ("gru", {"reset_after": False})]
CELL_IDS = ["simple_rnn", "lstm", "gru_after", "gru_before"]
N, T, F, U = 5, 7, 3, 4


def core_net(layers, input_shape, dtype="float64"):
    return _core.Network(tuple(input_shape), layers, "mean_squared_error", dtype)


def weights_of(net, p, layer):
    """{name: array} of one core layer's variables in the flat vector p."""
    return {v["name"]: p[v["offset"]:v["offset"] + int(np.prod(v["shape"]))].reshape(v["shape"])
            for v in net.variables() if v["layer"] == layer}


def predict(net, p, X):
    return net.predict(p, np.ascontiguousarray(X.reshape(len(X), -1)), 1, net.initial_state(), False)


def rnn_spec(cell, extra, **kw):
    return {"type": cell, "units": U, "activation": "tanh", **extra, **kw}


@pytest.mark.parametrize("cell,extra", CELLS, ids=CELL_IDS)
@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("go_backwards", [False, True])
def test_forward_and_gradient_through_time(cell, extra, return_sequences, go_backwards):
    rng = np.random.RandomState(1)
    X = rng.normal(size=(N, T, F))
    kw = dict(return_sequences=return_sequences, go_backwards=go_backwards)
    net = core_net([rnn_spec(cell, extra, **kw)], (T, F))
    p = rng.normal(size=net.n_params) * 0.5
    W = weights_of(net, p, 0)
    ref = rnn(cell, X, W["kernel"], W["recurrent_kernel"], W.get("bias"), U,
              reset_after=extra.get("reset_after", True), **kw)
    out = predict(net, p, X)
    np.testing.assert_allclose(out.reshape(ref.shape), ref, rtol=0, atol=1e-12)
    check_objective_gradient(net, p, X.reshape(N, -1), rng.normal(size=out.shape))
    # float32: the same layer to 1e-5 (the gates' sigmoid and tanh are the
    # core's float32 arithmetic)
    net32 = core_net([rnn_spec(cell, extra, **kw)], (T, F), "float32")
    out32 = predict(net32, p.astype(np.float32), X.astype(np.float32))
    np.testing.assert_allclose(out32.reshape(ref.shape), ref, rtol=0, atol=1e-5)


@pytest.mark.parametrize("activation,recurrent_activation", [("relu", "hard_sigmoid"), ("linear", "tanh")])
def test_other_activations(activation, recurrent_activation):
    rng = np.random.RandomState(2)
    X = rng.normal(size=(N, T, F))
    for cell in ("lstm", "gru"):
        spec = {"type": cell, "units": U, "activation": activation,
                "recurrent_activation": recurrent_activation}
        net = core_net([spec], (T, F))
        p = rng.normal(size=net.n_params) * 0.3
        W = weights_of(net, p, 0)
        ref = rnn(cell, X, W["kernel"], W["recurrent_kernel"], W["bias"], U, activation=activation,
                  recurrent_activation=recurrent_activation)
        np.testing.assert_allclose(predict(net, p, X), ref, atol=1e-12)
        # hard_sigmoid's kinks: a point away from them
        check_objective_gradient(net, p, X.reshape(N, -1), rng.normal(size=(N, U)))


def _lengths_mask(rng, n=N, steps=T):
    lengths = rng.randint(1, steps + 1, n)
    lengths[0] = steps
    return (np.arange(steps)[None] < lengths[:, None]).astype(float)


@pytest.mark.parametrize("cell,extra", CELLS, ids=CELL_IDS)
@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("go_backwards", [False, True])
def test_masking_layer(cell, extra, return_sequences, go_backwards):
    rng = np.random.RandomState(3)
    mask = _lengths_mask(rng)
    X = rng.normal(size=(N, T, F)) * mask[..., None]
    kw = dict(return_sequences=return_sequences, go_backwards=go_backwards)
    layers = [{"type": "masking", "mask_value": 0.0}, rnn_spec(cell, extra, **kw)]
    if return_sequences:  # a per-step Dense passes the mask on (and reads none)
        layers.append({"type": "dense", "units": 2})
    net = core_net(layers, (T, F))
    p = rng.normal(size=net.n_params) * 0.5
    W = weights_of(net, p, 1)
    ref = rnn(cell, X, W["kernel"], W["recurrent_kernel"], W.get("bias"), U, mask=mask,
              reset_after=extra.get("reset_after", True), **kw)
    if return_sequences:
        D = weights_of(net, p, 2)
        ref = ref @ D["kernel"] + D["bias"]
    out = predict(net, p, X)
    np.testing.assert_allclose(out.reshape(ref.shape), ref, atol=1e-12)
    check_objective_gradient(net, p, X.reshape(N, -1), rng.normal(size=out.shape))


@pytest.mark.parametrize("cell,extra", CELLS, ids=CELL_IDS)
@pytest.mark.parametrize("merge_mode", ["concat", "sum", "mul", "ave"])
@pytest.mark.parametrize("return_sequences", [False, True])
def test_bidirectional_over_masked_embeddings(cell, extra, merge_mode, return_sequences):
    rng = np.random.RandomState(4)
    V = 9
    mask = _lengths_mask(rng)
    tokens = rng.randint(1, V, (N, T)) * mask.astype(int)
    spec = {"type": "bidirectional", "layer": cell, "units": U, "activation": "tanh",
            "merge_mode": merge_mode, "return_sequences": return_sequences, **extra}
    net = core_net([{"type": "embedding", "input_dim": V, "output_dim": F, "mask_zero": True}, spec], (T,))
    p = rng.normal(size=net.n_params) * 0.5
    E = weights_of(net, p, 0)["embeddings"]
    W = weights_of(net, p, 1)
    fw = tuple(W.get(f"forward_{k}") for k in ("kernel", "recurrent_kernel", "bias"))
    bw = tuple(W.get(f"backward_{k}") for k in ("kernel", "recurrent_kernel", "bias"))
    ref = bidirectional(cell, E[tokens], fw, bw, U, merge_mode=merge_mode,
                        return_sequences=return_sequences, mask=mask,
                        reset_after=extra.get("reset_after", True))
    out = predict(net, p, tokens.astype(float))
    np.testing.assert_allclose(out.reshape(ref.shape), ref, atol=1e-12)
    check_objective_gradient(net, p, tokens.astype(float), rng.normal(size=out.shape))


@pytest.mark.parametrize("padding", ["pre", "post"])
@pytest.mark.parametrize("cell", ["lstm", "gru", "simple_rnn"])
def test_padded_batch_equals_each_sequence_alone(padding, cell):
    """Sequences of different lengths padded into one batch (Embedding with
    mask_zero) give what each gives alone, unpadded, through the same weights."""
    rng = np.random.RandomState(5)
    V, steps = 20, 9
    seqs = [list(rng.randint(1, V, n)) for n in (9, 4, 1, 6)]
    X = pad_sequences(seqs, maxlen=steps, padding=padding)
    layers = lambda: [L.Embedding(V, 3, mask_zero=True), L.Bidirectional({"lstm": L.LSTM, "gru": L.GRU,
                      "simple_rnn": L.SimpleRNN}[cell](4)), L.Dense(2)]
    np.random.seed(0)
    model = nk.Sequential([L.InputLayer(shape=(steps,))] + layers())
    model.compile("adam", "mse")
    batch = model.predict(X, verbose=0)
    for i, s in enumerate(seqs):
        alone = nk.Sequential([L.InputLayer(shape=(len(s),))] + layers())
        alone.compile("adam", "mse")
        alone.set_weights(model.get_weights())
        np.testing.assert_allclose(alone.predict(np.array([s]), verbose=0)[0], batch[i], atol=1e-6)


@pytest.mark.parametrize("cell,extra", CELLS, ids=CELL_IDS)
@pytest.mark.parametrize("recurrent_dropout", [0.0, 0.3])
def test_dropout_gradient_and_inference(cell, extra, recurrent_dropout):
    """dropout (one input mask per sample for every step; with recurrent
    dropout one mask per gate, as Keras's implementation 1) is in the gradient,
    and absent at inference."""
    rng = np.random.RandomState(6)
    X = rng.normal(size=(N, T, F))
    spec = rnn_spec(cell, extra, dropout=0.4, recurrent_dropout=recurrent_dropout, return_sequences=True)
    net = core_net([spec], (T, F))
    plain = core_net([rnn_spec(cell, extra, return_sequences=True)], (T, F))
    p = rng.normal(size=net.n_params) * 0.5
    Y = rng.normal(size=(N, T * U))
    check_objective_gradient(net, p, X.reshape(N, -1), Y)
    np.testing.assert_array_equal(predict(net, p, X), predict(plain, p, X))
    g = np.empty_like(p)
    dropped = net.objective(p, X.reshape(N, -1), Y, None, 0.0, 1.0, g, 1, 3)[0]
    kept = plain.objective(p, X.reshape(N, -1), Y, None, 0.0, 1.0, g, 1, 3)[0]
    assert dropped != kept


def test_penalties_and_constraints_of_every_kernel():
    rng = np.random.RandomState(7)
    X = rng.normal(size=(N, T, F))
    spec = rnn_spec("gru", {"reset_after": True}, kernel_l2=0.1, recurrent_l1=0.05, recurrent_l2=0.2,
                    bias_l2=0.3)
    net = core_net([spec], (T, F))
    p = rng.normal(size=net.n_params) * 0.5
    check_objective_gradient(net, p, X.reshape(N, -1), rng.normal(size=(N, U)))
    g = np.empty_like(p)
    with_pen = net.objective(p, X.reshape(N, -1), np.zeros((N, U)), None, 0.0, 1.0, g, 1, 0)[0]
    plain = core_net([rnn_spec("gru", {"reset_after": True})], (T, F))
    without = plain.objective(p, X.reshape(N, -1), np.zeros((N, U)), None, 0.0, 1.0, g, 1, 0)[0]
    W = weights_of(net, p, 0)
    expected = (0.1 * (W["kernel"] ** 2).sum() + 0.05 * np.abs(W["recurrent_kernel"]).sum()
                + 0.2 * (W["recurrent_kernel"] ** 2).sum() + 0.3 * (W["bias"] ** 2).sum())
    np.testing.assert_allclose(with_pen - without, expected, rtol=1e-10)


def _torch_weights(cell, W, u):
    """Keras's weights in PyTorch's layout: transposed, GRU's gates (z, r, h) as
    (r, z, n), the recurrent bias apart."""
    k, r, b = W
    if cell == "gru":
        order = np.r_[u:2 * u, 0:u, 2 * u:3 * u]
        return k.T[order], r.T[order], b[0][order], b[1][order]
    return k.T, r.T, b, np.zeros_like(b)


@pytest.mark.parametrize("cell", ["simple_rnn", "lstm", "gru"])
@pytest.mark.parametrize("bidi", [False, True])
def test_matches_pytorch(cell, bidi):
    torch = pytest.importorskip("torch")
    rng = np.random.RandomState(8)
    n, steps, f, u = 6, 11, 5, 7
    X = rng.normal(size=(n, steps, f)).astype(np.float32)
    inner = {"type": cell, "units": u, "activation": "tanh", "return_sequences": True}
    spec = {**inner, "type": "bidirectional", "layer": cell} if bidi else inner
    net = core_net([spec], (steps, f), "float32")
    p = (rng.normal(size=net.n_params) * 0.4).astype(np.float32)
    out = predict(net, p, X).reshape(n, steps, -1)
    Wd = weights_of(net, p, 0)
    cls = {"simple_rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cell]
    mod = cls(f, u, batch_first=True, bidirectional=bidi)
    with torch.no_grad():
        for d, prefix in enumerate(["forward_", "backward_"] if bidi else [""]):
            names = ("kernel", "recurrent_kernel", "bias")
            wih, whh, bih, bhh = _torch_weights(cell, [Wd[prefix + k] for k in names], u)
            sfx = "_reverse" if d else ""
            for name, v in (("weight_ih_l0", wih), ("weight_hh_l0", whh), ("bias_ih_l0", bih), ("bias_hh_l0", bhh)):
                getattr(mod, name + sfx).copy_(torch.from_numpy(np.ascontiguousarray(v)))
        ref = mod(torch.from_numpy(X))[0].numpy()
    np.testing.assert_allclose(out, ref, atol=1e-5)


def test_keras_weight_layouts_and_initializers():
    np.random.seed(0)
    model = nk.Sequential([L.Input(shape=(6, 3)), L.LSTM(5, return_sequences=True),
                           L.GRU(4, return_sequences=True), L.GRU(2, reset_after=False, return_sequences=True),
                           L.Bidirectional(L.SimpleRNN(3))])
    model.compile("adam", "mse")
    shapes = [w.shape for w in model.get_weights()]
    assert shapes == [(3, 20), (5, 20), (20,), (5, 12), (4, 12), (2, 12), (4, 6), (2, 6), (6,),
                      (2, 3), (3, 3), (3,), (2, 3), (3, 3), (3,)]
    w = model.get_weights()
    lstm_bias = w[2]
    np.testing.assert_array_equal(lstm_bias, np.r_[np.zeros(5), np.ones(5), np.zeros(10)])  # unit_forget_bias
    R = w[1]
    np.testing.assert_allclose(R @ R.T, np.eye(5), atol=1e-6)  # orthogonal rows (float32)
    # set_weights takes them back in the same order
    new = [np.random.normal(size=a.shape).astype(np.float32) for a in w]
    model.set_weights(new)
    for a, b in zip(model.get_weights(), new):
        np.testing.assert_array_equal(a, b)


def test_stacked_lstm_facade_summary_save_load(tmp_path, capsys):
    rng = np.random.RandomState(9)
    X = rng.normal(size=(64, 10, 3)).astype(np.float32)
    y = (X[:, :, 0].sum(1) > 0).astype(int)
    np.random.seed(1)
    model = nk.Sequential([L.Input(shape=(10, 3)), L.LSTM(64, return_sequences=True), L.LSTM(32),
                           L.Dense(2, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    hist = model.fit(X, y, epochs=5, batch_size=16, verbose=0)
    assert hist.history["loss"][-1] < hist.history["loss"][0]
    model.summary()
    text = capsys.readouterr().out
    assert "(None, 10, 64)" in text and "(None, 32)" in text and "17,408" in text  # 4*64*(3+64+1)
    path = tmp_path / "lstm.keras"
    model.save(path)
    again = nk.load_model(path)
    np.testing.assert_array_equal(again.predict(X, verbose=0), model.predict(X, verbose=0))


def test_bad_input_fails_early_and_clearly():
    with pytest.raises(ValueError, match="LSTM expects samples of shape \\(timesteps, features\\)"):
        nk.Sequential([L.Input(shape=(8,)), L.LSTM(4)]).compile("adam", "mse") or \
            nk.Sequential([L.Input(shape=(8,)), L.LSTM(4)]).build()
    with pytest.raises(ValueError, match="Bidirectional wraps a recurrent layer"):
        L.Bidirectional(L.Dense(3))
    with pytest.raises(ValueError, match="recurrent_dropout must be in"):
        L.GRU(3, recurrent_dropout=1.0)
    with pytest.raises(ValueError, match="return_state=True is not supported"):
        L.LSTM(3, return_state=True)
    with pytest.raises(ValueError, match="activation 'gelu' is not supported in a recurrent cell"):
        core_net([{"type": "lstm", "units": 3, "activation": "gelu"}], (4, 2))
    rng = np.random.RandomState(10)
    tokens = rng.randint(0, 10, (20, 5))
    model = nk.Sequential([L.Embedding(10, 4, input_length=5), L.GRU(3), L.Dense(1)])
    model.compile("adam", "mse")
    with pytest.raises(ValueError, match="token id 10 is outside \\[0, input_dim = 10\\)"):
        model.fit(np.where(tokens == 3, 10, tokens), np.zeros(20), verbose=0)
    with pytest.raises(ValueError, match="integer token ids, got dtype float64"):
        model.predict(tokens.astype(float), verbose=0)
    with pytest.raises(ValueError, match="token id -1"):
        NeuralNetRegressor([L.Embedding(10, 4), L.LSTM(2)], epochs=1).fit(tokens - 1, np.zeros(20))
    seq = rng.normal(size=(20, 5, 2))
    seq[3, 2, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        NeuralNetRegressor([L.LSTM(2)], epochs=1).fit(seq, np.zeros(20))
    with pytest.raises(ValueError, match="expecting 5 features|per-sample shape"):
        NeuralNetRegressor([L.LSTM(2)], epochs=1).fit(rng.normal(size=(20, 5, 2)), np.zeros(20)).predict(
            rng.normal(size=(20, 4, 2)))


@pytest.mark.parametrize("recurrent", [
    lambda: L.Bidirectional(L.GRU(8, dropout=0.2)),
    lambda: L.LSTM(48),  # 48 units at batch 32: dh_prev's rows shared among the threads
], ids=["bigru-dropout", "lstm48"])
def test_deterministic_at_any_threads_and_rows_per_call(recurrent):
    rng = np.random.RandomState(11)
    X = rng.randint(1, 50, (400, 12))
    X[::3, :4] = 0  # padded
    y = (X[:, :4].sum(1) > 100).astype(int)
    fits = []
    for n_jobs in (1, 2):
        clf = NeuralNetClassifier([L.Embedding(50, 16, mask_zero=True), recurrent(),
                                   L.Dense(4, activation="relu")], epochs=3, batch_size=32, n_jobs=n_jobs,
                                  random_state=0, dtype="float32")
        fits.append(clf.fit(X, y))
    for a, b in zip(fits[0]._net.get_weights(), fits[1]._net.get_weights()):
        np.testing.assert_array_equal(a, b)
    full = fits[0].predict_proba(X)
    parts = np.concatenate([fits[0].predict_proba(X[i:i + 7]) for i in range(0, len(X), 7)])
    np.testing.assert_array_equal(full, parts)


def test_estimators_on_sequences_and_tokens(tmp_path):
    from sklearn.model_selection import GridSearchCV

    rng = np.random.RandomState(12)
    X = rng.normal(size=(240, 8, 2))
    y = X[:, :, 0].sum(1) - X[:, -1, 1]
    reg = NeuralNetRegressor([L.GRU(8)], epochs=30, random_state=0)
    reg.fit(X, y)
    assert reg.history_["loss"][-1] < reg.history_["loss"][0]
    gs = GridSearchCV(NeuralNetRegressor([L.SimpleRNN(4)], epochs=3, random_state=0),
                      {"batch_size": [16, 64]}, cv=2).fit(X, y)
    assert gs.best_params_["batch_size"] in (16, 64)
    before = reg.predict(X)
    reg.partial_fit(X, y)
    assert not np.array_equal(before, reg.predict(X))
    path = tmp_path / "reg.nc"
    reg.save(path)
    np.testing.assert_array_equal(neurocore.load(path).predict(X), reg.predict(X))
    tokens = rng.randint(1, 30, (240, 10))
    labels = (tokens[:, -1] > 15).astype(int)
    clf = NeuralNetClassifier([L.Embedding(30, 8), L.LSTM(8)], epochs=5, random_state=0).fit(tokens, labels)
    assert set(clf.predict(tokens)) <= {0, 1}
    assert clf.predict_proba(tokens).shape == (240, 2)


def test_pad_sequences_as_keras():
    seqs = [[1, 2, 3], [4], [5, 6, 7, 8, 9]]
    np.testing.assert_array_equal(pad_sequences(seqs, maxlen=4),
                                  [[0, 1, 2, 3], [0, 0, 0, 4], [6, 7, 8, 9]])
    np.testing.assert_array_equal(pad_sequences(seqs, maxlen=4, padding="post", truncating="post", value=-1),
                                  [[1, 2, 3, -1], [4, -1, -1, -1], [5, 6, 7, 8]])
    assert pad_sequences(seqs).shape == (3, 5) and pad_sequences(seqs).dtype == np.int32
    assert pad_sequences([[[1.0, 2.0]], [[3.0, 4.0], [5.0, 6.0]]], dtype="float32").shape == (2, 2, 2)
    with pytest.raises(ValueError, match="Padding type"):
        pad_sequences(seqs, padding="middle")
    from neurocore.keras.utils import pad_sequences as from_utils

    assert from_utils is pad_sequences
