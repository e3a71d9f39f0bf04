// Device kernels of the optional _cuda extension: the GPU siblings of
// kernels/dense.hpp's bias + activation pass, of kernels/optimizers.hpp's SGD
// and Adam steps, and of the GEMM (through
// cuBLASLt, FP32 or FP64 compute: no TF32, so float32 results match the CPU
// core's to float rounding). Row-major, as the CPU core.
#include <cublasLt.h>
#include <cuda_runtime.h>

#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "../core/types.hpp"
#include "device.hpp"
#include "kernels.hpp"

namespace nc::cuda {

namespace {

constexpr double kSeluAlpha = 1.6732632423543772848170429916717;
constexpr double kSeluScale = 1.0507009873554804934193349852946;

// The activation's parameters as the device reads them (ActSpec, flat).
struct DeviceAct {
  int kind;
  double alpha, max_value, threshold;
  bool approximate;
};

// y = act(x): kernels/activations.hpp's act_forward, formula for formula.
template <class T>
__device__ T act_forward(const DeviceAct& a, T x) {
  switch (static_cast<Act>(a.kind)) {
    case Act::Identity: return x;
    case Act::Logistic: return T(1) / (T(1) + exp(-x));
    case Act::Tanh: return tanh(x);
    case Act::Relu:
      if (x > T(a.threshold)) return x < T(a.max_value) ? x : T(a.max_value);
      return T(a.alpha) * (x - T(a.threshold));
    case Act::Exp: return exp(x);
    case Act::HardSigmoid: return fmin(T(1), fmax(T(0), T(0.2) * x + T(0.5)));
    case Act::Softsign: return x / (T(1) + fabs(x));
    case Act::Elu: return x > T(0) ? x : T(a.alpha) * expm1(x);
    case Act::Selu: return T(kSeluScale) * (x > T(0) ? x : T(kSeluAlpha) * expm1(x));
    case Act::Softplus: return fmax(x, T(0)) + log1p(exp(-fabs(x)));
    case Act::Gelu:
      if (a.approximate) {
        const T u = T(0.7978845608028654) * (x + T(0.044715) * x * x * x);
        return T(0.5) * x * (T(1) + tanh(u));
      }
      return T(0.5) * x * (T(1) + erf(x * T(0.7071067811865476)));
    case Act::Swish: return x / (T(1) + exp(-x));
    case Act::Softmax: return x;  // row-wise: softmax_rows
  }
  return x;
}

template <class T>
__global__ void bias_activation_kernel(T* y, const T* bias, int64_t rows, int64_t cols, DeviceAct a) {
  const int64_t n = rows * cols;
  for (int64_t q = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; q < n; q += int64_t(gridDim.x) * blockDim.x) {
    T v = y[q];
    if (bias) v += bias[q % cols];
    y[q] = act_forward(a, v);
  }
}

// softmax over each row of y (rows, cols), one thread per row: max, sum of
// exponentials, division, in the CPU core's order
template <class T>
__global__ void softmax_rows_kernel(T* y, int64_t rows, int64_t cols) {
  for (int64_t r = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; r < rows; r += int64_t(gridDim.x) * blockDim.x) {
    T* row = y + r * cols;
    T m = row[0];
    for (int64_t j = 1; j < cols; ++j) m = fmax(m, row[j]);
    T s = 0;
    for (int64_t j = 0; j < cols; ++j) {
      row[j] = exp(row[j] - m);
      s += row[j];
    }
    for (int64_t j = 0; j < cols; ++j) row[j] /= s;
  }
}

void check(cublasStatus_t s, const char* what) {
  if (s != CUBLAS_STATUS_SUCCESS)
    throw std::runtime_error(std::string(what) + ": cuBLAS status " + std::to_string(int(s)));
}

int blocks_for(int64_t n, int threads) {
  return int(std::min<int64_t>((n + threads - 1) / threads, 65535));
}

}  // namespace

template <class T>
void bias_activation(T* y, const T* bias, int64_t rows, int64_t cols, const ActSpec& act, cudaStream_t stream) {
  if (rows * cols == 0) return;
  const DeviceAct a{int(act.kind), act.alpha, act.max_value, act.threshold, act.approximate};
  const int threads = 256;
  if (act.kind == Act::Softmax) {
    if (bias) {
      const DeviceAct identity{int(Act::Identity), 0, 0, 0, false};
      bias_activation_kernel<T><<<blocks_for(rows * cols, threads), threads, 0, stream>>>(y, bias, rows, cols, identity);
    }
    softmax_rows_kernel<T><<<blocks_for(rows, threads), threads, 0, stream>>>(y, rows, cols);
  } else {
    bias_activation_kernel<T><<<blocks_for(rows * cols, threads), threads, 0, stream>>>(y, bias, rows, cols, a);
  }
  check(cudaGetLastError(), "bias_activation launch");
}

template void bias_activation<float>(float*, const float*, int64_t, int64_t, const ActSpec&, cudaStream_t);
template void bias_activation<double>(double*, const double*, int64_t, int64_t, const ActSpec&, cudaStream_t);

// ---------------------------------------------------------------------------

namespace {

template <class T>
__global__ void sgd_kernel(T* p, T* v, const T* grad, int64_t n, T l2, T mu, T eta, bool nesterov) {
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    const T w = p[i], g = grad[i] + l2 * w;
    const T vi = mu * v[i] - eta * g;
    v[i] = vi;
    p[i] = nesterov ? w + (mu * vi - eta * g) : w + vi;
  }
}

template <class T>
__global__ void adam_kernel(T* p, T* m, T* v, const T* grad, int64_t n, T l2, T b1, T b2, T c1, T c2, T e,
                            T rate) {
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    const T w = p[i], g = grad[i] + l2 * w;
    const T mi = b1 * m[i] + c1 * g;
    const T vi = b2 * v[i] + c2 * (g * g);
    m[i] = mi;
    v[i] = vi;
    p[i] = w - rate * mi / (sqrt(vi) + e);
  }
}

}  // namespace

