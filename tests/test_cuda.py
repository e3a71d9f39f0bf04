"""The optional CUDA backend: the device parameter and its errors (everywhere),
the _cuda extension's build and import without a GPU (where nvcc and
PyPI's nvidia-cublas are there), and its device kernels against the CPU
(on a GPU; skipped without one, with the reason, unless
NEUROCORE_REQUIRE_CUDA=1 makes the skip a failure)."""

import importlib.util
import os
import shutil
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import clone

import neurocore
from neurocore import _device
from neurocore.keras import Sequential
from neurocore.keras import layers as L

ROOT = Path(__file__).resolve().parents[1]
REQUIRE = os.environ.get("NEUROCORE_REQUIRE_CUDA") == "1"


def skip_or_fail(reason):
    if REQUIRE:
        pytest.fail(f"NEUROCORE_REQUIRE_CUDA=1, but {reason}")
    pytest.skip(reason)


ESTIMATORS = [
    lambda **kw: neurocore.MLPClassifier(hidden_layer_sizes=(4,), max_iter=2, **kw),
    lambda **kw: neurocore.MLPRegressor(hidden_layer_sizes=(4,), max_iter=2, **kw),
    lambda **kw: neurocore.NeuralNetClassifier([4], epochs=1, **kw),
    lambda **kw: neurocore.NeuralNetRegressor([4], epochs=1, **kw),
    lambda **kw: neurocore.NeuralNetAutoencoder([3], epochs=1, **kw),
    lambda **kw: neurocore.BernoulliRBM(n_components=3, n_iter=1, **kw),
]
IDS = ["MLPClassifier", "MLPRegressor", "NeuralNetClassifier", "NeuralNetRegressor", "NeuralNetAutoencoder",
       "BernoulliRBM"]


def data():
    rng = np.random.RandomState(0)
    return rng.uniform(size=(20, 4)), np.arange(20) % 2


# ---------------------------------------------------------------------------
# the device parameter: everywhere

@pytest.mark.parametrize("device, parsed", [("cpu", ("cpu", None)), (None, ("cpu", None)), ("cuda", ("cuda", 0)),
                                            ("cuda:3", ("cuda", 3))])
def test_parse_device(device, parsed):
    assert _device.parse_device(device) == parsed


@pytest.mark.parametrize("bad", ["gpu", "cuda:", "cuda:-1", "cpu:0", "CUDA", 0, "cuda:0:1"])
def test_malformed_device_is_a_value_error(bad):
    with pytest.raises(ValueError, match="device must be"):
        _device.parse_device(bad)


@pytest.mark.parametrize("make", ESTIMATORS, ids=IDS)
def test_estimators_take_device_and_refuse_malformed_ones(make):
    X, y = data()
    est = make()
    assert est.get_params()["device"] == "cpu"
    assert clone(make(device="cuda:1")).get_params()["device"] == "cuda:1"
    est.fit(X, y)  # the default, on the CPU
    with pytest.raises(ValueError, match="device must be"):
        make(device="gpu").fit(X, y)


def fake_cuda(monkeypatch, devices, error=""):
    mod = types.SimpleNamespace(availability=lambda: {"devices": devices, "error": error},
                                properties=lambda i: {"name": "Fake GPU", "compute_capability": (9, 0),
                                                      "multiprocessors": 132, "total_memory": 2**37},
                                runtime_version=lambda: 13000, driver_version=lambda: 13000,
                                cublaslt_version=lambda: 131000)
    monkeypatch.setattr(_device, "_cuda_module", lambda: (mod, None))


@pytest.mark.parametrize("make", ESTIMATORS, ids=IDS)
def test_cuda_never_falls_back_to_the_cpu(make, monkeypatch):
    """Each missing piece is named: the extension, the GPU, a GPU index, the
    network's GPU path; fit, and predict of a CPU-trained model, alike."""
    X, y = data()
    fitted = make().fit(X, y)
    infer = (lambda m: m.predict(X)) if hasattr(fitted, "predict") else (lambda m: m.transform(X))
    monkeypatch.setattr(_device, "_cuda_module", lambda: (None, "not built"))
    with pytest.raises(neurocore.DeviceUnavailableError, match="CUDA extension .* is not built.*NEUROCORE_CUDA=ON"):
        make(device="cuda").fit(X, y)
    with pytest.raises(neurocore.DeviceUnavailableError, match="not built"):
        infer(fitted.set_params(device="cuda"))
    fake_cuda(monkeypatch, 0, "cudaGetDeviceCount: CUDA driver version is insufficient")
    with pytest.raises(neurocore.DeviceUnavailableError, match="no usable GPU .*driver version is insufficient"):
        make(device="cuda").fit(X, y)
    fake_cuda(monkeypatch, 1)
    with pytest.raises(ValueError, match="1 usable GPU"):
        make(device="cuda:1").fit(X, y)
    with pytest.raises(neurocore.DeviceUnavailableError, match="sees Fake GPU, but .* no GPU path"):
        make(device="cuda:0").fit(X, y)
    assert infer(fitted.set_params(device="cpu")) is not None  # back on the CPU, as asked


