// Runner: runs one Job on one Backend and measures it.
//
// A run has two phases. Setup (not measured) creates the job's files, fills
// them to `size` for overwrite jobs (append jobs start empty), and makes them
// and their names durable with fsync of each file and of the directory.
// Then every thread writes its own files and the run measures:
//  - an operation: one write plus the sync call the strategy makes after it
//    (its latency goes into the histogram). With sync=end the final fsync of
//    each file is timed too (into the elapsed time, and `final_sync_ns`), not
//    into the histogram.
//  - elapsed: from the first thread's start to the last thread's end.
//  - store counters: the store's requests, page bytes and flushes during the
//    measured phase only (setup excluded), for the VFS backends.
//
// Time: the wall clock (steady_clock) for memory, disk and host; for
// fault:PRESET the device's virtual clock (FaultStore::VirtualNanos), so the
// numbers are deterministic for threads=1 and do not depend on this machine.
// An operation's virtual latency is the advance of the device clock across
// it; the clock moves only when the VFS waits on or flushes the store, so a
// job that never syncs (sync=none) takes no virtual time and has no
// throughput ("-"). With several threads the clock is shared: an operation is
// charged for every advance during it, its own or another thread's (as a
// request queued behind others waits for them), so per-operation latencies
// are an upper bound and thread interleaving makes them vary between runs.
//
// Threads share nothing but the filesystem: thread t owns files t, t +
// threads, t + 2*threads, ... and writes them in turn (round robin). Each
// thread's random offsets come from its own generator seeded with
// (seed, t), so a run is repeatable. Sequential writes wrap to offset 0 at
// the end of the file; an append that would pass `size` first truncates the
// file to 0 (log rotation), inside that operation.
//
// Strategy counts are per file: sync=fsync:4 fsyncs a file after every 4th
// write to it. sync_file_range covers the whole file (offset 0, nbytes 0);
// fsync_range covers the bytes written to the file since its last
// fsync_range. On host:DIR, fsync_range (AIX) does not exist on Linux and is
// mapped: dsync -> fdatasync, sync -> fsync, nocache -> fdatasync then
// posix_fadvise(POSIX_FADV_DONTNEED) over the range; the JobResult's note says
// so.
//
// Thread-safety: RunJob may be called from one thread at a time per backend
// directory (host and disk files are named after the process id).
#ifndef TOOLS_BENCH_RUNNER_H_
#define TOOLS_BENCH_RUNNER_H_

#include <cstdint>
#include <cstdio>
#include <string>

#include "absl/status/statusor.h"
#include "tools/bench/histogram.h"
#include "tools/bench/job.h"

namespace vfs::bench {

// The store's work during the measured phase. Not available on host:DIR
// (the kernel's block layer is not observed).
struct StoreCounters {
  bool available = false;
  uint64_t submits = 0;      // Submit calls
  uint64_t requests = 0;     // requests in them (pages, records, entries)
  uint64_t page_writes = 0;  // page write requests
  uint64_t bytes = 0;        // page bytes written
  // Cache flushes. memory and disk: StoreStats::flushes, flushes that had
  // completed writes to make durable (always 0 on a store without a
  // volatile cache, such as `memory`). fault: every Flush call, each of which
  // costs the device's flush time (FaultStats::flushes).
  uint64_t flushes = 0;
};

struct JobResult {
  std::string name;     // the job's name, may be empty
  std::string backend;  // Backend::Label()
  std::string sync;     // SyncStrategy::Label()
  std::string job;      // Job::Describe() with this backend only
  bool virtual_time = false;
  uint32_t threads = 1;
  uint64_t block_size = 0;
  uint64_t ops = 0;
  uint64_t bytes = 0;  // application bytes written
  uint64_t elapsed_ns = 0;
  uint64_t final_sync_ns = 0;  // sync=end: the final fsyncs, summed over threads
  Histogram latency;           // nanoseconds per operation
  // The operation split in two, for fio's JSON shape (fio_job.h): the write
  // call alone (with O_DSYNC / O_SYNC, the sync it carries) and each sync
  // call made after a write (fsync, fdatasync, sync_file_range, fsync_range;
  // with sync=end, each final fsync). Without a sync after writes,
  // write_latency equals latency.
  Histogram write_latency;
  Histogram sync_latency;
  StoreCounters store;
  std::string note;  // how the backend mapped a call, if it had to

  // 0 when no time elapsed (a virtual-time job that never touched the device).
  double OpsPerSecond() const;
  double BytesPerSecond() const;
  // Store page bytes / application bytes; 0 without counters or writes.
  double WriteAmplification() const;
};

struct RunOptions {
  // A progress line on `progress_out` every second, for runs longer than
  // one; carriage-return updates on a terminal, whole lines otherwise.
  bool progress = true;
  std::FILE* progress_out = stderr;
};

// Whether `job` can run on `backend` at all: on memory and fault:PRESET the
// store keeps every file's bytes in this process's memory, so files * size
// must fit in the memory available (MemAvailable, and the cgroup's limit).
// InvalidArgument with one line saying what to lower otherwise; OK for disk
// and host, whose space the run itself reports.
absl::Status CheckJobFits(const Job& job, const Backend& backend);

// Runs `job` on `backend`. Errors name the backend and the call that failed
// ("host:/tmp: open /tmp/vfs-bench.123.0: Permission denied"); a missing
// DIR of disk:DIR or host:DIR is "disk:/nope: no such directory: create it
// first (mkdir -p), or name another". Runs CheckJobFits first.
absl::StatusOr<JobResult> RunJob(const Job& job, const Backend& backend, const RunOptions& options = {});

}  // namespace vfs::bench

#endif  // TOOLS_BENCH_RUNNER_H_
