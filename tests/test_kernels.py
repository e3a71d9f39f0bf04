"""The matrix kernels of every instruction set, and the guarantees they give.

Every product of the core runs on one register-tiled kernel per instruction set
(AVX-512, AVX2 + FMA, portable). These tests call it directly
(``_core._gemm``) on the instruction set in use, which ``NEUROCORE_ISA`` caps:
CI runs this file under each value. The cross-set tests start one process per
set the CPU has.
"""

import itertools
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from neurocore import _core

ORDER = ["generic", "avx2", "avx512"]


def _available_sets():
    detected = _core.isa_info()["detected"]
    return ORDER[: ORDER.index(detected) + 1]


def _gemm(ta, tb, a, b, c, alpha, beta, threads):
    _core._gemm(ta, tb, a, b, c, alpha, beta, threads)
    return c


# shapes (m, n, k) that reach every tile and edge: one row, one column, a partial
# vector, 12-row and 6-row tiles and 1..5-row remainders, k past one 256-block,
# op(B) past one packed block (512 / 256 / 128 columns by set and dtype),
# products small enough to be read in place
# products small enough to be read in place, and outputs 1-4 columns wide (dot
# products along k where a vector holds 4 outputs or more), with k a multiple of
# the vector width or not
SHAPES = [(1, 1, 1), (1, 10, 64), (7, 1, 300), (13, 17, 5), (64, 128, 64), (100, 530, 600),
          (256, 10, 64), (5, 33, 257), (97, 45, 513), (300, 1, 64), (31, 64, 17), (12, 8, 3),
          (19, 16, 40), (50, 3, 70), (33, 2, 17), (9, 4, 129), (6, 2, 64), (5, 4, 1),
          (600, 40, 200)]  # the last: more rows than columns, split by rows over threads


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("form", ["nn", "tn", "nt"])
@pytest.mark.parametrize("threads", [1, 2])
def test_products_match_numpy(dtype, form, threads):
    """c = alpha * op(a) @ op(b) + beta * c for every form, shape class and beta,
    against numpy in float64, to the rounding the dtype and k allow."""
    rng = np.random.RandomState(len(form) + threads)
    ta, tb = form == "tn", form == "nt"
    tol = (2e-6 if dtype == np.float32 else 1e-14)
    for (m, n, k), beta in itertools.product(SHAPES, [0.0, 1.0, 0.5]):
        a = (rng.randn(k, m) if ta else rng.randn(m, k)).astype(dtype)
        b = (rng.randn(n, k) if tb else rng.randn(k, n)).astype(dtype)
        c0 = rng.randn(m, n).astype(dtype)
        c = _gemm(ta, tb, a, b, c0.copy(), 1.5, beta, threads)
        ref = 1.5 * ((a.T if ta else a).astype(np.float64) @ (b.T if tb else b).astype(np.float64))
        ref += beta * c0
        # the bound of a sum of k products in the dtype's precision
        scale = np.abs(a).max() * np.abs(b).max() * k + np.abs(c0).max()
        assert np.abs(c - ref).max() <= tol * scale, (m, n, k, beta)


