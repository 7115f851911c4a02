// What `vfs bench` counts: the store's requests, bytes and flushes for jobs
// whose writes and syncs are known, worked out by hand from the sync paths
// (vfs/sync.cc) and the store contracts; exact virtual times on the fault
// store's device presets (backends/fault/device_model.cc); and the latency
// histogram's percentiles on known data.
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tools/bench/histogram.h"
#include "tools/bench/job.h"
#include "tools/bench/runner.h"

namespace vfs::bench {
namespace {

constexpr uint64_t kPage = 4096;

JobResult RunArgs(const std::vector<std::string>& args) {
  auto job = ParseJobArgs(args);
  EXPECT_TRUE(job.ok()) << job.status();
  if (!job.ok()) return {};
  RunOptions options;
  options.progress = false;
  auto result = RunJob(*job, job->backends.front(), options);
  EXPECT_TRUE(result.ok()) << result.status();
  return result.ok() ? *std::move(result) : JobResult{};
}

// ---- Store counters on the memory store ----

// One 16 KiB file (4 pages), 8 sequential 4 KiB overwrites: pages 0 1 2 3 0 1 2 3.
const std::vector<std::string> kEightOverwrites = {"size=16k", "bs=4k", "ops=8"};

std::vector<std::string> With(std::vector<std::string> args, std::initializer_list<std::string> more) {
  args.insert(args.end(), more);
  return args;
}

TEST(BenchCounters, FsyncEveryTwoOverwritesSendsTwoPagesAndARecordAndFlushesOnce) {
  // Each fsync (after writes 2, 4, 6, 8): one Submit of the 2 dirty pages,
  // one Submit of the inode record (the mtime dirtied it, rule D1.4), one
  // Flush with completed writes behind it.
  const JobResult r = RunArgs(With(kEightOverwrites, {"backend=memory:volatile", "sync=fsync:2"}));
  EXPECT_EQ(r.ops, 8u);
  EXPECT_EQ(r.bytes, 8 * kPage);
  EXPECT_EQ(r.latency.Count(), 8u);
  ASSERT_TRUE(r.store.available);
  EXPECT_EQ(r.store.submits, 8u);
  EXPECT_EQ(r.store.requests, 12u);
  EXPECT_EQ(r.store.page_writes, 8u);
  EXPECT_EQ(r.store.bytes, 8 * kPage);
  EXPECT_EQ(r.store.flushes, 4u);
  EXPECT_DOUBLE_EQ(r.WriteAmplification(), 1.0);
}

TEST(BenchCounters, AStoreWithoutAVolatileCacheCountsNoFlushes) {
  // The same calls; StoreStats counts only flushes with something to flush.
  const JobResult r = RunArgs(With(kEightOverwrites, {"backend=memory", "sync=fsync:2"}));
  EXPECT_EQ(r.store.requests, 12u);
  EXPECT_EQ(r.store.flushes, 0u);
}

TEST(BenchCounters, FdatasyncOfAnOverwriteWritesNoRecord) {
  // Rule D2: an overwrite inside the file leaves only timestamps dirty, which
  // fdatasync does not write: the pages and the flush alone.
  const JobResult r = RunArgs(With(kEightOverwrites, {"backend=memory:volatile", "sync=fdatasync:2"}));
  EXPECT_EQ(r.store.submits, 4u);
  EXPECT_EQ(r.store.requests, 8u);
  EXPECT_EQ(r.store.page_writes, 8u);
  EXPECT_EQ(r.store.flushes, 4u);
}

TEST(BenchCounters, FdatasyncOfAnAppendWritesThePageAndTheSize) {
  // Each append allocates a page and grows the file: PutPage, then the
  // data-only record with the new size, then the flush.
  const JobResult r = RunArgs({"size=16k", "bs=4k", "mode=append", "backend=memory:volatile", "sync=fdatasync"});
  EXPECT_EQ(r.ops, 4u);
  EXPECT_EQ(r.store.submits, 8u);
  EXPECT_EQ(r.store.requests, 8u);
  EXPECT_EQ(r.store.page_writes, 4u);
  EXPECT_EQ(r.store.flushes, 4u);
}

TEST(BenchCounters, NoSyncSendsNothingToTheStore) {
  const JobResult r = RunArgs(With(kEightOverwrites, {"backend=memory:volatile", "sync=none"}));
  EXPECT_EQ(r.ops, 8u);
  EXPECT_EQ(r.store.submits, 0u);
  EXPECT_EQ(r.store.requests, 0u);
  EXPECT_EQ(r.store.flushes, 0u);
  EXPECT_DOUBLE_EQ(r.WriteAmplification(), 0.0);
}

TEST(BenchCounters, AFinalFsyncWritesEachDirtyPageOnce) {
  // Eight writes over four pages leave four dirty pages: one Submit of four
  // pages, one of the record, one flush. Write amplification 0.5.
  const JobResult r = RunArgs(With(kEightOverwrites, {"backend=memory:volatile", "sync=end"}));
  EXPECT_EQ(r.store.submits, 2u);
  EXPECT_EQ(r.store.requests, 5u);
  EXPECT_EQ(r.store.page_writes, 4u);
  EXPECT_EQ(r.store.flushes, 1u);
  EXPECT_DOUBLE_EQ(r.WriteAmplification(), 0.5);
}

TEST(BenchCounters, SyncFileRangeWritesPagesButNeverARecordOrAFlush) {
  // sfr:2:4: WRITE after writes 2 and 6 (pages 0-1), WAIT_BEFORE|WRITE|
  // WAIT_AFTER after 4 and 8 (pages 2-3): four Submits of two pages, no
  // record (rule D5) and no flush (C7) even on a volatile cache.
  const JobResult r = RunArgs(With(kEightOverwrites, {"backend=memory:volatile", "sync=sfr:2:4"}));
  EXPECT_EQ(r.store.submits, 4u);
  EXPECT_EQ(r.store.requests, 8u);
  EXPECT_EQ(r.store.page_writes, 8u);
  EXPECT_EQ(r.store.flushes, 0u);
}

TEST(BenchCounters, OpenDsyncSyncsTheDataOfEveryWriteAndOpenSyncTheRecordToo) {
  // Rules O1 / O2: every write is followed by a sync of its range.
  const JobResult dsync = RunArgs(With(kEightOverwrites, {"backend=memory:volatile", "sync=odsync"}));
  EXPECT_EQ(dsync.store.requests, 8u);
  EXPECT_EQ(dsync.store.page_writes, 8u);
  EXPECT_EQ(dsync.store.flushes, 8u);
  const JobResult sync = RunArgs(With(kEightOverwrites, {"backend=memory:volatile", "sync=osync"}));
  EXPECT_EQ(sync.store.requests, 16u);
  EXPECT_EQ(sync.store.page_writes, 8u);
  EXPECT_EQ(sync.store.flushes, 8u);
}

TEST(BenchCounters, FsyncRangeDataSyncSkipsTheRecordAndFileSyncWritesIt) {
  // Rule D6: O_DSYNC and O_NOCACHE are data integrity, O_SYNC file integrity.
  for (const char* how : {"dsync", "nocache"}) {
    const JobResult r =
        RunArgs(With(kEightOverwrites, {"backend=memory:volatile", std::string("sync=fsync_range:") + how}));
    EXPECT_EQ(r.store.requests, 8u) << how;
    EXPECT_EQ(r.store.flushes, 8u) << how;
  }
  const JobResult file = RunArgs(With(kEightOverwrites, {"backend=memory:volatile", "sync=fsync_range:sync"}));
  EXPECT_EQ(file.store.requests, 16u);
  EXPECT_EQ(file.store.flushes, 8u);
}

TEST(BenchCounters, SmallWritesAmplifyByThePageSize) {
  // 1 KiB writes, each followed by fdatasync: each sends a whole 4 KiB page.
  const JobResult r = RunArgs({"size=16k", "bs=1k", "ops=8", "backend=memory", "sync=fdatasync"});
  EXPECT_EQ(r.bytes, 8u * 1024);
  EXPECT_EQ(r.store.bytes, 8 * kPage);
  EXPECT_DOUBLE_EQ(r.WriteAmplification(), 4.0);
}

TEST(BenchCounters, ThreadsWriteTheirOwnFilesAndEveryFlushCallIsCountedOnTheFaultStore) {
  // Two threads, two files, 4 writes each, fsync after each: 8 x (page +
  // record) and 8 Flush calls, whatever the interleaving.
  const JobResult r = RunArgs({"size=16k", "bs=4k", "ops=8", "files=2", "threads=2", "backend=fault:nvme",
                           "sync=fsync"});
  EXPECT_EQ(r.ops, 8u);
  EXPECT_EQ(r.threads, 2u);
  EXPECT_EQ(r.store.submits, 16u);
  EXPECT_EQ(r.store.requests, 16u);
  EXPECT_EQ(r.store.page_writes, 8u);
  EXPECT_EQ(r.store.flushes, 8u);
}

TEST(BenchCounters, TheDiskStoreCountsTheSameRequestsAndRemovesItsDirectory) {
  // The disk store has a volatile cache (its log's page cache), so each of
  // the four fsyncs has completed writes to flush.
  char dir[] = "/tmp/vfs-bench-disk-test.XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr);
  const JobResult r = RunArgs(With(kEightOverwrites, {std::string("backend=disk:") + dir, "sync=fsync:2"}));
  EXPECT_EQ(r.store.submits, 8u);
  EXPECT_EQ(r.store.requests, 12u);
  EXPECT_EQ(r.store.bytes, 8 * kPage);
  EXPECT_EQ(r.store.flushes, 4u);
  EXPECT_EQ(::rmdir(dir), 0) << "the store's directory was not removed";
}

// ---- Virtual time on the fault store ----

// nvme: a request costs 15,000 ns + 0.4 ns/byte, a flush 200,000 ns.
// A 4 KiB page: 15,000 + llround(1,638.4) = 16,638 ns.
TEST(BenchCounters, FdatasyncOnNvmeCostsOnePageAndOneFlushOfVirtualTime) {
  const JobResult r = RunArgs({"size=8k", "bs=4k", "ops=2", "backend=fault:nvme", "sync=fdatasync"});
  EXPECT_TRUE(r.virtual_time);
  EXPECT_EQ(r.latency.Percentile(50), 216'638u);  // 16,638 + 200,000
  EXPECT_EQ(r.latency.Max(), 216'638u);
  EXPECT_EQ(r.elapsed_ns, 2 * 216'638u);
  EXPECT_DOUBLE_EQ(r.OpsPerSecond(), 2e9 / (2 * 216'638.0));
}

TEST(BenchCounters, FsyncOnNvmeAddsTheRecordRequest) {
  const JobResult r = RunArgs({"size=8k", "bs=4k", "ops=2", "backend=fault:nvme", "sync=fsync"});
  EXPECT_EQ(r.latency.Max(), 231'638u);  // 16,638 + 15,000 + 200,000
  EXPECT_EQ(r.elapsed_ns, 2 * 231'638u);
}

// hdd: 8,000,000 ns + 6.7 ns/byte per request, 10,000,000 ns per flush, one
// channel. A page: 8,000,000 + llround(27,443.2) = 8,027,443 ns.
TEST(BenchCounters, FsyncOnHddCostsTwoSeeksAndAFlush) {
  const JobResult r = RunArgs({"size=12k", "bs=4k", "ops=3", "backend=fault:hdd", "sync=fsync"});
  EXPECT_EQ(r.latency.Percentile(99), 26'027'443u);  // 8,027,443 + 8,000,000 + 10,000,000
  EXPECT_EQ(r.elapsed_ns, 3 * 26'027'443u);
}

TEST(BenchCounters, AFinalFsyncIsTimedIntoTheRateButNotThePercentiles) {
  // Four dirty pages go in one batch on nvme's 32 channels, in parallel:
  // 16,638 ns; then the record 15,000 and the flush 200,000.
  const JobResult r = RunArgs({"size=16k", "bs=4k", "backend=fault:nvme", "sync=end"});
  EXPECT_EQ(r.ops, 4u);
  EXPECT_EQ(r.latency.Max(), 0u);  // the writes alone never touch the device
  EXPECT_EQ(r.final_sync_ns, 231'638u);
  EXPECT_EQ(r.elapsed_ns, 231'638u);
}

TEST(BenchCounters, AJobThatNeverReachesTheDeviceHasNoRate) {
  const JobResult r = RunArgs({"size=16k", "bs=4k", "backend=fault:hdd", "sync=none"});
  EXPECT_EQ(r.ops, 4u);
  EXPECT_EQ(r.elapsed_ns, 0u);
  EXPECT_EQ(r.OpsPerSecond(), 0.0);
}

// ---- The host kernel ----

TEST(BenchCounters, HostJobsMakeRealWritesAndSayHowFsyncRangeWasMapped) {
  char dir[] = "/tmp/vfs-bench-test.XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr);
  const JobResult r = RunArgs({"size=16k", "bs=4k", "ops=8", std::string("backend=host:") + dir,
                           "sync=fsync_range:nocache"});
  EXPECT_EQ(r.ops, 8u);
  EXPECT_FALSE(r.virtual_time);
  EXPECT_FALSE(r.store.available);
  EXPECT_NE(r.note.find("fdatasync + posix_fadvise(DONTNEED)"), std::string::npos) << r.note;
  EXPECT_EQ(::rmdir(dir), 0) << "the job's files were not removed";
}

TEST(BenchCounters, AMissingHostDirectoryIsNamedInTheError) {
  auto job = ParseJobArgs({"backend=host:/nonexistent/vfs-bench"});
  ASSERT_TRUE(job.ok());
  auto result = RunJob(*job, job->backends.front(), {.progress = false});
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.status().message().find("host:/nonexistent/vfs-bench"), absl::string_view::npos)
      << result.status();
}

// ---- The histogram ----

TEST(BenchHistogram, SmallValuesAreExact) {
  Histogram h;
  for (uint64_t v = 1; v <= 100; ++v) h.Record(v);
  EXPECT_EQ(h.Count(), 100u);
  EXPECT_EQ(h.Min(), 1u);
  EXPECT_EQ(h.Max(), 100u);
  EXPECT_EQ(h.Percentile(50), 50u);
  EXPECT_EQ(h.Percentile(99), 99u);
  EXPECT_EQ(h.Percentile(99.9), 100u);
  EXPECT_EQ(h.Percentile(100), 100u);
  EXPECT_DOUBLE_EQ(h.Mean(), 50.5);
}

TEST(BenchHistogram, PercentilesAreTheHighestValueOfTheirBucket) {
  // 1000, 2000, ..., 1,000,000. The 500th value, 500,000, lies in
  // [2^18, 2^19), cut into 128 buckets of 2^11 = 2048: 500,000 >> 11 = 244,
  // so its bucket is [499,712, 501,759] and p50 reports 501,759.
  Histogram h;
  for (uint64_t i = 1; i <= 1000; ++i) h.Record(i * 1000);
  EXPECT_EQ(h.Percentile(50), 501'759u);
  // The 990th, 990,000: bucket width 4096 in [2^19, 2^20); 990,000 >> 12 =
  // 241; [987,136, 991,231].
  EXPECT_EQ(h.Percentile(99), 991'231u);
  // The 999th, 999,000: 999,000 >> 12 = 243; [995,328, 999,423].
  EXPECT_EQ(h.Percentile(99.9), 999'423u);
  // The top bucket is clamped to the exact maximum.
  EXPECT_EQ(h.Percentile(100), 1'000'000u);
  EXPECT_EQ(h.Max(), 1'000'000u);
}

TEST(BenchHistogram, EveryValueIsWithinOneOver128OfItsBucket) {
  uint64_t state = 12345;  // fixed seed
  for (int i = 0; i < 100000; ++i) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    const uint64_t v = state >> (state % 60);
    const int b = Histogram::BucketOf(v);
    const uint64_t low = Histogram::BucketLow(b);
    const uint64_t high = Histogram::BucketHigh(b);
    ASSERT_LE(low, v);
    ASSERT_LE(v, high);
    ASSERT_LE(static_cast<double>(high - low), static_cast<double>(low) / 128.0) << v;
  }
  EXPECT_EQ(Histogram::BucketHigh(Histogram::BucketOf(UINT64_MAX)), UINT64_MAX);
}

TEST(BenchHistogram, MergeIsTheSameAsRecordingEverything) {
  Histogram a, b, all;
  for (uint64_t v = 1; v < 5000; v += 7) {
    (v % 2 ? a : b).Record(v * 31);
    all.Record(v * 31);
  }
  a.Merge(b);
  EXPECT_EQ(a.Count(), all.Count());
  EXPECT_EQ(a.Min(), all.Min());
  EXPECT_EQ(a.Max(), all.Max());
  for (double p : {1.0, 50.0, 90.0, 99.0, 99.9}) EXPECT_EQ(a.Percentile(p), all.Percentile(p)) << p;
}

TEST(BenchHistogram, AnEmptyHistogramReportsZero) {
  Histogram h;
  EXPECT_EQ(h.Percentile(99), 0u);
  EXPECT_EQ(h.Min(), 0u);
  EXPECT_EQ(h.Max(), 0u);
}

}  // namespace
}  // namespace vfs::bench
