// fio job files for `vfs bench --fio JOB.fio`, and fio's JSON output shape.
//
// A benchmarking user already has fio job files. This reads the part of
// fio's job format that maps onto a `vfs bench` Job (job.h), and names
// everything else in a one-line error instead of running something else:
//
//   [global]
//   ioengine=psync
//   rw=write
//   bs=4k
//   size=4m
//   directory=/tmp
//
//   [fdatasync-each]
//   fdatasync=1
//
//   [fdatasync-16]
//   stonewall
//   fdatasync=16
//
// Format: `[global]` options are the defaults of the job sections after it;
// each other `[name]` is a job; `key=value` or a bare `key` (a flag) per
// line, spaces around `=` allowed, keys case-insensitive; lines starting
// with `#` or `;` are comments.
//
// The options and how they map (fio's meaning, then the Job's):
//   rw, readwrite     write -> access=seq, randwrite -> access=rand; the
//                     writes overwrite a file laid out first, as fio does.
//                     Reads, trims and mixed workloads are refused.
//   bs                bytes per write (one size: "4k,8k" is refused)
//   size              bytes each fio job writes, split over its nrfiles:
//                     size per file = size / nrfiles
//   numjobs           threads; each has its own nrfiles files
//   nrfiles           files per job (default 1): files = numjobs * nrfiles
//   fsync=N           sync=fsync:N (0: no sync); fdatasync=N likewise
//   sync_file_range=FLAGS:N
//                     write:N -> sfr:N; wait_before,write,wait_after:N
//                     -> sfr:N:N; other flag sets are refused
//   sync, o_sync      1/sync -> sync=osync, dsync -> sync=odsync, 0/none -> none
//   end_fsync         sync=end
//   runtime           a time limit (seconds, or with ms/s/m/h)
//   time_based        run for `runtime`, wrapping around the files
//                     (otherwise one pass, stopped early by runtime)
//   directory         where the files are: backend=host:DIR (the default
//                     backend is host:. as fio's files are in the current
//                     directory); `backend=...` on the command line runs the
//                     same job on the VFS instead
//   filename          one file: its directory as for `directory`; vfs bench
//                     names the file itself (a note says so)
//   ioengine          psync or sync (both one blocking write per operation)
//   name, description the job's name; a comment
//   randseed          seed
//   iodepth           1 only (the sync engines' depth)
//   stonewall, wait_for_previous, group_reporting, thread
//                     accepted: vfs bench runs the jobs one after another and
//                     reports each job's threads together, which is what
//                     these ask of fio
// Two strategies in one job (fsync and fdatasync, or O_SYNC and fsync) are
// refused: a Job has one. Where the counts differ: fio counts fsync=N over
// a job's writes, vfs bench per file; they agree with nrfiles=1. fio runs
// job sections at the same time unless `stonewall` separates them; vfs bench
// runs them in turn, so a second job without stonewall is refused.
//
// Thread-safety: pure functions.
#ifndef TOOLS_BENCH_FIO_JOB_H_
#define TOOLS_BENCH_FIO_JOB_H_

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "tools/bench/job.h"
#include "tools/bench/runner.h"

namespace vfs::bench {

// The option lines of one section, as written (keys lower-cased).
using FioOptions = std::vector<std::pair<std::string, std::string>>;

struct FioJobFile {
  FioOptions global;             // every [global] option, in order
  std::vector<Job> jobs;         // one per job section
  std::vector<FioOptions> job_options;  // each job section's own options
  std::vector<std::string> notes;       // how an option was mapped, if it had to be
};

// Parses fio job text. `overrides` are `key=value` options of `vfs bench`
// (job.h) applied to every job after the mapping, as with --job files:
// `backend=memory,host:/tmp` runs the job on the VFS and the host. Errors
// are one line: "<filename>:<line>: ..." naming the option and the value.
absl::StatusOr<FioJobFile> ParseFioJobFile(std::string_view text, std::string_view filename,
                                           const std::vector<std::string>& overrides);

// fio's `--output-format=json` shape: "fio version", "timestamp", "time",
// "global options", and "jobs", each with "jobname", "groupid", "error",
// "job options", "read"/"write"/"trim" (io_bytes, io_kbytes, bw_bytes,
// bw in KiB/s, iops, runtime in ms, total_ios, slat_ns, clat_ns with fio's
// "percentile" keys "1.000000" ... "99.990000", lat_ns), "sync" (total_ios,
// lat_ns with percentiles) and "job_runtime". The write section's clat is
// the write call alone (JobResult::write_latency), as fio's is; the sync
// calls are in "sync". Each result also has "vfs_backend" (its backend
// label); a job run on several backends is named "JOB@BACKEND". Fields
// vfs bench does not measure (CPU use, disk utilisation, per-interval
// bandwidth samples) are absent, not zero. `unix_time` is the report's time.
std::string FormatFioJson(const std::vector<JobResult>& results, const FioOptions& global,
                          const std::vector<FioOptions>& job_options, long long unix_time);

// fio's percentile list: 1, 5, 10, 20, ..., 90, 95, 99, 99.5, 99.9, 99.95, 99.99.
const std::vector<double>& FioPercentiles();

}  // namespace vfs::bench

#endif  // TOOLS_BENCH_FIO_JOB_H_
