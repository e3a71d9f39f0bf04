"""Keras's progress display: the bar within each epoch in a terminal (fed by
the C++ batch loop), one line per epoch otherwise, clean logs, evaluate and
predict honouring verbose, silent estimators by default."""

import io
import re

import numpy as np
import pytest

import neurocore
from neurocore import _engine, _progress
from neurocore.keras.layers import Dense, Input
from neurocore.keras.models import Sequential

CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")  # anything but \t and \n


class Terminal(io.StringIO):
    def isatty(self):
        return True


def model():
    m = Sequential([Input(shape=(4,)), Dense(8, activation="relu"), Dense(1, activation="sigmoid")])
    m.compile("adam", "binary_crossentropy", metrics=["accuracy"])
    return m


def data(n=64):
    X = np.random.RandomState(0).normal(size=(n, 4)).astype(np.float32)
    return X, (X[:, 0] > 0).astype(np.float32)


@pytest.mark.parametrize("seconds, text", [(0.7, "700ms"), (0.0004, "400us"), (3.24, "3.2s"), (42.4, "42s"),
                                           (125, "2m05s"), (3720, "1h02m")])
def test_durations_keep_their_digits(seconds, text):
    assert _progress.format_duration(seconds) == text


@pytest.mark.parametrize("seconds, text", [(0.0052, "5ms/step"), (0.00004, "40us/step"), (2.0, "2s/step")])
def test_time_per_step_as_keras(seconds, text):
    assert _progress.format_per_step(seconds) == text


@pytest.mark.parametrize("verbose", [1, 2])
def test_log_output_is_one_clean_line_per_epoch(capsys, verbose):
    X, y = data()
    model().fit(X, y, epochs=3, batch_size=16, verbose=verbose, validation_split=0.25)
    out = capsys.readouterr().out
    assert not CONTROL.search(out), repr(out)
    lines = out.splitlines()
    assert [ln for ln in lines if ln.startswith("Epoch")] == ["Epoch 1/3", "Epoch 2/3", "Epoch 3/3"]
    finals = [ln for ln in lines if not ln.startswith("Epoch")]
    assert len(finals) == 3
    for ln in finals:
        assert ln.startswith("3/3")  # 48 training rows in batches of 16
        assert re.search(r"\d+(us|ms)/step", ln) and "loss: " in ln and "val_accuracy: " in ln
        assert not re.search(r" 0s ", ln)  # a short epoch is not rounded to 0s


def test_single_epoch_has_no_epoch_header(capsys):
    X, y = data()
    model().fit(X, y, epochs=1, verbose=2)
    out = capsys.readouterr().out
    assert "Epoch" not in out and out.count("\n") == 1


def test_silent_when_verbose_0_and_estimators_silent_by_default(capsys):
    X, y = data()
    model().fit(X, y, epochs=2, verbose=0)
    neurocore.NeuralNetClassifier([4], epochs=2, random_state=0).fit(X, y)
    assert capsys.readouterr().out == ""


def test_terminal_bar_redrawn_from_the_batch_loop(monkeypatch):
    term = Terminal()
    monkeypatch.setattr("sys.stdout", term)
    monkeypatch.setattr(_engine, "PROGRESS_INTERVAL", 0.0)  # every batch calls back
    monkeypatch.setattr(_progress.Progbar, "__init__", _with_interval(_progress.Progbar.__init__, 0.0))
    X, y = data(80)
    model().fit(X, y, epochs=2, batch_size=16, verbose=1)
    out = term.getvalue()
    epochs = out.split("Epoch ")[1:]
    assert len(epochs) == 2
    for text in epochs:
        draws = text.split("\r")[1:]
        steps = [int(re.match(r"(?:\x1b\[1m)?\s*(\d+)/5", d).group(1)) for d in draws]
        assert steps == [1, 2, 3, 4, 5]  # the loop's steps, then the finished line
        assert "ETA" in draws[0] and "ETA" not in draws[-1] and draws[-1].endswith("\n")
        assert "\x1b[32m" in draws[-1]  # the bar, coloured
        assert all("loss: " in d and "accuracy: " in d for d in draws)


def _with_interval(init, interval):
    def wrapped(self, *args, **kwargs):
        init(self, *args, **kwargs)
        self.interval = interval
    return wrapped


def test_running_loss_in_the_bar_is_the_epochs_mean_so_far(monkeypatch):
    """The last redraw before the end shows the mean loss of the batches so far;
    the finished line the epoch's loss (what History records)."""
    term = Terminal()
    monkeypatch.setattr("sys.stdout", term)
    monkeypatch.setattr(_engine, "PROGRESS_INTERVAL", 0.0)
    monkeypatch.setattr(_progress.Progbar, "__init__", _with_interval(_progress.Progbar.__init__, 0.0))
    X, y = data(64)
    m = model()
    hist = m.fit(X, y, epochs=1, batch_size=64 // 4, verbose=1, shuffle=False)
    final = term.getvalue().split("\r")[-1]
    assert f"loss: {hist.history['loss'][0]:.4f}" in final


def test_evaluate_and_predict_honour_verbose(capsys):
    X, y = data(100)
    m = model()
    m.fit(X, y, epochs=1, verbose=0)
    m.evaluate(X, y, verbose=0)
    m.predict(X, verbose=0)
    assert capsys.readouterr().out == ""
    m.evaluate(X, y, batch_size=10)
    m.predict(X)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("10/10") and "loss: " in lines[0] and "accuracy: " in lines[0]
    assert lines[1].startswith("4/4") and "loss" not in lines[1]
    assert not CONTROL.search("".join(lines))


def test_bar_falls_back_to_ascii_where_the_stream_cannot_write_it():
    class Ascii(io.StringIO):
        encoding = "ascii"
    stream = Ascii()
    _progress.Progbar(3, stream=stream).update(3, [("loss", 0.5)], finalize=True)
    assert stream.getvalue().startswith("3/3 ====================")
