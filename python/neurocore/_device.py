"""Where a model computes: ``device="cpu"`` (the default), ``"cuda"`` or ``"cuda:N"``.

``"cuda"`` needs the optional ``_cuda`` extension (built with the CMake
option ``NEUROCORE_CUDA=ON``, see the README) and a usable GPU; when either is
missing, asking for it raises an error that says which, never a silent fall
back to the CPU. Any CUDA error (no driver, a driver older than the runtime,
no device) counts as "no usable GPU", with CUDA's own message.
"""

import importlib.util
import re

__all__ = ["DeviceUnavailableError", "cuda_info", "parse_device", "require_device"]

# the ``device`` parameter's docstring entry, shared by the estimators
DEVICE_DOC = """    device : {'cpu', 'cuda', 'cuda:N'}, default='cpu'
        Where the model computes. 'cuda' needs neurocore's optional CUDA
        extension and a usable GPU: when either is missing, fit and predict
        raise ``DeviceUnavailableError`` saying which (never a silent fall
        back to the CPU). The GPU path of the networks themselves is not in
        this build yet, so 'cuda' raises that error on a GPU machine too.
"""

_PATTERN = re.compile(r"(cpu|cuda)(?::(\d+))?\Z")


class DeviceUnavailableError(RuntimeError):
    """The device asked for cannot be used here (no CUDA extension, no GPU,
    or a GPU path this build does not have yet)."""


def parse_device(device):
    """("cpu", None) or ("cuda", index) for a device string; ValueError otherwise."""
    if device is None:
        return "cpu", None
    found = _PATTERN.match(device) if isinstance(device, str) else None
    if not found or (found[1] == "cpu" and found[2] is not None):
        raise ValueError(f"device must be 'cpu', 'cuda' or 'cuda:N' (N a GPU index), got {device!r}")
    return found[1], (int(found[2] or 0) if found[1] == "cuda" else None)


def _cuda_module():
    if importlib.util.find_spec(__package__ + "._cuda") is None:
        return None, "not built"
    try:
        from . import _cuda
    except ImportError as e:  # built, but it cannot load (its cuBLAS, say)
        return None, f"it does not load: {e}"
    return _cuda, None


def cuda_info():
    """What the CUDA side has: a dict with ``built`` (the extension imports),
    ``import_error``, ``runtime`` / ``driver`` / ``cublaslt`` versions,
    ``devices`` (usable GPUs), ``error`` (why there are none) and ``gpus``
    (each one's name, compute capability, memory)."""
    mod, import_error = _cuda_module()
    if mod is None:
        return {"built": False, "import_error": import_error, "devices": 0, "gpus": []}
    avail = mod.availability()
    return {"built": True, "import_error": None, "runtime": mod.runtime_version(),
            "driver": mod.driver_version(), "cublaslt": mod.cublaslt_version(),
            "devices": avail["devices"], "error": avail["error"],
            "gpus": [mod.properties(i) for i in range(avail["devices"])]}


def require_device(device, what="this model"):
    """Check that `device` can run `what`: nothing for the CPU; for CUDA an
    error naming what is missing. Returns (kind, index)."""
    kind, index = parse_device(device)
    if kind == "cpu":
        return kind, index
    mod, import_error = _cuda_module()
    if mod is None:
        raise DeviceUnavailableError(
            f"device={device!r}: neurocore's CUDA extension (neurocore._cuda) is {import_error}: build it with the CMake option NEUROCORE_CUDA=ON (the README's 'GPU' "
            "section), or use device='cpu'")
    avail = mod.availability()
    if avail["devices"] == 0:
        reason = avail["error"] or "the CUDA runtime sees no device"
        raise DeviceUnavailableError(f"device={device!r}: no usable GPU ({reason}); use device='cpu'")
    if index >= avail["devices"]:
        raise ValueError(f"device={device!r}: there are {avail['devices']} usable GPU(s), numbered from 0")
    name = mod.properties(index)["name"]
    raise DeviceUnavailableError(
        f"device={device!r}: the CUDA extension sees {name}, but {what} has no GPU path in this build yet "
        "(only its GEMM and activation kernels exist on the device); use device='cpu'")
