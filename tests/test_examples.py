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