def test_beta_zero_ignores_what_c_held():
    """beta = 0 overwrites c: NaN left in the output buffer never leaks in."""
    rng = np.random.RandomState(1)
    a, b = rng.randn(20, 30).astype(np.float32), rng.randn(30, 40).astype(np.float32)
    c = np.full((20, 40), np.nan, np.float32)
    _gemm(False, False, a, b, c, 1.0, 0.0, 1)
    np.testing.assert_allclose(c, a @ b, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("k, n", [(64, 1), (70, 3), (64, 10), (64, 128), (600, 530), (784, 256)])
def test_a_row_is_the_same_alone_or_among_others(dtype, k, n):
    """Each element of c is one sum in one order: a row's result is bit-identical
    whether it is computed alone, in a block of 300, or among 1000 rows on two
    threads, and whatever the row's position in its tile."""
    rng = np.random.RandomState(k + n)
    a = rng.randn(1000, k).astype(dtype)
    b = rng.randn(k, n).astype(dtype)
    full = _gemm(False, False, a, b, np.zeros((1000, n), dtype), 1.0, 0.0, 2)
    for r0, r1 in [(0, 1), (5, 6), (0, 300), (300, 600), (17, 999), (994, 1000)]:
        part = _gemm(False, False, np.ascontiguousarray(a[r0:r1]), b,
                     np.zeros((r1 - r0, n), dtype), 1.0, 0.0, 1)
        assert np.array_equal(part, full[r0:r1]), (r0, r1)


def test_nan_and_infinity_propagate():
    """A NaN or infinity in an operand reaches the rows it touches and no other."""
    a = np.ones((8, 4), np.float32)
    b = np.ones((4, 20), np.float32)
    a[3, 1] = np.nan
    b[2, 7] = np.inf
    c = _gemm(False, False, a, b, np.zeros((8, 20), np.float32), 1.0, 0.0, 1)
    assert np.isnan(c[3]).all()
    others = np.delete(c, 3, axis=0)
    assert np.isinf(others[:, 7]).all() and np.isfinite(np.delete(others, 7, axis=1)).all()


def test_isa_info_names_what_runs():
    info = _core.isa_info()
    assert info["isa"] in ORDER and info["detected"] in ORDER
    assert ORDER.index(info["isa"]) <= ORDER.index(info["detected"])
    cap = os.environ.get("NEUROCORE_ISA")
    if cap:
        assert info["isa"] == ORDER[min(ORDER.index(cap), ORDER.index(info["detected"]))]
    else:
        assert info["isa"] == info["detected"]


def test_unknown_isa_is_refused_at_import():
    env = dict(os.environ, NEUROCORE_ISA="sse9")
    r = subprocess.run([sys.executable, "-c", "import neurocore"], env=env, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode != 0
    assert "NEUROCORE_ISA='sse9' is not one of 'avx512', 'avx2', 'generic'" in r.stderr


_RUN_ON_A_SET = r"""
import json, sys
import numpy as np
from neurocore import MLPClassifier, _core
from sklearn.datasets import load_digits
X, y = load_digits(return_X_y=True)
X = X / 16.0
out = {"isa": _core.isa_info()["isa"]}
for dtype in ("float32", "float64"):
    clf = MLPClassifier(hidden_layer_sizes=(128, 64), max_iter=3, random_state=0, dtype=dtype)
    clf.fit(X, y)
    out[dtype] = {"coef": [c.tolist() for c in clf.coefs_], "proba": clf.predict_proba(X).tolist()}
    # one forward pass of fixed weights: the products alone
    rng = np.random.RandomState(1)
    a = rng.randn(200, 300).astype(dtype); b = rng.randn(300, 70).astype(dtype)
    c = np.zeros((200, 70), dtype)
    _core._gemm(False, False, a, b, c, 1.0, 0.0, 1)
    out[dtype]["product"] = c.tolist()
json.dump(out, sys.stdout)
"""


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_instruction_sets_agree_to_rounding():
    """Every set the CPU has, in its own process: the same product agrees to
    float rounding (relative 1e-5 in float32, 1e-13 in float64), and three
    epochs of training agree to 1e-3 (float32) and 1e-10 (float64) of the
    largest weight, and so do the probabilities: the sets differ only in how
    each sum is rounded (fused or separate multiply-adds), never in what is
    summed."""
    results = {}
    for isa in _available_sets():
        env = dict(os.environ, NEUROCORE_ISA=isa)
        r = subprocess.run([sys.executable, "-c", _RUN_ON_A_SET], env=env, capture_output=True,
                           text=True, timeout=300, check=True)
        results[isa] = json.loads(r.stdout)
        assert results[isa]["isa"] == isa
    if len(results) < 2:
        pytest.skip("this CPU has only the portable instruction set")
    base = results["generic"]
    for isa, res in results.items():
        for dtype, prod_tol, fit_tol in (("float32", 1e-5, 1e-3), ("float64", 1e-13, 1e-10)):
            p0, p1 = np.array(base[dtype]["product"]), np.array(res[dtype]["product"])
            np.testing.assert_allclose(p1, p0, rtol=0, atol=prod_tol * np.abs(p0).max())
            for c0, c1 in zip(base[dtype]["coef"], res[dtype]["coef"]):
                c0, c1 = np.array(c0), np.array(c1)
                np.testing.assert_allclose(c1, c0, rtol=0, atol=fit_tol * np.abs(c0).max())
            np.testing.assert_allclose(np.array(res[dtype]["proba"]),
                                       np.array(base[dtype]["proba"]), rtol=0, atol=fit_tol)
