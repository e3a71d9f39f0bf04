// Threading helpers: one place decides how many threads a loop gets, and
// exceptions never leave an OpenMP region (the first is captured, rethrown after).
#pragma once
#include <cstdint>
#include <exception>
#include <mutex>

#ifdef _OPENMP
#include <omp.h>
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
#pragma omp parallel for num_threads(nt) schedule(static)
  for (int64_t i = 0; i < n; ++i) errors.run([&] { f(i); });
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
#pragma omp parallel num_threads(nt)
  {
    const int t = omp_get_thread_num(), k = omp_get_num_threads();
    const int64_t begin = n * t / k, end = n * (t + 1) / k;
    errors.run([&] { f(begin, end, t); });
  }
  errors.rethrow();
  return nt;
}

}  // namespace nc
