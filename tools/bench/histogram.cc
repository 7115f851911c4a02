#include "tools/bench/histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace vfs::bench {
namespace {

constexpr uint64_t kSubCount = uint64_t{1} << Histogram::kSubBits;
// Exact buckets for [0, kSubCount), then kSubCount buckets for each exponent
// from kSubBits to 63.
constexpr int kBuckets = static_cast<int>(kSubCount + (64 - Histogram::kSubBits) * kSubCount);

}  // namespace

Histogram::Histogram() : counts_(kBuckets, 0) {}

int Histogram::BucketOf(uint64_t value) {
  if (value < kSubCount) return static_cast<int>(value);
  const int exponent = 63 - std::countl_zero(value);  // >= kSubBits
  const int shift = exponent - kSubBits;
  // The kSubBits bits below the leading one pick the sub-bucket.
  const uint64_t sub = (value >> shift) - kSubCount;
  return static_cast<int>(kSubCount + static_cast<uint64_t>(shift) * kSubCount + sub);
}

uint64_t Histogram::BucketLow(int bucket) {
  const uint64_t b = static_cast<uint64_t>(bucket);
  if (b < kSubCount) return b;
  const uint64_t shift = (b - kSubCount) / kSubCount;
  const uint64_t sub = (b - kSubCount) % kSubCount;
  return (kSubCount + sub) << shift;
}

uint64_t Histogram::BucketHigh(int bucket) {
  const uint64_t b = static_cast<uint64_t>(bucket);
  if (b < kSubCount) return b;
  const uint64_t shift = (b - kSubCount) / kSubCount;
  return BucketLow(bucket) + ((uint64_t{1} << shift) - 1);
}

void Histogram::Record(uint64_t value) {
  ++counts_[static_cast<size_t>(BucketOf(value))];
  ++count_;
  min_ = std::min(min_, value);
  max_ = std::max(max_, value);
  sum_ += static_cast<long double>(value);
}

void Histogram::Merge(const Histogram& other) {
  for (size_t i = 0; i < counts_.size(); ++i) counts_[i] += other.counts_[i];
  count_ += other.count_;
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
  sum_ += other.sum_;
}

double Histogram::Mean() const {
  return count_ == 0 ? 0.0 : static_cast<double>(sum_ / static_cast<long double>(count_));
}

uint64_t Histogram::Percentile(double p) const {
  if (count_ == 0) return 0;
  if (p <= 0) return Min();
  // Nearest rank: the ceil(p/100 * n)-th smallest value, at least the first.
  // The tiny shrink keeps binary rounding (99.9% of 1000 = 999.0000000001)
  // from asking for one rank too many.
  const double exact = std::min(p, 100.0) * static_cast<double>(count_) / 100.0;
  const uint64_t rank = std::max<uint64_t>(1, static_cast<uint64_t>(std::ceil(exact * (1 - 1e-12))));
  uint64_t seen = 0;
  for (size_t i = 0; i < counts_.size(); ++i) {
    seen += counts_[i];
    if (seen >= rank) {
      // The bucket's highest value, but never past what was recorded, nor
      // below the smallest value (the first bucket may hold only the min).
      return std::clamp(BucketHigh(static_cast<int>(i)), Min(), max_);
    }
  }
  return max_;
}

}  // namespace vfs::bench