def test_keras_facade_takes_device(monkeypatch):
    X = np.random.RandomState(0).normal(size=(8, 3)).astype(np.float32)
    with pytest.raises(ValueError, match="device must be"):
        Sequential([L.Dense(1)], device="tpu")
    model = Sequential([L.Input(shape=(3,)), L.Dense(1)], device="cuda")
    model.compile("adam", "mse")
    monkeypatch.setattr(_device, "_cuda_module", lambda: (None, "not built"))
    for call in (lambda: model.fit(X, X[:, :1], verbose=0), lambda: model.evaluate(X, X[:, :1], verbose=0),
                 lambda: model.predict(X, verbose=0)):
        with pytest.raises(neurocore.DeviceUnavailableError, match="not built"):
            call()
    model.device = "cpu"
    assert model.predict(X, verbose=0).shape == (8, 1)


def test_saved_estimator_keeps_its_device(tmp_path):
    X, y = data()
    est = neurocore.MLPClassifier(hidden_layer_sizes=(3,), max_iter=2).fit(X, y)
    est.set_params(device="cuda:0")
    est.save(tmp_path / "m")
    assert neurocore.load(tmp_path / "m").get_params()["device"] == "cuda:0"


def test_show_config_reports_cuda(capsys, monkeypatch):
    neurocore.show_config()
    out = capsys.readouterr().out
    assert "cuda:" in out
    fake_cuda(monkeypatch, 1)
    neurocore.show_config()
    assert "cuda:0: Fake GPU, compute capability 9.0, 128 GiB" in capsys.readouterr().out
    info = neurocore.system_info()["cuda"]
    assert info["built"] and info["devices"] == 1 and info["runtime"] == 13000


# ---------------------------------------------------------------------------
# the extension's build, where nvcc and cuBLAS (PyPI's nvidia-cublas) are

def _cublas_present():
    try:
        return importlib.util.find_spec("nvidia.cu13") is not None
    except ModuleNotFoundError:
        return False


@pytest.fixture(scope="module")
def built_extension(tmp_path_factory):
    """_cuda built from this checkout with CMake's NEUROCORE_CUDA=ON (or the
    installed one, when neurocore was built with it)."""
    if importlib.util.find_spec("neurocore._cuda") is not None:
        return Path(importlib.util.find_spec("neurocore._cuda").origin)
    if shutil.which("nvcc") is None or shutil.which("cmake") is None:
        skip_or_fail("no nvcc / cmake to build the CUDA extension with")
    if not _cublas_present():
        skip_or_fail("cuBLAS is not installed (pip install nvidia-cublas)")
    if importlib.util.find_spec("pybind11") is None:
        skip_or_fail("pybind11 (its CMake files) is not installed")
    import pybind11
    build = tmp_path_factory.mktemp("cuda-build")
    configure = [shutil.which("cmake"), str(ROOT), "-DNEUROCORE_CUDA=ON", f"-Dpybind11_DIR={pybind11.get_cmake_dir()}",
                 f"-DPython_EXECUTABLE={sys.executable}", "-DCMAKE_BUILD_TYPE=Release"]
    if shutil.which("ninja"):
        configure += ["-G", "Ninja"]
    for cmd in (configure, [shutil.which("cmake"), "--build", ".", "--target", "_cuda", "-j", "2"]):
        done = subprocess.run(cmd, cwd=build, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return next(build.glob("_cuda*.so"))


def _load(path):
    spec = importlib.util.spec_from_file_location("_cuda", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_extension_builds_and_imports_without_a_gpu(built_extension):
    mod = _load(built_extension)
    avail = mod.availability()
    assert isinstance(avail["devices"], int) and avail["devices"] >= 0
    if avail["devices"] == 0:  # any CUDA error reads as "no GPU", with CUDA's reason
        assert avail["error"].startswith("cudaGetDeviceCount: ")
        with pytest.raises(ValueError, match="no CUDA device 0"):
            mod.properties(0)
    assert mod.runtime_version() >= 13000
    assert mod.cublaslt_version() >= 130000  # cuBLASLt from the wheel loaded through the RPATH


# ---------------------------------------------------------------------------
# on a GPU: the device kernels against the CPU

@pytest.fixture(scope="module")
def gpu(built_extension):
    mod = _load(built_extension)
    avail = mod.availability()
    if avail["devices"] == 0:
        skip_or_fail(f"no usable GPU ({avail['error'] or 'none seen'})")
    return mod


@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-12), (np.float32, 1e-5)])
@pytest.mark.parametrize("m, k, n", [(1, 1, 1), (7, 13, 5), (256, 784, 1024), (1000, 64, 10)])
def test_gemm_matches_numpy(gpu, dtype, rtol, m, k, n):
    rng = np.random.RandomState(m + k + n)
    A, B = rng.normal(size=(m, k)).astype(dtype), rng.normal(size=(k, n)).astype(dtype)
    C = gpu._gemm(A, B)
    assert C.dtype == dtype
    ref = A.astype(np.float64) @ B.astype(np.float64)
    np.testing.assert_allclose(C, ref, rtol=rtol, atol=rtol * np.sqrt(k) * np.abs(ref).max())


