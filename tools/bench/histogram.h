// Histogram: a log-bucketed latency histogram with bounded relative error,
// in the manner of HdrHistogram.
//
// Values (nanoseconds) below 2^kSubBits are counted exactly. Above, every
// power of two [2^e, 2^(e+1)) is cut into 2^kSubBits equal buckets, so a
// bucket is never wider than 1/2^kSubBits of its lowest value: with
// kSubBits = 7 a reported value is at most 0.79% (1/128) above the true one,
// and never below it. Recording is O(1) with no allocation after
// construction; the whole uint64 range fits in 7,424 buckets (58 KiB).
//
//   Histogram h;
//   h.Record(1500);
//   h.Record(250'000);
//   uint64_t p99 = h.Percentile(99.0);  // 250'000 (clamped to the maximum)
//
// Percentiles use the nearest-rank rule: Percentile(p) is the smallest
// recorded value v such that at least p% of the values are <= v, reported as
// the highest value of v's bucket and never more than Max(). Min() and Max()
// are exact.
//
// Thread-safety: none. Each thread records into its own histogram; Merge()
// combines them afterwards.
#ifndef TOOLS_BENCH_HISTOGRAM_H_
#define TOOLS_BENCH_HISTOGRAM_H_

#include <cstdint>
#include <vector>

namespace vfs::bench {

class Histogram {
 public:
  // Sub-buckets per power of two: 2^kSubBits. The relative error bound is
  // 2^-kSubBits.
  static constexpr int kSubBits = 7;

  Histogram();

  void Record(uint64_t value);
  // Adds every value `other` recorded.
  void Merge(const Histogram& other);

  uint64_t Count() const { return count_; }
  uint64_t Min() const { return count_ == 0 ? 0 : min_; }
  uint64_t Max() const { return max_; }
  double Mean() const;
  // `p` in [0, 100]; 0 when nothing was recorded. Percentile(0) is Min().
  uint64_t Percentile(double p) const;

  // The bucket a value falls into, and the range of values that bucket
  // holds (inclusive). Exposed for tests of the error bound.
  static int BucketOf(uint64_t value);
  static uint64_t BucketLow(int bucket);
  static uint64_t BucketHigh(int bucket);

 private:
  std::vector<uint64_t> counts_;
  uint64_t count_ = 0;
  uint64_t min_ = UINT64_MAX;
  uint64_t max_ = 0;
  long double sum_ = 0;
};

}  // namespace vfs::bench

#endif  // TOOLS_BENCH_HISTOGRAM_H_
