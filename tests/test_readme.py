"""The README's usage example runs as written."""

import importlib.util
import re
from pathlib import Path

import numpy as np
import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_readme_usage_example_runs(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the examples write files
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    assert len(blocks) >= 3, "the README's Python examples are missing"
    np.random.seed(0)  # the Keras example draws its data from numpy's global stream, as the text does
    for block in blocks:
        exec(compile(block, str(README), "exec"), {"__name__": "__main__"})
    out = capsys.readouterr().out
    # the digits figures come from 450 test rows (standard error about 0.009):
    # measured 0.971, 0.951 and 0.969 on every instruction-set path, so each
    # margin is 2 to 4 standard errors below what a correct model reaches
    accuracy = float(re.search(r"test accuracy: ([0-9.]+)", out).group(1))
    assert accuracy > 0.93
    assert "best alpha:" in out
    assert float(re.search(r"final accuracy: ([0-9.]+)", out).group(1)) > 0.9
    assert float(re.search(r"held-out accuracy: ([0-9.]+)", out).group(1)) > 0.91
    assert float(re.search(r"MLP with extras: ([0-9.]+)", out).group(1)) > 0.93
    assert float(re.search(r"streamed accuracy: ([0-9.]+)", out).group(1)) > 0.9
    # 3-fold cross-validation on all 1797 digits (600 test rows a fold)
    assert float(re.search(r"images, 3-fold accuracy: ([0-9.]+)", out).group(1)) > 0.85
    # 450 test digits: the autoencoder's error measured at about half PCA's
    ae_mse = float(re.search(r"autoencoder test MSE: ([0-9.]+)", out).group(1))
    assert ae_mse < 0.85 * float(re.search(r"PCA test MSE: ([0-9.]+)", out).group(1))
    assert float(re.search(r"logistic regression on 4 codes: ([0-9.]+)", out).group(1)) > 0.75
    assert "codes: (1797, 16) reconstructions: (1797, 64)" in out
    assert float(re.search(r"augmented, 3-fold accuracy: ([0-9.]+)", out).group(1)) > 0.8
    assert "ONNX Runtime agrees with predict: True" in out
    assert "outputs: ['output_label', 'output_probability']" in out
    assert (tmp_path / "training_curve.png").stat().st_size > 10000  # the block says it writes it
    if importlib.util.find_spec("dask_ml") is not None:
        assert re.search(r"best on the cluster: \{'alpha': [0-9.e-]+, 'hidden_layer_sizes'", out)