template <class T>
void sgd_step(T* p, T* v, const T* grad, int64_t n, T l2, T mu, T eta, bool nesterov, cudaStream_t stream) {
  if (n == 0) return;
  sgd_kernel<T><<<blocks_for(n, 256), 256, 0, stream>>>(p, v, grad, n, l2, mu, eta, nesterov);
  check(cudaGetLastError(), "sgd_step launch");
}

template <class T>
void adam_step(T* p, T* m, T* v, const T* grad, int64_t n, T l2, T b1, T b2, T c1, T c2, T e, T rate,
               cudaStream_t stream) {
  if (n == 0) return;
  adam_kernel<T><<<blocks_for(n, 256), 256, 0, stream>>>(p, m, v, grad, n, l2, b1, b2, c1, c2, e, rate);
  check(cudaGetLastError(), "adam_step launch");
}

template void sgd_step<float>(float*, float*, const float*, int64_t, float, float, float, bool, cudaStream_t);
template void sgd_step<double>(double*, double*, const double*, int64_t, double, double, double, bool, cudaStream_t);
template void adam_step<float>(float*, float*, float*, const float*, int64_t, float, float, float, float, float,
                               float, float, cudaStream_t);
template void adam_step<double>(double*, double*, double*, const double*, int64_t, double, double, double, double,
                                double, double, double, cudaStream_t);

// ---------------------------------------------------------------------------

Blas::Blas() { check(cublasLtCreate(&handle_), "cublasLtCreate"); }
Blas::~Blas() {
  if (workspace_) cudaFree(workspace_);
  if (handle_) cublasLtDestroy(handle_);
}

// C (m, n) = alpha op(A) op(B) + beta C, row-major: cuBLASLt is column-major,
// so it computes C^T = op(B)^T op(A)^T on the same memory.
template <class T>
void Blas::gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, T alpha, const T* A, const T* B, T beta,
                T* C, cudaStream_t stream) {
  constexpr bool f32 = sizeof(T) == 4;
  const cudaDataType_t type = f32 ? CUDA_R_32F : CUDA_R_64F;
  const cublasComputeType_t compute = f32 ? CUBLAS_COMPUTE_32F : CUBLAS_COMPUTE_64F;  // no TF32
  if (!workspace_) check(cudaMalloc(&workspace_, kWorkspace), "cudaMalloc (cuBLASLt workspace)");
  cublasLtMatmulDesc_t op = nullptr;
  cublasLtMatrixLayout_t la = nullptr, lb = nullptr, lc = nullptr;
  cublasLtMatmulPreference_t pref = nullptr;
  check(cublasLtMatmulDescCreate(&op, compute, type), "cublasLtMatmulDescCreate");
  // column-major: first operand op(B)^T, second op(A)^T
  const cublasOperation_t opa = tb ? CUBLAS_OP_T : CUBLAS_OP_N, opb = ta ? CUBLAS_OP_T : CUBLAS_OP_N;
  check(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_TRANSA, &opa, sizeof opa), "TRANSA");
  check(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_TRANSB, &opb, sizeof opb), "TRANSB");
  // B row-major (k, n) [or (n, k) when tb] is column-major (n, k) [(k, n)]
  check(cublasLtMatrixLayoutCreate(&la, type, tb ? k : n, tb ? n : k, tb ? k : n), "layout B");
  check(cublasLtMatrixLayoutCreate(&lb, type, ta ? m : k, ta ? k : m, ta ? m : k), "layout A");
  check(cublasLtMatrixLayoutCreate(&lc, type, n, m, n), "layout C");
  check(cublasLtMatmulPreferenceCreate(&pref), "preference");
  const size_t ws = kWorkspace;
  check(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof ws),
        "workspace preference");
  cublasLtMatmulHeuristicResult_t heuristic{};
  int found = 0;
  check(cublasLtMatmulAlgoGetHeuristic(handle_, op, la, lb, lc, lc, pref, 1, &heuristic, &found),
        "cublasLtMatmulAlgoGetHeuristic");
  cublasStatus_t status = CUBLAS_STATUS_NOT_SUPPORTED;
  if (found > 0)
    status = cublasLtMatmul(handle_, op, &alpha, B, la, A, lb, &beta, C, lc, C, lc, &heuristic.algo,
                            workspace_, kWorkspace, stream);
  cublasLtMatmulPreferenceDestroy(pref);
  cublasLtMatrixLayoutDestroy(lc);
  cublasLtMatrixLayoutDestroy(lb);
  cublasLtMatrixLayoutDestroy(la);
  cublasLtMatmulDescDestroy(op);
  if (found == 0) throw std::runtime_error("cuBLASLt found no algorithm for this product");
  check(status, "cublasLtMatmul");
}

template void Blas::gemm<float>(bool, bool, int64_t, int64_t, int64_t, float, const float*, const float*, float,
                                float*, cudaStream_t);
template void Blas::gemm<double>(bool, bool, int64_t, int64_t, int64_t, double, const double*, const double*,
                                 double, double*, cudaStream_t);

size_t Blas::version() { return cublasLtGetVersion(); }

}  // namespace nc::cuda
