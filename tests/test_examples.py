"""Every code example of SEEDS.md runs (examples/) and reaches what the texts describe."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _run(name):
    out = subprocess.run([sys.executable, str(EXAMPLES / name)], capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, out.stderr
    return out.stdout


def _number(text, label):
    return float(re.search(re.escape(label) + r"\s*([-0-9.]+)", text).group(1))


def test_text1_examples_learn_the_sum_rule():
    out = _run("text1_keras_from_nothing.py")
    assert _number(out, "example 1 accuracy on 200 fresh samples:") >= 0.9
    assert _number(out, "example 2 accuracy on 200 fresh samples:") >= 0.9


def test_text2_remedies_all_train():
    out = _run("text2_improvements.py")
    assert out.count("test accuracy=") == 8
    assert _number(out, "lowest test accuracy:") >= 0.9


def test_text3_techniques_all_train():
    out = _run("text3_getting_started.py")
    assert _number(out, "argmin of x^2 + x found by gradient descent:") == pytest.approx(-0.5, abs=1e-3)
    assert len(re.findall(r"error rate \d", out)) == 15
    assert _number(out, "highest error rate:") <= 0.1


def test_out_of_core_streams_a_memory_mapped_file():
    out = subprocess.run([sys.executable, str(EXAMPLES / "out_of_core.py"), "--rows", "60000",
                          "--chunk", "5000", "--epochs", "2"], capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, out.stderr
    assert _number(out.stdout, "test accuracy:") >= 0.8
    peak = _number(out.stdout, "peak memory allocated while training:")
    file_mib = _number(out.stdout, "(file")
    chunk_mib = _number(out.stdout, "one chunk")
    assert peak < chunk_mib < file_mib / 10  # one chunk at a time, never the file


def test_grid_search_runs_on_a_local_dask_cluster():
    pytest.importorskip("dask_ml")
    pytest.importorskip("distributed")
    out = _run("grid_search_dask.py")
    assert "2 worker processes; neurocore threads per worker: [1]" in out
    assert re.search(r"grid search: 36 fits in [0-9.]+ s on [12] workers", out)
    # 0.964 on every path; 450 test rows (standard error 0.009)
    assert _number(out, "test accuracy of the refitted best model:") >= 0.93
    assert _number(out, "test accuracy") >= 0.9  # Incremental's line
    assert "predicted 45000 rows in 9 blocks" in out


def test_keras_mnist_convnet_runs_with_its_imports_changed():
    out = _run("keras_mnist_convnet.py")
    assert "conv2d" in out and "(None, 5, 5, 64)" in out  # summary(), Keras's shapes
    # 397 test digits (standard error about 0.015); it measured 0.917
    assert _number(out, "Test accuracy:") >= 0.8


def test_cnn1d_on_generated_sequences():
    out = _run("cnn1d_sequences.py")
    # 600 test sequences of ten classes (chance 0.1); both measured above 0.95
    assert _number(out, "Keras facade test accuracy:") >= 0.8
    assert _number(out, "estimator test accuracy:") >= 0.8


def test_recurrent_sequence_classifier_on_padded_reviews():
    out = _run("sequence_classifier.py")
    assert "(None, 40, 16)" in out and "bidirectional (Bidirectional)" in out
    # 1000 test reviews (chance 0.5); both measured 0.931
    assert _number(out, "Keras facade test accuracy:") >= 0.8
    assert _number(out, "estimator test accuracy:") >= 0.8


def test_next_step_regression_beats_persistence():
    out = _run("next_step_regression.py")
    assert "prediction shape: (238, 50, 1)" in out
    # measured 0.014 against persistence's 0.045 (the noise alone is 0.010)
    assert _number(out, "LSTM test MSE:") < 0.7 * _number(out, "persistence test MSE:")


def test_autoencoder_beats_pca_on_the_same_code_size():
    out = _run("autoencoder_vs_pca.py")
    # 540 test digits; measured 0.54 and 0.50 (the ratio of the two test MSEs)
    assert _number(out, "code size 4: autoencoder MSE / PCA MSE:") < 0.85
    assert _number(out, "code size 8: autoencoder MSE / PCA MSE:") < 0.85
    assert "encoder codes shape: (540, 8)" in out and "input_layer (InputLayer)" in out
    assert _number(out, "functional autoencoder test MSE:") < 0.03


def test_augmentation_raises_accuracy_on_moved_digits():
    out = _run("augmentation_digits.py")
    # 719 moved test digits; measured 0.284 without augmentation, 0.839 with
    without = _number(out, "moved test digits, accuracy without augmentation:")
    with_aug = _number(out, "moved test digits, accuracy with augmentation:")
    assert with_aug > without + 0.2
