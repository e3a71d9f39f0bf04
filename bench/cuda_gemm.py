"""The CUDA extension's GEMM (cuBLASLt, FP32 compute: no TF32) against
PyTorch CUDA's matmul with TF32 off, on the products of the benchmark's
networks: the MNIST-shaped 784-1024-1024-10 MLP at batch 256 (forward and
both backward products of each layer) and the digits-sized 64-128-64-10 at
batch 64. Run on a GPU machine by tools/gpu-check:

    python bench/cuda_gemm.py PATH/TO/_cuda.so

Both sides copy their operands to the device once and are timed on
already-resident data over many calls (the host-to-device copies of the test
hook are outside the timing for PyTorch, inside for neurocore: the hook
uploads and downloads each call, so its ratio is a lower bound).
"""

import importlib.util
import sys
import time

import numpy as np


def load(path):
    spec = importlib.util.spec_from_file_location("_cuda", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def shapes(units, batch):
    out = []
    for a, b in zip(units[:-1], units[1:]):
        out += [(batch, a, b), (a, batch, b), (batch, b, a)]  # forward, weight gradient, input gradient
    return out


def main(path):
    import torch
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    cuda = load(path)
    print(f"cuBLASLt {cuda.cublaslt_version()}, runtime {cuda.runtime_version()}, driver {cuda.driver_version()}; "
          f"{cuda.properties(0)['name']}; PyTorch {torch.__version__}, TF32 off")
    print("| network | product (m x k x n) | neurocore hook | PyTorch matmul | max rel. difference |")
    print("|---|---|---:|---:|---:|")
    rng = np.random.default_rng(0)
    for name, units, batch in (("MNIST-shaped", (784, 1024, 1024, 10), 256), ("digits", (64, 128, 64, 10), 64)):
        for m, k, n in shapes(units, batch):
            A = rng.standard_normal((m, k), dtype=np.float32)
            B = rng.standard_normal((k, n), dtype=np.float32)
            C = cuda._gemm(A, B)
            ta, tb = torch.from_numpy(A).cuda(), torch.from_numpy(B).cuda()
            ref = (ta.double() @ tb.double()).cpu().numpy()
            diff = float(np.abs(C - ref).max() / np.abs(ref).max())
            reps = 20
            t0 = time.perf_counter()
            for _ in range(reps):
                cuda._gemm(A, B)
            ours = (time.perf_counter() - t0) / reps
            torch.cuda.synchronize()
            t0 = time.perf_counter()
            for _ in range(reps * 10):
                ta @ tb
            torch.cuda.synchronize()
            theirs = (time.perf_counter() - t0) / (reps * 10)
            print(f"| {name} | {m} x {k} x {n} | {ours * 1e6:.0f} us | {theirs * 1e6:.0f} us | {diff:.1e} |")


if __name__ == "__main__":
    main(sys.argv[1])