ACTIVATIONS = [{"activation": a} for a in ("linear", "sigmoid", "tanh", "relu", "softmax", "exponential",
                                            "hard_sigmoid", "softsign", "elu", "selu", "softplus", "gelu",
                                            "swish")]
ACTIVATIONS += [{"activation": "relu", "alpha": 0.1, "max_value": 0.8, "threshold": 0.2},
                {"activation": "elu", "alpha": 0.5}, {"activation": "gelu", "approximate": True}]


@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-12), (np.float32, 1e-6)])
@pytest.mark.parametrize("act", ACTIVATIONS, ids=lambda a: "-".join(str(v) for v in a.values()))
def test_bias_activation_matches_the_cpu_core(gpu, act, dtype, tol):
    rng = np.random.RandomState(0)
    x = (3 * rng.normal(size=(37, 11))).astype(dtype)
    bias = rng.normal(size=11).astype(dtype)
    cpu = neurocore._core.Network(11, [{"type": "activation", **act}], "mean_squared_error", np.dtype(dtype).name)
    ref = cpu.predict(np.zeros(0, dtype), np.ascontiguousarray(x + bias), 1)
    np.testing.assert_allclose(gpu._bias_activation(x, bias, act), ref, rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-13), (np.float32, 1e-6)])
@pytest.mark.parametrize("nesterov", [False, True])
def test_sgd_step_matches_its_rule(gpu, dtype, tol, nesterov):
    """scikit-learn's SGD with momentum (kernels/optimizers.hpp's sgd_range)
    on the flat buffer, L2 folded into the gradient."""
    rng = np.random.RandomState(1)
    p, v, g = (rng.normal(size=1000).astype(dtype) for _ in range(3))
    l2, mu, eta = 1e-3, 0.9, 0.05
    new_p, new_v = gpu._sgd_step(p, v, g, l2, mu, eta, nesterov)
    gg = g + l2 * p
    ref_v = mu * v - eta * gg
    ref_p = p + (mu * ref_v - eta * gg if nesterov else ref_v)
    np.testing.assert_allclose(new_v, ref_v, rtol=tol, atol=tol)
    np.testing.assert_allclose(new_p, ref_p, rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-13), (np.float32, 1e-6)])
def test_adam_step_matches_its_rule(gpu, dtype, tol):
    """scikit-learn's Adam (kernels/optimizers.hpp's adam_range): the bias
    correction is in the rate, as scikit-learn writes it."""
    rng = np.random.RandomState(2)
    p, m, g = (rng.normal(size=999).astype(dtype) for _ in range(3))
    v = rng.uniform(size=999).astype(dtype)
    b1, b2, e, lr, t, l2 = 0.9, 0.999, 1e-8, 1e-3, 7, 1e-4
    rate = lr * np.sqrt(1 - b2 ** t) / (1 - b1 ** t)
    new_p, new_m, new_v = gpu._adam_step(p, m, v, g, l2, b1, b2, 1 - b1, 1 - b2, e, rate)
    gg = g + l2 * p
    ref_m = b1 * m + (1 - b1) * gg
    ref_v = b2 * v + (1 - b2) * gg * gg
    np.testing.assert_allclose(new_m, ref_m, rtol=tol, atol=tol)
    np.testing.assert_allclose(new_v, ref_v, rtol=tol, atol=tol)
    np.testing.assert_allclose(new_p, p - rate * ref_m / (np.sqrt(ref_v) + e), rtol=tol, atol=tol)
