// The optional _cuda extension's boundary (the only file of it that includes
// pybind11, as bindings.cpp is for _core): what the GPU is, and test hooks
// that run one device kernel on numpy arrays (tests/test_cuda.py compares
// them with the CPU core). Importing it needs no GPU: every query answers
// "none, because ..." when the driver or the device is missing.
#include <cuda_runtime.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <limits>
#include <string>
#include <vector>

#include "../core/types.hpp"
#include "device.hpp"
#include "kernels.hpp"

namespace py = pybind11;
using namespace nc;

namespace {

py::dict availability() {
  const auto a = cuda::availability();
  py::dict d;
  d["devices"] = a.devices;
  d["error"] = a.error;
  return d;
}

py::dict properties(int device) {
  const auto a = cuda::availability();
  if (device < 0 || device >= a.devices)
    throw py::value_error("no CUDA device " + std::to_string(device) + " (" + std::to_string(a.devices) +
                          " usable" + (a.error.empty() ? "" : "; " + a.error) + ")");
  const auto p = cuda::properties(device);
  py::dict d;
  d["name"] = p.name;
  d["compute_capability"] = py::make_tuple(p.major, p.minor);
  d["multiprocessors"] = p.multiprocessors;
  d["total_memory"] = p.total_memory;
  return d;
}

int runtime_version() {
  int v = 0;
  cudaRuntimeGetVersion(&v);
  return v;
}

int driver_version() {  // 0: no driver
  int v = 0;
  if (cudaDriverGetVersion(&v) != cudaSuccess) {
    cudaGetLastError();
    return 0;
  }
  return v;
}

ActSpec act_from(const py::dict& d) {
  ActSpec a;
  a.kind = parse_activation(d.contains("activation") ? d["activation"].cast<std::string>() : "linear");
  if (d.contains("alpha") && !d["alpha"].is_none()) a.alpha = d["alpha"].cast<double>();
  if (d.contains("max_value") && !d["max_value"].is_none()) a.max_value = d["max_value"].cast<double>();
  if (d.contains("threshold") && !d["threshold"].is_none()) a.threshold = d["threshold"].cast<double>();
  if (d.contains("approximate")) a.approximate = d["approximate"].cast<bool>();
  return a;
}

template <class T>
using Array = py::array_t<T, py::array::c_style | py::array::forcecast>;

// C = A @ B on `device` (test hook: the GEMM path every dense layer will take)
template <class T>
py::array_t<T> gemm(const Array<T>& A, const Array<T>& B, int device) {
  if (A.ndim() != 2 || B.ndim() != 2 || A.shape(1) != B.shape(0))
    throw py::value_error("gemm needs A (m, k) and B (k, n)");
  const int64_t m = A.shape(0), k = A.shape(1), n = B.shape(1);
  py::array_t<T> C({m, n});
  cuda::DeviceBuffer a(device, sizeof(T) * m * k), b(device, sizeof(T) * k * n), c(device, sizeof(T) * m * n);
  a.upload(A.data(), sizeof(T) * m * k);
  b.upload(B.data(), sizeof(T) * k * n);
  {
    py::gil_scoped_release release;
    cuda::Blas blas;
    blas.gemm<T>(false, false, m, n, k, T(1), static_cast<const T*>(a.data()), static_cast<const T*>(b.data()),
                 T(0), static_cast<T*>(c.data()), nullptr);
    cuda::check(cudaDeviceSynchronize(), "cudaDeviceSynchronize");
  }
  c.download(C.mutable_data(), sizeof(T) * m * n);
  return C;
}

// act(x + bias) on `device` (test hook: the dense layer's epilogue)
template <class T>
py::array_t<T> bias_activation(const Array<T>& X, const Array<T>& bias, const py::dict& act, int device) {
  if (X.ndim() != 2 || bias.ndim() != 1 || bias.shape(0) != X.shape(1))
    throw py::value_error("bias_activation needs x (rows, cols) and bias (cols)");
  const int64_t rows = X.shape(0), cols = X.shape(1);
  const ActSpec a = act_from(act);
  py::array_t<T> Y({rows, cols});
  cuda::DeviceBuffer y(device, sizeof(T) * rows * cols), b(device, sizeof(T) * cols);
  y.upload(X.data(), sizeof(T) * rows * cols);
  b.upload(bias.data(), sizeof(T) * cols);
  {
    py::gil_scoped_release release;
    cuda::bias_activation<T>(static_cast<T*>(y.data()), static_cast<const T*>(b.data()), rows, cols, a, nullptr);
    cuda::check(cudaDeviceSynchronize(), "cudaDeviceSynchronize");
  }
  y.download(Y.mutable_data(), sizeof(T) * rows * cols);
  return Y;
}

// the flat buffers on `device`, each uploaded, one step run, the results back
template <class T>
struct Flat {
  std::vector<cuda::DeviceBuffer> buffers;
  int64_t n = -1;
  T* add(const Array<T>& a, int device) {
    if (a.ndim() != 1 || (n >= 0 && a.shape(0) != n))
      throw py::value_error("the optimizer's buffers must be 1-d and of one length");
    n = a.shape(0);
    buffers.emplace_back(device, sizeof(T) * n);
    buffers.back().upload(a.data(), sizeof(T) * n);
    return static_cast<T*>(buffers.back().data());
  }
  py::array_t<T> get(size_t i) const {
    py::array_t<T> out(n);
    buffers[i].download(out.mutable_data(), sizeof(T) * n);
    return out;
  }
};

// one SGD step (test hook): returns the new (params, velocity)
template <class T>
py::tuple sgd_step(const Array<T>& p, const Array<T>& v, const Array<T>& g, T l2, T mu, T eta, bool nesterov,
                   int device) {
  Flat<T> f;
  T* dp = f.add(p, device);
  T* dv = f.add(v, device);
  const T* dg = f.add(g, device);
  {
    py::gil_scoped_release release;
    cuda::sgd_step<T>(dp, dv, dg, f.n, l2, mu, eta, nesterov, nullptr);
    cuda::check(cudaDeviceSynchronize(), "cudaDeviceSynchronize");
  }
  return py::make_tuple(f.get(0), f.get(1));
}

// one Adam step (test hook): returns the new (params, m, v)
template <class T>
py::tuple adam_step(const Array<T>& p, const Array<T>& m1, const Array<T>& m2, const Array<T>& g, T l2, T b1, T b2,
                    T c1, T c2, T e, T rate, int device) {
  Flat<T> f;
  T* dp = f.add(p, device);
  T* dm = f.add(m1, device);
  T* dv = f.add(m2, device);
  const T* dg = f.add(g, device);
  {
    py::gil_scoped_release release;
    cuda::adam_step<T>(dp, dm, dv, dg, f.n, l2, b1, b2, c1, c2, e, rate, nullptr);
    cuda::check(cudaDeviceSynchronize(), "cudaDeviceSynchronize");
  }
  return py::make_tuple(f.get(0), f.get(1), f.get(2));
}

}  // namespace

