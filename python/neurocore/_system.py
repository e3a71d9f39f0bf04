"""What neurocore runs on: its instruction set, threads and the BLAS beside it."""

import os
import platform

from . import _core, _device, _engine

__all__ = ["show_config", "system_info"]


def _cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _numpy_blas():
    """numpy's BLAS as threadpoolctl sees it (name, version, core type, threads)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:  # pragma: no cover - threadpoolctl is a dependency
        return None
    import numpy  # noqa: F401  (loads numpy's BLAS so threadpoolctl finds it)
    for lib in threadpool_info():
        if lib.get("user_api") == "blas":
            return {"name": lib.get("internal_api"), "version": lib.get("version"),
                    "core_type": lib.get("architecture"), "threads": lib.get("num_threads"),
                    "path": lib.get("filepath")}
    return None


def system_info():
    """The configuration neurocore runs with, as a dict.

    Returns
    -------
    info : dict
        ``version``; ``cpu`` (the processor's name); ``isa`` (the instruction
        set the kernels use: the best one the CPU has, capped by the
        ``NEUROCORE_ISA`` environment variable), ``isa_detected``,
        ``isa_cap``; ``tile_float32`` and ``tile_float64`` (the register
        tiles of its matrix kernel); ``threads`` (what ``n_jobs=None``
        uses), ``hardware_threads``, ``openmp_max_threads`` and the OpenMP
        environment variables set; ``numpy_blas`` (numpy's BLAS, name, version
        and core type: the reference ``bench/compare.py`` measures its GEMM
        peak with; neurocore's own products do not use it); ``cuda`` (the
        optional CUDA extension: whether it is built, its runtime, driver and
        cuBLASLt versions, the usable GPUs or why there are none).
    """
    isa = _core.isa_info()
    env = {k: os.environ[k] for k in ("NEUROCORE_ISA", "OMP_NUM_THREADS", "OMP_WAIT_POLICY",
                                      "GOMP_SPINCOUNT", "OPENBLAS_CORETYPE")
           if k in os.environ}
    from . import __version__
    return {
        "version": __version__,
        "cpu": _cpu_name(),
        "isa": isa["isa"],
        "isa_detected": isa["detected"],
        "isa_cap": isa["cap"],
        "tile_float32": isa["tile_float32"],
        "tile_float64": isa["tile_float64"],
        "threads": _engine.n_threads(None),
        "hardware_threads": _core.hardware_threads(),
        "openmp_max_threads": _core.max_threads(),
        "environment": env,
        "numpy_blas": _numpy_blas(),
        "cuda": _device.cuda_info(),
    }


def show_config():
    """Print the configuration neurocore runs with, as ``numpy.show_config()`` does.

    The instruction set its kernels use (and why: what the CPU has and the
    ``NEUROCORE_ISA`` cap), the register tiles of the matrix kernel, the
    thread counts, the OpenMP settings and numpy's BLAS with its core type.
    See :func:`system_info` for the same as a dict.
    """
    info = system_info()
    cap = info["isa_cap"] or "none"
    blas = info["numpy_blas"]
    lines = [
        f"neurocore {info['version']}",
        f"  cpu: {info['cpu']}",
        f"  instruction set: {info['isa']} (cpu has {info['isa_detected']}; "
        f"NEUROCORE_ISA cap: {cap})",
        f"  matrix kernel tiles: float32 {info['tile_float32']}; float64 {info['tile_float64']}",
        "  blas: none; every matrix product runs on neurocore's own kernels",
        f"  threads: {info['threads']} by default (n_jobs=None); OpenMP limit "
        f"{info['openmp_max_threads']}; {info['hardware_threads']} hardware threads",
    ]
    if info["environment"]:
        lines.append("  environment: " + ", ".join(f"{k}={v}" for k, v in info["environment"].items()))
    if blas:
        lines.append(f"  numpy's blas: {blas['name']} {blas['version']}, core type {blas['core_type']}, "
                     f"{blas['threads']} threads")
    cuda = info["cuda"]
    if not cuda["built"]:
        lines.append(f"  cuda: extension {cuda['import_error']} (CMake option NEUROCORE_CUDA=ON builds it)")
    else:
        lines.append(f"  cuda: extension built, runtime {cuda['runtime']}, driver {cuda['driver'] or 'none'}, "
                     f"cuBLASLt {cuda['cublaslt']}")
        if cuda["devices"]:
            for i, gpu in enumerate(cuda["gpus"]):
                lines.append(f"  cuda:{i}: {gpu['name']}, compute capability "
                             f"{'.'.join(map(str, gpu['compute_capability']))}, "
                             f"{gpu['total_memory'] / 2**30:.0f} GiB")
        else:
            lines.append(f"  cuda devices: none usable ({cuda['error'] or 'the runtime sees none'})")
    print("\n".join(lines))
