// The CUDA device as the _cuda extension sees it: whether a usable GPU is
// there (any CUDA error, "driver insufficient" included, means none), its
// properties, and one device buffer type (the arena the network's flat
// buffers will live in). Host code only: the kernels are in the .cu files.
#pragma once
#include <cuda_runtime.h>

#include <cstddef>
#include <stdexcept>
#include <string>

namespace nc::cuda {

// "what failed: CUDA's message (error name)"
inline std::string message(cudaError_t e, const std::string& what) {
  return what + ": " + cudaGetErrorString(e) + " (" + cudaGetErrorName(e) + ")";
}

inline void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) {
    cudaGetLastError();  // clear the sticky error state a failed call leaves
    throw std::runtime_error(message(e, what));
  }
}

struct Availability {
  int devices = 0;
  std::string error;  // empty when the runtime answered
};

// How many GPUs the runtime sees; on any error, none, with the reason.
inline Availability availability() {
  Availability a;
  const cudaError_t e = cudaGetDeviceCount(&a.devices);
  if (e != cudaSuccess) {
    cudaGetLastError();
    a.devices = 0;
    a.error = message(e, "cudaGetDeviceCount");
  }
  return a;
}

struct Properties {
  std::string name;
  int major = 0, minor = 0, multiprocessors = 0;
  size_t total_memory = 0;
};

inline Properties properties(int device) {
  cudaDeviceProp p{};
  check(cudaGetDeviceProperties(&p, device), "cudaGetDeviceProperties");
  return {p.name, p.major, p.minor, p.multiProcessorCount, p.totalGlobalMem};
}

// `bytes` of device memory on `device`, freed with the object; moves only.
class DeviceBuffer {
 public:
  DeviceBuffer(int device, size_t bytes) : device_(device), bytes_(bytes) {
    check(cudaSetDevice(device), "cudaSetDevice");
    if (bytes) check(cudaMalloc(&ptr_, bytes), "cudaMalloc");
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  DeviceBuffer(DeviceBuffer&& o) noexcept : device_(o.device_), bytes_(o.bytes_), ptr_(o.ptr_) {
    o.ptr_ = nullptr;
    o.bytes_ = 0;
  }
  ~DeviceBuffer() {
    if (ptr_) cudaFree(ptr_);
  }
  void upload(const void* host, size_t bytes) {
    if (bytes > bytes_) throw std::invalid_argument("upload larger than the device buffer");
    check(cudaMemcpy(ptr_, host, bytes, cudaMemcpyHostToDevice), "cudaMemcpy to the device");
  }
  void download(void* host, size_t bytes) const {
    if (bytes > bytes_) throw std::invalid_argument("download larger than the device buffer");
    check(cudaMemcpy(host, ptr_, bytes, cudaMemcpyDeviceToHost), "cudaMemcpy from the device");
  }
  void* data() const { return ptr_; }
  size_t bytes() const { return bytes_; }
  int device() const { return device_; }

 private:
  int device_ = 0;
  size_t bytes_ = 0;
  void* ptr_ = nullptr;
};

}  // namespace nc::cuda
