"""Results that do not depend on threads or on how many rows a call holds.

The guarantees the README states, on the instruction set in use (CI runs this
file under every NEUROCORE_ISA value): the same data, random_state and
parameters give bit-identical weights at any n_jobs, and predict of a row is
bit-identical whether it comes alone, in a block of 300 or among 10000 rows.
"""

import numpy as np
import pytest
from sklearn.datasets import load_digits

from neurocore import MLPClassifier, MLPRegressor, NeuralNetClassifier, NeuralNetRegressor
from neurocore.keras.layers import BatchNormalization, Dense, Dropout
from neurocore.keras.models import Sequential

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X / 16.0, y


def _estimators(dtype):
    # the configurations whose forward passes differ: narrow outputs (one
    # regression output, softmax over 10), batch norm, deep and wide layers
    return {
        "MLPClassifier": MLPClassifier(hidden_layer_sizes=(128, 64), max_iter=3, random_state=0, dtype=dtype),
        "MLPClassifier-bn": MLPClassifier(hidden_layer_sizes=(40,), max_iter=3, batch_norm=True, dropout=0.2,
                                          random_state=0, dtype=dtype),
        "MLPRegressor": MLPRegressor(hidden_layer_sizes=(128, 64), max_iter=3, random_state=0, dtype=dtype),
        "NeuralNetClassifier": NeuralNetClassifier([Dense(300, activation="tanh"), Dense(17)],
                                                   epochs=2, random_state=0, dtype=dtype),
        "NeuralNetRegressor": NeuralNetRegressor([64, 64], epochs=2, random_state=0, dtype=dtype),
    }


def _outputs(est, X):
    return est.predict_proba(X) if hasattr(est, "predict_proba") else est.predict(X)


def _blocks(f, X, size):
    return np.concatenate([f(X[i:i + size]) for i in range(0, len(X), size)])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", ["MLPClassifier", "MLPClassifier-bn", "MLPRegressor",
                                  "NeuralNetClassifier", "NeuralNetRegressor"])
def test_predict_of_a_row_does_not_depend_on_its_company(digits, dtype, name):
    X, y = digits
    est = _estimators(dtype)[name]
    target = y.astype(float) if "Regressor" in name else y
    est.fit(X, target)
    big = np.concatenate([X] * 6)[:10000]
    rng = np.random.RandomState(0)
    big = big + rng.uniform(0, 0.01, big.shape)  # 10000 distinct rows
    f = lambda x: _outputs(est, x)  # noqa: E731
    full = f(big)
    alone = np.concatenate([f(big[i:i + 1]) for i in range(0, 10000, 37)])
    assert np.array_equal(alone, full[::37])
    assert np.array_equal(_blocks(f, big, 300), full)
    assert np.array_equal(_blocks(f, big, 513), full)  # across predict's 512-row chunks
    # on one thread too
    est.set_params(n_jobs=1)
    assert np.array_equal(f(big), full)


def test_keras_predict_of_a_row_does_not_depend_on_its_company(digits):
    X, y = digits
    model = Sequential([Dense(64, input_dim=64, activation="relu"), BatchNormalization(),
                        Dropout(0.3), Dense(10, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(X, y, epochs=2, batch_size=32, verbose=0)
    full = model.predict(X, verbose=0)
    alone = np.concatenate([model.predict(X[i:i + 1], verbose=0) for i in range(0, len(X), 41)])
    assert np.array_equal(alone, full[::41])
    assert np.array_equal(_blocks(lambda x: model.predict(x, verbose=0), X, 300), full)
    assert np.array_equal(model.predict(X, batch_size=7, verbose=0), full)


def _weights(est):
    if hasattr(est, "_params"):  # the MLPs' flat parameter buffer
        return est._params.copy()
    return np.concatenate([w.ravel() for w in est._net.get_weights()])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", ["MLPClassifier", "MLPClassifier-bn", "MLPRegressor",
                                  "NeuralNetClassifier", "NeuralNetRegressor"])
def test_weights_do_not_depend_on_the_thread_count(digits, dtype, name):
    X, y = digits
    target = y.astype(float) if "Regressor" in name else y
    w = [_weights(_estimators(dtype)[name].set_params(n_jobs=n).fit(X, target)) for n in (1, 2)]
    assert np.array_equal(w[0], w[1])
