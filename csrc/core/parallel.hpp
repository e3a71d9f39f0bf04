// Threading helpers: one place decides how many threads a loop gets, and
// exceptions never leave an OpenMP region (the first is captured, rethrown after).
#pragma once
#include <cstdint>
#include <exception>
#include <mutex>

#ifdef _OPENMP
#include <omp.h>
#endif
#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>
#endif

namespace nc {

// Element counts below which an elementwise loop runs serially: waking a
// thread team costs more than the work.
constexpr int64_t kParallelMinElems = 1 << 15;

inline int hardware_threads() {
#ifdef _OPENMP
  return omp_get_num_procs();
#else
  return 1;
#endif
}

// Threads for a loop of `work` elements given the fit's thread budget.
inline int threads_for(int64_t work, int budget) {
  if (budget <= 1 || work < kParallelMinElems) return 1;
  return budget;
}

// The calling thread's treatment of subnormal floats, carried into every
// parallel region: each worker adopts the caller's mode before it computes, so
// a sum never depends on which thread ran it. FlushSubnormals switches the
// calling thread to flush-to-zero / denormals-are-zero for a scope (training,
// as TensorFlow trains): once a softmax is confident, its gradient's wrong-class
// entries fall below 1e-38, and every multiply-add on a subnormal operand costs
// the CPU a microcode assist (a 1-D CNN's Dense backward ran 30x slower).
class FpMode {
 public:
  static FpMode current() {
    FpMode m;
#if defined(__x86_64__) || defined(__i386__)
    m.bits_ = _mm_getcsr() & kFlushBits;
#elif defined(__aarch64__)
    uint64_t fpcr;
    __asm__ __volatile__("mrs %0, fpcr" : "=r"(fpcr));
    m.bits_ = fpcr & kFlushBits;
#endif
    return m;
  }
  // makes this thread's mode equal to m (a no-op when it already is)
  void apply() const {
#if defined(__x86_64__) || defined(__i386__)
    const unsigned csr = _mm_getcsr();
    if ((csr & kFlushBits) != bits_) _mm_setcsr((csr & ~unsigned(kFlushBits)) | unsigned(bits_));
#elif defined(__aarch64__)
    uint64_t fpcr;
    __asm__ __volatile__("mrs %0, fpcr" : "=r"(fpcr));
    if ((fpcr & kFlushBits) != bits_) {
      fpcr = (fpcr & ~uint64_t(kFlushBits)) | bits_;
      __asm__ __volatile__("msr fpcr, %0" : : "r"(fpcr));
    }
#endif
  }
  static FpMode flushing() {
    FpMode m;
    m.bits_ = kFlushBits;
    return m;
  }

 private:
#if defined(__x86_64__) || defined(__i386__)
  static constexpr uint64_t kFlushBits = 0x8040;  // MXCSR FTZ (bit 15) | DAZ (bit 6)
#elif defined(__aarch64__)
  static constexpr uint64_t kFlushBits = uint64_t(1) << 24;  // FPCR.FZ
#else
  static constexpr uint64_t kFlushBits = 0;
#endif
  uint64_t bits_ = 0;
};

// Subnormals flushed to zero on the calling thread (and, through FpMode, on
// every worker of the regions it starts) while in scope; the previous mode after.
class FlushSubnormals {
 public:
  FlushSubnormals() : saved_(FpMode::current()) { FpMode::flushing().apply(); }
  ~FlushSubnormals() { saved_.apply(); }
  FlushSubnormals(const FlushSubnormals&) = delete;
  FlushSubnormals& operator=(const FlushSubnormals&) = delete;

 private:
  FpMode saved_;
};

// Collects the first exception thrown inside a parallel region.
class ExceptionCollector {
 public:
  template <class F>
  void run(F&& f) noexcept {
    try {
      f();
    } catch (...) {
      std::lock_guard<std::mutex> lock(mu_);
      if (!ptr_) ptr_ = std::current_exception();
    }
  }
  void rethrow() {
    if (ptr_) std::rethrow_exception(ptr_);
  }

 private:
  std::exception_ptr ptr_;
  std::mutex mu_;
};

// f(i) for i in [0, n): on `budget` threads when `work` (elements touched) is
// large enough, else serially. Never call BLAS from f. An exception thrown by
// f is carried out of the parallel region and rethrown (never std::terminate).
template <class F>
inline void parallel_for(int64_t n, int64_t work, int budget, F&& f) {
  const int nt = threads_for(work, budget);
  if (nt <= 1) {
    for (int64_t i = 0; i < n; ++i) f(i);
    return;
  }
  ExceptionCollector errors;
  const FpMode fp = FpMode::current();
#pragma omp parallel num_threads(nt)
  {
    fp.apply();
#pragma omp for schedule(static)
    for (int64_t i = 0; i < n; ++i) errors.run([&] { f(i); });
  }
  errors.rethrow();
}

// f(begin, end, chunk) over [0, n) cut into one contiguous chunk per thread
// (or the whole range as chunk 0 when the work is small), so that f's inner
// loops run over plain ranges the compiler can vectorize. The cut depends only
// on n and the thread count: results are reproducible for a given n_jobs.
// Returns the number of chunks used.
template <class F>
inline int parallel_ranges(int64_t n, int64_t work, int budget, F&& f) {
  const int nt = threads_for(work, budget);
  if (nt <= 1 || n < 2) {
    f(int64_t(0), n, 0);
    return 1;
  }
  ExceptionCollector errors;
  const FpMode fp = FpMode::current();
#pragma omp parallel num_threads(nt)
  {
    fp.apply();
    const int t = omp_get_thread_num(), k = omp_get_num_threads();
    const int64_t begin = n * t / k, end = n * (t + 1) / k;
    errors.run([&] { f(begin, end, t); });
  }
  errors.rethrow();
  return nt;
}

}  // namespace nc