PYBIND11_MODULE(_cuda, m) {
  m.doc() = "neurocore's optional CUDA extension: the GPU's description and device kernels";
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const std::invalid_argument& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    }
  });
  m.def("availability", &availability,
        "{'devices': usable GPUs, 'error': why none (any CUDA error counts as no GPU), or ''}");
  m.def("properties", &properties, py::arg("device"), "name, compute capability, multiprocessors, memory");
  m.def("runtime_version", &runtime_version, "the CUDA runtime linked in (statically), e.g. 13000");
  m.def("driver_version", &driver_version, "the driver's CUDA version, 0 when there is no driver");
  m.def("cublaslt_version", &cuda::Blas::version, "the cuBLASLt library loaded (from the nvidia-cublas wheel)");
  m.def("_gemm", &gemm<float>, py::arg("a"), py::arg("b"), py::arg("device") = 0);
  m.def("_gemm", &gemm<double>, py::arg("a"), py::arg("b"), py::arg("device") = 0);
  m.def("_bias_activation", &bias_activation<float>, py::arg("x"), py::arg("bias"), py::arg("act"),
        py::arg("device") = 0);
  m.def("_bias_activation", &bias_activation<double>, py::arg("x"), py::arg("bias"), py::arg("act"),
        py::arg("device") = 0);
  {
    const char* name = "_sgd_step";
    m.def(name, &sgd_step<float>, py::arg("p"), py::arg("v"), py::arg("g"), py::arg("l2"), py::arg("mu"),
          py::arg("eta"), py::arg("nesterov"), py::arg("device") = 0);
    m.def(name, &sgd_step<double>, py::arg("p"), py::arg("v"), py::arg("g"), py::arg("l2"), py::arg("mu"),
          py::arg("eta"), py::arg("nesterov"), py::arg("device") = 0);
  }
  m.def("_adam_step", &adam_step<float>, py::arg("p"), py::arg("m"), py::arg("v"), py::arg("g"), py::arg("l2"),
        py::arg("b1"), py::arg("b2"), py::arg("c1"), py::arg("c2"), py::arg("e"), py::arg("rate"),
        py::arg("device") = 0);
  m.def("_adam_step", &adam_step<double>, py::arg("p"), py::arg("m"), py::arg("v"), py::arg("g"), py::arg("l2"),
        py::arg("b1"), py::arg("b2"), py::arg("c1"), py::arg("c2"), py::arg("e"), py::arg("rate"),
        py::arg("device") = 0);
}
