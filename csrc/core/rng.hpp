// MT19937 that reproduces numpy's legacy RandomState stream bit for bit.
//
// The estimator hands over the state of the RandomState it derived from
// `random_state` (numpy's get_state(): 624 keys and a position); C++ draws
// from it (shuffling now; dropout masks and noise later) and hands the state
// back, so a fit consumes one seeded stream exactly the way scikit-learn does.
#pragma once
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <stdexcept>

namespace nc {

class MT19937 {
 public:
  static constexpr int N = 624;

  MT19937() { seed(5489u); }

  void seed(uint32_t s) {
    mt_[0] = s;
    for (int i = 1; i < N; ++i)
      mt_[i] = 1812433253u * (mt_[i - 1] ^ (mt_[i - 1] >> 30)) + uint32_t(i);
    pos_ = N;
  }

  // keys: 624 words; pos in [0, 624].
  void set_state(const uint32_t* keys, int pos) {
    if (pos < 0 || pos > N) throw std::invalid_argument("MT19937 position out of range");
    std::memcpy(mt_, keys, sizeof(mt_));
    pos_ = pos;
  }
  void get_state(uint32_t* keys, int* pos) const {
    std::memcpy(keys, mt_, sizeof(mt_));
    *pos = pos_;
  }

  uint32_t next_u32() {
    if (pos_ >= N) twist();
    uint32_t y = mt_[pos_++];
    y ^= y >> 11;
    y ^= (y << 7) & 0x9d2c5680u;
    y ^= (y << 15) & 0xefc60000u;
    y ^= y >> 18;
    return y;
  }

  // out[0, n) = the next n values of next_u32(), tempered a block at a time
  // (a loop that vectorizes; next_u32 per value cost a branch and a call each)
  void fill_u32(uint32_t* __restrict out, int64_t n) {
    while (n > 0) {
      if (pos_ >= N) twist();
      const int64_t take = std::min<int64_t>(n, N - pos_);
      const uint32_t* __restrict src = mt_ + pos_;
      for (int64_t i = 0; i < take; ++i) {
        uint32_t y = src[i];
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c5680u;
        y ^= (y << 15) & 0xefc60000u;
        y ^= y >> 18;
        out[i] = y;
      }
      pos_ += int(take);
      out += take;
      n -= take;
    }
  }

  uint64_t next_u64() {
    uint64_t hi = next_u32();
    return (hi << 32) | next_u32();
  }

  // numpy's legacy random_interval: uniform integer in [0, max], masked rejection.
  uint64_t interval(uint64_t max) {
    if (max == 0) return 0;
    uint64_t mask = max;
    mask |= mask >> 1; mask |= mask >> 2; mask |= mask >> 4;
    mask |= mask >> 8; mask |= mask >> 16; mask |= mask >> 32;
    uint64_t v;
    if (max <= 0xffffffffull) {
      while ((v = (next_u32() & mask)) > max) {}
    } else {
      while ((v = (next_u64() & mask)) > max) {}
    }
    return v;
  }

  // numpy's legacy random_sample: 53-bit double in [0, 1).
  double uniform() {
    uint32_t a = next_u32() >> 5, b = next_u32() >> 6;
    return (a * 67108864.0 + b) / 9007199254740992.0;
  }

  // numpy RandomState.shuffle on a 1-d array (Fisher-Yates from the back).
  template <class I>
  void shuffle(I* x, int64_t n) {
    for (int64_t i = n - 1; i > 0; --i) {
      int64_t j = int64_t(interval(uint64_t(i)));
      I t = x[i]; x[i] = x[j]; x[j] = t;
    }
  }

 private:
  // The recurrence in three straight runs (no modulo), as numpy's mt19937_gen:
  // each run reads only words it has not yet overwritten, so it vectorizes.
  void twist() {
    constexpr int M = 397;
    auto mix = [](uint32_t hi, uint32_t lo) {
      const uint32_t y = (hi & 0x80000000u) | (lo & 0x7fffffffu);
      return (y >> 1) ^ ((0u - (y & 1u)) & 0x9908b0dfu);
    };
    for (int k = 0; k < N - M; ++k) mt_[k] = mt_[k + M] ^ mix(mt_[k], mt_[k + 1]);
    for (int k = N - M; k < N - 1; ++k) mt_[k] = mt_[k + M - N] ^ mix(mt_[k], mt_[k + 1]);
    mt_[N - 1] = mt_[M - 1] ^ mix(mt_[N - 1], mt_[0]);
    pos_ = 0;
  }

  uint32_t mt_[N];
  int pos_;
};

}  // namespace nc
