// Job: what one `vfs bench` run does, and its parser.
//
// A job is a workload in the spirit of fio: files of a size, written in
// blocks, sequentially or at random, overwriting or appending, by a number
// of threads, for a number of operations or a duration, with a strategy for
// making the writes durable. It runs on one or more backends (the VFS on a
// memory, disk or fault store, or the host kernel) so strategies and
// backends are compared in one run.
//
// Jobs are written as `key=value` options, on the command line or in a job
// file with one `key=value` per line:
//
//   # two strategies on the VFS and on tmpfs
//   backend=memory,host:/dev/shm
//   size=8m
//   bs=4k
//   [every-write]
//   sync=fdatasync
//   [group-commit]
//   sync=fdatasync:16
//
// Lines before the first `[name]` section are defaults for every job; each
// section is one job; a file without sections is one job. Blank lines and
// text from `#` on are ignored. Options given on the command line override
// the file's, in every job. Every error names the file and line, the key,
// and the value it could not take.
//
// The keys (JobKeys() lists them with their help):
//   name     the job's name in reports (default: the section name)
//   backend  memory | memory:volatile | disk:DIR | fault:PRESET | host:DIR,
//            or a comma-separated list of them (default memory)
//   size     bytes per file, with k/m/g (KiB/MiB/GiB) suffixes (default 1m)
//   bs       bytes per write (default 4k)
//   access   seq | rand (default seq)
//   mode     overwrite | append (default overwrite)
//   files    number of files, >= threads (default 1)
//   threads  writer threads; each writes only its own files (default 1)
//   ops      total writes over all threads (default: one pass, files*size/bs)
//   time     a duration limit: 500ms, 10s, 2m (a bare number is seconds)
//   sync     the strategy (ParseSyncStrategy)
//   seed     seed of the random offsets (default 1)
//
// Thread-safety: plain values and pure functions.
#ifndef TOOLS_BENCH_JOB_H_
#define TOOLS_BENCH_JOB_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace vfs::bench {

// How writes are made durable. Written as a spec:
//   none                     never sync
//   fsync[:N]                fsync(2) after every N writes to a file (N = 1)
//   fdatasync[:N]            fdatasync(2) after every N writes to a file
//   sfr:N[:M]                sync_file_range(WRITE) over the file every N
//                            writes, and WAIT_BEFORE|WRITE|WAIT_AFTER every M
//                            writes instead (M = 0 or absent: never)
//   fsync_range:HOW[:N]      AIX fsync_range(HOW) over the bytes written since
//                            the last one, every N writes; HOW is dsync
//                            (O_DSYNC), sync (O_SYNC) or nocache (O_NOCACHE)
//   odsync, osync            the files are opened O_DSYNC / O_SYNC
//   end                      one fsync of each file after its last write
struct SyncStrategy {
  enum class Kind {
    kNone,
    kFsync,
    kFdatasync,
    kSyncFileRange,
    kFsyncRange,
    kOpenDsync,
    kOpenSync,
    kFinalFsync,
  };
  enum class RangeHow { kDataSync, kFileSync, kNoCache };

  Kind kind = Kind::kNone;
  // fsync, fdatasync, fsync_range: writes per sync. sfr: writes per WRITE.
  uint64_t every = 0;
  // sfr: writes per WAIT_BEFORE|WRITE|WAIT_AFTER; 0 for never.
  uint64_t wait_every = 0;
  RangeHow how = RangeHow::kDataSync;  // fsync_range only

  // The canonical spec, which parses back to the same strategy:
  // "fdatasync:16", "sfr:1:16", "fsync_range:dsync:1", "odsync".
  std::string Label() const;
  friend bool operator==(const SyncStrategy&, const SyncStrategy&) = default;
};

absl::StatusOr<SyncStrategy> ParseSyncStrategy(std::string_view spec);

// Every strategy once, for `vfs bench --matrix`: none, end, fsync and
// fdatasync every write and every `group` writes, sfr:1:`group`, the three
// fsync_range forms every write, odsync, osync.
std::vector<SyncStrategy> MatrixStrategies(uint64_t group);

// Where a job runs.
//   memory            the VFS on a memory store (no volatile cache)
//   memory:volatile   the same with a volatile write cache (flushes count)
//   disk:DIR          the VFS on the disk store in DIR
//   fault:PRESET      the VFS on the fault store over a memory store, timed
//                     on the virtual clock of a device preset (nvme,
//                     sata-ssd, hdd, network-disk)
//   host:DIR          the host kernel: real syscalls on files in DIR
struct Backend {
  enum class Kind { kMemory, kDisk, kFault, kHost };
  Kind kind = Kind::kMemory;
  bool volatile_cache = false;  // memory only
  std::string arg;              // the DIR or PRESET

  std::string Label() const;  // the spec: "fault:nvme"
  friend bool operator==(const Backend&, const Backend&) = default;
};

absl::StatusOr<Backend> ParseBackend(std::string_view spec);
// A comma-separated list of backends.
absl::StatusOr<std::vector<Backend>> ParseBackendList(std::string_view specs);

enum class Access { kSequential, kRandom };
enum class WriteMode { kOverwrite, kAppend };

struct Job {
  std::string name;
  std::vector<Backend> backends = {Backend{}};
  uint64_t size = uint64_t{1} << 20;  // per file
  uint64_t block_size = 4096;
  Access access = Access::kSequential;
  WriteMode mode = WriteMode::kOverwrite;
  uint32_t files = 1;
  uint32_t threads = 1;
  uint64_t ops = 0;          // 0: see TotalOps()
  uint64_t duration_ns = 0;  // 0: no time limit
  SyncStrategy sync;
  uint64_t seed = 1;

  // The writes the job makes when no time limit stops it first: `ops`, or
  // one pass over every file (files * size / bs) when neither ops nor time
  // is given; 0 (unbounded) with only a time limit.
  uint64_t TotalOps() const;
  // The job as `key=value` options, which parse back to the same job.
  std::string Describe() const;
};

// Every key with a one-line help, in the order of the header comment.
std::vector<std::pair<std::string, std::string>> JobKeys();

// Sets one key. The error names the key and the value ("bs=4q: unknown unit
// 'q' (use k, m or g)"); an unknown key lists the known ones.
absl::Status SetJobKey(Job* job, std::string_view key, std::string_view value);
// Checks the rules between keys: bs <= size, size a multiple of bs,
// rand with overwrite only, files >= threads.
absl::Status ValidateJob(const Job& job);

// One job from `key=value` arguments, validated.
absl::StatusOr<Job> ParseJobArgs(const std::vector<std::string>& args);
// The jobs of a job file's text; `overrides` (`key=value`) apply to each
// after the file's own options. Errors start with "<filename>:<line>: ".
absl::StatusOr<std::vector<Job>> ParseJobFile(std::string_view text, std::string_view filename,
                                              const std::vector<std::string>& overrides);

// Number parsing, exposed for tests: bytes with an optional k/m/g, KiB, MiB,
// GiB suffix (case-insensitive); a duration with ns, us, ms, s or m (bare:
// seconds).
absl::StatusOr<uint64_t> ParseBytes(std::string_view text);
absl::StatusOr<uint64_t> ParseDurationNanos(std::string_view text);
// "4096" -> "4k", "1048576" -> "1m", "1000" -> "1000".
std::string FormatBytes(uint64_t bytes);

}  // namespace vfs::bench

#endif  // TOOLS_BENCH_JOB_H_
